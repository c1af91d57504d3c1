//! The accelerator driver: [`Tbn`] over any [`Bus`].
//!
//! Follows the programming model of [`crate::regmap`] (the single source of
//! truth for registers, windows and error codes):
//!
//! ```text
//! let mut tbn = Tbn::probe(bus)?;              // magic, version, configuration
//! tbn.load_tile(tile_words, q)?;               // extended tile image
//! tbn.load_activations(&x, bits, signed)?;     // A bit-planes of m inputs
//! tbn.configure(m, q, d, bits, signed)?;       // job registers
//! tbn.start()?;
//! tbn.wait(polls)?;                            // or is_done() from an IRQ handler
//! tbn.read_accumulators(&mut acc[..d])?;       // (dot_a, dot_b) per distinct row
//! ```
//!
//! [`Tbn::run_layer`] and [`Tbn::run_program`] do whole dense stages and whole
//! compact programs ([`crate::program`]): the accelerator computes the
//! accumulator pairs of the distinct rows, the host requantizes every row with
//! [`crate::kernel::requantize_rows`] (docs/numerics.md section 4), runs max
//! pooling and feeds the next stage. Conv stages run as host im2col, one job
//! per output position (the tile is loaded once per stage).
//!
//! Every argument is checked against the probed capacities **before** the
//! hardware is touched ([`DriverError::Capacity`]); nothing allocates and no
//! input makes the driver panic. Waiting is always bounded by a poll count.
//! After a failed job (timeout or core error) the `run_*` helpers issue a
//! soft reset so the next job starts from a clean core.

mod engine;
pub use engine::{Inference, ModelInfo};

use crate::bus::{Bus, BusError};
use crate::kernel::requantize_rows;
use crate::program::{Activation, Dense, Program, Shape, Stage};
use crate::regmap as rm;

/// Words moved per bus burst by the driver (bounds its stack use).
const CHUNK: usize = 16;

/// Status polls allowed for a soft reset to finish (it needs at most
/// [`rm::SOFT_RESET_MAX_CYCLES`] cycles; every poll takes at least one).
const SOFT_RESET_POLLS: u32 = 64;

/// Why a driver call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// A bus access failed.
    #[error("bus error: {0}")]
    Bus(#[from] BusError),
    /// `ID_MAGIC` does not read "TBN1": no accelerator at this address (or a
    /// broken link).
    #[error(
        "no TBN accelerator: ID_MAGIC reads {found:#010x}, expected {:#010x}",
        rm::MAGIC
    )]
    BadMagic {
        /// The value read.
        found: u32,
    },
    /// The register map's major version is not the one this driver knows.
    #[error("unsupported register map version {found:#010x} (this driver supports major version {})", rm::VERSION >> 16)]
    BadVersion {
        /// The value read from `ID_VERSION`.
        found: u32,
    },
    /// A configuration register holds a value the map cannot address.
    #[error("accelerator reports an impossible configuration: {what} = {value}")]
    BadConfig {
        /// The register.
        what: &'static str,
        /// The value read.
        value: u32,
    },
    /// The `SCRATCH` register did not read back what was written (bus check
    /// in [`Tbn::probe`]).
    #[error("bus check failed: wrote {wrote:#010x} to SCRATCH, read back {read:#010x}")]
    ScratchMismatch {
        /// Value written.
        wrote: u32,
        /// Value read back.
        read: u32,
    },
    /// The core is running a job; memories cannot be written now.
    #[error("the accelerator is busy with a job")]
    Busy,
    /// The job did not finish within the poll budget.
    #[error("job not done after {polls} status polls (last STATUS {status:#x})")]
    Timeout {
        /// Polls made.
        polls: u32,
        /// The last `STATUS` value read.
        status: u32,
    },
    /// The core reported an error in `STATUS`.
    #[error("accelerator error {code}: {meaning}")]
    CoreError {
        /// The 4-bit `STATUS.ERROR_CODE`.
        code: u8,
        /// Its meaning (from [`rm::ERROR_CODES`]).
        meaning: &'static str,
    },
    /// A job needs more than the accelerator's configuration provides.
    #[error("beyond the accelerator's capacity: {what} needs {needed}, the core has {available}")]
    Capacity {
        /// Which capacity.
        what: &'static str,
        /// What the job needs.
        needed: u64,
        /// What the core provides.
        available: u64,
    },
    /// An argument has a value no accelerator accepts.
    #[error("invalid argument: {what} = {value}")]
    InvalidArgument {
        /// Which argument.
        what: &'static str,
        /// Its value.
        value: u64,
    },
    /// A caller-provided buffer is too small.
    #[error("buffer `{buffer}` too small: need {needed} elements, have {available}")]
    BufferTooSmall {
        /// Buffer name.
        buffer: &'static str,
        /// Elements needed.
        needed: usize,
        /// Elements provided.
        available: usize,
    },
    /// The input has the wrong number of values.
    #[error("input has {found} values, expected {expected}")]
    InputLength {
        /// Values expected.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// The core has no whole-network engine (CFG_FEATURES.ENGINE is 0).
    #[error("the accelerator has no whole-network engine (CFG_FEATURES = {features:#x})")]
    NoEngine {
        /// CFG_FEATURES as read.
        features: u32,
    },
    /// The model image is refused before anything is sent (the chip would
    /// refuse it with the same reason, [`crate::image::format::LoadError::code`]).
    #[error("model image refused: {0}")]
    Image(crate::image::format::LoadError),
    /// `infer` before a successful `load_model`.
    #[error("no model loaded: call load_model first")]
    NoModel,
    /// LOAD_END finished without error but MODEL_LOADED is 0.
    #[error("the accelerator did not load the model (STATUS {status:#x})")]
    ModelNotLoaded {
        /// STATUS as read.
        status: u32,
    },
    /// An input value does not fit the activation width.
    #[error("input value {value} at index {index} is outside [{min}, {max}]")]
    InputOutOfRange {
        /// Index of the value.
        index: usize,
        /// The value.
        value: i32,
        /// Smallest allowed value.
        min: i32,
        /// Largest allowed value.
        max: i32,
    },
}

