// The Wishbone B4 classic environment and bus rules shared by the formal
// harnesses (included inside a module that has the ports clk, rst, wb_adr
// (`TBN_WB_ADR_W bits), wb_dat_w, wb_we, wb_sel, wb_stb, wb_cyc, wb_ack):
// the first cycle is a reset; the master holds a waiting request or
// abandons it; FORMAL_WB asserts the slave's side (an ack only for a live
// cycle, one per request, writes acked after 1 wait state and reads after 2).
    // ------------------------------------------------------------ environment
    reg f_init = 1'b1;
    reg f_past = 1'b0;
    always @(posedge clk) begin
        f_init <= 1'b0;
        f_past <= 1'b1;
    end
    // the first cycle is a reset (as the standalone top's power-on reset)
    always @(*) if (f_init) assume(rst);

    wire req = wb_cyc && wb_stb;
    // B4 classic master: STB only inside a cycle; a request not yet
    // acknowledged is held unchanged, or abandoned (STB dropped, with or
    // without CYC): never changed while it waits
    // (combinational assumptions over registered copies: a clocked assume
    // would constrain the inputs one step late)
    reg p_wait = 1'b0;
    reg [`TBN_WB_ADR_W-1:0] p_adr = 0;
    reg p_we = 1'b0;
    reg [31:0] p_dat = 32'd0;
    reg [3:0] p_sel = 4'd0;
    always @(posedge clk) begin
        p_wait <= req && !wb_ack;
        p_adr <= wb_adr;
        p_we <= wb_we;
        p_dat <= wb_dat_w;
        p_sel <= wb_sel;
    end
    always @(*) assume(!wb_stb || wb_cyc);
    always @(*)
        if (p_wait && wb_stb)
            assume(wb_cyc && wb_adr == p_adr && wb_we == p_we && wb_dat_w == p_dat
                   && wb_sel == p_sel);

    // cycles the current request has waited (0 in its first cycle); a new
    // request starts after an ack or after STB was low
    reg [3:0] f_wait = 4'd0;
    always @(posedge clk)
        if (!req || wb_ack) f_wait <= 4'd0;
        else if (f_wait != 4'd15) f_wait <= f_wait + 4'd1;
    // cycles since the last reset (saturating)
    reg [3:0] f_since_rst = 4'd0;
    always @(posedge clk)
        if (rst) f_since_rst <= 4'd0;
        else if (f_since_rst != 4'd15) f_since_rst <= f_since_rst + 4'd1;

    wire wr_ack = wb_ack && wb_we;
    wire rd_ack = wb_ack && !wb_we;
    wire at_status = wb_adr == `TBN_IDX_STATUS;
    wire at_ctrl = wb_adr == `TBN_IDX_CTRL;

`ifdef FORMAL_WB
    // an ack only for a live cycle (none after CYC or STB drops)
    always @(*) assert(!wb_ack || req);
    // one ack per request, never for a request younger than the slave's
    // wait states (a stale ack of an abandoned cycle would be one)
    always @(*) if (wb_ack) assert(wb_we ? f_wait >= 4'd1 : f_wait >= 4'd2);
    always @(posedge clk) if (f_past && $past(wb_ack)) assert(!wb_ack);
    // and the slave never stalls: a write is acked after 1 wait state, a read
    // after 2 (unless a reset came in between)
    always @(*) if (req && f_since_rst >= 4'd3)
        assert(wb_we ? (f_wait < 4'd1 || wb_ack) : (f_wait < 4'd2 || wb_ack));
    always @(*) assert(f_wait <= 4'd2 || f_since_rst < 4'd3);
`endif
