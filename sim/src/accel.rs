//! Transaction-level access to the TBN accelerator RTL: load a layer, load
//! activations, run a job, read the accumulator pairs and the cycle counter.
//!
//! Everything goes through the register map of `tbn_driver::regmap` over a
//! bus-functional model ([`Link`]): the Wishbone master on the core's own port, or
//! the SPI master on the standalone top's SPI-to-Wishbone bridge.

use tbn_driver::bus::{check_range, BusOp};
use tbn_driver::regmap as rm;

use crate::bus::{WishboneMaster, WishboneNames};
use crate::dut::{Dut, Port};
use crate::error::{Result, SimError};
use crate::spi::{SpiMaster, SpiNames};

/// The driver's range check ([`check_range`]) as a harness error.
fn in_map(op: BusOp, offset: u32, words: usize) -> Result<()> {
    check_range(op, offset, words).map_err(SimError::Offset)
}

/// 32-bit register access by byte offset from the accelerator's base.
pub trait RegisterBus {
    /// Reads the word at byte offset `offset`.
    fn read32(&mut self, offset: u32) -> Result<u32>;
    /// Writes the word at byte offset `offset`.
    fn write32(&mut self, offset: u32, value: u32) -> Result<()>;
    /// Writes consecutive words starting at `offset`.
    fn write_words(&mut self, offset: u32, words: &[u32]) -> Result<()> {
        for (i, w) in words.iter().enumerate() {
            self.write32(offset + 4 * i as u32, *w)?;
        }
        Ok(())
    }
    /// Reads `n` consecutive words starting at `offset`.
    fn read_words(&mut self, offset: u32, n: usize) -> Result<Vec<u32>> {
        (0..n).map(|i| self.read32(offset + 4 * i as u32)).collect()
    }
}

/// How the harness reaches the accelerator's registers.
#[derive(Debug, Clone)]
pub enum Link {
    /// Wishbone B4 classic on the core's port (`wb_adr` = byte offset >> 2).
    Wishbone(WishboneMaster),
    /// SPI frames through the standalone top's bridge (byte addresses).
    Spi(SpiMaster),
}

/// Which link to create in [`Accelerator::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkKind {
    /// Wishbone with ports named `{prefix}cyc`, ... (the core uses `wb_`).
    Wishbone {
        /// Port name prefix.
        prefix: String,
    },
    /// SPI with these pin names.
    Spi(SpiNames),
}

impl Default for LinkKind {
    fn default() -> Self {
        LinkKind::Wishbone {
            prefix: "wb_".into(),
        }
    }
}

/// Capacities reported by the accelerator's configuration registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HwInfo {
    /// Lanes `L`.
    pub lanes: u32,
    /// Largest tile length `q` (bits).
    pub tile_max: u32,
    /// Largest row length `m`.
    pub max_in: u32,
    /// Largest number of rows `D` per job.
    pub max_rows: u32,
    /// Largest activation width `A`.
    pub max_abits: u32,
}

/// One job for the accelerator: a tiled layer (or the distinct rows of one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerJob {
    /// Row length (inputs).
    pub m: u32,
    /// Tile length in bits.
    pub q: u32,
    /// Number of output rows of the layer (only the distinct ones are computed).
    pub rows: u32,
    /// Tile bits, bit `j` at bit `j % 32` of word `j / 32`.
    pub tile: Vec<u32>,
    /// Activation bits `A` (1..=8).
    pub abits: u8,
    /// Two's complement activations (ignored for `A = 1`).
    pub signed: bool,
}

impl LayerJob {
    /// The job of a golden dense stage (a linear layer; conv stages run per position).
    pub fn from_stage(stage: &tbn_golden::integer::DenseStage) -> LayerJob {
        LayerJob {
            m: stage.geom.m as u32,
            q: stage.geom.q as u32,
            rows: stage.geom.rows as u32,
            tile: stage.tile.words32(),
            abits: stage.in_bits,
            signed: stage.in_signed && stage.in_bits > 1,
        }
    }

    /// Distinct rows `D = min(rows, q / gcd(m, q))`.
    pub fn distinct_rows(&self) -> u32 {
        rm::distinct_rows(self.rows, self.m, self.q)
    }

    /// Ideal issue cycles `D * ceil(m / L) * A`.
    pub fn ideal_cycles(&self, lanes: u32) -> u64 {
        self.distinct_rows() as u64 * self.m.div_ceil(lanes) as u64 * self.abits as u64
    }

