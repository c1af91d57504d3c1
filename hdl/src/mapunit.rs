//! Feature-map unit of the whole-network engine (issue 13; docs/model-image.md
//! section 9): the on-chip feature maps, the host input written into them,
//! the gather of a conv patch or a dense layer's vector into the activation
//! writer, the max-pool layers, and the writes of the requantized outputs.
//!
//! Memory: three regions of `R = 2^RB` values (CFG_MAX_FMAP), region 0 the
//! network input (kept for the next INFER), 1 and 2 the maps A and B; a value
//! is a byte (the stored value: 8-bit two's complement, or 0 / 1 for sign
//! activations). The bytes are interleaved over two 8-bit banks (even and odd
//! indices) so that the host's input goes in two bytes per cycle, the
//! packer's rate; every other access is one value per cycle. Bank address:
//! `region R / 2 + index / 2`.
//!
//! - **Input** (`in_we`, the cycle after an accepted INPUT write, `in_data`
//!   the held bus word): bytes 0 and 1 at `iptr`, `iptr + 1` now, 2 and 3 in
//!   the next cycle; `iptr` advances by 4 (`in_first`: the word is word 0).
//! - **Gather** (`g_go`): a conv layer takes the next patch from the address
//!   walker (`MapWalker`, started by `l_start`; it stalls between patches),
//!   a dense layer its `m` inputs in order from index 0. Each element is read
//!   from region `src` (one cycle, registered) and presented to the writer
//!   from registers in the next cycle as `g_valid`, `g_y`, `g_last` (the
//!   patch's last). Padding is the value 0;
//!   with `x2` (an `A = 1` conv with padding, run as `A = 2` signed so that a
//!   padded lane contributes 0: docs/numerics.md section 3) a stored bit `b`
//!   becomes `2b - 1` (+1 or -1) and padding 0.
//! - **Max-pool** (`l_start` with `op_pool`): the walker's windows, read one
//!   value per cycle; a running maximum (two's complement with `pool_signed`, else
//!   unsigned: for sign values the bit, +1 wins); each window's maximum is
//!   written to region `dst` at the next output index (CHW order, the
//!   walker's). The values read are compared a cycle later, from
//!   registers, and each maximum is written from the running-maximum
//!   register a cycle after that (no comparison starts at the banks'
//!   outputs, no write at the comparison).
//!   `pool_busy` until the last write.
//! - **Outputs** (`o_we`, `o_row`, `o_y`: a requantized row): written to
//!   region `dst` at `pos_base + row`; `o_next` advances `pos_base` by
//!   `rows` (the next conv position: HWC), `l_start` clears it.
//!
//! Every write goes through a register stage (address, data, bank enables),
//! so the memories' inputs start at flip-flops.

use crate::mapwalk::MapWalker;
use crate::ram::Ram;
use rust_hdl::prelude::*;