impl DriverError {
    /// The decoded error code of a [`DriverError::CoreError`].
    pub fn error_code(&self) -> Option<rm::ErrorCode> {
        match self {
            DriverError::CoreError { code, .. } => rm::ErrorCode::from_code(*code as u32),
            _ => None,
        }
    }
}

/// The meaning of a 4-bit error code, from [`rm::ERROR_CODES`].
pub fn error_meaning(code: u8) -> &'static str {
    rm::ERROR_CODES
        .iter()
        .find(|(c, _)| *c as u8 == code)
        .map(|(_, m)| *m)
        .unwrap_or("unknown error code")
}

/// The accelerator's configuration, read by [`Tbn::probe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HwConfig {
    /// `ID_VERSION`.
    pub version: u32,
    /// Lanes `L`.
    pub lanes: u32,
    /// Largest tile length `q` (bits).
    pub tile_max: u32,
    /// Largest row length `m`.
    pub max_in: u32,
    /// Largest number of distinct rows `D` per job.
    pub max_rows: u32,
    /// Largest activation width `A`.
    pub max_abits: u32,
}

impl HwConfig {
    /// Checks that `m`, `q`, `d` and `bits` fit this configuration: argument
    /// errors first, then capacities in the core's check order.
    pub fn check_job(&self, m: u32, q: u32, d: u32, bits: u8) -> Result<(), DriverError> {
        if bits == 0 || bits > 8 {
            return invalid("activation bits A", bits as u64);
        }
        if m == 0 {
            return invalid("row length m", 0);
        }
        if q < m {
            return invalid("tile length q (must be >= m)", q as u64);
        }
        if d == 0 {
            return invalid("distinct rows D", 0);
        }
        capacity(
            "activation bits A (CFG_MAX_ABITS)",
            bits as u64,
            self.max_abits,
        )?;
        capacity("row length m (CFG_MAX_IN)", m as u64, self.max_in)?;
        capacity("tile length q (CFG_TILE_MAX)", q as u64, self.tile_max)?;
        capacity("distinct rows D (CFG_MAX_ROWS)", d as u64, self.max_rows)
    }

    /// Upper bound on the cycles of a job (docs: [`rm::job_cycle_bound`]),
    /// computed without overflow.
    pub fn job_cycle_bound(&self, m: u32, d: u32, bits: u8) -> u64 {
        let chunks = (m as u64).div_ceil(self.lanes.max(1) as u64);
        d as u64 * chunks * bits as u64 + rm::JOB_OVERHEAD_MAX_CYCLES as u64
    }
}