    /// Checks the job against the numerics rules and a core's capacities.
    pub fn check(&self, hw: &HwInfo) -> Result<()> {
        let bad = |s: String| Err(SimError::Invalid(s));
        if self.m == 0 || self.rows == 0 || !(1..=8).contains(&self.abits) {
            return bad(format!(
                "layer needs m >= 1, rows >= 1, 1 <= A <= 8 (m = {}, rows = {}, A = {})",
                self.m, self.rows, self.abits
            ));
        }
        if self.q < self.m {
            return bad(format!(
                "tile length q = {} is below m = {}",
                self.q, self.m
            ));
        }
        if (self.tile.len() as u64) * 32 < self.q as u64 {
            return bad(format!(
                "tile has {} words, q = {} needs {}",
                self.tile.len(),
                self.q,
                self.q.div_ceil(32)
            ));
        }
        let d = self.distinct_rows();
        if self.m > hw.max_in
            || self.q > hw.tile_max
            || d > hw.max_rows
            || self.abits as u32 > hw.max_abits
        {
            return bad(format!(
                "layer (m = {}, q = {}, D = {}, A = {}) exceeds the core (MAX_IN = {}, TILE_MAX = {}, MAX_ROWS = {}, MAX_ABITS = {})",
                self.m, self.q, d, self.abits, hw.max_in, hw.tile_max, hw.max_rows, hw.max_abits
            ));
        }
        Ok(())
    }
}

/// The outcome of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobResult {
    /// `(dot_a, dot_b)` of each distinct row.
    pub acc: Vec<(i32, i32)>,
    /// The core's CYCLES register: clock cycles from start to done.
    pub cycles: u32,
}

/// The accelerator RTL behind a bus-functional model.
pub struct Accelerator {
    dut: Dut,
    link: Link,
    rst: Option<Port>,
    irq: Option<Port>,
    info: HwInfo,
    jobs: u64,
}

impl std::fmt::Debug for Accelerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accelerator")
            .field("info", &self.info)
            .field("jobs", &self.jobs)
            .field("dut", &self.dut)
            .finish()
    }
}

/// Every access is checked against the register map first: a misaligned or
/// out-of-map offset is [`SimError::Offset`], never an aliased register.
impl RegisterBus for Accelerator {
    fn read32(&mut self, offset: u32) -> Result<u32> {
        in_map(BusOp::Read, offset, 1)?;
        match &mut self.link {
            Link::Wishbone(wb) => wb.read(&mut self.dut, offset >> 2),
            Link::Spi(spi) => spi.read(&mut self.dut, offset),
        }
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<()> {
        in_map(BusOp::Write, offset, 1)?;
        match &mut self.link {
            Link::Wishbone(wb) => wb.write(&mut self.dut, offset >> 2, value),
            Link::Spi(spi) => spi.write(&mut self.dut, offset, value),
        }
    }

    fn write_words(&mut self, offset: u32, words: &[u32]) -> Result<()> {
        in_map(BusOp::Write, offset, words.len())?;
        match &mut self.link {
            Link::Wishbone(wb) => {
                for (i, w) in words.iter().enumerate() {
                    wb.write(&mut self.dut, (offset >> 2) + i as u32, *w)?;
                }
                Ok(())
            }
            Link::Spi(spi) => {
                let k = spi.max_burst_words.max(1);
                for (i, chunk) in words.chunks(k).enumerate() {
                    spi.write_burst(&mut self.dut, offset + 4 * (k * i) as u32, chunk)?;
                }
                Ok(())
            }
        }
    }

    fn read_words(&mut self, offset: u32, n: usize) -> Result<Vec<u32>> {
        in_map(BusOp::Read, offset, n)?;
        match &mut self.link {
            Link::Wishbone(wb) => (0..n as u32)
                .map(|i| wb.read(&mut self.dut, (offset >> 2) + i))
                .collect(),
            Link::Spi(spi) => {
                let mut out = Vec::with_capacity(n);
                let mut done = 0usize;
                while done < n {
                    let k = (n - done).min(spi.max_burst_words.max(1));
                    out.extend(spi.read_burst(&mut self.dut, offset + 4 * done as u32, k)?);
                    done += k;
                }
                Ok(out)
            }
        }
    }
}

impl Accelerator {
    /// Wraps a freshly instantiated accelerator model: pulses the reset input
    /// (`rst` or `reset`, when present), checks the ID registers and reads the
    /// configuration.
    pub fn new(mut dut: Dut, link: LinkKind) -> Result<Accelerator> {
        let rst = ["rst", "reset"]
            .iter()
            .find(|n| dut.has_port(n))
            .map(|n| dut.input(n))
            .transpose()?;
        let irq = if dut.has_port("irq") {
            Some(dut.port("irq")?)
        } else {
            None
        };
        let link = match link {
            LinkKind::Wishbone { prefix } => {
                let names = WishboneNames::with_prefix(&dut, &prefix);
                Link::Wishbone(WishboneMaster::new(&mut dut, &names)?)
            }
            LinkKind::Spi(names) => Link::Spi(SpiMaster::new(&mut dut, &names)?),
        };
        let mut acc = Accelerator {
            dut,
            link,
            rst,
            irq,
            info: HwInfo {
                lanes: 0,
                tile_max: 0,
                max_in: 0,
                max_rows: 0,
                max_abits: 0,
            },
            jobs: 0,
        };
        acc.hard_reset()?;
        let magic = acc.read32(rm::ID_MAGIC)?;
        if magic != rm::MAGIC {
            return Err(SimError::Accelerator(format!(
                "ID_MAGIC reads {magic:#010x}, expected {:#010x}: not a TBN accelerator, or the bus is miswired",
                rm::MAGIC
            )));
        }
        let version = acc.read32(rm::ID_VERSION)?;
        if version >> 16 != rm::VERSION >> 16 {
            return Err(SimError::Accelerator(format!(
                "register map version {version:#x} has another major version than the driver's {:#x}",
                rm::VERSION
            )));
        }
        acc.info = HwInfo {
            lanes: acc.read32(rm::CFG_LANES)?,
            tile_max: acc.read32(rm::CFG_TILE_MAX)?,
            max_in: acc.read32(rm::CFG_MAX_IN)?,
            max_rows: acc.read32(rm::CFG_MAX_ROWS)?,
            max_abits: acc.read32(rm::CFG_MAX_ABITS)?,
        };
        if acc.info.lanes == 0 {
            return Err(SimError::Accelerator("CFG_LANES reads 0".into()));
        }
        Ok(acc)
    }