/// The feature-map unit.
#[derive(LogicBlock)]
pub struct MapUnit {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Soft reset: stops a walk, a gather or a pool.
    pub cancel: Signal<In, Bit>,
    /// Start of a conv or max-pool layer (the walker samples the geometry).
    pub l_start: Signal<In, Bit>,
    /// The layer is a conv (walker in patch mode; gathers from the walker).
    pub op_conv: Signal<In, Bit>,
    /// The layer is a max-pool.
    pub op_pool: Signal<In, Bit>,
    /// The input map is HWC.
    pub in_hwc: Signal<In, Bit>,
    /// Input channels.
    pub in_c: Signal<In, Bits<8>>,
    /// Input height.
    pub in_h: Signal<In, Bits<8>>,
    /// Input width.
    pub in_w: Signal<In, Bits<8>>,
    /// Kernel height.
    pub kh: Signal<In, Bits<4>>,
    /// Kernel width.
    pub kw: Signal<In, Bits<4>>,
    /// Stride.
    pub stride: Signal<In, Bits<4>>,
    /// Padding.
    pub pad: Signal<In, Bits<4>>,
    /// Output height.
    pub out_h: Signal<In, Bits<8>>,
    /// Output width.
    pub out_w: Signal<In, Bits<8>>,
    /// Inputs of a dense layer (gathered in order).
    pub m: Signal<In, Bits<16>>,
    /// Region read (0 input, 1 A, 2 B).
    pub src: Signal<In, Bits<2>>,
    /// Region written.
    pub dst: Signal<In, Bits<2>>,
    /// `A = 1` with padding, gathered as `A = 2` signed values.
    pub x2: Signal<In, Bit>,
    /// The max-pool's values are two's complement.
    pub pool_signed: Signal<In, Bit>,
    /// Gather the next patch (conv) or the layer's inputs (dense).
    pub g_go: Signal<In, Bit>,
    /// A requantized output row.
    pub o_we: Signal<In, Bit>,
    /// Its row.
    pub o_row: Signal<In, Bits<16>>,
    /// Its stored value.
    pub o_y: Signal<In, Bits<8>>,
    /// The next conv position: `pos_base += rows`.
    pub o_next: Signal<In, Bit>,
    /// Rows of the layer (output channels of a conv).
    pub rows: Signal<In, Bits<16>>,
    /// An INPUT word's bytes (the cycle after the write; data held).
    pub in_we: Signal<In, Bit>,
    /// The word is INPUT word 0.
    pub in_first: Signal<In, Bit>,
    /// The held bus word.
    pub in_data: Signal<In, Bits<32>>,
    /// A gathered value for the writer.
    pub g_valid: Signal<Out, Bit>,
    /// Its value (8 bits).
    pub g_y: Signal<Out, Bits<8>>,
    /// It is the patch's (or vector's) last.
    pub g_last: Signal<Out, Bit>,
    /// A gather is running (elements to read or a value to present).
    pub g_busy: Signal<Out, Bit>,
    /// The walker has presented its last element (the last conv position is
    /// gathered).
    pub walk_end: Signal<Out, Bit>,
    /// A max-pool layer is running.
    pub pool_busy: Signal<Out, Bit>,
    walker: MapWalker<16>,
    bank0: Ram<8>,
    bank1: Ram<8>,
    // gather / pool control
    gathering: DFF<Bit>,
    adv: DFF<Bit>,
    dense: DFF<Bit>,
    dcnt: DFF<Bits<16>>,
    dleft: DFF<Bits<16>>,
    pooling: DFF<Bit>,
    wend: DFF<Bit>,
    // the read stage (the element consumed in the previous cycle)
    r_take: DFF<Bit>,
    r_odd: DFF<Bit>,
    r_valid: DFF<Bit>,
    r_last: DFF<Bit>,
    r_first: DFF<Bit>,
    r_wlast: DFF<Bit>,
    r_pool: DFF<Bit>,
    r_done: DFF<Bit>,
    // the presented gather value
    gq_valid: DFF<Bit>,
    gq_last: DFF<Bit>,
    gq_y: DFF<Bits<8>>,
    // max-pool
    cur_k: DFF<Bits<8>>,
    pcnt: DFF<Bits<16>>,
    /// The compare stage: a pool value read in the previous cycle, its key
    /// and window flags (the comparison starts at flip-flops, not at the
    /// banks' outputs).
    p_take: DFF<Bit>,
    p_first: DFF<Bit>,
    p_wlast: DFF<Bit>,
    p_key: DFF<Bits<8>>,
    /// A window's maximum is complete in `cur_k`: written in this cycle
    /// (from the register, not through the last comparison).
    pw: DFF<Bit>,
    // outputs
    pos_base: DFF<Bits<16>>,
    // input
    iptr: DFF<Bits<16>>,
    i_second: DFF<Bit>,
    i_hold: DFF<Bits<16>>,
    // the write stage: per bank enable, address, data
    w0_we: DFF<Bit>,
    w0_addr: DFF<Bits<16>>,
    w0_data: DFF<Bits<8>>,
    w1_we: DFF<Bit>,
    w1_addr: DFF<Bits<16>>,
    w1_data: DFF<Bits<8>>,
    // locals
    take: Signal<Local, Bit>,
    el_addr: Signal<Local, Bits<16>>,
    src_base: Signal<Local, Bits<16>>,
    dst_base: Signal<Local, Bits<16>>,
    rd_val: Signal<Local, Bits<8>>,
    key: Signal<Local, Bits<8>>,
    nxt_k: Signal<Local, Bits<8>>,
    sgn: Signal<Local, Bits<8>>,
    o_idx: Signal<Local, Bits<16>>,
    w_idx: Signal<Local, Bits<16>>,
    w_we: Signal<Local, Bit>,
    w_data: Signal<Local, Bits<8>>,
    // region bases in bank words (R / 2 and R) and the index mask
    c_base1: Constant<Bits<16>>,
    c_base2: Constant<Bits<16>>,
    c_imask: Constant<Bits<16>>,
}