fn invalid(what: &'static str, value: u64) -> Result<(), DriverError> {
    Err(DriverError::InvalidArgument { what, value })
}

fn capacity(what: &'static str, needed: u64, available: u32) -> Result<(), DriverError> {
    if needed > available as u64 {
        Err(DriverError::Capacity {
            what,
            needed,
            available: available as u64,
        })
    } else {
        Ok(())
    }
}

fn buffer(buffer: &'static str, needed: usize, available: usize) -> Result<(), DriverError> {
    if available < needed {
        Err(DriverError::BufferTooSmall {
            buffer,
            needed,
            available,
        })
    } else {
        Ok(())
    }
}

/// Range of an activation code: `A = 1` is 0/1 (0 means -1), else unsigned
/// or two's complement `A` bits.
fn value_range(bits: u8, signed: bool) -> (i32, i32) {
    let b = bits.clamp(1, 8) as u32;
    if b == 1 {
        (0, 1)
    } else if signed {
        (-(1 << (b - 1)), (1 << (b - 1)) - 1)
    } else {
        (0, (1 << b) - 1)
    }
}

fn check_values(x: &[i32], bits: u8, signed: bool) -> Result<(), DriverError> {
    let (min, max) = value_range(bits, signed);
    match x.iter().position(|v| *v < min || *v > max) {
        Some(index) => Err(DriverError::InputOutOfRange {
            index,
            value: x[index],
            min,
            max,
        }),
        None => Ok(()),
    }
}

/// A `STATUS` register value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub u32);

impl Status {
    /// A job is running.
    pub fn busy(self) -> bool {
        self.0 & rm::STATUS_BUSY != 0
    }
    /// The last job completed.
    pub fn done(self) -> bool {
        self.0 & rm::STATUS_DONE != 0
    }
    /// An error is flagged.
    pub fn error(self) -> bool {
        self.0 & rm::STATUS_ERROR != 0
    }
    /// The raw 4-bit error code.
    pub fn code(self) -> u8 {
        ((self.0 >> rm::STATUS_ERROR_CODE_SHIFT) & rm::STATUS_ERROR_CODE_MASK) as u8
    }
    /// The decoded error code.
    pub fn error_code(self) -> Option<rm::ErrorCode> {
        rm::ErrorCode::from_status(self.0)
    }
    fn core_error(self) -> DriverError {
        DriverError::CoreError {
            code: self.code(),
            meaning: error_meaning(self.code()),
        }
    }
}

/// What a job (or a sequence of jobs) cost on the accelerator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Jobs run.
    pub jobs: u32,
    /// Sum of the `CYCLES` register over those jobs.
    pub cycles: u64,
}

impl RunStats {
    fn add(&mut self, o: RunStats) {
        self.jobs = self.jobs.saturating_add(o.jobs);
        self.cycles = self.cycles.saturating_add(o.cycles);
    }
}

/// Caller-provided working memory for [`Tbn::run_program`]; sizes from
/// [`Program::req`]: `act_a`, `act_b`: `max_act`; `acc`: `max_distinct`.
pub struct Scratch<'a> {
    /// Activation buffer A.
    pub act_a: &'a mut [i32],
    /// Activation buffer B.
    pub act_b: &'a mut [i32],
    /// Accumulator pairs of one job.
    pub acc: &'a mut [(i32, i32)],
}

/// How a dense stage maps onto jobs.
#[derive(Clone, Copy, Debug)]
struct Plan {
    m: u32,
    q: u32,
    d: u32,
    bits: u8,
    signed: bool,
    /// A 1-bit conv input with zero padding runs as 2-bit signed values
    /// (+1, -1, and 0 for padding) so padded lanes contribute nothing.
    promote: bool,
}

/// The TBN accelerator behind a [`Bus`].
#[derive(Debug)]
pub struct Tbn<B: Bus> {
    bus: B,
    cfg: HwConfig,
    irq_enable: bool,
    poll_limit: Option<u32>,
    model: Option<ModelInfo>,
}

