//! The whole-network engine behind a Wishbone B4 classic 32-bit slave and
//! the register map v2 decode (docs/register-map.md; the values come from
//! `tbn_driver::regmap`): the top `tbn_net_core`. It has the engine only
//! (CFG_FEATURES.ENGINE, no single-layer job mode: JOB_* read 0, START is
//! ignored, TILE/ACT/OUT read 0 and ignore writes).
//!
//! Wishbone timing as the job-mode core's slave: registered acknowledge for
//! one cycle, writes one wait state (the write acts in the ack cycle, from a
//! registered request), reads two (the access cycle registers the address
//! and presents the LOGITS / LAYER_CYCLES read addresses to their block
//! RAMs, the next cycle selects the word, the ack comes with it; `wb_dat_r`
//! holds that word until the next read's word is selected). `wb_ack`
//! is gated by the live cycle. ([`NetTop::for_held_requests`], the SPI
//! top's, acts from the master's held request instead of these registers.)
//! Word address regions: registers (below
//! 0x40), LAYER_CYCLES (0x100..0x13F), LOGITS (0x400..0x7FF), INPUT
//! (0x2000..0x3FFF), IMAGE (0x20000..0x3FFFF); everything else reads 0 and
//! ignores writes.

use crate::netcore::{net_target_mem, NetCore, NetMem};
use crate::util::c32;
use crate::Config;
use rust_hdl::prelude::*;
use tbn_driver::regmap as rm;

/// The engine's Wishbone top.
#[derive(LogicBlock)]
pub struct NetTop<const L: usize, const W: usize, const N: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Synchronous reset (acts as a soft reset; clears SCRATCH and IRQ_ENABLE).
    pub rst: Signal<In, Bit>,
    /// Word address (byte offset >> 2).
    pub wb_adr: Signal<In, Bits<18>>,
    /// Write data.
    pub wb_dat_w: Signal<In, Bits<32>>,
    /// Read data.
    pub wb_dat_r: Signal<Out, Bits<32>>,
    /// Write enable.
    pub wb_we: Signal<In, Bit>,
    /// Byte lanes of writes.
    pub wb_sel: Signal<In, Bits<4>>,
    /// Strobe.
    pub wb_stb: Signal<In, Bit>,
    /// Cycle.
    pub wb_cyc: Signal<In, Bit>,
    /// Acknowledge.
    pub wb_ack: Signal<Out, Bit>,
    /// Interrupt: IRQ_ENABLE and (DONE or ERROR).
    pub irq: Signal<Out, Bit>,
    /// The engine (public for observation in tests).
    pub net: NetCore<L, W, N>,
    ack_q: DFF<Bit>,
    rd_pend: DFF<Bit>,
    rdata_q: DFF<Bits<32>>,
    // the accepted write's target, decoded in its access cycle (the
    // commands reach the engine straight from flip-flops)
    wr_ctrl: DFF<Bit>,
    wr_irq: DFF<Bit>,
    wr_stat: DFF<Bit>,
    wr_scr: DFF<Bit>,
    wr_img: DFF<Bit>,
    wr_in: DFF<Bit>,
    wr_in0: DFF<Bit>,
    // the IMAGE write's index equals LOAD_WORDS
    wr_img_ord: DFF<Bit>,
    // the read's LAYER_CYCLES index is below LAYERS (compared in the access
    // cycle, off the read select's path)
    rd_lc_ok: DFF<Bit>,
    // the read's region (registers, LAYER_CYCLES, LOGITS), decoded in the
    // access cycle
    rd_regs: DFF<Bit>,
    rd_lc: DFF<Bit>,
    rd_lg: DFF<Bit>,
    /// The register index of the access (the low 6 address bits: the
    /// region is decoded in the access cycle).
    w_adr: DFF<Bits<6>>,
    w_data: DFF<Bits<32>>,
    w_sel: DFF<Bits<4>>,
    scratch: DFF<Bits<32>>,
    irq_en: DFF<Bit>,
    /// The master holds the address, data and byte selects of a request
    /// until its acknowledge ends (see [`NetTop::for_held_requests`]):
    /// the request registers go unused.
    request: ReqSource,
    acc: Signal<Local, Bit>,
    acc_w: Signal<Local, Bit>,
    rsel: Signal<Local, Bits<32>>,
    status: Signal<Local, Bits<32>>,
    bmask: Signal<Local, Bits<32>>,
    bm0: Signal<Local, Bits<32>>,
    bm1: Signal<Local, Bits<32>>,
    bm2: Signal<Local, Bits<32>>,
    bm3: Signal<Local, Bits<32>>,
    c_b0: Constant<Bits<32>>,
    c_b1: Constant<Bits<32>>,
    c_b2: Constant<Bits<32>>,
    c_b3: Constant<Bits<32>>,
    c_magic: Constant<Bits<32>>,
    c_version: Constant<Bits<32>>,
    c_lanes: Constant<Bits<32>>,
    c_tile_max: Constant<Bits<32>>,
    c_max_in: Constant<Bits<32>>,
    c_max_rows: Constant<Bits<32>>,
    c_max_abits: Constant<Bits<32>>,
    c_features: Constant<Bits<32>>,
    c_weight: Constant<Bits<32>>,
    c_const: Constant<Bits<32>>,
    c_layers: Constant<Bits<32>>,
    c_max_out: Constant<Bits<32>>,
    c_max_logits: Constant<Bits<32>>,
    // feature-map capacities (0 without CFG_FEATURES.CONV)
    c_max_fmap: Constant<Bits<32>>,
    c_max_channels: Constant<Bits<32>>,
    c_max_hw: Constant<Bits<32>>,
    c_max_kernel: Constant<Bits<32>>,
}

