//! The control block: the Wishbone slave ([`WbSlave`], `wishbone.rs`), the
//! register file ([`RegFile`], `regfile.rs`) and the START validation
//! ([`StartCheck`], `startcheck.rs`) wired together.
//!
//! Bus timing: registered acknowledge for one cycle, one wait state for
//! writes and two for reads; every address is acknowledged, unmapped ones
//! read 0 and ignore writes; `wb_sel` selects byte lanes of writes (registers
//! and memory words), a control bit (START, SOFT_RESET, the W1C bits,
//! IRQ_ENABLE) acts only when its lane is selected; reads return whole words.
//! Writes take effect at the end of the ack cycle. Register offsets come from
//! `tbn_driver::regmap`.

use rust_hdl::prelude::*;

use crate::regfile::RegFile;
use crate::startcheck::StartCheck;
use crate::wishbone::WbSlave;

/// Configuration values reported by the identification registers.
#[derive(Clone, Copy, Debug)]
pub struct IdValues {
    /// Lanes L.
    pub lanes: u32,
    /// TILE_MAX.
    pub tile_max: u32,
    /// MAX_IN.
    pub max_in: u32,
    /// MAX_ROWS.
    pub max_rows: u32,
    /// Largest A.
    pub max_abits: u32,
}

/// Bus slave, registers and start checks.
#[derive(LogicBlock)]
pub struct Control {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Wishbone word address.
    pub wb_adr: Signal<In, Bits<17>>,
    /// Wishbone write data.
    pub wb_dat_w: Signal<In, Bits<32>>,
    /// Wishbone read data.
    pub wb_dat_r: Signal<Out, Bits<32>>,
    /// Wishbone write enable.
    pub wb_we: Signal<In, Bit>,
    /// Wishbone byte-lane selects of writes.
    pub wb_sel: Signal<In, Bits<4>>,
    /// Wishbone strobe.
    pub wb_stb: Signal<In, Bit>,
    /// Wishbone cycle.
    pub wb_cyc: Signal<In, Bit>,
    /// Wishbone acknowledge.
    pub wb_ack: Signal<Out, Bit>,
    /// Interrupt.
    pub irq: Signal<Out, Bit>,
    /// Tile window write.
    pub tile_we: Signal<Out, Bit>,
    /// Activation window write.
    pub act_we: Signal<Out, Bit>,
    /// Byte-lane selects of a memory write.
    pub mem_sel: Signal<Out, Bits<4>>,
    /// Word address within a memory window.
    pub mem_addr: Signal<Out, Bits<16>>,
    /// Memory write data.
    pub mem_data: Signal<Out, Bits<32>>,
    /// Output memory read address (word within the OUT window).
    pub out_addr: Signal<Out, Bits<14>>,
    /// Output memory read data.
    pub out_rdata: Signal<In, Bits<32>>,
    /// Start the sequencer.
    pub seq_start: Signal<Out, Bit>,
    /// Abort the sequencer and flush the engine.
    pub seq_abort: Signal<Out, Bit>,
    /// m.
    pub job_m: Signal<Out, Bits<24>>,
    /// q.
    pub job_q: Signal<Out, Bits<24>>,
    /// D.
    pub job_rows: Signal<Out, Bits<14>>,
    /// A.
    pub job_abits: Signal<Out, Bits<4>>,
    /// Signed.
    pub job_signed: Signal<Out, Bit>,
    /// Sequencer busy.
    pub seq_busy: Signal<In, Bit>,
    /// Sequencer done pulse.
    pub seq_done: Signal<In, Bit>,
    bus: WbSlave,
    regs: RegFile,
    checks: StartCheck,
}

impl Control {
    /// A control block reporting `id`.
    pub fn new(id: IdValues) -> Self {
        Control {
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
            tile_we: Default::default(),
            act_we: Default::default(),
            mem_sel: Default::default(),
            mem_addr: Default::default(),
            mem_data: Default::default(),
            out_addr: Default::default(),
            out_rdata: Default::default(),
            seq_start: Default::default(),
            seq_abort: Default::default(),
            job_m: Default::default(),
            job_q: Default::default(),
            job_rows: Default::default(),
            job_abits: Default::default(),
            job_signed: Default::default(),
            seq_busy: Default::default(),
            seq_done: Default::default(),
            bus: Default::default(),
            regs: RegFile::new(&id),
            checks: StartCheck::new(&id),
        }
    }
}

impl Logic for Control {
    #[hdl_gen]
    fn update(&mut self) {
        self.bus.clk.next = self.clk.val();
        self.regs.clk.next = self.clk.val();
        self.checks.clk.next = self.clk.val();
        // the bus
        self.bus.rst.next = self.rst.val();
        self.bus.wb_adr.next = self.wb_adr.val();
        self.bus.wb_dat_w.next = self.wb_dat_w.val();
        self.bus.wb_we.next = self.wb_we.val();
        self.bus.wb_sel.next = self.wb_sel.val();
        self.bus.wb_stb.next = self.wb_stb.val();
        self.bus.wb_cyc.next = self.wb_cyc.val();
        self.wb_dat_r.next = self.bus.wb_dat_r.val();
        self.wb_ack.next = self.bus.wb_ack.val();
        self.bus.reg_rdata.next = self.regs.rdata.val();
        self.bus.out_rdata.next = self.out_rdata.val();
        self.out_addr.next = self.bus.out_addr.val();
        // registers: decode in the access cycle, write in the next
        self.regs.rst.next = self.rst.val();
        self.regs.reg_write_access.next = self.bus.reg_write_access.val();
        self.regs.reg_index.next = self.bus.reg_index.val();
        self.regs.bus_ctrl_bits.next = self.wb_dat_w.val().get_bits::<2>(0);
        self.regs.bus_sel_lane0.next = self.wb_sel.val().get_bit(0);
        self.regs.write_regs.next = self.bus.write_regs.val();
        self.regs.write_tile.next = self.bus.write_tile.val();
        self.regs.write_act.next = self.bus.write_act.val();
        self.regs.write_data.next = self.bus.write_data.val();
        self.regs.write_sel.next = self.bus.write_sel.val();
        self.regs.read_index.next = self.bus.read_index.val();
        self.irq.next = self.regs.irq.val();
        // memory windows
        self.tile_we.next = self.regs.tile_we.val();
        self.act_we.next = self.regs.act_we.val();
        self.mem_sel.next = self.bus.write_sel.val();
        self.mem_addr.next = self.bus.write_addr.val();
        self.mem_data.next = self.bus.write_data.val();
        // start checks on the job registers
        self.checks.job_m.next = self.regs.job_m.val();
        self.checks.job_q.next = self.regs.job_q.val();
        self.checks.job_rows.next = self.regs.job_rows.val();
        self.checks.job_abits.next = self.regs.job_abits.val();
        self.checks.seq_busy.next = self.seq_busy.val();
        self.regs.check_fail.next = self.checks.fail.val();
        self.regs.check_code.next = self.checks.fail_code.val();
        // the sequencer
        self.regs.seq_busy.next = self.seq_busy.val();
        self.regs.seq_done.next = self.seq_done.val();
        self.seq_start.next = self.regs.seq_start.val();
        self.seq_abort.next = self.regs.seq_abort.val();
        self.job_m.next = self.regs.job_m.val().get_bits::<24>(0);
        self.job_q.next = self.regs.job_q.val().get_bits::<24>(0);
        self.job_rows.next = self.regs.job_rows.val().get_bits::<14>(0);
        self.job_abits.next = self.regs.job_abits.val();
        self.job_signed.next = self.regs.job_signed.val();
    }
}
