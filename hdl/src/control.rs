//! Wishbone B4 classic 32-bit slave with the control/status registers.
//!
//! Registered acknowledge, for one cycle: writes have one wait state
//! (`wb_ack` rises the cycle after `wb_stb & wb_cyc`), reads two (the
//! address is registered, then the word selected; read data valid with the
//! ack). Writes are registered and take effect at the end of the ack cycle. Every address is
//! acknowledged; unmapped ones read 0 and ignore writes. `wb_sel` selects
//! byte lanes of writes: unselected lanes of registers and memory words keep
//! their value, and a control bit (START, SOFT_RESET, the W1C bits,
//! IRQ_ENABLE) acts only when its lane is selected. Reads return whole words.
//! Register offsets come from `tbn_driver::regmap`.

use rust_hdl::prelude::*;
use tbn_driver::regmap;

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
    c_magic: Constant<Bits<32>>,
    c_version: Constant<Bits<32>>,
    c_lanes: Constant<Bits<32>>,
    c_tile_max: Constant<Bits<32>>,
    c_max_in: Constant<Bits<32>>,
    c_max_rows: Constant<Bits<32>>,
    c_max_abits: Constant<Bits<32>>,
    hi_tile_max: Constant<Bits<32>>,
    hi_max_in: Constant<Bits<32>>,
    lo_max_in: Constant<Bits<32>>,
    hi_max_rows: Constant<Bits<32>>,
    a_magic: Constant<Bits<6>>,
    a_version: Constant<Bits<6>>,
    a_lanes: Constant<Bits<6>>,
    a_tile_max: Constant<Bits<6>>,
    a_max_in: Constant<Bits<6>>,
    a_max_rows: Constant<Bits<6>>,
    a_max_abits: Constant<Bits<6>>,
    a_scratch: Constant<Bits<6>>,
    a_ctrl: Constant<Bits<6>>,
    a_status: Constant<Bits<6>>,
    a_cycles: Constant<Bits<6>>,
    a_job_count: Constant<Bits<6>>,
    a_job_m: Constant<Bits<6>>,
    a_job_q: Constant<Bits<6>>,
    a_job_rows: Constant<Bits<6>>,
    a_job_abits: Constant<Bits<6>>,
    ack: DFF<Bit>,
    rdata: DFF<Bits<32>>,
    read_out: DFF<Bit>,
    read_regs: DFF<Bit>,
    rd_wait: DFF<Bit>,
    rd_index: DFF<Bits<6>>,
    scratch: DFF<Bits<32>>,
    irq_en: DFF<Bit>,
    done_f: DFF<Bit>,
    err_f: DFF<Bit>,
    err_code: DFF<Bits<4>>,
    cycles: DFF<Bits<32>>,
    job_count: DFF<Bits<32>>,
    r_m: DFF<Bits<32>>,
    r_q: DFF<Bits<32>>,
    r_rows: DFF<Bits<32>>,
    r_abits: DFF<Bits<32>>,
    bad_abits: DFF<Bit>,
    start_q: DFF<Bit>,
    busy_q: DFF<Bit>,
    busy: Signal<Local, Bit>,
    bad_m: DFF<Bit>,
    q_lt_m: DFF<Bit>,
    q_lt_in: DFF<Bit>,
    q_over: DFF<Bit>,
    bad_q: Signal<Local, Bit>,
    bad_rows: DFF<Bit>,
    cap_fail: Signal<Local, Bit>,
    cap_code: Signal<Local, Bits<4>>,
    w_en: DFF<Bit>,
    w_r_scratch: DFF<Bit>,
    w_r_job_m: DFF<Bit>,
    w_r_job_q: DFF<Bit>,
    w_r_job_rows: DFF<Bit>,
    w_r_job_abits: DFF<Bit>,
    w_r_status: DFF<Bit>,
    w_r_ctrl: DFF<Bit>,
    w_start: DFF<Bit>,
    w_tile: DFF<Bit>,
    w_act: DFF<Bit>,
    w_adr: DFF<Bits<16>>,
    w_dat: DFF<Bits<32>>,
    w_sel: DFF<Bits<4>>,
    access: Signal<Local, Bit>,
    wr: Signal<Local, Bit>,
    wreg: Signal<Local, Bit>,
    wr_regs: Signal<Local, Bit>,
    w_regs: DFF<Bit>,
    in_regs: Signal<Local, Bit>,
    in_out: Signal<Local, Bit>,
    in_act: Signal<Local, Bit>,
    in_tile: Signal<Local, Bit>,
    reg_index: Signal<Local, Bits<6>>,
    wmask: Signal<Local, Bits<32>>,
    wsel: Signal<Local, Bits<32>>,
    abits_val: Signal<Local, Bits<32>>,
    fail: Signal<Local, Bit>,
    fail_code: Signal<Local, Bits<4>>,
    start_ok: Signal<Local, Bit>,
    soft_req: Signal<Local, Bit>,
    abort_q: DFF<Bit>,
}