    /// Wraps a standalone top behind the SPI master with `half_period` system
    /// clock cycles per SCK half period.
    pub fn new_spi(dut: Dut, names: SpiNames, half_period: u64) -> Result<Accelerator> {
        let mut acc = Accelerator::new(dut, LinkKind::Spi(names))?;
        if let Link::Spi(spi) = &mut acc.link {
            spi.half_period = half_period.max(1);
        }
        // Re-read the identification at the chosen speed.
        let magic = acc.read32(rm::ID_MAGIC)?;
        if magic != rm::MAGIC {
            return Err(SimError::Accelerator(format!(
                "ID_MAGIC over SPI reads {magic:#010x} at half period {half_period}"
            )));
        }
        Ok(acc)
    }

    /// Drives the reset input high for 4 cycles (no-op without a reset port).
    pub fn hard_reset(&mut self) -> Result<()> {
        if let Some(r) = self.rst {
            self.dut.set(r, 1);
            self.dut.tick_n(4)?;
            self.dut.set(r, 0);
            self.dut.eval();
        }
        Ok(())
    }

    /// The core's capacities.
    pub fn info(&self) -> HwInfo {
        self.info
    }

    /// The underlying model (for direct port access, waveforms, coverage).
    pub fn dut(&mut self) -> &mut Dut {
        &mut self.dut
    }

    /// One raw SPI frame through the SPI master: `cs_n` low, the bytes of
    /// `out` exchanged bit by bit, `cs_n` high; returns the bytes sampled on
    /// MISO (for a bridge that replays frames built elsewhere, e.g. by the
    /// firmware of [`crate::cosim`]). An error when the link is not SPI.
    pub fn spi_frame(&mut self, out: &[u8]) -> Result<Vec<u8>> {
        match &mut self.link {
            Link::Spi(spi) => spi.frame(&mut self.dut, out),
            Link::Wishbone(_) => Err(SimError::Invalid(
                "spi_frame: this accelerator is behind a Wishbone master, not SPI".into(),
            )),
        }
    }

    /// The bus model in use.
    pub fn link(&mut self) -> &mut Link {
        &mut self.link
    }

    /// Jobs completed through this handle.
    pub fn jobs(&self) -> u64 {
        self.jobs
    }

    /// Writes the tile (extended image: bits `[0, q)` then `[0, L)`).
    pub fn load_tile(&mut self, tile: &[u32], q: u32) -> Result<()> {
        if q > self.info.tile_max {
            return Err(SimError::Invalid(format!(
                "tile length q = {q} exceeds TILE_MAX = {}",
                self.info.tile_max
            )));
        }
        let n = rm::extended_tile_words(q, self.info.lanes);
        let words: Vec<u32> = (0..n)
            .map(|w| rm::extended_tile_word(tile, q, self.info.lanes, w))
            .collect();
        self.write_words(rm::TILE_BASE, &words)
    }