/// The request a write acts from and a read selects with: the registered
/// one, or (`held`) the master's held one.
#[derive(LogicBlock)]
pub struct ReqSource {
    /// Registered register index (address bits 5:0).
    pub reg_adr: Signal<In, Bits<6>>,
    /// Registered data.
    pub reg_data: Signal<In, Bits<32>>,
    /// Registered byte selects.
    pub reg_sel: Signal<In, Bits<4>>,
    /// Bus register index (address bits 5:0).
    pub bus_adr: Signal<In, Bits<6>>,
    /// Bus data.
    pub bus_data: Signal<In, Bits<32>>,
    /// Bus byte selects.
    pub bus_sel: Signal<In, Bits<4>>,
    /// Register index in use.
    pub adr: Signal<Out, Bits<6>>,
    /// Data in use.
    pub data: Signal<Out, Bits<32>>,
    /// Byte selects in use.
    pub sel: Signal<Out, Bits<4>>,
    held: Constant<Bit>,
}

impl ReqSource {
    fn new(held: bool) -> Self {
        ReqSource {
            reg_adr: Default::default(),
            reg_data: Default::default(),
            reg_sel: Default::default(),
            bus_adr: Default::default(),
            bus_data: Default::default(),
            bus_sel: Default::default(),
            adr: Default::default(),
            data: Default::default(),
            sel: Default::default(),
            held: Constant::new(held),
        }
    }
}

impl Logic for ReqSource {
    #[hdl_gen]
    fn update(&mut self) {
        self.adr.next = self.reg_adr.val();
        self.data.next = self.reg_data.val();
        self.sel.next = self.reg_sel.val();
        if self.held.val() {
            self.adr.next = self.bus_adr.val();
            self.data.next = self.bus_data.val();
            self.sel.next = self.bus_sel.val();
        }
    }
}

impl<const L: usize, const W: usize, const N: usize> NetTop<L, W, N> {
    /// The top for `cfg` with a weight memory of `weight_bits` bits.
    pub fn new(cfg: &Config, weight_bits: usize) -> Self {
        Self::with_mem(cfg, &NetMem::new(cfg, weight_bits))
    }

    /// The top for `cfg` with the memories `mem` ([`NetMem`]).
    pub fn with_mem(cfg: &Config, mem: &NetMem) -> Self {
        Self::build(cfg, mem, false)
    }

    /// The top for a master that holds each request's address, data and
    /// byte selects until the end of its acknowledge cycle and never
    /// abandons a cycle, and holds the write data one cycle longer (the
    /// cycle after the acknowledge), as [`crate::spi::SpiBridge`] does (its
    /// data word holds until the next word is shifted in, its address until
    /// the acknowledge): the write acts from the bus itself, and the read
    /// selects its word from the bus address, without the request
    /// registers. The register map, the acknowledge timing and what every
    /// access does are those of [`NetTop::with_mem`].
    pub fn for_held_requests(cfg: &Config, mem: &NetMem) -> Self {
        Self::build(cfg, mem, true)
    }

