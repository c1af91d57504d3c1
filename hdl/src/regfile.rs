//! Register file of the core: the registers of `tbn_driver::regmap` (ID and
//! configuration words, SCRATCH, CTRL, STATUS, CYCLES, JOB_COUNT and the job
//! registers), their decode, byte-lane writes, the START / SOFT_RESET
//! actions, the status flags and counters of a job, and the gating of memory
//! writes while a job runs.
//!
//! Write timing (see `wishbone.rs`): the register index is decoded in the
//! access cycle (one flip-flop per writable register; START and SOFT_RESET,
//! which fan out to the sequencer and the whole datapath, are decoded
//! completely there) and the write acts in the next cycle, qualified by the
//! registered request, so the write cycle is a plain enable. Unselected byte
//! lanes keep their value; a control bit acts only when its lane is
//! selected. Reads: the word of the index registered by the slave is
//! selected into `rdata` in the cycle after the access (no side effects).

use rust_hdl::prelude::*;
use tbn_driver::regmap;

use crate::control::IdValues;
use crate::util::c32;

/// The register file.
#[derive(LogicBlock)]
pub struct RegFile {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// A register write is accepted in this cycle (access cycle).
    pub reg_write_access: Signal<In, Bit>,
    /// Register index on the bus (access cycle).
    pub reg_index: Signal<In, Bits<6>>,
    /// Bits 1:0 of the write data on the bus (access cycle: CTRL's SOFT_RESET and START).
    pub bus_ctrl_bits: Signal<In, Bits<2>>,
    /// Byte lane 0 selected on the bus (access cycle).
    pub bus_sel_lane0: Signal<In, Bit>,
    /// The registered register write acts in this cycle.
    pub write_regs: Signal<In, Bit>,
    /// The registered TILE window write acts in this cycle.
    pub write_tile: Signal<In, Bit>,
    /// The registered ACT window write acts in this cycle.
    pub write_act: Signal<In, Bit>,
    /// Data of the registered write.
    pub write_data: Signal<In, Bits<32>>,
    /// Byte lanes of the registered write.
    pub write_sel: Signal<In, Bits<4>>,
    /// Index of the read in flight.
    pub read_index: Signal<In, Bits<6>>,
    /// Register word of the read (one cycle after the access).
    pub rdata: Signal<Out, Bits<32>>,
    /// Interrupt: IRQ_ENABLE and (DONE or ERROR).
    pub irq: Signal<Out, Bit>,
    /// TILE memory write enable (refused while busy).
    pub tile_we: Signal<Out, Bit>,
    /// ACT memory write enable (refused while busy).
    pub act_we: Signal<Out, Bit>,
    /// A START refused by the start checks.
    pub check_fail: Signal<In, Bit>,
    /// The error code of the refusal.
    pub check_code: Signal<In, Bits<4>>,
    /// Start the sequencer (an accepted START, one cycle later).
    pub seq_start: Signal<Out, Bit>,
    /// Abort the sequencer and flush the engine (soft reset or reset).
    pub seq_abort: Signal<Out, Bit>,
    /// Sequencer busy.
    pub seq_busy: Signal<In, Bit>,
    /// Sequencer done pulse.
    pub seq_done: Signal<In, Bit>,
    /// JOB_M.
    pub job_m: Signal<Out, Bits<32>>,
    /// JOB_Q.
    pub job_q: Signal<Out, Bits<32>>,
    /// JOB_ROWS.
    pub job_rows: Signal<Out, Bits<32>>,
    /// A (JOB_ABITS bits 3:0).
    pub job_abits: Signal<Out, Bits<4>>,
    /// SIGNED (JOB_ABITS bit 8).
    pub job_signed: Signal<Out, Bit>,
    id_magic: Constant<Bits<32>>,
    id_version: Constant<Bits<32>>,
    cfg_lanes: Constant<Bits<32>>,
    cfg_tile_max: Constant<Bits<32>>,
    cfg_max_in: Constant<Bits<32>>,
    cfg_max_rows: Constant<Bits<32>>,
    cfg_max_abits: Constant<Bits<32>>,
    idx_magic: Constant<Bits<6>>,
    idx_version: Constant<Bits<6>>,
    idx_lanes: Constant<Bits<6>>,
    idx_tile_max: Constant<Bits<6>>,
    idx_max_in: Constant<Bits<6>>,
    idx_max_rows: Constant<Bits<6>>,
    idx_max_abits: Constant<Bits<6>>,
    idx_scratch: Constant<Bits<6>>,
    idx_ctrl: Constant<Bits<6>>,
    idx_status: Constant<Bits<6>>,
    idx_cycles: Constant<Bits<6>>,
    idx_job_count: Constant<Bits<6>>,
    idx_job_m: Constant<Bits<6>>,
    idx_job_q: Constant<Bits<6>>,
    idx_job_rows: Constant<Bits<6>>,
    idx_job_abits: Constant<Bits<6>>,
    rdata_q: DFF<Bits<32>>,
    scratch: DFF<Bits<32>>,
    irq_enable: DFF<Bit>,
    done_flag: DFF<Bit>,
    error_flag: DFF<Bit>,
    error_code: DFF<Bits<4>>,
    cycles: DFF<Bits<32>>,
    job_count: DFF<Bits<32>>,
    job_m_reg: DFF<Bits<32>>,
    job_q_reg: DFF<Bits<32>>,
    job_rows_reg: DFF<Bits<32>>,
    job_abits_reg: DFF<Bits<32>>,
    start_q: DFF<Bit>,
    busy_q: DFF<Bit>,
    abort_q: DFF<Bit>,
    start_req: DFF<Bit>,
    sel_scratch: DFF<Bit>,
    sel_job_m: DFF<Bit>,
    sel_job_q: DFF<Bit>,
    sel_job_rows: DFF<Bit>,
    sel_job_abits: DFF<Bit>,
    sel_status: DFF<Bit>,
    sel_ctrl: DFF<Bit>,
    busy: Signal<Local, Bit>,
    soft_reset_req: Signal<Local, Bit>,
    lane_mask: Signal<Local, Bits<32>>,
    lane_data: Signal<Local, Bits<32>>,
    start_ok: Signal<Local, Bit>,
}

