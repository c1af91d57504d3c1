//! One layer's requantization phase (docs/model-image.md sections 3 and 4):
//! the row walker, the requantization unit and the activation writer wired
//! together, with the read ports of the memories they need as block ports.
//!
//! Per row `r` (the walker's output in cycle `t`): the pair memory is read
//! at the distinct row `j` and the alpha memory at the copy's address
//! `ALPHA_BASE + c` (it returns the codes of `c` and `c + 1`; the unit
//! weighs the second with `dot_b`, which is 0 unless the row straddles);
//! both answer in cycle `t + 1` (registered reads), when the row enters the
//! requantization unit. The record memory is read at `RECORD_BASE + r` (or
//! `RECORD_BASE` for uniform constants): the multiplier in the cycle the
//! unit asks for it (`mult_rd`: it samples the answer
//! [`REQUANT_MULT_DELAY`](crate::requant::REQUANT_MULT_DELAY) cycles after
//! the row entered), the bias likewise (`bias_rd`,
//! [`REQUANT_BIAS_DELAY`](crate::requant::REQUANT_BIAS_DELAY)), from two
//! address counters that advance on those requests (rows come one per cycle
//! and in order: no delay line of row indices). The unit's outputs go to the
//! writer (the next layer's bit-planes; the last row is the one no row
//! follows: the unit's `last`) and to the logits port (`v` and `y` of every
//! row, with the row index from an output counter; for the logits kind the
//! unit's outputs come
//! [`REQUANT_V_LATENCY`](crate::requant::REQUANT_V_LATENCY) after the row).
//! The writer's packer path (the host's input bytes) is passed through.
//!
//! The descriptor inputs are sampled at START or held while the phase is
//! busy (see [`RowWalker`]).

use crate::actwrite::ActWriter;
use crate::requant::Requant;
use crate::rowwalk::RowWalker;
use rust_hdl::prelude::*;

/// The requantization phase.
#[derive(LogicBlock)]
pub struct ReqPhase<const N: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Start the phase (descriptor inputs sampled).
    pub start: Signal<In, Bit>,
    /// Cancel the walk (rows in flight still come out).
    pub cancel: Signal<In, Bit>,
    /// m (held during the phase).
    pub d_m: Signal<In, Bits<N>>,
    /// q - m (held).
    pub d_qmm: Signal<In, Bits<N>>,
    /// Rows (below 2^15).
    pub d_rows: Signal<In, Bits<16>>,
    /// Period P (held).
    pub d_period: Signal<In, Bits<N>>,
    /// Alpha memory address of the layer's copy 0 (ALPHA_BASE).
    pub d_abase: Signal<In, Bits<16>>,
    /// Record memory address of the layer's row 0.
    pub d_rbase: Signal<In, Bits<16>>,
    /// Uniform constants: every row reads the record at `d_rbase`.
    pub d_uniform: Signal<In, Bit>,
    /// Shift S (held during the phase).
    pub d_shift: Signal<In, Bits<6>>,
    /// Kind (held).
    pub d_kind: Signal<In, Bits<2>>,
    /// Output bits A' (held).
    pub d_out_bits: Signal<In, Bits<4>>,
    /// Pair memory read address (distinct row j).
    pub pair_addr: Signal<Out, Bits<16>>,
    /// dot_a of the pair read in the previous cycle.
    pub pair_a: Signal<In, Bits<32>>,
    /// dot_b of the pair read in the previous cycle.
    pub pair_b: Signal<In, Bits<32>>,
    /// Alpha memory read address: ALPHA_BASE + c.
    pub alpha_addr: Signal<Out, Bits<16>>,
    /// Alpha code of copy c (read in the previous cycle).
    pub alpha_a: Signal<In, Bits<16>>,
    /// Alpha code of copy c + 1.
    pub alpha_b: Signal<In, Bits<16>>,
    /// Record memory read address of the multiplier.
    pub mult_addr: Signal<Out, Bits<16>>,
    /// M of the record read in the previous cycle.
    pub mult: Signal<In, Bits<16>>,
    /// Record memory read address of the bias.
    pub bias_addr: Signal<Out, Bits<16>>,
    /// B' of the record read in the previous cycle.
    pub bias: Signal<In, Bits<64>>,
    /// Input bytes from the bus (packer path).
    pub pk_we: Signal<In, Bit>,
    /// The bus word.
    pub pk_data: Signal<In, Bits<32>>,
    /// Input bits (range check).
    pub in_bits: Signal<In, Bits<4>>,
    /// Signed input (range check).
    pub in_signed: Signal<In, Bit>,
    /// End of the host's input (flushes the packer's partial group).
    pub in_flush: Signal<In, Bit>,
    /// Clear the writer (start of an input).
    pub wr_clear: Signal<In, Bit>,
    /// Activation memory write.
    pub act_we: Signal<Out, Bit>,
    /// Activation memory address (`plane << 11 | word`).
    pub act_addr: Signal<Out, Bits<14>>,
    /// Activation memory data.
    pub act_data: Signal<Out, Bits<32>>,
    /// Activation memory byte lanes written (the writer writes half-words).
    pub act_sel: Signal<Out, Bits<4>>,
    /// Input byte out of range (pulse).
    pub range_err: Signal<Out, Bit>,
    /// A requantized row (every kind; for logits `logit_v` is its `v`).
    pub logit_valid: Signal<Out, Bit>,
    /// Row of the output.
    pub logit_row: Signal<Out, Bits<16>>,
    /// v (valid with `logit_valid` for the logits kind).
    pub logit_v: Signal<Out, Bits<64>>,
    /// The clamped output (8-bit two's complement; sign: 0/1; logits: 0).
    pub logit_y: Signal<Out, Bits<8>>,
    /// Phase busy: walking, rows in the unit, or writes pending.
    pub busy: Signal<Out, Bit>,
    /// Rows walking or in the unit (`busy` without the writer's writes).
    pub rows_busy: Signal<Out, Bit>,
    /// The writer has values or writes pending (`busy`'s writer part).
    pub wr_busy: Signal<Out, Bit>,
    /// The writer takes the gather port's values instead of the unit's
    /// outputs (a format-2 model: the patch of a conv position or a dense
    /// layer's inputs gathered from a feature map; the unit's outputs go to
    /// the feature map through the logits port).
    pub g_sel: Signal<In, Bit>,
    /// A gathered value.
    pub g_valid: Signal<In, Bit>,
    /// Its value.
    pub g_y: Signal<In, Bits<8>>,
    /// It is the last of its patch.
    pub g_last: Signal<In, Bit>,
    /// Planes of the gathered values (the layer's input bits).
    pub g_planes: Signal<In, Bits<4>>,
    walker: RowWalker<N>,
    rq: Requant,
    wr: ActWriter,
    d1_valid: DFF<Bit>,
    m_addr: DFF<Bits<16>>,
    b_addr: DFF<Bits<16>>,
    out_row: DFF<Bits<16>>,
}