    fn build(cfg: &Config, mem: &NetMem, held: bool) -> Self {
        let t = net_target_mem(cfg, mem);
        NetTop {
            clk: Default::default(),
            rst: Default::default(),
            wb_adr: Default::default(),
            wb_dat_w: Default::default(),
            wb_dat_r: Default::default(),
            wb_we: Default::default(),
            wb_sel: Default::default(),
            wb_stb: Default::default(),
            wb_cyc: Default::default(),
            wb_ack: Default::default(),
            irq: Default::default(),
            net: NetCore::with_mem(cfg, mem),
            ack_q: Default::default(),
            rd_pend: Default::default(),
            rdata_q: Default::default(),
            wr_ctrl: Default::default(),
            wr_irq: Default::default(),
            wr_stat: Default::default(),
            wr_scr: Default::default(),
            wr_img: Default::default(),
            wr_in: Default::default(),
            wr_in0: Default::default(),
            wr_img_ord: Default::default(),
            rd_lc_ok: Default::default(),
            rd_regs: Default::default(),
            rd_lc: Default::default(),
            rd_lg: Default::default(),
            w_adr: Default::default(),
            w_data: Default::default(),
            w_sel: Default::default(),
            scratch: Default::default(),
            irq_en: Default::default(),
            request: ReqSource::new(held),
            acc: Default::default(),
            acc_w: Default::default(),
            rsel: Default::default(),
            status: Default::default(),
            bmask: Default::default(),
            bm0: Default::default(),
            bm1: Default::default(),
            bm2: Default::default(),
            bm3: Default::default(),
            c_b0: c32(0xFF),
            c_b1: c32(0xFF00),
            c_b2: c32(0xFF_0000),
            c_b3: c32(0xFF00_0000),
            c_magic: c32(rm::MAGIC),
            c_version: c32(rm::VERSION),
            c_lanes: c32(t.lanes),
            c_tile_max: c32(t.tile_max),
            c_max_in: c32(t.max_in),
            c_max_rows: c32(t.max_d),
            c_max_abits: c32(t.max_abits),
            c_features: c32(rm::CFG_FEATURES_ENGINE
                | if t.maps.supports_conv() {
                    rm::CFG_FEATURES_CONV
                } else {
                    0
                }
                | (t.v_bits << rm::CFG_FEATURES_V_BITS_SHIFT)),
            c_weight: c32(t.weight_words),
            c_const: c32(t.const_words),
            c_layers: c32(t.max_layers),
            c_max_out: c32(t.max_out),
            c_max_logits: c32(t.max_logits),
            c_max_fmap: c32(t.maps.max_fmap),
            c_max_channels: c32(t.maps.max_channels),
            c_max_hw: c32(t.maps.max_hw),
            c_max_kernel: c32(t.maps.max_kernel),
        }
    }
}