    /// Writes the activations as `abits` bit-planes. `A = 1`: values 0 (-1) or 1 (+1);
    /// otherwise `0..2^A` (unsigned) or `-2^(A-1)..2^(A-1)` (signed).
    pub fn load_activations(&mut self, x: &[i32], abits: u8, signed: bool) -> Result<()> {
        let m = x.len() as u32;
        if m == 0 || m > self.info.max_in {
            return Err(SimError::Invalid(format!(
                "{m} activations (MAX_IN = {})",
                self.info.max_in
            )));
        }
        if !(1..=8).contains(&abits) {
            return Err(SimError::Invalid(format!(
                "activation bits A = {abits} not in 1..=8"
            )));
        }
        let signed = signed && abits > 1;
        let (lo, hi) = if abits == 1 {
            (0, 1)
        } else if signed {
            (-(1i32 << (abits - 1)), (1i32 << (abits - 1)) - 1)
        } else {
            (0, (1i32 << abits) - 1)
        };
        if let Some((k, v)) = x.iter().enumerate().find(|(_, v)| **v < lo || **v > hi) {
            return Err(SimError::Invalid(format!(
                "activation {k} = {v} outside {lo}..={hi} for A = {abits}{}",
                if signed { " signed" } else { "" }
            )));
        }
        let pw = rm::plane_words(m) as usize;
        for b in 0..abits as u32 {
            let mut words = vec![0u32; pw];
            for (k, v) in x.iter().enumerate() {
                words[k / 32] |= (((*v >> b) & 1) as u32) << (k % 32);
            }
            self.write_words(rm::act_word_offset(b, 0), &words)?;
        }
        Ok(())
    }

    /// Writes the job registers (m, q, D, A, signed).
    pub fn configure(&mut self, m: u32, q: u32, d: u32, abits: u8, signed: bool) -> Result<()> {
        self.write32(rm::JOB_M, m)?;
        self.write32(rm::JOB_Q, q)?;
        self.write32(rm::JOB_ROWS, d)?;
        self.write32(
            rm::JOB_ABITS,
            rm::job_abits(abits as u32, signed && abits > 1),
        )
    }

    /// Writes START (with the interrupt enabled, which the harness uses to wait).
    pub fn start(&mut self) -> Result<()> {
        self.write32(rm::CTRL, rm::CTRL_START | rm::CTRL_IRQ_ENABLE)
    }

    /// Reads STATUS.
    pub fn status(&mut self) -> Result<u32> {
        self.read32(rm::STATUS)
    }

    /// Waits until DONE or ERROR (at most `max_cycles`), returning STATUS.
    /// Uses the `irq` output inside the simulator's bulk loop when the core has one,
    /// STATUS polling otherwise. A job that does not finish is an error, never a hang.
    pub fn wait(&mut self, max_cycles: u64) -> Result<u32> {
        let start = self.dut.cycles();
        loop {
            let status = self.status()?;
            if status & (rm::STATUS_DONE | rm::STATUS_ERROR) != 0 {
                return Ok(status);
            }
            let spent = self.dut.cycles() - start;
            if spent >= max_cycles {
                return Err(SimError::Accelerator(format!(
                    "job not done after {spent} cycles (STATUS = {status:#x})"
                )));
            }
            match self.irq {
                Some(irq) if matches!(self.link, Link::Wishbone(_)) => {
                    self.dut.run_until(irq, 1, max_cycles - spent)?;
                }
                _ => self.dut.tick_n(16)?,
            }
        }
    }

    /// Reads `d` accumulator pairs from the output memory.
    pub fn read_accumulators(&mut self, d: u32) -> Result<Vec<(i32, i32)>> {
        let words = self.read_words(rm::OUT_BASE, 2 * d as usize)?;
        Ok(words
            .chunks_exact(2)
            .map(|c| (c[0] as i32, c[1] as i32))
            .collect())
    }

    /// Reads the CYCLES register.
    pub fn cycles(&mut self) -> Result<u32> {
        self.read32(rm::CYCLES)
    }

    /// Loads a layer's tile and configures the job registers (activations separately).
    pub fn load_layer(&mut self, job: &LayerJob) -> Result<()> {
        job.check(&self.info)?;
        self.load_tile(&job.tile, job.q)?;
        self.configure(job.m, job.q, job.distinct_rows(), job.abits, job.signed)
    }