impl MapUnit {
    /// A unit for regions of `region_values` values (a power of two, 2 to
    /// 32,768; CFG_MAX_FMAP).
    pub fn new(region_values: usize) -> Self {
        assert!(
            region_values.is_power_of_two() && (2..=32768).contains(&region_values),
            "feature-map regions of 2..=32768 values (a power of two)"
        );
        let r = region_values as u64;
        MapUnit {
            clk: Default::default(),
            cancel: Default::default(),
            l_start: Default::default(),
            op_conv: Default::default(),
            op_pool: Default::default(),
            in_hwc: Default::default(),
            in_c: Default::default(),
            in_h: Default::default(),
            in_w: Default::default(),
            kh: Default::default(),
            kw: Default::default(),
            stride: Default::default(),
            pad: Default::default(),
            out_h: Default::default(),
            out_w: Default::default(),
            m: Default::default(),
            src: Default::default(),
            dst: Default::default(),
            x2: Default::default(),
            pool_signed: Default::default(),
            g_go: Default::default(),
            o_we: Default::default(),
            o_row: Default::default(),
            o_y: Default::default(),
            o_next: Default::default(),
            rows: Default::default(),
            in_we: Default::default(),
            in_first: Default::default(),
            in_data: Default::default(),
            g_valid: Default::default(),
            g_y: Default::default(),
            g_last: Default::default(),
            g_busy: Default::default(),
            walk_end: Default::default(),
            pool_busy: Default::default(),
            walker: Default::default(),
            bank0: Ram::new(3 * region_values / 2),
            bank1: Ram::new(3 * region_values / 2),
            gathering: Default::default(),
            adv: Default::default(),
            dense: Default::default(),
            dcnt: Default::default(),
            dleft: Default::default(),
            pooling: Default::default(),
            wend: Default::default(),
            r_take: Default::default(),
            r_odd: Default::default(),
            r_valid: Default::default(),
            r_last: Default::default(),
            r_first: Default::default(),
            r_wlast: Default::default(),
            r_pool: Default::default(),
            r_done: Default::default(),
            gq_valid: Default::default(),
            gq_last: Default::default(),
            gq_y: Default::default(),
            cur_k: Default::default(),
            pcnt: Default::default(),
            p_take: Default::default(),
            p_first: Default::default(),
            p_wlast: Default::default(),
            p_key: Default::default(),
            pw: Default::default(),
            pos_base: Default::default(),
            iptr: Default::default(),
            i_second: Default::default(),
            i_hold: Default::default(),
            w0_we: Default::default(),
            w0_addr: Default::default(),
            w0_data: Default::default(),
            w1_we: Default::default(),
            w1_addr: Default::default(),
            w1_data: Default::default(),
            take: Default::default(),
            el_addr: Default::default(),
            src_base: Default::default(),
            dst_base: Default::default(),
            rd_val: Default::default(),
            key: Default::default(),
            nxt_k: Default::default(),
            sgn: Default::default(),
            o_idx: Default::default(),
            w_idx: Default::default(),
            w_we: Default::default(),
            w_data: Default::default(),
            c_base1: Constant::new((r / 2).to_bits()),
            c_base2: Constant::new(r.to_bits()),
            c_imask: Constant::new((r - 1).to_bits()),
        }
    }
}

