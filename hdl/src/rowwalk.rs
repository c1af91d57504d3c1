//! Row walker of the requantization phase: after a layer's distinct rows are
//! computed, every output row `r < ROWS` is requantized from distinct row
//! `j = r mod P` with the alpha code of its copy `c_r` (and of `c_r + 1`,
//! which the requantization unit weighs with the row's `dot_b`: 0 unless the
//! row straddles). The walker emits one row per cycle with `j` and the alpha
//! address `ALPHA_BASE + c_r`, without division (docs/model-image.md section
//! 2.2): an offset register `o` advances by `m` and wraps at `q` (one
//! comparison with the descriptor's `q - m`: `o + m >= q` iff `o >= q - m`;
//! a wrap advances the copy), `j` wraps at `P`, and a down-counter of the
//! rows left stops the walk after the last row.
//!
//! The outputs are the walker's state itself (no output registers): rows
//! come one per cycle from the cycle after START (START loads row 0's state:
//! offset 0, which wraps iff `q = m`). The descriptor inputs are sampled at
//! START (`ROWS`, `ALPHA_BASE`, `q - 2m`) and read while walking (`m`,
//! `q - m`, `P`): the caller holds them during the phase. `j` wraps when
//! `j + 1 = P` (the incrementer's output).
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
    /// Row length m (held while walking).
    pub d_m: Signal<In, Bits<N>>,
    /// q - m (held while walking).
    pub d_qmm: Signal<In, Bits<N>>,
    /// Rows (>= 1; 0 walks 2^16 rows).
    pub d_rows: Signal<In, Bits<16>>,
    /// Period P (>= 1, held while walking).
    pub d_period: Signal<In, Bits<N>>,
    /// Alpha address of copy 0 (ALPHA_BASE).
    pub d_abase: Signal<In, Bits<16>>,
    /// Row valid.
    pub valid: Signal<Out, Bit>,
    /// Distinct row j = r mod P.
    pub distinct: Signal<Out, Bits<16>>,
    /// Alpha address of the copy: ALPHA_BASE + c_r.
    pub alpha: Signal<Out, Bits<16>>,
    /// Walking (rows left to emit).
    pub busy: Signal<Out, Bit>,
    running: DFF<Bit>,
    left: DFF<Bits<16>>,
    j: DFF<Bits<16>>,
    c: DFF<Bits<16>>,
    o: DFF<Bits<N>>,
    ge_q: DFF<Bit>,
    p_q2m: DFF<Bits<N>>,
    step: Signal<Local, Bits<N>>,
    o_next: Signal<Local, Bits<N>>,
    thr: Signal<Local, Bits<N>>,
    ge_next: Signal<Local, Bit>,
    r_last: Signal<Local, Bit>,
    j_wrap: Signal<Local, Bit>,
    j_inc: Signal<Local, Bits<N>>,
    c_zero: Constant<Bits<N>>,
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
            d_abase: Default::default(),
            valid: Default::default(),
            distinct: Default::default(),
            alpha: Default::default(),
            busy: Default::default(),
            running: Default::default(),
            left: Default::default(),
            j: Default::default(),
            c: Default::default(),
            o: Default::default(),
            ge_q: Default::default(),
            p_q2m: Default::default(),
            step: Default::default(),
            o_next: Default::default(),
            thr: Default::default(),
            ge_next: Default::default(),
            r_last: Default::default(),
            j_wrap: Default::default(),
            j_inc: Default::default(),
            c_zero: Constant::new(0u64.to_bits()),
            c_sign: Constant::new((1u64 << (N - 1)).to_bits()),
        }
    }
}

impl<const N: usize> Logic for RowWalker<N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, running, left, j, c, o, ge_q, p_q2m);
        // o + m >= q iff o >= q - m (`ge_q`) is kept a row ahead, computed
        // from a candidate threshold one carry chain from `o` (after a wrap,
        // o' = o - (q - m): o' >= q - m iff o >= 2(q - m); else o' = o + m:
        // o' >= q - m iff o >= q - 2m), selected by the registered flag
        // (offsets, q and m below 2^(N-2): signs decide). The flag also
        // selects the adder's operand (a LUT before the chain, not two chains
        // and a multiplexer): o - (q - m) = o + ~(q - m) + 1.
        self.step.next = self.d_m.val();
        self.thr.next = self.p_q2m.q.val();
        if self.ge_q.q.val() {
            self.step.next = !self.d_qmm.val();
            self.thr.next = self.d_qmm.val() << 1;
        }
        self.o_next.next =
            self.o.q.val() + self.step.val() + bit_cast::<N, 1>(self.ge_q.q.val().into());
        self.ge_next.next = ((self.o.q.val() - self.thr.val()) & self.c_sign.val()) == 0;
        // j wraps after P - 1: j + 1 == P (modulo 2^N, as j == P - 1), from
        // the incrementer j needs anyway (no P - 1 at START)
        self.j_inc.next = bit_cast::<N, 16>(self.j.q.val()) + 1;
        self.j_wrap.next = self.j_inc.val() == self.d_period.val();
        // the current row is the last when one is left (ROWS = 0 wraps to 2^16)
        self.r_last.next = self.left.q.val() == 1;
        if self.running.q.val() {
            // advance to the next row
            self.o.d.next = self.o_next.val();
            self.ge_q.d.next = self.ge_next.val();
            self.left.d.next = self.left.q.val() - 1;
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
            // row 0: offset 0, which wraps iff q = m
            self.running.d.next = true;
            self.left.d.next = self.d_rows.val();
            self.j.d.next = 0.into();
            self.c.d.next = self.d_abase.val();
            self.o.d.next = self.c_zero.val();
            self.ge_q.d.next = self.d_qmm.val() == self.c_zero.val();
            self.p_q2m.d.next = self.d_qmm.val() - self.d_m.val();
        }
        if self.cancel.val() {
            self.running.d.next = false;
        }
        self.valid.next = self.running.q.val();
        self.distinct.next = self.j.q.val();
        self.alpha.next = self.c.q.val();
        self.busy.next = self.running.q.val();
    }
}

crate::lockstep_block!(
    RowWalker<18>,
    inputs [start, cancel, d_m, d_qmm, d_rows, d_period, d_abase],
    outputs [valid, distinct, alpha, busy]
);
crate::lockstep_block!(
    RowWalker<24>,
    inputs [start, cancel, d_m, d_qmm, d_rows, d_period, d_abase],
    outputs [valid, distinct, alpha, busy]
);