fn index(byte_offset: u32) -> Constant<Bits<6>> {
    Constant::new(((byte_offset >> 2) as u64).to_bits())
}

impl RegFile {
    /// A register file reporting `id`.
    pub fn new(id: &IdValues) -> Self {
        RegFile {
            clk: Default::default(),
            rst: Default::default(),
            reg_write_access: Default::default(),
            reg_index: Default::default(),
            bus_ctrl_bits: Default::default(),
            bus_sel_lane0: Default::default(),
            write_regs: Default::default(),
            write_tile: Default::default(),
            write_act: Default::default(),
            write_data: Default::default(),
            write_sel: Default::default(),
            read_index: Default::default(),
            rdata: Default::default(),
            irq: Default::default(),
            tile_we: Default::default(),
            act_we: Default::default(),
            check_fail: Default::default(),
            check_code: Default::default(),
            seq_start: Default::default(),
            seq_abort: Default::default(),
            seq_busy: Default::default(),
            seq_done: Default::default(),
            job_m: Default::default(),
            job_q: Default::default(),
            job_rows: Default::default(),
            job_abits: Default::default(),
            job_signed: Default::default(),
            id_magic: c32(regmap::MAGIC),
            id_version: c32(regmap::VERSION),
            cfg_lanes: c32(id.lanes),
            cfg_tile_max: c32(id.tile_max),
            cfg_max_in: c32(id.max_in),
            cfg_max_rows: c32(id.max_rows),
            cfg_max_abits: c32(id.max_abits),
            idx_magic: index(regmap::ID_MAGIC),
            idx_version: index(regmap::ID_VERSION),
            idx_lanes: index(regmap::CFG_LANES),
            idx_tile_max: index(regmap::CFG_TILE_MAX),
            idx_max_in: index(regmap::CFG_MAX_IN),
            idx_max_rows: index(regmap::CFG_MAX_ROWS),
            idx_max_abits: index(regmap::CFG_MAX_ABITS),
            idx_scratch: index(regmap::SCRATCH),
            idx_ctrl: index(regmap::CTRL),
            idx_status: index(regmap::STATUS),
            idx_cycles: index(regmap::CYCLES),
            idx_job_count: index(regmap::JOB_COUNT),
            idx_job_m: index(regmap::JOB_M),
            idx_job_q: index(regmap::JOB_Q),
            idx_job_rows: index(regmap::JOB_ROWS),
            idx_job_abits: index(regmap::JOB_ABITS),
            rdata_q: Default::default(),
            scratch: Default::default(),
            irq_enable: Default::default(),
            done_flag: Default::default(),
            error_flag: Default::default(),
            error_code: Default::default(),
            cycles: Default::default(),
            job_count: Default::default(),
            job_m_reg: Default::default(),
            job_q_reg: Default::default(),
            job_rows_reg: Default::default(),
            job_abits_reg: Default::default(),
            start_q: Default::default(),
            busy_q: Default::default(),
            abort_q: Default::default(),
            start_req: Default::default(),
            sel_scratch: Default::default(),
            sel_job_m: Default::default(),
            sel_job_q: Default::default(),
            sel_job_rows: Default::default(),
            sel_job_abits: Default::default(),
            sel_status: Default::default(),
            sel_ctrl: Default::default(),
            busy: Default::default(),
            soft_reset_req: Default::default(),
            lane_mask: Default::default(),
            lane_data: Default::default(),
            start_ok: Default::default(),
        }
    }
}