impl<B: Bus> Tbn<B> {
    /// Identifies the accelerator (`ID_MAGIC`, `ID_VERSION` major), reads its
    /// configuration, checks the bus with the `SCRATCH` register and soft
    /// resets the core (interrupt disabled).
    pub fn probe(mut bus: B) -> Result<Tbn<B>, DriverError> {
        let magic = bus.read32(rm::ID_MAGIC)?;
        if magic != rm::MAGIC {
            return Err(DriverError::BadMagic { found: magic });
        }
        let version = bus.read32(rm::ID_VERSION)?;
        if version >> 16 != rm::VERSION >> 16 {
            return Err(DriverError::BadVersion { found: version });
        }
        let mut regs = [0u32; 5];
        bus.read_block(rm::CFG_LANES, &mut regs)?;
        let [lanes, tile_max, max_in, max_rows, max_abits] = regs;
        let cfg = HwConfig {
            version,
            lanes,
            tile_max,
            max_in,
            max_rows,
            max_abits,
        };
        let bad = |what, value| Err(DriverError::BadConfig { what, value });
        if lanes == 0 || lanes > 4096 {
            return bad("CFG_LANES", lanes);
        }
        if tile_max == 0 || tile_max as u64 + lanes as u64 > rm::MAP_TILE_BITS_LIMIT as u64 {
            return bad("CFG_TILE_MAX", tile_max);
        }
        if max_in == 0 || max_in > rm::MAP_MAX_IN_LIMIT {
            return bad("CFG_MAX_IN", max_in);
        }
        if max_rows == 0 || max_rows > rm::MAP_MAX_ROWS_LIMIT {
            return bad("CFG_MAX_ROWS", max_rows);
        }
        if max_abits == 0 || max_abits > 8 {
            return bad("CFG_MAX_ABITS", max_abits);
        }
        for wrote in [0xA5C3_5A3Cu32, 0x5A3C_A5C3] {
            bus.write32(rm::SCRATCH, wrote)?;
            let read = bus.read32(rm::SCRATCH)?;
            if read != wrote {
                return Err(DriverError::ScratchMismatch { wrote, read });
            }
        }
        bus.write32(rm::SCRATCH, 0)?;
        let mut tbn = Tbn {
            bus,
            cfg,
            irq_enable: false,
            poll_limit: None,
            model: None,
        };
        tbn.soft_reset()?;
        Ok(tbn)
    }

    /// The configuration read at probe time.
    pub fn config(&self) -> HwConfig {
        self.cfg
    }

    /// The bus.
    pub fn bus(&mut self) -> &mut B {
        &mut self.bus
    }

    /// Gives the bus back.
    pub fn release(self) -> B {
        self.bus
    }

    /// Overrides the status-poll budget of the `run_*` helpers (`None`: twice
    /// the job's cycle bound plus 1024, which is never too short because
    /// every poll takes at least one core cycle).
    pub fn set_poll_limit(&mut self, polls: Option<u32>) {
        self.poll_limit = polls;
    }

    /// The status-poll budget the `run_*` helpers use for a job.
    pub fn poll_budget(&self, m: u32, d: u32, bits: u8) -> u32 {
        self.poll_limit.unwrap_or_else(|| {
            let b = self.cfg.job_cycle_bound(m, d, bits);
            b.saturating_mul(2)
                .saturating_add(1024)
                .min(u32::MAX as u64) as u32
        })
    }

    fn ctrl(&self, bits: u32) -> u32 {
        bits | if self.irq_enable {
            rm::CTRL_IRQ_ENABLE
        } else {
            0
        }
    }

    /// Enables or disables the interrupt (`irq = IRQ_ENABLE & (DONE | ERROR)`).
    pub fn set_irq_enable(&mut self, on: bool) -> Result<(), DriverError> {
        self.irq_enable = on;
        self.bus.write32(rm::CTRL, self.ctrl(0))?;
        Ok(())
    }

    /// Reads `STATUS`.
    pub fn status(&mut self) -> Result<Status, DriverError> {
        Ok(Status(self.bus.read32(rm::STATUS)?))
    }

    fn ensure_idle(&mut self) -> Result<(), DriverError> {
        if self.status()?.busy() {
            Err(DriverError::Busy)
        } else {
            Ok(())
        }
    }

