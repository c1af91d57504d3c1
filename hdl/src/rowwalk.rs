//! Row walker of the requantization phase: after a layer's distinct rows are
//! computed, every output row `r < ROWS` is requantized from distinct row
//! `j = r mod P` with the alpha code of its copy `c_r` (and of `c_r + 1`
//! when it straddles). The walker emits one row per cycle with `j`, `c_r`
//! and the straddle flag, without division (docs/model-image.md section
//! 2.2): an offset register `o` advances by `m` and wraps at `q` (one
//! comparison with the descriptor's `q - m`: `o + m >= q` iff
//! `o >= q - m`; the row straddles iff `o > q - m`), `j` wraps at `P`, and a
//! comparison of `r + 1` (the row counter's incrementer) with ROWS marks
//! the last row.
//!
//! Rows come one per cycle from the third cycle after START (START loads
//! the descriptor and row 0's state: offset 0, which wraps iff `q = m` and
//! never straddles; a priming cycle waits). `j` wraps when `j + 1 = P` (the
//! incrementer's output), and row `r` is the last when `r + 1 = ROWS` (no
//! down-counter, no subtractor at START).
//! `N` is the width of the offset arithmetic (the sequencer's
//! [`crate::seq::seq_width`]): offsets are below `q <= TILE_MAX`.

use rust_hdl::prelude::*;

/// The walker.
#[derive(LogicBlock)]
pub struct RowWalker<const N: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Start (the descriptor inputs are sampled in this cycle).
    pub start: Signal<In, Bit>,
    /// Synchronous cancel.
    pub cancel: Signal<In, Bit>,
    /// Row length m.
    pub d_m: Signal<In, Bits<N>>,
    /// q - m.
    pub d_qmm: Signal<In, Bits<N>>,
    /// Rows (>= 1).
    pub d_rows: Signal<In, Bits<16>>,
    /// Period P (>= 1).
    pub d_period: Signal<In, Bits<N>>,
    /// Row valid.
    pub valid: Signal<Out, Bit>,
    /// Row index r.
    pub row: Signal<Out, Bits<16>>,
    /// Distinct row j = r mod P.
    pub distinct: Signal<Out, Bits<16>>,
    /// Copy c_r.
    pub copy: Signal<Out, Bits<16>>,
    /// The row straddles copies c_r and c_r + 1.
    pub straddle: Signal<Out, Bit>,
    /// Last row.
    pub last: Signal<Out, Bit>,
    /// Walking (rows left to emit).
    pub busy: Signal<Out, Bit>,
    running: DFF<Bit>,
    r: DFF<Bits<16>>,
    j: DFF<Bits<16>>,
    c: DFF<Bits<16>>,
    o: DFF<Bits<N>>,
    p_rows: DFF<Bits<16>>,
    r_inc: Signal<Local, Bits<16>>,
    r_last: Signal<Local, Bit>,
    p_m: DFF<Bits<N>>,
    p_qmm: DFF<Bits<N>>,
    p_per: DFF<Bits<N>>,
    o_valid: DFF<Bit>,
    o_row: DFF<Bits<16>>,
    o_j: DFF<Bits<16>>,
    o_c: DFF<Bits<16>>,
    o_strad: DFF<Bit>,
    o_last: DFF<Bit>,
    step: Signal<Local, Bits<N>>,
    o_next: Signal<Local, Bits<N>>,
    thr: Signal<Local, Bits<N>>,
    ge_next: Signal<Local, Bit>,
    gt_next: Signal<Local, Bit>,
    ge_q: DFF<Bit>,
    gt_q: DFF<Bit>,
    priming: DFF<Bit>,
    c_zero: Constant<Bits<N>>,
    p_2qmm: DFF<Bits<N>>,
    p_q2m: DFF<Bits<N>>,
    j_wrap: Signal<Local, Bit>,
    j_inc: Signal<Local, Bits<N>>,
    c_sign: Constant<Bits<N>>,
}

impl<const N: usize> Default for RowWalker<N> {
    fn default() -> Self {
        RowWalker {
            clk: Default::default(),
            start: Default::default(),
            cancel: Default::default(),
            d_m: Default::default(),
            d_qmm: Default::default(),
            d_rows: Default::default(),
            d_period: Default::default(),
            valid: Default::default(),
            row: Default::default(),
            distinct: Default::default(),
            copy: Default::default(),
            straddle: Default::default(),
            last: Default::default(),
            busy: Default::default(),
            running: Default::default(),
            r: Default::default(),
            j: Default::default(),
            c: Default::default(),
            o: Default::default(),
            p_rows: Default::default(),
            r_inc: Default::default(),
            r_last: Default::default(),
            p_m: Default::default(),
            p_qmm: Default::default(),
            p_per: Default::default(),
            o_valid: Default::default(),
            o_row: Default::default(),
            o_j: Default::default(),
            o_c: Default::default(),
            o_strad: Default::default(),
            o_last: Default::default(),
            step: Default::default(),
            o_next: Default::default(),
            thr: Default::default(),
            ge_next: Default::default(),
            gt_next: Default::default(),
            ge_q: Default::default(),
            gt_q: Default::default(),
            priming: Default::default(),
            c_zero: Constant::new(0u64.to_bits()),
            p_2qmm: Default::default(),
            p_q2m: Default::default(),
            j_wrap: Default::default(),
            j_inc: Default::default(),
            c_sign: Constant::new((1u64 << (N - 1)).to_bits()),
        }
    }
}

