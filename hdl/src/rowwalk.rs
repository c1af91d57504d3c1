//! Row walker of the requantization phase: after a layer's distinct rows are
//! computed, every output row `r < ROWS` is requantized from distinct row
//! `j = r mod P` with the alpha code of its copy `c_r` (and of `c_r + 1`,
//! which the requantization unit weighs with the row's `dot_b`: 0 unless the
//! row straddles). The walker emits one row per cycle with `j` and the alpha
//! address `ALPHA_BASE + c_r`, without division (docs/model-image.md section
//! 2.2): the row's tile offset `o` advances by `m` and wraps at `q`, and a
//! wrap advances the copy. The walker holds `e = o - (q - m)` instead of `o`:
//! the row wraps iff `o + m >= q`, i.e. `e >= 0` (its sign bit, a register),
//! and the next row's `e` is `e - (q - m)` after a wrap, else `e + m` (one
//! adder whose operand the sign selects). `j` wraps at `P` (when a second
//! counter, `j + 1`, equals `P`) and the walk stops after the row `r` with
//! `r + 1 = ROWS` (registered a row ahead from a counter set to 1 at START).
//!
//! The outputs are the walker's state itself (no output registers): rows
//! come one per cycle from the second cycle after START. While idle (and at
//! a cancel) `e` is held at 0; the cycle after START (`prime`, a register
//! with few loads: START itself fans out to every counter) takes the wrap
//! step from it, row 0's `e = -(q - m)` (offset 0; it wraps iff `q = m`).
//! The descriptor inputs are sampled at START (`ALPHA_BASE`) and read while
//! walking (`m`, `q - m`, `ROWS`, `P`): the caller holds them during the
//! phase (and from START). The counters run on while idle (START loads
//! them; `j` and `j + 1` hold in the prime cycle): only the flags from
//! their registers (`j + 1 = P`, `r + 1 = ROWS`) gate them. (A counter
//! loaded with a variable costs a LUT per bit besides its adder's: yosys
//! keeps the adder's sum LUT with its carry; constants load by synchronous
//! set / reset.)
//! `N` is the width of the offset arithmetic (the sequencer's
//! [`crate::seq::seq_width`]): offsets are below `q <= TILE_MAX`.

use rust_hdl::prelude::*;

/// The walker.
#[derive(LogicBlock)]
pub struct RowWalker<const N: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Start, while idle (the descriptor inputs are sampled in this cycle).
    pub start: Signal<In, Bit>,
    /// Synchronous cancel.
    pub cancel: Signal<In, Bit>,
    /// Row length m (held while walking).
    pub d_m: Signal<In, Bits<N>>,
    /// q - m (held while walking).
    pub d_qmm: Signal<In, Bits<N>>,
    /// Rows (>= 1; 0 walks 2^16 rows; held while walking).
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
    prime: DFF<Bit>,
    count: DFF<Bits<16>>,
    j: DFF<Bits<16>>,
    c: DFF<Bits<16>>,
    j1: DFF<Bits<N>>,
    // P, registered every cycle: held from START (the caller's contract) and
    // first compared two cycles after it (START loads j; the prime cycle
    // holds it), so the copy is P whenever it is read
    p_q: DFF<Bits<N>>,
    e: DFF<Bits<N>>,
    wrap: Signal<Local, Bit>,
    sel: Signal<Local, Bit>,
    step: Signal<Local, Bits<N>>,
    r_last: DFF<Bit>,
    j_wrap: Signal<Local, Bit>,
    j_load: Signal<Local, Bit>,
    c_zero: Constant<Bits<N>>,
    c_one: Constant<Bits<N>>,
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
            prime: Default::default(),
            count: Default::default(),
            j: Default::default(),
            c: Default::default(),
            j1: Default::default(),
            p_q: Default::default(),
            e: Default::default(),
            wrap: Default::default(),
            sel: Default::default(),
            step: Default::default(),
            r_last: Default::default(),
            j_wrap: Default::default(),
            j_load: Default::default(),
            c_zero: Constant::new(0u64.to_bits()),
            c_one: Constant::new(1u64.to_bits()),
            c_sign: Constant::new((1u64 << (N - 1)).to_bits()),
        }
    }
}

impl<const N: usize> Logic for RowWalker<N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, running, prime, count, j, c, j1, p_q, e, r_last);
        // the row wraps (o >= q - m) iff e = o - (q - m) >= 0; the next row's
        // e is e - (q - m) = e + ~(q - m) + 1 after a wrap, else e + m: the
        // flag selects the adder's operand (a LUT before the chain). The
        // prime cycle takes the wrap step from e = 0 (held while idle): row
        // 0's e.
        self.prime.d.next = self.start.val() & !self.cancel.val();
        self.wrap.next = (self.e.q.val() & self.c_sign.val()) == self.c_zero.val();
        self.sel.next = self.prime.q.val() | self.wrap.val();
        self.step.next = self.d_m.val();
        if self.sel.val() {
            self.step.next = !self.d_qmm.val();
        }
        self.e.d.next = self.e.q.val() + self.step.val() + bit_cast::<N, 1>(self.sel.val().into());
        if (!self.running.q.val() & !self.prime.q.val()) | self.cancel.val() {
            self.e.d.next = self.c_zero.val();
        }
        // j wraps after P - 1: when j1 = j + 1 equals P (registers compared,
        // not the incrementer's sum; both counters restart by synchronous
        // set / reset)
        self.p_q.d.next = self.d_period.val();
        self.j_wrap.next = self.j1.q.val() == self.p_q.q.val();
        self.j_load.next = self.start.val() | self.j_wrap.val();
        if !self.prime.q.val() {
            self.j.d.next = self.j.q.val() + 1;
            self.j1.d.next = self.j1.q.val() + 1;
            if self.j_load.val() {
                self.j.d.next = 0.into();
                self.j1.d.next = self.c_one.val();
            }
        }
        // the copy advances after a row that wraps
        self.c.d.next =
            self.c.q.val() + bit_cast::<16, 1>((self.wrap.val() & self.running.q.val()).into());
        // the current row r is the last when r + 1 = ROWS (modulo 2^16: ROWS
        // = 0 walks 2^16 rows), registered a row ahead: count is r + 2 in
        // row r (1 in the prime cycle)
        self.r_last.d.next = self.count.q.val() == self.d_rows.val();
        self.count.d.next = self.count.q.val() + 1;
        if self.running.q.val() & self.r_last.q.val() {
            self.running.d.next = false;
        }
        if self.prime.q.val() {
            self.running.d.next = true;
        }
        if self.start.val() {
            self.count.d.next = 1.into();
            self.c.d.next = self.d_abase.val();
        }
        if self.cancel.val() {
            self.running.d.next = false;
        }
        self.valid.next = self.running.q.val();
        self.distinct.next = self.j.q.val();
        self.alpha.next = self.c.q.val();
        self.busy.next = self.running.q.val() | self.prime.q.val();
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