impl<const L: usize, const W: usize, const N: usize> Logic for NetTop<L, W, N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clk, ack_q, rd_pend, rdata_q, wr_ctrl, wr_irq, wr_stat, wr_scr, wr_img, wr_in,
            wr_in0, wr_img_ord, rd_lc_ok, rd_regs, rd_lc, rd_lg, w_adr, w_data, w_sel, scratch,
            irq_en
        );
        self.net.clk.next = self.clk.val();
        // (selected in a block of its own: a local assigned here and read by
        // both the read select, which reads the engine's status, and the
        // engine's command inputs would join them into one combinational
        // loop for Verilator)
        self.request.reg_adr.next = self.w_adr.q.val();
        self.request.reg_data.next = self.w_data.q.val();
        self.request.reg_sel.next = self.w_sel.q.val();
        self.request.bus_adr.next = self.wb_adr.val().get_bits::<6>(0);
        self.request.bus_data.next = self.wb_dat_w.val();
        self.request.bus_sel.next = self.wb_sel.val();
        // ---- read select (the cycle after the access) ----
        self.status.next = bit_cast::<32, 1>(self.net.h_busy.val().into())
            | (bit_cast::<32, 1>(self.net.h_done.val().into()) << 1)
            | (bit_cast::<32, 1>(self.net.h_err.val().into()) << 2)
            | (bit_cast::<32, 1>(self.net.h_loaded.val().into()) << 3)
            | (bit_cast::<32, 1>(self.net.h_loading.val().into()) << 4)
            | (bit_cast::<32, 4>(self.net.h_code.val()) << 8);
        self.rsel.next = 0.into();
        if self.rd_regs.q.val() {
            if self.request.adr.val() == 0 {
                self.rsel.next = self.c_magic.val();
            }
            if self.request.adr.val() == 1 {
                self.rsel.next = self.c_version.val();
            }
            if self.request.adr.val() == 2 {
                self.rsel.next = self.c_lanes.val();
            }
            if self.request.adr.val() == 3 {
                self.rsel.next = self.c_tile_max.val();
            }
            if self.request.adr.val() == 4 {
                self.rsel.next = self.c_max_in.val();
            }
            if self.request.adr.val() == 5 {
                self.rsel.next = self.c_max_rows.val();
            }
            if self.request.adr.val() == 6 {
                self.rsel.next = self.c_max_abits.val();
            }
            if self.request.adr.val() == 7 {
                self.rsel.next = self.scratch.q.val();
            }
            if self.request.adr.val() == 8 {
                self.rsel.next = bit_cast::<32, 1>(self.irq_en.q.val().into()) << 8;
            }
            if self.request.adr.val() == 9 {
                self.rsel.next = self.status.val();
            }
            if self.request.adr.val() == 10 {
                self.rsel.next = self.net.h_cycles.val();
            }
            if self.request.adr.val() == 11 {
                self.rsel.next = self.net.h_count.val();
            }
            if self.request.adr.val() == 16 {
                self.rsel.next = self.c_features.val();
            }
            if self.request.adr.val() == 17 {
                self.rsel.next = self.c_weight.val();
            }
            if self.request.adr.val() == 18 {
                self.rsel.next = self.c_const.val();
            }
            if self.request.adr.val() == 19 {
                self.rsel.next = self.c_layers.val();
            }
            if self.request.adr.val() == 20 {
                self.rsel.next = self.c_max_out.val();
            }
            if self.request.adr.val() == 21 {
                self.rsel.next = self.c_max_logits.val();
            }
            if self.request.adr.val() == 22 {
                self.rsel.next = bit_cast::<32, 18>(self.net.h_load_words.val());
            }
            if self.request.adr.val() == 23 {
                self.rsel.next = bit_cast::<32, 8>(self.net.h_layers.val());
            }
            if self.request.adr.val() == 24 {
                self.rsel.next = bit_cast::<32, 16>(self.net.h_class.val());
            }
            if self.request.adr.val() == 25 {
                self.rsel.next = self.c_max_fmap.val();
            }
            if self.request.adr.val() == 26 {
                self.rsel.next = self.c_max_channels.val();
            }
            if self.request.adr.val() == 27 {
                self.rsel.next = self.c_max_hw.val();
            }
            if self.request.adr.val() == 28 {
                self.rsel.next = self.c_max_kernel.val();
            }
        }
        if self.rd_lc.q.val() & self.rd_lc_ok.q.val() {
            self.rsel.next = self.net.h_lc_data.val();
        }
        if self.rd_lg.q.val() {
            self.rsel.next = self.net.h_lg_data.val().get_bits::<32>(0);
            if self.request.adr.val().get_bit(0) {
                self.rsel.next = self.net.h_lg_data.val().get_bits::<32>(32);
            }
        }
        // ---- handshake ----
        self.acc.next =
            self.wb_stb.val() & self.wb_cyc.val() & !self.ack_q.q.val() & !self.rd_pend.q.val();
        self.acc_w.next = self.acc.val() & self.wb_we.val();
        self.ack_q.d.next = self.acc_w.val();
        self.rd_pend.d.next = false;
        self.wr_ctrl.d.next =
            self.acc_w.val() & (self.wb_adr.val() == 8) & self.wb_sel.val().get_bit(0);
        self.wr_irq.d.next =
            self.acc_w.val() & (self.wb_adr.val() == 8) & self.wb_sel.val().get_bit(1);
        self.wr_stat.d.next =
            self.acc_w.val() & (self.wb_adr.val() == 9) & self.wb_sel.val().get_bit(0);
        self.wr_scr.d.next = self.acc_w.val() & (self.wb_adr.val() == 7);
        self.wr_img.d.next = self.acc_w.val() & self.wb_adr.val().get_bit(17);
        self.wr_in.d.next = self.acc_w.val() & ((self.wb_adr.val() >> 13) == 1);
        self.wr_in0.d.next = self.acc_w.val() & (self.wb_adr.val() == 0x2000);
        self.wr_img_ord.d.next =
            bit_cast::<18, 17>(self.wb_adr.val().get_bits::<17>(0)) == self.net.h_load_words.val();
        self.rd_regs.d.next = (self.wb_adr.val() >> 6) == 0;
        self.rd_lc.d.next = (self.wb_adr.val() >> 6) == 4;
        self.rd_lg.d.next = (self.wb_adr.val() >> 10) == 1;
        self.rd_lc_ok.d.next =
            bit_cast::<8, 18>(self.wb_adr.val() & 0x3F) < self.net.h_layers.val();
        if self.acc.val() & !self.wb_we.val() {
            self.rd_pend.d.next = true;
        }
        if self.acc.val() {
            self.w_adr.d.next = self.wb_adr.val().get_bits::<6>(0);
            self.w_data.d.next = self.wb_dat_w.val();
            self.w_sel.d.next = self.wb_sel.val();
        }
        if self.rd_pend.q.val() {
            // an abandoned read is not acknowledged later
            self.ack_q.d.next = self.wb_stb.val() & self.wb_cyc.val();
            self.rdata_q.d.next = self.rsel.val();
        }
        // ---- engine reads: the block RAMs see the address in the access cycle ----
        self.net.h_lg_addr.next = bit_cast::<16, 18>((self.wb_adr.val() >> 1) & 0x1FF);
        self.net.h_lc_addr.next = bit_cast::<16, 18>(self.wb_adr.val() & 0x3F);
        // ---- writes (the registered request acts now) ----
        // The engine's command inputs are each one assignment (no default
        // then override): a combinational value that flips twice in one
        // evaluation wakes the engine's block and, through the status it
        // returns, this one again; Icarus then never leaves the time step.
        self.net.h_soft_reset.next =
            self.rst.val() | (self.wr_ctrl.q.val() & self.request.data.val().get_bit(1));
        self.net.h_load_begin.next = self.wr_ctrl.q.val()
            & !self.request.data.val().get_bit(1)
            & self.request.data.val().get_bit(2);
        self.net.h_load_end.next = self.wr_ctrl.q.val()
            & !self.request.data.val().get_bit(1)
            & self.request.data.val().get_bit(3);
        self.net.h_infer.next = self.wr_ctrl.q.val()
            & !self.request.data.val().get_bit(1)
            & self.request.data.val().get_bit(4);
        self.net.h_clr_done.next = self.wr_stat.q.val() & self.request.data.val().get_bit(1);
        self.net.h_clr_err.next = self.wr_stat.q.val() & self.request.data.val().get_bit(2);
        // byte-lane mask of the registered write (no local reads itself:
        // a combinational block must not read what it assigns)
        self.bm0.next = 0.into();
        self.bm1.next = 0.into();
        self.bm2.next = 0.into();
        self.bm3.next = 0.into();
        if self.request.sel.val().get_bit(0) {
            self.bm0.next = self.c_b0.val();
        }
        if self.request.sel.val().get_bit(1) {
            self.bm1.next = self.c_b1.val();
        }
        if self.request.sel.val().get_bit(2) {
            self.bm2.next = self.c_b2.val();
        }
        if self.request.sel.val().get_bit(3) {
            self.bm3.next = self.c_b3.val();
        }
        self.bmask.next = self.bm0.val() | self.bm1.val() | self.bm2.val() | self.bm3.val();
        if self.wr_scr.q.val() {
            self.scratch.d.next = (self.scratch.q.val() & !self.bmask.val())
                | (self.request.data.val() & self.bmask.val());
        }
        if self.wr_irq.q.val() {
            self.irq_en.d.next = self.request.data.val().get_bit(8);
        }
        self.net.h_img_we.next = self.wr_img.q.val();
        self.net.h_img_in_order.next = self.wr_img_ord.q.val();
        self.net.h_in_we.next = self.wr_in.q.val();
        self.net.h_in_first.next = self.wr_in0.q.val();
        self.net.h_wdata.next = self.request.data.val();
        if self.rst.val() {
            self.scratch.d.next = 0.into();
            self.irq_en.d.next = false;
        }
        // ---- outputs ----
        self.wb_ack.next = self.ack_q.q.val() & self.wb_stb.val() & self.wb_cyc.val();
        self.wb_dat_r.next = self.rdata_q.q.val();
        self.irq.next = self.irq_en.q.val() & (self.net.h_done.val() | self.net.h_err.val());
    }
}

crate::lockstep_block!(
    NetTop<32, 32, 18>,
    inputs [rst, wb_adr, wb_dat_w, wb_we, wb_sel, wb_stb, wb_cyc],
    outputs [wb_dat_r, wb_ack, irq]
);