    /// Writes the extended tile image of a tile of `q` bits (`tile`: bit `j`
    /// at bit `j % 32` of word `j / 32`, at least `ceil(q / 32)` words).
    pub fn load_tile(&mut self, tile: &[u32], q: u32) -> Result<(), DriverError> {
        if q == 0 {
            return invalid("tile length q", 0);
        }
        capacity("tile length q (CFG_TILE_MAX)", q as u64, self.cfg.tile_max)?;
        buffer("tile", q.div_ceil(32) as usize, tile.len())?;
        self.ensure_idle()?;
        self.write_tile(tile, q)
    }

    fn write_tile(&mut self, tile: &[u32], q: u32) -> Result<(), DriverError> {
        let lanes = self.cfg.lanes;
        let words = rm::extended_tile_words(q, lanes);
        let mut buf = [0u32; CHUNK];
        let mut w = 0u32;
        while w < words {
            let n = (words - w).min(CHUNK as u32);
            for (i, slot) in buf.iter_mut().enumerate().take(n as usize) {
                let wi = w + i as u32;
                *slot = if (wi + 1) * 32 <= q {
                    tile[wi as usize]
                } else {
                    rm::extended_tile_word(tile, q, lanes, wi)
                };
            }
            self.bus
                .write_block(rm::TILE_BASE + 4 * w, &buf[..n as usize])?;
            w += n;
        }
        Ok(())
    }

    fn check_act_args(&self, m: usize, bits: u8) -> Result<(), DriverError> {
        if bits == 0 || bits > 8 {
            return invalid("activation bits A", bits as u64);
        }
        capacity(
            "activation bits A (CFG_MAX_ABITS)",
            bits as u64,
            self.cfg.max_abits,
        )?;
        if m == 0 {
            return invalid("row length m", 0);
        }
        capacity("row length m (CFG_MAX_IN)", m as u64, self.cfg.max_in)
    }

    /// Writes the `bits` bit-planes of the `m = x.len()` activations `x`
    /// (`A = 1`: 1 means +1, 0 means -1; otherwise unsigned or two's
    /// complement `A`-bit values).
    pub fn load_activations(
        &mut self,
        x: &[i32],
        bits: u8,
        signed: bool,
    ) -> Result<(), DriverError> {
        self.check_act_args(x.len(), bits)?;
        check_values(x, bits, signed)?;
        self.ensure_idle()?;
        self.write_planes(x.len(), bits, |k| x[k])
    }

    /// Writes pre-packed bit-planes: plane `b` is
    /// `planes[b * ceil(m/32) .. (b + 1) * ceil(m/32)]`, input `k` at bit
    /// `k % 32` of word `k / 32`.
    pub fn load_planes(&mut self, planes: &[u32], m: u32, bits: u8) -> Result<(), DriverError> {
        self.check_act_args(m as usize, bits)?;
        let pw = rm::plane_words(m) as usize;
        buffer("planes", pw * bits as usize, planes.len())?;
        self.ensure_idle()?;
        for (b, plane) in planes.chunks_exact(pw).take(bits as usize).enumerate() {
            self.bus
                .write_block(rm::act_word_offset(b as u32, 0), plane)?;
        }
        Ok(())
    }

    /// Packs `m` values given by `value(k)` into planes and writes them, one
    /// group of [`CHUNK`] words per plane at a time.
    fn write_planes(
        &mut self,
        m: usize,
        bits: u8,
        mut value: impl FnMut(usize) -> i32,
    ) -> Result<(), DriverError> {
        let a = bits as usize;
        let words = m.div_ceil(32);
        let mut buf = [[0u32; CHUNK]; 8];
        let mut w0 = 0usize;
        while w0 < words {
            let n = (words - w0).min(CHUNK);
            for plane in buf.iter_mut().take(a) {
                plane[..n].fill(0);
            }
            let base = w0 * 32;
            for l in 0..(m - base).min(32 * n) {
                let v = value(base + l) as u32;
                let (word, bit) = (l / 32, l % 32);
                for (b, plane) in buf.iter_mut().enumerate().take(a) {
                    plane[word] |= ((v >> b) & 1) << bit;
                }
            }
            for (b, plane) in buf.iter().enumerate().take(a) {
                self.bus
                    .write_block(rm::act_word_offset(b as u32, w0 as u32), &plane[..n])?;
            }
            w0 += n;
        }
        Ok(())
    }

