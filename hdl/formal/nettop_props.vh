// Formal properties of the whole-network engine's Wishbone top
// (`tbn_net_core`, hdl/src/nettop.rs): its bus protocol and its decode of
// the commands and write windows it hands the engine. Included inside the
// emitted `tbn_net_core` module by tbn_hdl::formal, where the engine
// instance (`tbn_net_core$net`) is replaced by a stub whose outputs are free
// ($anyseq): the properties hold whatever the engine answers. The engine's
// command inputs are the top's internal signals `net$h_*`.
//
// Groups: FORMAL_NET_WB (the Wishbone rules of wb_props.vh) and
// FORMAL_NET_CMDS (each engine command, and each IMAGE / INPUT word write,
// comes exactly from the bus write request of the previous cycle that the
// register map v2 defines for it; nothing else drives them).
`include "tbn_regmap.vh"
`ifdef FORMAL_NET_WB
`define FORMAL_WB
`endif
    `define TBN_WB_ADR_W 18
`include "wb_props.vh"

`ifdef FORMAL_NET_CMDS
    // the write request the slave accepted in the previous cycle (a request
    // is accepted in its first cycle; it acts in the next, even when the
    // master abandons it then)
    reg a_w = 1'b0;
    reg [17:0] a_adr = 18'd0;
    reg [31:0] a_dat = 32'd0;
    reg [3:0] a_sel = 4'd0;
    reg [17:0] a_lw = 18'd0;
    always @(posedge clk) begin
        a_w <= req && wb_we && f_wait == 4'd0;
        a_adr <= wb_adr;
        a_dat <= wb_dat_w;
        a_sel <= wb_sel;
        a_lw <= net$h_load_words;
    end
    wire a_ctrl = a_w && a_adr == `TBN_IDX_CTRL && a_sel[0];
    wire a_stat = a_w && a_adr == `TBN_IDX_STATUS && a_sel[0];
    always @(*) if (!f_init) begin
        // CTRL: SOFT_RESET wins over the other commands of the same write
        assert(net$h_soft_reset == (rst || (a_ctrl && a_dat[1])));
        assert(net$h_load_begin == (a_ctrl && !a_dat[1] && a_dat[2]));
        assert(net$h_load_end == (a_ctrl && !a_dat[1] && a_dat[3]));
        assert(net$h_infer == (a_ctrl && !a_dat[1] && a_dat[4]));
        // STATUS: write 1 to clear DONE / ERROR
        assert(net$h_clr_done == (a_stat && a_dat[1]));
        assert(net$h_clr_err == (a_stat && a_dat[2]));
        // IMAGE and INPUT windows: the word, at its index in the window
        assert(net$h_img_we == (a_w && a_adr[17] == 1'b1));
        assert(net$h_in_we == (a_w && a_adr[17:13] == `TBN_IDX_INPUT_HI));
        if (net$h_img_we) assert(net$h_img_in_order == ({1'b0, a_adr[16:0]} == a_lw) && net$h_wdata == a_dat);
        if (net$h_in_we) assert(net$h_in_first == (a_adr[12:0] == 13'd0) && net$h_wdata == a_dat);
        // the interrupt: IRQ_ENABLE and (DONE or ERROR)
        assert(!irq || net$h_done || net$h_err);
    end
`endif
