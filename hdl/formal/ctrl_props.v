// Formal properties of the Wishbone slave and the control block of tbn_core
// (issue 17, item 3). Read by yosys with `read_verilog -formal` together with
// the control (`tbn_core$ctrl`) and sequencer (`tbn_core$seq`) modules of an
// emitted core and `tbn_regmap.vh` (register indices written from
// tbn_driver::regmap by tbn_hdl::formal); checked by yosys-smtbmc.
//
// The harness wires control and sequencer as tbn_core does; everything else
// is a free input: the Wishbone master (constrained only by the B4 classic
// rules below, abandoned cycles allowed), the reset at any time, the output
// memory's read data and the engine's `active` flag (so a job's drain may
// last any number of cycles).
//
// Property groups (one per run, `define): FORMAL_WB (bus protocol),
// FORMAL_STATUS (documented STATUS invariants), FORMAL_WINDOWS (no write
// outside the decoded windows, START/abort only from their CTRL writes),
// FORMAL_SEQ (the sequencer's start/busy/done/abort handshake, which the
// STATUS group assumes: assume-guarantee, so neither proof carries the
// other block's arithmetic).
`include "tbn_regmap.vh"

module tbn_formal(
    input wire clk,
    input wire rst,
    input wire [16:0] wb_adr,
    input wire [31:0] wb_dat_w,
    input wire wb_we,
    input wire [3:0] wb_sel,
    input wire wb_stb,
    input wire wb_cyc,
    input wire [31:0] out_rdata,
    input wire engine_active,
    // the sequencer's handshake where the group does not need the real one
    input wire free_seq_busy,
    input wire free_seq_done,
    // the sequencer's inputs where it is checked alone (FORMAL_SEQ)
    input wire free_start,
    input wire free_abort,
    input wire [23:0] free_job_m,
    input wire [23:0] free_job_q,
    input wire [13:0] free_job_rows,
    input wire [3:0] free_job_abits,
    input wire free_job_signed
);
    wire [31:0] wb_dat_r;
    wire wb_ack, irq, tile_we, act_we, seq_start, seq_abort, job_signed;
    wire [3:0] mem_sel;
    wire [15:0] mem_addr;
    wire [31:0] mem_data;
    wire [13:0] out_addr;
    wire [23:0] job_m, job_q;
    wire [13:0] job_rows;
    wire [3:0] job_abits;
    wire seq_busy, seq_done;
    wire issue, neg, xnor_mode, first, last;
    wire [21:0] tile_bit;
    wire [16:0] act_bit;
    wire [2:0] plane;
    wire [8:0] nvalid, segb;
    wire [12:0] row;

    \tbn_core$ctrl ctrl(
        .clk(clk), .rst(rst), .wb_adr(wb_adr), .wb_dat_w(wb_dat_w), .wb_dat_r(wb_dat_r),
        .wb_we(wb_we), .wb_sel(wb_sel), .wb_stb(wb_stb), .wb_cyc(wb_cyc), .wb_ack(wb_ack),
        .irq(irq), .tile_we(tile_we), .act_we(act_we), .mem_sel(mem_sel), .mem_addr(mem_addr),
        .mem_data(mem_data), .out_addr(out_addr), .out_rdata(out_rdata),
        .seq_start(seq_start), .seq_abort(seq_abort), .job_m(job_m), .job_q(job_q),
        .job_rows(job_rows), .job_abits(job_abits), .job_signed(job_signed),
        .seq_busy(seq_busy), .seq_done(seq_done));

`ifdef FORMAL_SEQ
    // the sequencer alone: its inputs are free (the control is left unused)
    wire h_start = free_start;
    wire h_abort = free_abort;
    \tbn_core$seq seq(
        .clk(clk), .abort(free_abort), .start(free_start), .job_m(free_job_m),
        .job_q(free_job_q), .job_rows(free_job_rows), .job_abits(free_job_abits),
        .job_signed(free_job_signed),
        .engine_active(engine_active), .busy(seq_busy), .done(seq_done), .issue(issue),
        .tile_bit(tile_bit), .act_bit(act_bit), .plane(plane), .nvalid(nvalid), .segb(segb),
        .neg(neg), .xnor_mode(xnor_mode), .first(first), .last(last), .row(row));
`else
    // the control's groups see the sequencer's handshake as free inputs:
    // any behaviour for the bus and window properties, the handshake that
    // FORMAL_SEQ proves of the real sequencer for the STATUS properties
    assign seq_busy = free_seq_busy;
    assign seq_done = free_seq_done;
    wire h_start = seq_start;
    wire h_abort = seq_abort;
`endif

    `define TBN_WB_ADR_W 17
`include "wb_props.vh"

    // ------------------------------------------------- sequencer handshake
    // (asserted of the real sequencer in FORMAL_SEQ, where the control's
    // guarantee "START only while idle" is assumed; assumed of the free
    // handshake inputs in FORMAL_STATUS, where that guarantee is asserted)
    reg p_busy = 1'b0;
    reg p_start = 1'b0;
    reg p_abort = 1'b0;
    always @(posedge clk) begin
        p_busy <= seq_busy;
        p_start <= h_start;
        p_abort <= h_abort;
    end
    wire hs_done_idle = !seq_done || !seq_busy;          // done as busy falls
    wire hs_done_ends = !seq_done || p_busy;             // done only ends a job
    wire hs_rise = !(seq_busy && !p_busy) || p_start;    // busy only after start
    wire hs_fall = !(!seq_busy && p_busy) || seq_done || p_abort;
    wire hs_start = !(p_start && !p_abort) || seq_busy;  // start makes busy
    wire hs_abort = !p_abort || (!seq_busy && !seq_done);
    wire handshake = hs_done_idle && hs_done_ends && hs_rise && hs_fall && hs_start && hs_abort;