impl Logic for RegFile {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clk,
            rdata_q,
            scratch,
            irq_enable,
            done_flag,
            error_flag,
            error_code,
            cycles,
            job_count,
            job_m_reg,
            job_q_reg,
            job_rows_reg,
            job_abits_reg,
            start_q,
            busy_q,
            abort_q,
            start_req,
            sel_scratch,
            sel_job_m,
            sel_job_q,
            sel_job_rows,
            sel_job_abits,
            sel_status,
            sel_ctrl
        );
        // access cycle: decode the index (qualified by the registered request
        // in the write cycle)
        self.sel_scratch.d.next = self.reg_index.val() == self.idx_scratch.val();
        self.sel_job_m.d.next = self.reg_index.val() == self.idx_job_m.val();
        self.sel_job_q.d.next = self.reg_index.val() == self.idx_job_q.val();
        self.sel_job_rows.d.next = self.reg_index.val() == self.idx_job_rows.val();
        self.sel_job_abits.d.next = self.reg_index.val() == self.idx_job_abits.val();
        self.sel_status.d.next = self.reg_index.val() == self.idx_status.val();
        self.sel_ctrl.d.next = self.reg_index.val() == self.idx_ctrl.val();
        self.soft_reset_req.next = self.reg_write_access.val()
            & (self.reg_index.val() == self.idx_ctrl.val())
            & self.bus_sel_lane0.val()
            & self.bus_ctrl_bits.val().get_bit(1);
        // START (SOFT_RESET in the same write wins)
        self.start_req.d.next = self.reg_write_access.val()
            & (self.reg_index.val() == self.idx_ctrl.val())
            & self.bus_sel_lane0.val()
            & self.bus_ctrl_bits.val().get_bit(0)
            & !self.bus_ctrl_bits.val().get_bit(1);
        // the abort (soft reset, or reset) is a flip-flop: it fans out to the
        // whole datapath. A soft reset acts in the write cycle; the reset's
        // clearing of the job state follows the reset by one cycle, in which
        // no bus write can take effect (writes are gated by the reset)
        self.abort_q.d.next = self.soft_reset_req.val() | self.rst.val();
        self.seq_abort.next = self.abort_q.q.val();
        // byte lanes: `lane_mask` has the selected lanes set, `lane_data` is
        // the written data in them
        self.lane_mask.next = 0.into();
        if self.write_sel.val().get_bit(0) {
            self.lane_mask.next = self.lane_mask.val() | 0xFF;
        }
        if self.write_sel.val().get_bit(1) {
            self.lane_mask.next = self.lane_mask.val() | 0xFF00;
        }
        if self.write_sel.val().get_bit(2) {
            self.lane_mask.next = self.lane_mask.val() | 0xFF_0000;
        }
        if self.write_sel.val().get_bit(3) {
            self.lane_mask.next = self.lane_mask.val() | 0xFF00_0000_u64;
        }
        self.lane_data.next = self.write_data.val() & self.lane_mask.val();
        self.irq.next =
            self.irq_enable.q.val() & (self.done_flag.q.val() | self.error_flag.q.val());
        // an accepted START reaches the sequencer one cycle later (registered:
        // keeps the start checks off the sequencer's enables); the job counts
        // as busy from the accepting cycle on
        self.busy.next = self.seq_busy.val() | self.start_q.q.val();
        self.seq_start.next = self.start_q.q.val();
        // memory writes are gated by BUSY one cycle late (a flip-flop next to
        // the BRAM write enables): it rises before any write can follow the
        // START, and a write issued after STATUS read not-busy always sees 0
        self.busy_q.d.next = self.busy.val();
        self.tile_we.next = self.write_tile.val() & !self.busy_q.q.val();
        self.act_we.next = self.write_act.val() & !self.busy_q.q.val();
        self.job_m.next = self.job_m_reg.q.val();
        self.job_q.next = self.job_q_reg.q.val();
        self.job_rows.next = self.job_rows_reg.q.val();
        self.job_abits.next = self.job_abits_reg.q.val().get_bits::<4>(0);
        self.job_signed.next = self.job_abits_reg.q.val().get_bit(8);
        // reads
        self.rdata.next = self.rdata_q.q.val();
        self.rdata_q.d.next = 0.into();
        if self.read_index.val() == self.idx_magic.val() {
            self.rdata_q.d.next = self.id_magic.val();
        }
        if self.read_index.val() == self.idx_version.val() {
            self.rdata_q.d.next = self.id_version.val();
        }
        if self.read_index.val() == self.idx_lanes.val() {
            self.rdata_q.d.next = self.cfg_lanes.val();
        }
        if self.read_index.val() == self.idx_tile_max.val() {
            self.rdata_q.d.next = self.cfg_tile_max.val();
        }
        if self.read_index.val() == self.idx_max_in.val() {
            self.rdata_q.d.next = self.cfg_max_in.val();
        }
        if self.read_index.val() == self.idx_max_rows.val() {
            self.rdata_q.d.next = self.cfg_max_rows.val();
        }
        if self.read_index.val() == self.idx_max_abits.val() {
            self.rdata_q.d.next = self.cfg_max_abits.val();
        }
        if self.read_index.val() == self.idx_scratch.val() {
            self.rdata_q.d.next = self.scratch.q.val();
        }
        if self.read_index.val() == self.idx_ctrl.val() {
            self.rdata_q.d.next = bit_cast::<32, 1>(self.irq_enable.q.val().into()) << 8;
        }
        // DONE reads 1 already in the cycle of the sequencer's done pulse
        // (BUSY has fallen, the flag rises a cycle later): a job that ended
        // reads BUSY or DONE, never neither (issue 17 (a))
        if self.read_index.val() == self.idx_status.val() {
            self.rdata_q.d.next = bit_cast::<32, 1>(self.busy.val().into())
                | (bit_cast::<32, 1>((self.done_flag.q.val() | self.seq_done.val()).into()) << 1)
                | (bit_cast::<32, 1>(self.error_flag.q.val().into()) << 2)
                | (bit_cast::<32, 4>(self.error_code.q.val()) << 8);
        }
        if self.read_index.val() == self.idx_cycles.val() {
            self.rdata_q.d.next = self.cycles.q.val();
        }
        if self.read_index.val() == self.idx_job_count.val() {
            self.rdata_q.d.next = self.job_count.q.val();
        }
        if self.read_index.val() == self.idx_job_m.val() {
            self.rdata_q.d.next = self.job_m_reg.q.val();
        }
        if self.read_index.val() == self.idx_job_q.val() {
            self.rdata_q.d.next = self.job_q_reg.q.val();
        }
        if self.read_index.val() == self.idx_job_rows.val() {
            self.rdata_q.d.next = self.job_rows_reg.q.val();
        }
        if self.read_index.val() == self.idx_job_abits.val() {
            self.rdata_q.d.next = self.job_abits_reg.q.val();
        }
        // register writes
        self.start_ok.next = false;
        if self.write_regs.val() & self.sel_scratch.q.val() {
            self.scratch.d.next =
                (self.scratch.q.val() & !self.lane_mask.val()) | self.lane_data.val();
        }
        if self.write_regs.val() & self.sel_job_m.q.val() {
            self.job_m_reg.d.next =
                (self.job_m_reg.q.val() & !self.lane_mask.val()) | self.lane_data.val();
        }
        if self.write_regs.val() & self.sel_job_q.q.val() {
            self.job_q_reg.d.next =
                (self.job_q_reg.q.val() & !self.lane_mask.val()) | self.lane_data.val();
        }
        if self.write_regs.val() & self.sel_job_rows.q.val() {
            self.job_rows_reg.d.next =
                (self.job_rows_reg.q.val() & !self.lane_mask.val()) | self.lane_data.val();
        }
        if self.write_regs.val() & self.sel_job_abits.q.val() {
            // A in bits 3:0, SIGNED in bit 8: the other bits read 0
            self.job_abits_reg.d.next = ((self.job_abits_reg.q.val() & !self.lane_mask.val())
                | self.lane_data.val())
                & 0x10F;
        }
        if self.write_regs.val() & self.sel_status.q.val() {
            if self.lane_data.val().get_bit(1) {
                self.done_flag.d.next = false;
            }
            if self.lane_data.val().get_bit(2) {
                self.error_flag.d.next = false;
                self.error_code.d.next = 0.into();
            }
        }
        if self.write_regs.val() & self.sel_ctrl.q.val() & self.write_sel.val().get_bit(1) {
            self.irq_enable.d.next = self.write_data.val().get_bit(8);
        }
        // START: refused (the first error code is kept) or accepted
        if self.start_req.q.val() {
            if self.check_fail.val() {
                self.error_flag.d.next = true;
                if !self.error_flag.q.val() {
                    self.error_code.d.next = self.check_code.val();
                }
            } else {
                self.start_ok.next = true;
            }
        }
        // memory writes while busy are refused
        if (self.write_tile.val() | self.write_act.val()) & self.busy_q.q.val() {
            self.error_flag.d.next = true;
            if !self.error_flag.q.val() {
                self.error_code.d.next = 6.into();
            }
        }
        // job accounting
        if self.seq_busy.val() {
            self.cycles.d.next = self.cycles.q.val() + 1;
        }
        if self.seq_done.val() {
            self.done_flag.d.next = true;
            self.job_count.d.next = self.job_count.q.val() + 1;
        }
        if self.start_q.q.val() {
            self.cycles.d.next = 1.into();
        }
        self.start_q.d.next = self.start_ok.val();
        if self.start_ok.val() {
            self.done_flag.d.next = false;
            self.error_flag.d.next = false;
            self.error_code.d.next = 0.into();
        }
        if self.abort_q.q.val() {
            self.start_q.d.next = false;
            self.done_flag.d.next = false;
            self.error_flag.d.next = false;
            self.error_code.d.next = 0.into();
            self.job_count.d.next = 0.into();
            self.cycles.d.next = 0.into();
        }
        if self.rst.val() {
            self.irq_enable.d.next = false;
            self.scratch.d.next = 0.into();
            self.job_m_reg.d.next = 0.into();
            self.job_q_reg.d.next = 0.into();
            self.job_rows_reg.d.next = 0.into();
            self.job_abits_reg.d.next = 0.into();
        }
    }
}