    /// Starts the configured job on the loaded data and collects its result.
    /// An error status becomes [`SimError::Accelerator`] naming the code.
    pub fn run(&mut self, job: &LayerJob) -> Result<JobResult> {
        let d = job.distinct_rows();
        self.start()?;
        let bound = rm::job_cycle_bound(d, job.m, self.info.lanes, job.abits as u32) as u64;
        let status = self.wait(2 * bound + 1000)?;
        if status & rm::STATUS_ERROR != 0 {
            return Err(SimError::Accelerator(format!(
                "job reported ERROR {:?} (STATUS = {status:#x})",
                rm::ErrorCode::from_status(status)
            )));
        }
        let cycles = self.cycles()?;
        let acc = self.read_accumulators(d)?;
        self.write32(rm::STATUS, rm::STATUS_DONE)?;
        self.jobs += 1;
        Ok(JobResult { acc, cycles })
    }

    /// The whole job: tile, activations, registers, run, results.
    pub fn run_layer(&mut self, job: &LayerJob, x: &[i32]) -> Result<JobResult> {
        if x.len() != job.m as usize {
            return Err(SimError::Invalid(format!(
                "{} activations for a layer with m = {}",
                x.len(),
                job.m
            )));
        }
        self.load_layer(job)?;
        self.load_activations(x, job.abits, job.signed)?;
        self.run(job)
    }
}

/// The firmware driver's bus trait over the simulated accelerator, so the real
/// `tbn_driver::driver::Tbn` code runs against the RTL:
/// `Tbn::probe(DriverBus(&mut acc))`.
#[derive(Debug)]
pub struct DriverBus<'a>(pub &'a mut Accelerator);

fn driver_error(e: SimError, op: BusOp, addr: u32) -> tbn_driver::bus::BusError {
    use crate::bus::BusError as B;
    use tbn_driver::bus::BusError as D;
    match e {
        SimError::Offset(e) => e,
        SimError::Bus(B::Timeout { .. }) => D::Timeout { op, addr },
        SimError::Bus(B::ErrorResponse { .. }) => D::ErrorResponse { op, addr },
        SimError::Bus(B::Retry { .. }) => D::Retry { op, addr },
        SimError::Bus(B::Spi(_)) => D::Other {
            op,
            addr,
            what: "malformed SPI frame from the simulated bridge",
        },
        _ => D::Other {
            op,
            addr,
            what: "the Verilated model failed",
        },
    }
}

impl tbn_driver::bus::Bus for DriverBus<'_> {
    fn read32(&mut self, addr: u32) -> Result<u32, tbn_driver::bus::BusError> {
        RegisterBus::read32(self.0, addr).map_err(|e| driver_error(e, BusOp::Read, addr))
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), tbn_driver::bus::BusError> {
        RegisterBus::write32(self.0, addr, value).map_err(|e| driver_error(e, BusOp::Write, addr))
    }

    fn read_block(&mut self, addr: u32, out: &mut [u32]) -> Result<(), tbn_driver::bus::BusError> {
        let words = self
            .0
            .read_words(addr, out.len())
            .map_err(|e| driver_error(e, BusOp::Read, addr))?;
        out.copy_from_slice(&words);
        Ok(())
    }

    fn write_block(&mut self, addr: u32, words: &[u32]) -> Result<(), tbn_driver::bus::BusError> {
        self.0
            .write_words(addr, words)
            .map_err(|e| driver_error(e, BusOp::Write, addr))
    }
}

/// [`DriverBus`] owning the accelerator, for a driver that outlives a borrow
/// (the Python `Engine`): `Tbn::probe(OwnedDriverBus(acc))`.
#[derive(Debug)]
pub struct OwnedDriverBus(pub Accelerator);

impl tbn_driver::bus::Bus for OwnedDriverBus {
    fn read32(&mut self, addr: u32) -> Result<u32, tbn_driver::bus::BusError> {
        DriverBus(&mut self.0).read32(addr)
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), tbn_driver::bus::BusError> {
        DriverBus(&mut self.0).write32(addr, value)
    }

    fn read_block(&mut self, addr: u32, out: &mut [u32]) -> Result<(), tbn_driver::bus::BusError> {
        DriverBus(&mut self.0).read_block(addr, out)
    }

    fn write_block(&mut self, addr: u32, words: &[u32]) -> Result<(), tbn_driver::bus::BusError> {
        DriverBus(&mut self.0).write_block(addr, words)
    }
}