impl<const N: usize> ReqPhase<N> {
    /// A phase for `dot_bits`-bit accumulators and a `v_bits`-bit `v`.
    pub fn new(dot_bits: usize, v_bits: usize) -> Self {
        ReqPhase {
            clk: Default::default(),
            start: Default::default(),
            cancel: Default::default(),
            d_m: Default::default(),
            d_qmm: Default::default(),
            d_rows: Default::default(),
            d_period: Default::default(),
            d_abase: Default::default(),
            d_rbase: Default::default(),
            d_uniform: Default::default(),
            d_shift: Default::default(),
            d_kind: Default::default(),
            d_out_bits: Default::default(),
            pair_addr: Default::default(),
            pair_a: Default::default(),
            pair_b: Default::default(),
            alpha_addr: Default::default(),
            alpha_a: Default::default(),
            alpha_b: Default::default(),
            mult_addr: Default::default(),
            mult: Default::default(),
            bias_addr: Default::default(),
            bias: Default::default(),
            pk_we: Default::default(),
            pk_data: Default::default(),
            in_bits: Default::default(),
            in_signed: Default::default(),
            in_flush: Default::default(),
            wr_clear: Default::default(),
            act_we: Default::default(),
            act_addr: Default::default(),
            act_data: Default::default(),
            act_sel: Default::default(),
            range_err: Default::default(),
            logit_valid: Default::default(),
            logit_row: Default::default(),
            logit_v: Default::default(),
            logit_y: Default::default(),
            busy: Default::default(),
            rows_busy: Default::default(),
            wr_busy: Default::default(),
            g_sel: Default::default(),
            g_valid: Default::default(),
            g_y: Default::default(),
            g_last: Default::default(),
            g_planes: Default::default(),
            walker: Default::default(),
            rq: Requant::new(dot_bits, v_bits),
            wr: Default::default(),
            d1_valid: Default::default(),
            m_addr: Default::default(),
            b_addr: Default::default(),
            out_row: Default::default(),
        }
    }
}