impl<const N: usize> Logic for RowWalker<N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clk, running, r, j, c, o, p_rows, p_m, p_qmm, p_per, o_valid, o_row, o_j, o_c,
            o_strad, o_last, ge_q, gt_q, p_2qmm, p_q2m, priming
        );
        // o + m >= q iff o >= q - m (`ge_q`), and the row straddles iff
        // o > q - m (`gt_q`): both flags are kept a row ahead, computed from
        // candidates that are each one carry chain from `o` (after a wrap,
        // o' = o - (q - m): o' >= q - m iff o >= 2(q - m); else o' = o + m:
        // o' >= q - m iff o >= q - 2m), selected by the registered flag
        // (offsets, q and m below 2^(N-2): signs decide). Each is one chain
        // whose operand the flag selects (a LUT before the chain, not two
        // chains and a multiplexer): o - (q - m) = o + ~(q - m) + 1.
        self.step.next = self.p_m.q.val();
        self.thr.next = self.p_q2m.q.val();
        if self.ge_q.q.val() {
            self.step.next = !self.p_qmm.q.val();
            self.thr.next = self.p_2qmm.q.val();
        }
        self.o_next.next =
            self.o.q.val() + self.step.val() + bit_cast::<N, 1>(self.ge_q.q.val().into());
        self.ge_next.next = ((self.o.q.val() - self.thr.val()) & self.c_sign.val()) == 0;
        self.gt_next.next = ((self.thr.val() - self.o.q.val()) & self.c_sign.val()) != 0;
        // j wraps after P - 1: j + 1 == P (modulo 2^N, as j == P - 1), from
        // the incrementer j needs anyway (no P - 1 at START)
        self.j_inc.next = bit_cast::<N, 16>(self.j.q.val()) + 1;
        self.j_wrap.next = self.j_inc.val() == self.p_per.q.val();
        // row r is the last when r + 1 = ROWS (modulo 2^16: ROWS = 0 walks 2^16 rows)
        self.r_inc.next = self.r.q.val() + 1;
        self.r_last.next = self.r_inc.val() == self.p_rows.q.val();
        self.o_valid.d.next = false;
        // a row advance: every running cycle (START loads row 0: offset 0,
        // which wraps iff q = m and never straddles; the priming cycle after
        // START only waits)
        if self.running.q.val() {
            self.o.d.next = self.o_next.val();
            self.ge_q.d.next = self.ge_next.val();
            self.gt_q.d.next = self.gt_next.val();
        }
        self.priming.d.next = false;
        if self.priming.q.val() {
            self.running.d.next = true;
        }
        if self.running.q.val() {
            // outputs of row r
            self.o_valid.d.next = true;
            self.o_row.d.next = self.r.q.val();
            self.o_j.d.next = self.j.q.val();
            self.o_c.d.next = self.c.q.val();
            self.o_strad.d.next = self.gt_q.q.val();
            self.o_last.d.next = self.r_last.val();
            // advance to row r + 1
            self.r.d.next = self.r_inc.val();
            if self.j_wrap.val() {
                self.j.d.next = 0.into();
            } else {
                self.j.d.next = bit_cast::<16, N>(self.j_inc.val());
            }
            if self.ge_q.q.val() {
                self.c.d.next = self.c.q.val() + 1;
            }
            if self.r_last.val() {
                self.running.d.next = false;
            }
        }
        if self.start.val() {
            self.priming.d.next = true;
            self.running.d.next = false;
            self.r.d.next = 0.into();
            self.j.d.next = 0.into();
            self.c.d.next = 0.into();
            self.o.d.next = self.c_zero.val();
            self.ge_q.d.next = self.d_qmm.val() == self.c_zero.val();
            self.gt_q.d.next = false;
            self.p_rows.d.next = self.d_rows.val();
            self.p_m.d.next = self.d_m.val();
            self.p_qmm.d.next = self.d_qmm.val();
            self.p_per.d.next = self.d_period.val();
            self.p_2qmm.d.next = self.d_qmm.val() << 1;
            self.p_q2m.d.next = self.d_qmm.val() - self.d_m.val();
        }
        if self.cancel.val() {
            self.running.d.next = false;
            self.priming.d.next = false;
            self.o_valid.d.next = false;
        }
        self.valid.next = self.o_valid.q.val();
        self.row.next = self.o_row.q.val();
        self.distinct.next = self.o_j.q.val();
        self.copy.next = self.o_c.q.val();
        self.straddle.next = self.o_strad.q.val();
        self.last.next = self.o_last.q.val();
        self.busy.next = self.running.q.val() | self.priming.q.val() | self.o_valid.q.val();
    }
}

crate::lockstep_block!(
    RowWalker<18>,
    inputs [start, cancel, d_m, d_qmm, d_rows, d_period],
    outputs [valid, row, distinct, copy, straddle, last, busy]
);
crate::lockstep_block!(
    RowWalker<24>,
    inputs [start, cancel, d_m, d_qmm, d_rows, d_period],
    outputs [valid, row, distinct, copy, straddle, last, busy]
);
