//! The TBN core: control/Wishbone, sequencer, memories and engine wired together.

use crate::control::{Control, IdValues};
use crate::engine::Engine;
use crate::mem::{ActMem, OutMem, TileMem};
use crate::seq::Sequencer;
use rust_hdl::prelude::*;

/// The accelerator core with its Wishbone B4 classic slave port.
#[derive(LogicBlock)]
pub struct TbnCore<const L: usize, const W: usize, const N: usize> {
    /// Clock (all logic on the rising edge).
    pub clk: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub rst: Signal<In, Bit>,
    /// Wishbone word address (byte offset >> 2).
    pub wb_adr: Signal<In, Bits<17>>,
    /// Wishbone write data.
    pub wb_dat_w: Signal<In, Bits<32>>,
    /// Wishbone read data.
    pub wb_dat_r: Signal<Out, Bits<32>>,
    /// Wishbone write enable.
    pub wb_we: Signal<In, Bit>,
    /// Wishbone byte-lane selects of writes (unselected lanes keep their value).
    pub wb_sel: Signal<In, Bits<4>>,
    /// Wishbone strobe.
    pub wb_stb: Signal<In, Bit>,
    /// Wishbone cycle.
    pub wb_cyc: Signal<In, Bit>,
    /// Wishbone acknowledge.
    pub wb_ack: Signal<Out, Bit>,
    /// Interrupt (level): IRQ_ENABLE and (DONE or ERROR).
    pub irq: Signal<Out, Bit>,
    ctrl: Control,
    seq: Sequencer<N>,
    engine: Engine<L, W>,
    tile: TileMem<W>,
    act: ActMem<W>,
    out: OutMem,
}

impl<const L: usize, const W: usize, const N: usize> TbnCore<L, W, N> {
    /// A core with capacities `tile_max`, `max_in`, `max_rows` (validated by [`crate::Config`]).
    pub fn new(tile_max: usize, max_in: usize, max_rows: usize) -> Self {
        TbnCore {
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
            ctrl: Control::new(IdValues {
                lanes: L as u32,
                tile_max: tile_max as u32,
                max_in: max_in as u32,
                max_rows: max_rows as u32,
                max_abits: 8,
            }),
            seq: Sequencer::new(L, tile_max),
            engine: Engine::for_max_in(max_in),
            tile: TileMem::new(tile_max, L),
            act: ActMem::new(max_in),
            out: OutMem::new(max_rows),
        }
    }
}

impl<const L: usize, const W: usize, const N: usize> Logic for TbnCore<L, W, N> {
    #[hdl_gen]
    fn update(&mut self) {
        self.ctrl.clk.next = self.clk.val();
        self.seq.clk.next = self.clk.val();
        self.engine.clk.next = self.clk.val();
        self.tile.clk.next = self.clk.val();
        self.act.clk.next = self.clk.val();
        self.out.clk.next = self.clk.val();
        // bus
        self.ctrl.rst.next = self.rst.val();
        self.ctrl.wb_adr.next = self.wb_adr.val();
        self.ctrl.wb_dat_w.next = self.wb_dat_w.val();
        self.ctrl.wb_we.next = self.wb_we.val();
        self.ctrl.wb_sel.next = self.wb_sel.val();
        self.ctrl.wb_stb.next = self.wb_stb.val();
        self.ctrl.wb_cyc.next = self.wb_cyc.val();
        self.wb_dat_r.next = self.ctrl.wb_dat_r.val();
        self.wb_ack.next = self.ctrl.wb_ack.val();
        self.irq.next = self.ctrl.irq.val();
        // memories, bus side
        self.tile.bus_we.next = self.ctrl.tile_we.val();
        self.tile.bus_addr.next = self.ctrl.mem_addr.val();
        self.tile.bus_data.next = self.ctrl.mem_data.val();
        self.tile.bus_sel.next = self.ctrl.mem_sel.val();
        self.act.bus_we.next = self.ctrl.act_we.val();
        self.act.bus_addr.next = self.ctrl.mem_addr.val().get_bits::<14>(0);
        self.act.bus_data.next = self.ctrl.mem_data.val();
        self.act.bus_sel.next = self.ctrl.mem_sel.val();
        self.out.bus_addr.next = self.ctrl.out_addr.val();
        self.ctrl.out_rdata.next = self.out.rdata.val();
        // sequencer
        self.seq.abort.next = self.ctrl.seq_abort.val();
        self.seq.start.next = self.ctrl.seq_start.val();
        self.seq.job_m.next = self.ctrl.job_m.val();
        self.seq.job_q.next = self.ctrl.job_q.val();
        self.seq.job_rows.next = self.ctrl.job_rows.val();
        self.seq.job_abits.next = self.ctrl.job_abits.val();
        self.seq.job_signed.next = self.ctrl.job_signed.val();
        self.seq.engine_active.next = self.engine.active.val();
        self.ctrl.seq_busy.next = self.seq.busy.val();
        self.ctrl.seq_done.next = self.seq.done.val();
        // memories, datapath side
        self.tile.rd_bit.next = self.seq.tile_bit.val();
        self.tile.rd_base.next = 0.into();
        self.tile.rd_base1.next = 1.into();
        self.act.rd_plane.next = self.seq.plane.val();
        self.act.rd_bit.next = self.seq.act_bit.val();
        // engine
        self.engine.flush.next = self.ctrl.seq_abort.val();
        self.engine.in_valid.next = self.seq.issue.val();
        self.engine.in_bit_off.next = self.seq.tile_bit.val().get_bits::<8>(0);
        self.engine.in_abit.next = self.seq.act_bit.val().get_bits::<8>(0);
        self.engine.in_nvalid.next = self.seq.nvalid.val();
        self.engine.in_segb.next = self.seq.segb.val();
        self.engine.in_plane.next = self.seq.plane.val();
        self.engine.in_neg.next = self.seq.neg.val();
        self.engine.in_xnor.next = self.seq.xnor_mode.val();
        self.engine.in_first.next = self.seq.first.val();
        self.engine.in_last.next = self.seq.last.val();
        self.engine.in_row.next = self.seq.row.val();
        self.engine.tile_lo.next = self.tile.lo.val();
        self.engine.tile_hi.next = self.tile.hi.val();
        self.engine.act_word.next = self.act.word.val();
        // output memory
        self.out.we.next = self.engine.out_we.val();
        self.out.wrow.next = self.engine.out_row.val();
        self.out.wa.next = self.engine.out_a.val();
        self.out.wb.next = self.engine.out_b.val();
    }
}