`ifdef FORMAL_SEQ
    always @(*) assume(!h_start || !seq_busy);
    always @(*) if (!f_init) begin
        assert(hs_done_idle);
        assert(hs_done_ends);
        assert(hs_rise);
        assert(hs_fall);
        assert(hs_start);
        assert(hs_abort);
    end
`endif
`ifdef FORMAL_STATUS
    always @(*) if (!f_init) assume(handshake);
    always @(*) if (f_init) assume(!seq_busy && !seq_done);
`endif

`ifdef FORMAL_STATUS
    // a job accepted by START (seq_start) that software has not cleared
    reg f_job = 1'b0;
    always @(posedge clk)
        if (rst || seq_abort) f_job <= 1'b0;
        else if (seq_start) f_job <= 1'b1;
        else if (req && wb_we && at_status && wb_sel[0] && wb_dat_w[1]) f_job <= 1'b0;
    // issue 17 (a): from START until DONE is cleared, STATUS reads BUSY or DONE
    always @(*) if (rd_ack && at_status && f_job) assert(wb_dat_r[0] || wb_dat_r[1]);
    // BUSY and DONE are never read together
    always @(*) if (rd_ack && at_status) assert(!(wb_dat_r[0] && wb_dat_r[1]));
    // ERROR is set exactly when ERROR_CODE is not NONE; codes are 1..6
    always @(*) if (rd_ack && at_status) begin
        assert(wb_dat_r[2] == (wb_dat_r[11:8] != 4'd0));
        assert(wb_dat_r[11:8] <= `TBN_MAX_ERROR_CODE);
        assert(wb_dat_r[31:12] == 20'd0 && wb_dat_r[7:3] == 5'd0);
    end
    // irq rises only at the end of a job or by a bus write (IRQ_ENABLE set,
    // or an error; a write takes effect at the end of the cycle after its
    // request, even when the master abandons it)
    always @(posedge clk)
        if (f_past && !f_init && irq && !$past(irq))
            assert($past(seq_done) || $past(req && wb_we, 2));
    // memory writes never while the sequencer reads the memories
    always @(*) if (tile_we || act_we) assert(!seq_busy);
    // the control's side of the handshake: START only while idle
    always @(*) if (seq_start) assert(!seq_busy);
`endif

`ifdef FORMAL_WINDOWS
    // memory writes: exactly the request of the previous cycle, in its window
    always @(posedge clk) if (f_past && tile_we)
        assert($past(req && wb_we && wb_adr[16]) && mem_addr == $past(wb_adr[15:0])
               && mem_data == $past(wb_dat_w) && mem_sel == $past(wb_sel));
    always @(posedge clk) if (f_past && act_we)
        assert($past(req && wb_we && wb_adr[16:14] == 3'd2) && mem_addr == $past(wb_adr[15:0])
               && mem_data == $past(wb_dat_w) && mem_sel == $past(wb_sel));
    // job registers change only by a reset or a write request to their own
    // index two cycles earlier (request, then the write at the end of the
    // ack cycle)
    always @(posedge clk) if (f_past && !f_init && !$past(f_init)) begin
        if (job_m != $past(job_m))
            assert($past(rst) || $past(req && wb_we && wb_adr == `TBN_IDX_JOB_M, 2));
        if (job_q != $past(job_q))
            assert($past(rst) || $past(req && wb_we && wb_adr == `TBN_IDX_JOB_Q, 2));
        if (job_rows != $past(job_rows))
            assert($past(rst) || $past(req && wb_we && wb_adr == `TBN_IDX_JOB_ROWS, 2));
        if (job_abits != $past(job_abits) || job_signed != $past(job_signed))
            assert($past(rst) || $past(req && wb_we && wb_adr == `TBN_IDX_JOB_ABITS, 2));
    end
    // START reaches the sequencer only from a CTRL write with START set and
    // SOFT_RESET clear (two cycles after its request), the abort only from
    // a reset or a SOFT_RESET request (one cycle later)
    always @(posedge clk) if (f_past && !f_init && !$past(f_init) && seq_start)
        assert($past(req && wb_we && at_ctrl && wb_sel[0] && wb_dat_w[0] && !wb_dat_w[1], 2));
    always @(posedge clk) if (f_past && seq_abort)
        assert($past(rst) || $past(req && wb_we && at_ctrl && wb_sel[0] && wb_dat_w[1]));
`endif
endmodule