    /// Writes the job registers: row length `m`, tile length `q`, distinct
    /// rows `d`, activation width `bits` and signedness.
    pub fn configure(
        &mut self,
        m: u32,
        q: u32,
        d: u32,
        bits: u8,
        signed: bool,
    ) -> Result<(), DriverError> {
        self.cfg.check_job(m, q, d, bits)?;
        let regs = [m, q, d, rm::job_abits(bits as u32, signed && bits > 1)];
        self.bus.write_block(rm::JOB_M, &regs)?;
        Ok(())
    }

    /// Starts a job with the configured parameters.
    pub fn start(&mut self) -> Result<(), DriverError> {
        self.bus.write32(rm::CTRL, self.ctrl(rm::CTRL_START))?;
        Ok(())
    }

    /// One status read for interrupt handlers and cooperative loops:
    /// `Ok(true)` when the job is done, `Ok(false)` while it runs,
    /// [`DriverError::CoreError`] when the core flagged an error.
    pub fn is_done(&mut self) -> Result<bool, DriverError> {
        let s = self.status()?;
        if s.error() {
            return Err(s.core_error());
        }
        Ok(s.done() && !s.busy())
    }

    /// Polls `STATUS` at most `max_polls` times (at least once) until the job
    /// is done. Never hangs: [`DriverError::Timeout`] after the budget.
    pub fn wait(&mut self, max_polls: u32) -> Result<Status, DriverError> {
        let mut last = Status(0);
        for _ in 0..max_polls.max(1) {
            last = self.status()?;
            if last.error() {
                return Err(last.core_error());
            }
            if last.done() && !last.busy() {
                return Ok(last);
            }
        }
        Err(DriverError::Timeout {
            polls: max_polls.max(1),
            status: last.0,
        })
    }

    /// Clears `DONE` and `ERROR` (and the error code), dropping the interrupt.
    pub fn acknowledge(&mut self) -> Result<(), DriverError> {
        self.bus
            .write32(rm::STATUS, rm::STATUS_DONE | rm::STATUS_ERROR)?;
        Ok(())
    }

    /// Reads the accumulator pairs of distinct rows `0 .. out.len()`.
    pub fn read_accumulators(&mut self, out: &mut [(i32, i32)]) -> Result<(), DriverError> {
        capacity(
            "distinct rows D (CFG_MAX_ROWS)",
            out.len() as u64,
            self.cfg.max_rows,
        )?;
        let mut buf = [0u32; 2 * CHUNK];
        for (c, pairs) in out.chunks_mut(CHUNK).enumerate() {
            let words = &mut buf[..2 * pairs.len()];
            self.bus
                .read_block(rm::out_offset((c * CHUNK) as u32, false), words)?;
            for (p, w) in pairs.iter_mut().zip(words.chunks_exact(2)) {
                *p = (w[0] as i32, w[1] as i32);
            }
        }
        Ok(())
    }

    /// `CYCLES`: cycles of the current or last job.
    pub fn cycles(&mut self) -> Result<u32, DriverError> {
        Ok(self.bus.read32(rm::CYCLES)?)
    }

    /// `JOB_COUNT`: jobs completed since the last soft reset (wraps).
    pub fn job_count(&mut self) -> Result<u32, DriverError> {
        Ok(self.bus.read32(rm::JOB_COUNT)?)
    }

    /// Soft reset: aborts a running job and clears `DONE`, `ERROR`, the error
    /// code and `JOB_COUNT`; waits (bounded) until the core is idle.
    pub fn soft_reset(&mut self) -> Result<(), DriverError> {
        self.bus.write32(rm::CTRL, self.ctrl(rm::CTRL_SOFT_RESET))?;
        let mut last = Status(0);
        for _ in 0..SOFT_RESET_POLLS {
            last = self.status()?;
            if !last.busy() {
                return Ok(());
            }
        }
        Err(DriverError::Timeout {
            polls: SOFT_RESET_POLLS,
            status: last.0,
        })
    }

    /// Starts the configured job, waits `polls` at most, reads the first
    /// `acc.len()` accumulator pairs and the cycle count. On a timeout or a
    /// core error the core is soft reset (best effort) before returning.
    fn start_wait_read(
        &mut self,
        polls: u32,
        acc: &mut [(i32, i32)],
    ) -> Result<RunStats, DriverError> {
        self.start()?;
        if let Err(e) = self.wait(polls) {
            if matches!(
                e,
                DriverError::Timeout { .. } | DriverError::CoreError { .. }
            ) {
                let _ = self.soft_reset();
            }
            return Err(e);
        }
        self.read_accumulators(acc)?;
        let cycles = self.cycles()?;
        Ok(RunStats {
            jobs: 1,
            cycles: cycles as u64,
        })
    }