fn word_index(byte_offset: u32) -> Constant<Bits<6>> {
    Constant::new(((byte_offset >> 2) as u64).to_bits())
}

/// The bits at and above `limit` (a power of two): `v > limit` is then
/// `(v & mask) != 0 & v != limit`, two LUT trees instead of a carry chain.
fn high_mask(limit: u32) -> Constant<Bits<32>> {
    assert!(
        limit.is_power_of_two(),
        "capacity {limit} is a power of two"
    );
    c32(!(limit - 1))
}

fn c32(v: u32) -> Constant<Bits<32>> {
    Constant::new((v as u64).to_bits())
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
            c_magic: c32(regmap::MAGIC),
            c_version: c32(regmap::VERSION),
            c_lanes: c32(id.lanes),
            c_tile_max: c32(id.tile_max),
            c_max_in: c32(id.max_in),
            c_max_rows: c32(id.max_rows),
            c_max_abits: c32(id.max_abits),
            hi_tile_max: high_mask(id.tile_max),
            hi_max_in: high_mask(id.max_in),
            lo_max_in: c32(id.max_in.wrapping_mul(2).wrapping_sub(1)),
            hi_max_rows: high_mask(id.max_rows),
            a_magic: word_index(regmap::ID_MAGIC),
            a_version: word_index(regmap::ID_VERSION),
            a_lanes: word_index(regmap::CFG_LANES),
            a_tile_max: word_index(regmap::CFG_TILE_MAX),
            a_max_in: word_index(regmap::CFG_MAX_IN),
            a_max_rows: word_index(regmap::CFG_MAX_ROWS),
            a_max_abits: word_index(regmap::CFG_MAX_ABITS),
            a_scratch: word_index(regmap::SCRATCH),
            a_ctrl: word_index(regmap::CTRL),
            a_status: word_index(regmap::STATUS),
            a_cycles: word_index(regmap::CYCLES),
            a_job_count: word_index(regmap::JOB_COUNT),
            a_job_m: word_index(regmap::JOB_M),
            a_job_q: word_index(regmap::JOB_Q),
            a_job_rows: word_index(regmap::JOB_ROWS),
            a_job_abits: word_index(regmap::JOB_ABITS),
            ack: Default::default(),
            rdata: Default::default(),
            read_out: Default::default(),
            read_regs: Default::default(),
            rd_wait: Default::default(),
            rd_index: Default::default(),
            scratch: Default::default(),
            irq_en: Default::default(),
            done_f: Default::default(),
            err_f: Default::default(),
            err_code: Default::default(),
            cycles: Default::default(),
            job_count: Default::default(),
            r_m: Default::default(),
            r_q: Default::default(),
            r_rows: Default::default(),
            r_abits: Default::default(),
            bad_abits: Default::default(),
            start_q: Default::default(),
            busy_q: Default::default(),
            busy: Default::default(),
            bad_m: Default::default(),
            q_lt_m: Default::default(),
            q_lt_in: Default::default(),
            q_over: Default::default(),
            bad_q: Default::default(),
            bad_rows: Default::default(),
            cap_fail: Default::default(),
            cap_code: Default::default(),
            w_en: Default::default(),
            w_r_scratch: Default::default(),
            w_r_job_m: Default::default(),
            w_r_job_q: Default::default(),
            w_r_job_rows: Default::default(),
            w_r_job_abits: Default::default(),
            w_r_status: Default::default(),
            w_r_ctrl: Default::default(),
            w_start: Default::default(),
            w_tile: Default::default(),
            w_act: Default::default(),
            w_adr: Default::default(),
            w_dat: Default::default(),
            w_sel: Default::default(),
            access: Default::default(),
            wr: Default::default(),
            wreg: Default::default(),
            wr_regs: Default::default(),
            w_regs: Default::default(),
            in_regs: Default::default(),
            in_out: Default::default(),
            in_act: Default::default(),
            in_tile: Default::default(),
            reg_index: Default::default(),
            wmask: Default::default(),
            wsel: Default::default(),
            abits_val: Default::default(),
            fail: Default::default(),
            fail_code: Default::default(),
            start_ok: Default::default(),
            soft_req: Default::default(),
            abort_q: Default::default(),
        }
    }
}