impl<const N: usize> Logic for ReqPhase<N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, d1_valid, m_addr, b_addr, out_row);
        self.walker.clk.next = self.clk.val();
        self.rq.clk.next = self.clk.val();
        self.wr.clk.next = self.clk.val();
        // walker
        self.walker.start.next = self.start.val();
        self.walker.cancel.next = self.cancel.val();
        self.walker.d_m.next = self.d_m.val();
        self.walker.d_qmm.next = self.d_qmm.val();
        self.walker.d_rows.next = self.d_rows.val();
        self.walker.d_period.next = self.d_period.val();
        self.walker.d_abase.next = self.d_abase.val();
        // memory reads of the walker's row (answers in the next cycle)
        self.pair_addr.next = self.walker.distinct.val();
        self.alpha_addr.next = self.walker.alpha.val();
        self.d1_valid.d.next = self.walker.valid.val();
        // record reads where the unit asks for them: rows are read in order,
        // one per request (uniform constants: always the layer's record)
        self.mult_addr.next = self.m_addr.q.val();
        self.bias_addr.next = self.b_addr.q.val();
        if self.rq.mult_rd.val() & !self.d_uniform.val() {
            self.m_addr.d.next = self.m_addr.q.val() + 1;
        }
        if self.rq.bias_rd.val() & !self.d_uniform.val() {
            self.b_addr.d.next = self.b_addr.q.val() + 1;
        }
        // requantization unit
        self.rq.in_valid.next = self.d1_valid.q.val();
        self.rq.in_dot_a.next = self.pair_a.val();
        self.rq.in_dot_b.next = self.pair_b.val();
        self.rq.in_alpha_a.next = self.alpha_a.val();
        self.rq.in_alpha_b.next = self.alpha_b.val();
        self.rq.in_mult.next = self.mult.val();
        self.rq.in_bias.next = self.bias.val();
        self.rq.shift.next = self.d_shift.val();
        self.rq.kind.next = self.d_kind.val();
        self.rq.out_bits.next = self.d_out_bits.val();
        // output rows, counted
        if self.rq.out_valid.val() {
            self.out_row.d.next = self.out_row.q.val() + 1;
        }
        if self.start.val() {
            self.m_addr.d.next = self.d_rbase.val();
            self.b_addr.d.next = self.d_rbase.val();
            self.out_row.d.next = 0.into();
        }
        // writer: requantized values one per cycle, or the packer
        // (with the gather port the writer packs patches while rows are
        // requantized: START does not clear it then)
        self.wr.clear.next = (self.start.val() & !self.g_sel.val()) | self.wr_clear.val();
        self.wr.planes.next = self.d_out_bits.val();
        self.wr.in_count.next = bit_cast::<2, 1>(self.rq.out_valid.val().into());
        self.wr.in_y.next =
            bit_cast::<16, 8>(self.rq.out_y.val()) | (bit_cast::<16, 8>(self.rq.out_y.val()) << 8);
        self.wr.in_last.next = self.rq.out_last.val() | self.in_flush.val();
        if self.g_sel.val() {
            self.wr.planes.next = self.g_planes.val();
            self.wr.in_count.next = bit_cast::<2, 1>(self.g_valid.val().into());
            self.wr.in_y.next =
                bit_cast::<16, 8>(self.g_y.val()) | (bit_cast::<16, 8>(self.g_y.val()) << 8);
            self.wr.in_last.next = (self.g_valid.val() & self.g_last.val()) | self.in_flush.val();
        }
        self.wr.pk_we.next = self.pk_we.val();
        self.wr.pk_data.next = self.pk_data.val();
        self.wr.in_bits.next = self.in_bits.val();
        self.wr.in_signed.next = self.in_signed.val();
        self.act_we.next = self.wr.we.val();
        self.act_addr.next = self.wr.addr.val();
        self.act_data.next = self.wr.data.val();
        self.act_sel.next = self.wr.sel.val();
        self.range_err.next = self.wr.range_err.val();
        self.logit_valid.next = self.rq.out_valid.val();
        self.logit_row.next = self.out_row.q.val();
        self.logit_v.next = self.rq.out_v.val();
        self.logit_y.next = self.rq.out_y.val();
        self.rows_busy.next = self.walker.busy.val() | self.d1_valid.q.val() | self.rq.busy.val();
        self.wr_busy.next = self.wr.busy.val();
        self.busy.next = self.walker.busy.val()
            | self.d1_valid.q.val()
            | self.rq.busy.val()
            | self.wr.busy.val();
    }
}

crate::lockstep_block!(
    ReqPhase<18>,
    inputs [start, cancel, d_m, d_qmm, d_rows, d_period, d_abase, d_rbase, d_uniform, d_shift, d_kind, d_out_bits, pair_a, pair_b, alpha_a, alpha_b, mult, bias, pk_we, pk_data, in_bits, in_signed, in_flush, wr_clear, g_sel, g_valid, g_y, g_last, g_planes],
    outputs [pair_addr, alpha_addr, mult_addr, bias_addr, act_we, act_addr, act_data, range_err, logit_valid, logit_row, logit_v, logit_y, busy, act_sel, rows_busy, wr_busy]
);