    /// One complete job: tile, activations `x` (`m = x.len()`), job
    /// registers, start, bounded wait, and the accumulator pairs of the `d`
    /// distinct rows into `acc[..d]`. Everything is validated first.
    #[allow(clippy::too_many_arguments)]
    pub fn run_job(
        &mut self,
        tile: &[u32],
        q: u32,
        d: u32,
        x: &[i32],
        bits: u8,
        signed: bool,
        acc: &mut [(i32, i32)],
    ) -> Result<RunStats, DriverError> {
        let m = u32::try_from(x.len()).unwrap_or(u32::MAX);
        self.cfg.check_job(m, q, d, bits)?;
        buffer("tile", q.div_ceil(32) as usize, tile.len())?;
        buffer("acc", d as usize, acc.len())?;
        check_values(x, bits, signed)?;
        self.ensure_idle()?;
        self.write_tile(tile, q)?;
        self.write_planes(x.len(), bits, |k| x[k])?;
        self.configure(m, q, d, bits, signed)?;
        let polls = self.poll_budget(m, d, bits);
        self.start_wait_read(polls, &mut acc[..d as usize])
    }

    /// Maps a dense stage onto jobs and checks it against the capacities.
    fn plan(&self, d: &Dense<'_>) -> Result<Plan, DriverError> {
        let g = d.geom;
        let to_u32 = |what, v: usize| {
            u32::try_from(v).map_err(|_| DriverError::Capacity {
                what,
                needed: v as u64,
                available: u32::MAX as u64,
            })
        };
        let promote = d.input.bits == 1 && d.conv.is_some_and(|c| c.pad > 0);
        let (bits, signed) = if promote {
            (2, true)
        } else {
            (d.input.bits, d.input.signed && d.input.bits > 1)
        };
        let plan = Plan {
            m: to_u32("row length m (CFG_MAX_IN)", g.m)?,
            q: to_u32("tile length q (CFG_TILE_MAX)", g.q)?,
            d: to_u32("distinct rows D (CFG_MAX_ROWS)", g.distinct_rows())?,
            bits,
            signed,
            promote,
        };
        self.cfg.check_job(plan.m, plan.q, plan.d, plan.bits)?;
        buffer("tile", plan.q.div_ceil(32) as usize, d.tile.len())?;
        Ok(plan)
    }

    /// Runs a planned dense stage on the (validated) input `x`: the tile is
    /// loaded once, then one job per output position.
    fn exec_dense(
        &mut self,
        d: &Dense<'_>,
        plan: Plan,
        x: &[i32],
        acc: &mut [(i32, i32)],
        mut out: impl FnMut(usize, i64),
    ) -> Result<RunStats, DriverError> {
        let acc = &mut acc[..plan.d as usize];
        let m = plan.m as usize;
        let positions = d.positions();
        let polls = self.poll_budget(plan.m, plan.d, plan.bits);
        let mut stats = RunStats::default();
        self.ensure_idle()?;
        self.write_tile(d.tile, plan.q)?;
        self.configure(plan.m, plan.q, plan.d, plan.bits, plan.signed)?;
        for pos in 0..positions {
            match d.conv {
                None => self.write_planes(m, plan.bits, |k| x[k])?,
                Some(cg) => {
                    let (oy, ox) = (pos / d.out_shape.w, pos % d.out_shape.w);
                    let promote = plan.promote;
                    self.write_planes(m, plan.bits, |l| {
                        let ic = l / (cg.kh * cg.kw);
                        let ky = (l / cg.kw) % cg.kh;
                        let kx = l % cg.kw;
                        let iy = (oy * cg.stride + ky) as isize - cg.pad as isize;
                        let ix = (ox * cg.stride + kx) as isize - cg.pad as isize;
                        if iy < 0 || ix < 0 || iy as usize >= cg.in_h || ix as usize >= cg.in_w {
                            0
                        } else {
                            let v = x[(ic * cg.in_h + iy as usize) * cg.in_w + ix as usize];
                            if promote {
                                2 * v - 1
                            } else {
                                v
                            }
                        }
                    })?
                }
            }
            stats.add(self.start_wait_read(polls, acc)?);
            requantize_rows(d, acc, |r, v| out(r * positions + pos, v));
        }
        Ok(stats)
    }