impl Logic for MapUnit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clk, gathering, adv, dense, dcnt, dleft, pooling, wend, r_take, r_odd, r_valid,
            r_last, r_first, r_wlast, r_pool, r_done, gq_valid, gq_last, gq_y, cur_k, pcnt, p_take,
            p_first, p_wlast, p_key, pw, pos_base, iptr, i_second, i_hold, w0_we, w0_addr, w0_data,
            w1_we, w1_addr, w1_data
        );
        self.walker.clk.next = self.clk.val();
        self.bank0.clk.next = self.clk.val();
        self.bank1.clk.next = self.clk.val();
        // ---- the walker: conv patches (stalled between gathers) or pool windows ----
        self.walker.start.next = self.l_start.val() & (self.op_conv.val() | self.op_pool.val());
        self.walker.cancel.next = self.cancel.val();
        self.walker.conv.next = self.op_conv.val();
        self.walker.in_hwc.next = self.in_hwc.val();
        self.walker.in_c.next = self.in_c.val();
        self.walker.in_h.next = self.in_h.val();
        self.walker.in_w.next = self.in_w.val();
        self.walker.kh.next = self.kh.val();
        self.walker.kw.next = self.kw.val();
        self.walker.stride.next = self.stride.val();
        self.walker.pad.next = self.pad.val();
        self.walker.out_h.next = self.out_h.val();
        self.walker.out_w.next = self.out_w.val();
        // (`adv` is `(gathering & !dense) | pooling`, kept in a flip-flop of
        // its own from their next values: the walker's input then comes
        // from a register, and Verilator sees no loop through this block)
        self.walker.advance.next = self.adv.q.val();
        // ---- the element consumed this cycle and its read ----
        self.take.next = self.walker.ready.val() & self.adv.q.val();
        self.el_addr.next = self.walker.addr.val();
        if self.dense.q.val() {
            self.take.next = self.gathering.q.val();
            self.el_addr.next = self.dcnt.q.val();
        }
        self.src_base.next = 0.into();
        if self.src.val() == 1 {
            self.src_base.next = self.c_base1.val();
        }
        if self.src.val() == 2 {
            self.src_base.next = self.c_base2.val();
        }
        self.bank0.raddr.next =
            self.src_base.val() | ((self.el_addr.val() & self.c_imask.val()) >> 1);
        self.bank1.raddr.next =
            self.src_base.val() | ((self.el_addr.val() & self.c_imask.val()) >> 1);
        self.r_take.d.next = self.take.val();
        self.r_odd.d.next = self.el_addr.val().get_bit(0);
        self.r_valid.d.next = self.walker.valid.val() | self.dense.q.val();
        self.r_last.d.next = self.walker.last_in_patch.val();
        if self.dense.q.val() {
            self.r_last.d.next = self.dleft.q.val() == 1;
        }
        self.r_first.d.next = self.walker.first_in_window.val();
        self.r_wlast.d.next = self.walker.last_in_window.val();
        self.r_pool.d.next = self.pooling.q.val();
        self.r_done.d.next = false;
        // ---- gather control ----
        if self.take.val() & self.dense.q.val() {
            self.dcnt.d.next = self.dcnt.q.val() + 1;
            self.dleft.d.next = self.dleft.q.val() - 1;
            if self.dleft.q.val() == 1 {
                self.gathering.d.next = false;
                self.dense.d.next = false;
            }
        }
        if self.take.val() & !self.dense.q.val() & self.gathering.q.val() {
            if self.walker.last_in_patch.val() {
                self.gathering.d.next = false;
            }
            if self.walker.last.val() {
                self.wend.d.next = true;
            }
        }
        if self.g_go.val() {
            self.gathering.d.next = true;
            self.dense.d.next = !self.op_conv.val();
            self.dcnt.d.next = 0.into();
            self.dleft.d.next = self.m.val();
        }
        // ---- the value read (one cycle after its element) ----
        self.rd_val.next = self.bank0.rdata.val();
        if self.r_odd.q.val() {
            self.rd_val.next = self.bank1.rdata.val();
        }
        // (presented from registers, a cycle after the read: the writer's
        // packing does not start at the banks' outputs)
        self.gq_valid.d.next = self.r_take.q.val() & !self.r_pool.q.val();
        self.gq_last.d.next = self.r_last.q.val();
        self.gq_y.d.next = 0.into();
        if self.r_valid.q.val() {
            self.gq_y.d.next = self.rd_val.val();
            if self.x2.val() {
                self.gq_y.d.next = 0xFF.into();
                if self.rd_val.val().get_bit(0) {
                    self.gq_y.d.next = 1.into();
                }
            }
        }
        self.g_valid.next = self.gq_valid.q.val();
        self.g_last.next = self.gq_last.q.val();
        self.g_y.next = self.gq_y.q.val();
        // ---- max-pool: the running maximum in key space (two's complement
        // values with the sign bit flipped compare as unsigned) ----
        self.sgn.next = 0.into();
        if self.pool_signed.val() {
            self.sgn.next = 0x80.into();
        }
        self.key.next = self.rd_val.val() ^ self.sgn.val();
        self.p_take.d.next = self.r_take.q.val() & self.r_pool.q.val();
        self.p_first.d.next = self.r_first.q.val();
        self.p_wlast.d.next = self.r_wlast.q.val();
        self.p_key.d.next = self.key.val();
        self.nxt_k.next = self.cur_k.q.val();
        if self.p_first.q.val() | (self.p_key.q.val() > self.cur_k.q.val()) {
            self.nxt_k.next = self.p_key.q.val();
        }
        if self.p_take.q.val() {
            self.cur_k.d.next = self.nxt_k.val();
        }
        if self.take.val() & self.pooling.q.val() & self.walker.last.val() {
            self.pooling.d.next = false;
            self.r_done.d.next = true;
        }
        // ---- the write stage: a window's maximum, an output row, or the
        // host's input bytes ----
        self.dst_base.next = 0.into();
        if self.dst.val() == 1 {
            self.dst_base.next = self.c_base1.val();
        }
        if self.dst.val() == 2 {
            self.dst_base.next = self.c_base2.val();
        }
        self.o_idx.next = (self.pos_base.q.val() + self.o_row.val()) & self.c_imask.val();
        self.w_we.next = false;
        self.w_idx.next = self.o_idx.val();
        self.w_data.next = self.o_y.val();
        if self.o_we.val() {
            self.w_we.next = true;
        }
        self.pw.d.next = self.p_take.q.val() & self.p_wlast.q.val();
        if self.pw.q.val() {
            self.w_we.next = true;
            self.w_idx.next = self.pcnt.q.val() & self.c_imask.val();
            self.w_data.next = self.cur_k.q.val() ^ self.sgn.val();
            self.pcnt.d.next = self.pcnt.q.val() + 1;
        }
        self.w0_we.d.next = self.w_we.val() & !self.w_idx.val().get_bit(0);
        self.w1_we.d.next = self.w_we.val() & self.w_idx.val().get_bit(0);
        self.w0_addr.d.next = self.dst_base.val() | (self.w_idx.val() >> 1);
        self.w1_addr.d.next = self.dst_base.val() | (self.w_idx.val() >> 1);
        self.w0_data.d.next = self.w_data.val();
        self.w1_data.d.next = self.w_data.val();
        // input bytes: 0 and 1 now, 2 and 3 in the next cycle (region 0)
        self.i_second.d.next = false;
        if self.in_we.val() {
            self.i_second.d.next = true;
            self.i_hold.d.next = self.in_data.val().get_bits::<16>(16);
            self.w0_we.d.next = true;
            self.w1_we.d.next = true;
            self.w0_data.d.next = self.in_data.val().get_bits::<8>(0);
            self.w1_data.d.next = self.in_data.val().get_bits::<8>(8);
            self.w0_addr.d.next = (self.iptr.q.val() & self.c_imask.val()) >> 1;
            self.w1_addr.d.next = (self.iptr.q.val() & self.c_imask.val()) >> 1;
            self.iptr.d.next = self.iptr.q.val() + 2;
            if self.in_first.val() {
                self.w0_addr.d.next = 0.into();
                self.w1_addr.d.next = 0.into();
                self.iptr.d.next = 2.into();
            }
        }
        if self.i_second.q.val() {
            self.w0_we.d.next = true;
            self.w1_we.d.next = true;
            self.w0_data.d.next = self.i_hold.q.val().get_bits::<8>(0);
            self.w1_data.d.next = self.i_hold.q.val().get_bits::<8>(8);
            self.w0_addr.d.next = (self.iptr.q.val() & self.c_imask.val()) >> 1;
            self.w1_addr.d.next = (self.iptr.q.val() & self.c_imask.val()) >> 1;
            self.iptr.d.next = self.iptr.q.val() + 2;
        }
        self.bank0.we.next = self.w0_we.q.val();
        self.bank0.waddr.next = self.w0_addr.q.val();
        self.bank0.wdata.next = self.w0_data.q.val();
        self.bank1.we.next = self.w1_we.q.val();
        self.bank1.waddr.next = self.w1_addr.q.val();
        self.bank1.wdata.next = self.w1_data.q.val();
        // ---- layer start, next position, cancel ----
        if self.o_next.val() {
            self.pos_base.d.next = self.pos_base.q.val() + self.rows.val();
        }
        if self.l_start.val() {
            self.pos_base.d.next = 0.into();
            self.pcnt.d.next = 0.into();
            self.wend.d.next = false;
            self.pooling.d.next = self.op_pool.val();
        }
        if self.cancel.val() {
            self.gathering.d.next = false;
            self.dense.d.next = false;
            self.pooling.d.next = false;
            self.r_take.d.next = false;
            self.gq_valid.d.next = false;
            self.p_take.d.next = false;
            self.pw.d.next = false;
            self.i_second.d.next = false;
        }
        self.adv.d.next = (self.gathering.d.val() & !self.dense.d.val()) | self.pooling.d.val();
        self.g_busy.next = self.gathering.q.val() | self.r_take.q.val() | self.gq_valid.q.val();
        self.walk_end.next = self.wend.q.val();
        self.pool_busy.next = self.pooling.q.val()
            | self.r_done.q.val()
            | self.p_take.q.val()
            | self.pw.q.val()
            | self.w0_we.q.val()
            | self.w1_we.q.val();
    }
}

crate::lockstep_block!(
    MapUnit,
    inputs [cancel, l_start, op_conv, op_pool, in_hwc, in_c, in_h, in_w, kh, kw, stride, pad, out_h, out_w, m, src, dst, x2, pool_signed, g_go, o_we, o_row, o_y, o_next, rows, in_we, in_first, in_data],
    outputs [g_valid, g_y, g_last, g_busy, walk_end, pool_busy]
);
