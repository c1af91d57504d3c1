// Test fixture for tbn-sim: a free-running counter, a `done` flag, a wide
// port, and a four-register Wishbone B4 classic slave with a registered ack.
// Not part of the accelerator; it exercises the Verilator harness itself.
module top (
    input  wire         clock,
    input  wire         reset,
    // counter
    input  wire         enable,
    input  wire [31:0]  limit,
    output reg  [31:0]  count,
    output wire         done,
    // wide data path: wide_out = wide_in + 1 (128-bit), registered
    input  wire [99:0]  wide_in,
    output reg  [99:0]  wide_out,
    // 40-bit combinational path
    input  wire [39:0]  q_in,
    output wire [39:0]  q_out,
    // Wishbone B4 classic slave, 32-bit data, word addresses
    input  wire         wb_cyc,
    input  wire         wb_stb,
    input  wire         wb_we,
    input  wire [7:0]   wb_adr,
    input  wire [31:0]  wb_dat_w,
    input  wire [3:0]   wb_sel,
    output reg  [31:0]  wb_dat_r,
    output reg          wb_ack,
    output reg          wb_err
);
    reg [31:0] regs [0:3];
    integer i;

    assign done = count >= limit;
    assign q_out = ~q_in;

    always @(posedge clock) begin
        if (reset) begin
            count <= 32'd0;
            wide_out <= 100'd0;
            wb_ack <= 1'b0;
            wb_err <= 1'b0;
            wb_dat_r <= 32'd0;
            for (i = 0; i < 4; i = i + 1) regs[i] <= 32'd0;
        end else begin
            if (enable && !done) count <= count + 32'd1;
            wide_out <= wide_in + 100'd1;
            wb_ack <= 1'b0;
            wb_err <= 1'b0;
            if (wb_cyc && wb_stb && !wb_ack && !wb_err) begin
                if (wb_adr == 8'hff) begin
                    // address 0xff never acknowledges (tests the BFM timeout)
                end else if (wb_adr >= 8'd8) begin
                    wb_err <= 1'b1;
                end else begin
                    wb_ack <= 1'b1;
                    if (wb_adr < 8'd4) begin
                        if (wb_we) begin
                            if (wb_sel[0]) regs[wb_adr[1:0]][7:0]   <= wb_dat_w[7:0];
                            if (wb_sel[1]) regs[wb_adr[1:0]][15:8]  <= wb_dat_w[15:8];
                            if (wb_sel[2]) regs[wb_adr[1:0]][23:16] <= wb_dat_w[23:16];
                            if (wb_sel[3]) regs[wb_adr[1:0]][31:24] <= wb_dat_w[31:24];
                        end
                        wb_dat_r <= regs[wb_adr[1:0]];
                    end else begin
                        wb_dat_r <= count ^ {24'd0, wb_adr};
                    end
                end
            end
        end
    end
endmodule