impl Logic for Control {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clk,
            ack,
            rdata,
            read_out,
            read_regs,
            rd_wait,
            rd_index,
            scratch,
            irq_en,
            done_f,
            err_f,
            err_code,
            cycles,
            job_count,
            r_m,
            r_q,
            r_rows,
            r_abits,
            start_q,
            busy_q,
            bad_abits,
            bad_m,
            q_lt_m,
            q_lt_in,
            q_over,
            bad_rows,
            w_en,
            w_r_scratch,
            w_r_job_m,
            w_r_job_q,
            w_r_job_rows,
            w_r_job_abits,
            w_r_status,
            w_r_ctrl,
            w_regs,
            w_start,
            abort_q,
            w_tile,
            w_act,
            w_adr,
            w_dat,
            w_sel
        );
        // decode (regions from the register map: regs 0x00000, OUT 0x10000,
        // ACT 0x20000, TILE 0x40000; word address bits 16:14)
        self.access.next =
            self.wb_stb.val() & self.wb_cyc.val() & !self.ack.q.val() & !self.rd_wait.q.val();
        self.wr.next = self.w_en.q.val();
        self.in_regs.next = self.wb_adr.val().get_bits::<11>(6) == 0;
        self.in_out.next = self.wb_adr.val().get_bits::<3>(14) == 1;
        self.in_act.next = self.wb_adr.val().get_bits::<3>(14) == 2;
        self.in_tile.next = self.wb_adr.val().get_bit(16);
        self.reg_index.next = self.wb_adr.val().get_bits::<6>(0);
        // writes take effect one cycle after the access (in the ack cycle):
        // the request is registered, which keeps the bus decode off the
        // paths into the sequencer and the counters; the master cannot see
        // the difference (the next access comes after the ack at the earliest)
        self.w_en.d.next = self.access.val() & self.wb_we.val() & !self.rst.val();
        self.w_tile.d.next = self.in_tile.val();
        self.w_act.d.next = self.in_act.val();
        // register writes: the index is decoded in the access cycle (one
        // flip-flop per writable register) and qualified in the write cycle
        // by the registered write enable and region, so the write cycle is a
        // plain enable; SOFT_RESET (which fans out to the whole datapath) and
        // START are decoded completely in the access cycle
        self.w_regs.d.next = self.in_regs.val();
        self.wr_regs.next = self.wr.val() & self.w_regs.q.val();
        self.wreg.next =
            self.access.val() & self.wb_we.val() & !self.rst.val() & self.in_regs.val();
        self.w_r_scratch.d.next = self.reg_index.val() == self.a_scratch.val();
        self.w_r_job_m.d.next = self.reg_index.val() == self.a_job_m.val();
        self.w_r_job_q.d.next = self.reg_index.val() == self.a_job_q.val();
        self.w_r_job_rows.d.next = self.reg_index.val() == self.a_job_rows.val();
        self.w_r_job_abits.d.next = self.reg_index.val() == self.a_job_abits.val();
        self.w_r_status.d.next = self.reg_index.val() == self.a_status.val();
        self.w_r_ctrl.d.next = self.reg_index.val() == self.a_ctrl.val();
        self.soft_req.next = self.wreg.val()
            & (self.reg_index.val() == self.a_ctrl.val())
            & self.wb_sel.val().get_bit(0)
            & self.wb_dat_w.val().get_bit(1);
        // START (SOFT_RESET in the same write wins)
        self.w_start.d.next = self.wreg.val()
            & (self.reg_index.val() == self.a_ctrl.val())
            & self.wb_sel.val().get_bit(0)
            & self.wb_dat_w.val().get_bit(0)
            & !self.wb_dat_w.val().get_bit(1);
        // the abort (soft reset, or reset) is a flip-flop: it fans out to the
        // whole datapath. A soft reset acts in the write cycle as before; the
        // reset's job-state clearing follows the reset by one cycle, in which
        // no bus write can take effect (writes are gated by the reset)
        self.abort_q.d.next = self.soft_req.val() | self.rst.val();
        self.w_adr.d.next = self.wb_adr.val().get_bits::<16>(0);
        self.w_dat.d.next = self.wb_dat_w.val();
        self.w_sel.d.next = self.wb_sel.val();
        // byte lanes: wmask has the selected lanes set, wsel = written data in them
        self.wmask.next = 0.into();
        if self.w_sel.q.val().get_bit(0) {
            self.wmask.next = self.wmask.val() | 0xFF;
        }
        if self.w_sel.q.val().get_bit(1) {
            self.wmask.next = self.wmask.val() | 0xFF00;
        }
        if self.w_sel.q.val().get_bit(2) {
            self.wmask.next = self.wmask.val() | 0xFF_0000;
        }
        if self.w_sel.q.val().get_bit(3) {
            self.wmask.next = self.wmask.val() | 0xFF00_0000_u64;
        }
        self.wsel.next = self.w_dat.q.val() & self.wmask.val();
        self.abits_val.next = bit_cast::<32, 4>(self.r_abits.q.val().get_bits::<4>(0));
        // bus outputs
        // writes are acknowledged the cycle after the access, reads one
        // cycle later: the access cycle registers the address (index and
        // region), the next selects the register word into `rdata`
        self.rd_wait.d.next = self.access.val() & !self.wb_we.val() & !self.rst.val();
        // a read whose master dropped `cyc`/`stb` while it waited (an
        // abandoned cycle) is not acknowledged, so no later access takes a
        // stale ack (issue 17 (c)); the ack output is also gated by the
        // live cycle: none after the master drops `cyc` or `stb`
        self.ack.d.next = (self.access.val() & self.wb_we.val())
            | (self.rd_wait.q.val() & self.wb_stb.val() & self.wb_cyc.val());
        self.wb_ack.next = self.ack.q.val() & self.wb_stb.val() & self.wb_cyc.val();
        if self.access.val() {
            self.rd_index.d.next = self.reg_index.val();
            self.read_out.d.next = self.in_out.val();
            self.read_regs.d.next = self.in_regs.val();
        }
        self.wb_dat_r.next = 0.into();
        if self.read_regs.q.val() {
            self.wb_dat_r.next = self.rdata.q.val();
        }
        if self.read_out.q.val() {
            self.wb_dat_r.next = self.out_rdata.val();
        }
        self.irq.next = self.irq_en.q.val() & (self.done_f.q.val() | self.err_f.q.val());
        self.mem_sel.next = self.w_sel.q.val();
        self.mem_addr.next = self.w_adr.q.val();
        self.mem_data.next = self.w_dat.q.val();
        self.out_addr.next = self.wb_adr.val().get_bits::<14>(0);
        // an accepted START reaches the sequencer one cycle later (registered:
        // keeps the start checks off the sequencer's enables); the job counts
        // as busy from the accepting cycle on
        self.busy.next = self.seq_busy.val() | self.start_q.q.val();
        self.seq_start.next = self.start_q.q.val();
        // memory writes are gated by BUSY one cycle late (a flip-flop next to
        // the BRAM write enables): it rises before any write can follow the
        // START, and a write issued after STATUS read not-busy always sees 0
        self.busy_q.d.next = self.busy.val();
        self.tile_we.next = self.wr.val() & self.w_tile.q.val() & !self.busy_q.q.val();
        self.act_we.next = self.wr.val() & self.w_act.q.val() & !self.busy_q.q.val();
        self.job_m.next = self.r_m.q.val().get_bits::<24>(0);
        self.job_q.next = self.r_q.q.val().get_bits::<24>(0);
        self.job_rows.next = self.r_rows.q.val().get_bits::<14>(0);
        self.job_abits.next = self.r_abits.q.val().get_bits::<4>(0);
        self.job_signed.next = self.r_abits.q.val().get_bit(8);
        // register reads: the word of the index registered in the access
        // cycle, selected in the cycle after it (reads have no side effects)
        self.rdata.d.next = 0.into();
        if self.rd_index.q.val() == self.a_magic.val() {
            self.rdata.d.next = self.c_magic.val();
        }
        if self.rd_index.q.val() == self.a_version.val() {
            self.rdata.d.next = self.c_version.val();
        }
        if self.rd_index.q.val() == self.a_lanes.val() {
            self.rdata.d.next = self.c_lanes.val();
        }
        if self.rd_index.q.val() == self.a_tile_max.val() {
            self.rdata.d.next = self.c_tile_max.val();
        }
        if self.rd_index.q.val() == self.a_max_in.val() {
            self.rdata.d.next = self.c_max_in.val();
        }
        if self.rd_index.q.val() == self.a_max_rows.val() {
            self.rdata.d.next = self.c_max_rows.val();
        }
        if self.rd_index.q.val() == self.a_max_abits.val() {
            self.rdata.d.next = self.c_max_abits.val();
        }
        if self.rd_index.q.val() == self.a_scratch.val() {
            self.rdata.d.next = self.scratch.q.val();
        }
        if self.rd_index.q.val() == self.a_ctrl.val() {
            self.rdata.d.next = bit_cast::<32, 1>(self.irq_en.q.val().into()) << 8;
        }
        // DONE reads 1 already in the cycle of the sequencer's done pulse
        // (BUSY has fallen, `done_f` rises a cycle later): a job that ended
        // reads BUSY or DONE, never neither (issue 17 (a))
        if self.rd_index.q.val() == self.a_status.val() {
            self.rdata.d.next = bit_cast::<32, 1>(self.busy.val().into())
                | (bit_cast::<32, 1>((self.done_f.q.val() | self.seq_done.val()).into()) << 1)
                | (bit_cast::<32, 1>(self.err_f.q.val().into()) << 2)
                | (bit_cast::<32, 4>(self.err_code.q.val()) << 8);
        }
        if self.rd_index.q.val() == self.a_cycles.val() {
            self.rdata.d.next = self.cycles.q.val();
        }
        if self.rd_index.q.val() == self.a_job_count.val() {
            self.rdata.d.next = self.job_count.q.val();
        }
        if self.rd_index.q.val() == self.a_job_m.val() {
            self.rdata.d.next = self.r_m.q.val();
        }
        if self.rd_index.q.val() == self.a_job_q.val() {
            self.rdata.d.next = self.r_q.q.val();
        }
        if self.rd_index.q.val() == self.a_job_rows.val() {
            self.rdata.d.next = self.r_rows.q.val();
        }
        if self.rd_index.q.val() == self.a_job_abits.val() {
            self.rdata.d.next = self.r_abits.q.val();
        }
        // capacity checks, registered: each comparison lands in its own
        // flip-flop (one comparator per path), the first failing one is
        // selected from the registered flags. The job registers change only by
        // bus writes, and the START that follows a write takes effect at least
        // 2 cycles after it (registered ack), so the flags are always current
        // when START acts
        self.bad_abits.d.next =
            (self.abits_val.val() == 0) | (self.abits_val.val() > self.c_max_abits.val());
        // capacities are powers of two: "v > capacity" without a carry chain
        self.bad_m.d.next = (self.r_m.q.val() == 0)
            | (((self.r_m.q.val() & self.hi_max_in.val()) != 0)
                & (self.r_m.q.val() != self.c_max_in.val()));
        // q < m matters only when m passed its check (m <= MAX_IN = 2^k):
        // then it is q < 2^k and q < m on k + 1 bits (a short carry chain)
        // (each part in its own flip-flop: the comparator is the whole path)
        self.q_lt_m.d.next =
            (self.r_q.q.val() & self.lo_max_in.val()) < (self.r_m.q.val() & self.lo_max_in.val());
        self.q_lt_in.d.next = (self.r_q.q.val() & self.hi_max_in.val()) == 0;
        self.q_over.d.next = ((self.r_q.q.val() & self.hi_tile_max.val()) != 0)
            & (self.r_q.q.val() != self.c_tile_max.val());
        self.bad_q.next = (self.q_lt_m.q.val() & self.q_lt_in.q.val()) | self.q_over.q.val();
        self.bad_rows.d.next = (self.r_rows.q.val() == 0)
            | (((self.r_rows.q.val() & self.hi_max_rows.val()) != 0)
                & (self.r_rows.q.val() != self.c_max_rows.val()));
        self.cap_fail.next =
            self.bad_abits.q.val() | self.bad_m.q.val() | self.bad_q.val() | self.bad_rows.q.val();
        self.cap_code.next = 0.into();
        if self.bad_abits.q.val() {
            self.cap_code.next = 2.into();
        } else if self.bad_m.q.val() {
            self.cap_code.next = 3.into();
        } else if self.bad_q.val() {
            self.cap_code.next = 4.into();
        } else if self.bad_rows.q.val() {
            self.cap_code.next = 5.into();
        }
        // start checks: busy first, then the capacity checks
        // (a START is at least two cycles after the previous one, whose
        // `start_q` has then become the sequencer's `busy`: the sequencer's
        // flag alone is the check, and `start_q` stays off this path)
        self.fail.next = self.seq_busy.val() | self.cap_fail.val();
        self.fail_code.next = self.cap_code.val();
        if self.seq_busy.val() {
            self.fail_code.next = 1.into();
        }
        // register writes
        self.start_ok.next = false;
        if self.wr_regs.val() & self.w_r_scratch.q.val() {
            self.scratch.d.next = (self.scratch.q.val() & !self.wmask.val()) | self.wsel.val();
        }
        if self.wr_regs.val() & self.w_r_job_m.q.val() {
            self.r_m.d.next = (self.r_m.q.val() & !self.wmask.val()) | self.wsel.val();
        }
        if self.wr_regs.val() & self.w_r_job_q.q.val() {
            self.r_q.d.next = (self.r_q.q.val() & !self.wmask.val()) | self.wsel.val();
        }
        if self.wr_regs.val() & self.w_r_job_rows.q.val() {
            self.r_rows.d.next = (self.r_rows.q.val() & !self.wmask.val()) | self.wsel.val();
        }
        if self.wr_regs.val() & self.w_r_job_abits.q.val() {
            self.r_abits.d.next =
                ((self.r_abits.q.val() & !self.wmask.val()) | self.wsel.val()) & 0x10F;
        }
        if self.wr_regs.val() & self.w_r_status.q.val() {
            if self.wsel.val().get_bit(1) {
                self.done_f.d.next = false;
            }
            if self.wsel.val().get_bit(2) {
                self.err_f.d.next = false;
                self.err_code.d.next = 0.into();
            }
        }
        if self.wr_regs.val() & self.w_r_ctrl.q.val() & self.w_sel.q.val().get_bit(1) {
            self.irq_en.d.next = self.w_dat.q.val().get_bit(8);
        }
        if self.w_start.q.val() {
            if self.fail.val() {
                self.err_f.d.next = true;
                if !self.err_f.q.val() {
                    self.err_code.d.next = self.fail_code.val();
                }
            } else {
                self.start_ok.next = true;
            }
        }
        // memory writes while busy are refused
        if self.wr.val() & (self.w_tile.q.val() | self.w_act.q.val()) & self.busy_q.q.val() {
            self.err_f.d.next = true;
            if !self.err_f.q.val() {
                self.err_code.d.next = 6.into();
            }
        }
        // job accounting
        if self.seq_busy.val() {
            self.cycles.d.next = self.cycles.q.val() + 1;
        }
        if self.seq_done.val() {
            self.done_f.d.next = true;
            self.job_count.d.next = self.job_count.q.val() + 1;
        }
        if self.start_q.q.val() {
            self.cycles.d.next = 1.into();
        }
        self.start_q.d.next = self.start_ok.val();
        if self.start_ok.val() {
            self.done_f.d.next = false;
            self.err_f.d.next = false;
            self.err_code.d.next = 0.into();
        }
        self.seq_abort.next = self.abort_q.q.val();
        if self.abort_q.q.val() {
            self.start_q.d.next = false;
            self.done_f.d.next = false;
            self.err_f.d.next = false;
            self.err_code.d.next = 0.into();
            self.job_count.d.next = 0.into();
            self.cycles.d.next = 0.into();
        }
        if self.rst.val() {
            self.ack.d.next = false;
            self.rd_wait.d.next = false;
            self.irq_en.d.next = false;
            self.scratch.d.next = 0.into();
            self.r_m.d.next = 0.into();
            self.r_q.d.next = 0.into();
            self.r_rows.d.next = 0.into();
            self.r_abits.d.next = 0.into();
        }
    }
}