    /// Runs one dense stage (linear, or conv by host im2col) of a compact
    /// program: `x` is the stage's input tensor (CHW), `acc` holds at least
    /// the stage's distinct rows, `out` receives every requantized output
    /// (CHW; the logits `v_r` for a logits stage).
    pub fn run_layer(
        &mut self,
        layer: &Dense<'_>,
        x: &[i32],
        acc: &mut [(i32, i32)],
        out: &mut [i64],
    ) -> Result<RunStats, DriverError> {
        let plan = self.plan(layer)?;
        let n_in = layer.in_shape.numel();
        if x.len() != n_in {
            return Err(DriverError::InputLength {
                expected: n_in,
                found: x.len(),
            });
        }
        check_values(x, layer.input.bits, layer.input.signed)?;
        buffer("acc", plan.d as usize, acc.len())?;
        buffer("out", layer.out_shape.numel(), out.len())?;
        self.exec_dense(layer, plan, x, acc, |i, v| out[i] = v)
    }

    /// Runs a whole compact program on the accelerator (dense stages) and
    /// the host (requantization, max pooling) and writes the logits `v_r`.
    /// Every stage is checked against the capacities, and every buffer and
    /// the input against the program, before the hardware is touched.
    pub fn run_program(
        &mut self,
        prog: &Program<'_>,
        input: &[i32],
        scratch: &mut Scratch<'_>,
        logits: &mut [i64],
    ) -> Result<RunStats, DriverError> {
        let req = prog.req;
        buffer("act_a", req.max_act, scratch.act_a.len())?;
        buffer("act_b", req.max_act, scratch.act_b.len())?;
        buffer("acc", req.max_distinct, scratch.acc.len())?;
        buffer("logits", req.logits, logits.len())?;
        let n_in = prog.input_shape.numel();
        if input.len() != n_in {
            return Err(DriverError::InputLength {
                expected: n_in,
                found: input.len(),
            });
        }
        check_values(input, prog.input.bits, prog.input.signed)?;
        for st in prog.stages() {
            if let Stage::Dense(d) = st {
                self.plan(&d)?;
            }
        }

        let Scratch { act_a, act_b, acc } = scratch;
        act_a[..n_in].copy_from_slice(input);
        let (mut cur, mut nxt): (&mut [i32], &mut [i32]) = (act_a, act_b);
        let mut stats = RunStats::default();
        for st in prog.stages() {
            match st {
                Stage::Dense(d) => {
                    let plan = self.plan(&d)?;
                    if d.act == Activation::Logits {
                        stats.add(self.exec_dense(&d, plan, cur, acc, |i, v| logits[i] = v)?);
                        return Ok(stats);
                    }
                    stats.add(self.exec_dense(&d, plan, cur, acc, |i, v| nxt[i] = v as i32)?);
                    core::mem::swap(&mut cur, &mut nxt);
                }
                Stage::MaxPool {
                    kernel,
                    stride,
                    in_shape,
                    out_shape,
                } => {
                    maxpool(cur, nxt, kernel, stride, in_shape, out_shape);
                    core::mem::swap(&mut cur, &mut nxt);
                }
                Stage::Flatten => {}
            }
        }
        // Program::parse guarantees a final logits stage.
        Ok(stats)
    }
}

/// Max pooling on CHW integers (for 1-bit sign values, +1 (bit 1) wins).
fn maxpool(x: &[i32], y: &mut [i32], k: usize, s: usize, i: Shape, o: Shape) {
    for c in 0..o.c {
        for oy in 0..o.h {
            for ox in 0..o.w {
                let base = (c * i.h + oy * s) * i.w + ox * s;
                let mut best = i32::MIN;
                for ky in 0..k {
                    for kx in 0..k {
                        if let Some(v) = x.get(base + ky * i.w + kx) {
                            best = best.max(*v);
                        }
                    }
                }
                if let Some(slot) = y.get_mut((c * o.h + oy) * o.w + ox) {
                    *slot = best;
                }
            }
        }
    }
}
