// Fixture for the tbnsim Python tests: an 8-bit counter with enable, a
// registered 100-bit increment, a combinational inverter and a pulse output.
module counter (
    input  wire        clk,
    input  wire        rst,
    input  wire        en,
    input  wire [7:0]  step,
    output reg  [7:0]  count,
    output wire        wrap,
    input  wire [99:0] wide_in,
    output reg  [99:0] wide_out,
    input  wire [15:0] a,
    output wire [15:0] not_a
);
    assign wrap = (count == 8'hff);
    assign not_a = ~a;
    always @(posedge clk) begin
        if (rst) begin
            count <= 8'd0;
            wide_out <= 100'd0;
        end else begin
            if (en) count <= count + step;
            wide_out <= wide_in + 100'd1;
        end
    end
endmodule
