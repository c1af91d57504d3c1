//! SPI master bus-functional model for the accelerator's standalone top
//! (SPI-to-Wishbone bridge), bit by bit, SPI mode 0, MSB first.
//!
//! Framing (docs/register-map.md): one frame per `cs_n` low period; a command
//! byte (`0x02` write, `0x03` read), 3 address bytes (byte address, big-endian),
//! then 4-byte big-endian data words with the address incrementing by 4. A read
//! has one turnaround byte after the address before data appears on MISO.
//!
//! Two ways to clock SCK:
//! - by default, SCK edges fall on system clock edges, `half_period` system
//!   clock cycles per SCK half period (SCK at most `f_clk / 2`);
//! - with [`SpiMaster::clocks`] set ([`SpiClocks`]), SCK and the system clock
//!   are two independent clocks with periods in picoseconds (any ratio, SCK
//!   faster than the system clock too): the master advances both and
//!   evaluates the model at every edge of either, in time order; every frame
//!   starts at a random phase of the system clock (seeded).

use crate::dut::{Dut, Port};
use crate::error::Result;

/// SPI command byte: burst write.
pub const CMD_WRITE: u8 = 0x02;
/// SPI command byte: burst read.
pub const CMD_READ: u8 = 0x03;
/// SPI command byte: quad burst write (1-4-4: command on IO0, address and
/// data a nibble per SCK cycle on IO0..IO3, IO3 first).
pub const CMD_QWRITE: u8 = tbn_driver::regmap::SPI_CMD_QWRITE;

/// Names of the SPI pins on the top module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpiNames {
    /// Serial clock (input of the design).
    pub sck: String,
    /// Chip select, active low.
    pub cs_n: String,
    /// Master out, slave in.
    pub mosi: String,
    /// Master in, slave out.
    pub miso: String,
    /// Quad data lines IO1..IO3 in (optional pin).
    pub qd_in: String,
    /// MISO pad output enable (optional pin).
    pub miso_oe: String,
}

impl Default for SpiNames {
    /// `spi_sck`, `spi_cs_n`, `spi_mosi`, `spi_miso`.
    fn default() -> Self {
        SpiNames {
            sck: "spi_sck".into(),
            cs_n: "spi_cs_n".into(),
            mosi: "spi_mosi".into(),
            miso: "spi_miso".into(),
            qd_in: "spi_qd_in".into(),
            miso_oe: "spi_miso_oe".into(),
        }
    }
}

impl SpiNames {
    /// Names `{prefix}sck`, `{prefix}cs_n`, `{prefix}mosi`, `{prefix}miso`.
    pub fn with_prefix(prefix: &str) -> SpiNames {
        SpiNames {
            sck: format!("{prefix}sck"),
            cs_n: format!("{prefix}cs_n"),
            mosi: format!("{prefix}mosi"),
            miso: format!("{prefix}miso"),
            qd_in: format!("{prefix}qd_in"),
            miso_oe: format!("{prefix}miso_oe"),
        }
    }
}

/// Independent clocks for the SPI master: SCK and the system clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpiClocks {
    /// System clock period, picoseconds (even, at least 2).
    pub clk_period_ps: u64,
    /// SCK half period, picoseconds (at least 1).
    pub sck_half_ps: u64,
    /// Seed of the random phase at each frame start.
    pub seed: u64,
}

impl SpiClocks {
    /// SCK at `ratio * f_clk` (ratio = f_sck / f_clk) with a system clock of
    /// 20,000 ps (50 MHz), rounded to whole picoseconds.
    pub fn ratio(ratio: f64, seed: u64) -> SpiClocks {
        let clk = 20_000u64;
        SpiClocks {
            clk_period_ps: clk,
            sck_half_ps: ((clk as f64 / ratio) / 2.0).round().max(1.0) as u64,
            seed,
        }
    }

    /// The exact ratio f_sck / f_clk of these periods.
    pub fn sck_per_clk(&self) -> f64 {
        self.clk_period_ps as f64 / (2 * self.sck_half_ps) as f64
    }
}

/// The time-ordered scheduler of the two clocks (state of [`SpiClocks`] mode).
#[derive(Debug, Clone, Default)]
struct TwoClock {
    /// Now, picoseconds.
    now: u64,
    /// Time of the next system clock edge.
    next_edge: u64,
    /// Level of the system clock.
    level: bool,
    /// xorshift state for the random phases.
    rng: u64,
    /// Whether the scheduler has been started.
    started: bool,
}

/// An SPI mode-0 master driving the pins of a [`Dut`] from the system clock.
#[derive(Debug, Clone)]
pub struct SpiMaster {
    sck: Port,
    cs_n: Port,
    mosi: Port,
    miso: Port,
    qd_in: Option<Port>,
    miso_oe: Option<Port>,
    /// System clock cycles per SCK half period (the bridge needs at least 2).
    pub half_period: u64,
    /// System clock cycles with `cs_n` high between frames.
    pub gap: u64,
    /// Extra turnaround bytes clocked after a read's address (0 = exactly the
    /// one byte of the framing).
    pub extra_turnaround: u32,
    /// Burst writes as quad frames ([`CMD_QWRITE`]; needs the `qd_in` and
    /// `miso_oe` pins). Reads stay on one line.
    pub quad_writes: bool,
    /// Independent clocks (`None`: SCK edges on system clock edges, `half_period`).
    pub clocks: Option<SpiClocks>,
    /// Most words per burst frame in `Accelerator`'s block accesses (longer
    /// blocks take several frames; default 256; the driver's `SpiBus` uses
    /// `tbn_driver::bus::SPI_MAX_BURST_WORDS`).
    pub max_burst_words: usize,
    /// SCK cycles clocked so far (both modes).
    pub sck_cycles: u64,
    two: TwoClock,
    bytes: u64,
}

impl SpiMaster {
    /// Resolves the pins and drives the bus idle (`cs_n` high, `sck` low).
    pub fn new(dut: &mut Dut, names: &SpiNames) -> Result<SpiMaster> {
        let m = SpiMaster {
            sck: dut.input(&names.sck)?,
            cs_n: dut.input(&names.cs_n)?,
            mosi: dut.input(&names.mosi)?,
            miso: dut.port(&names.miso)?,
            qd_in: dut.input(&names.qd_in).ok(),
            miso_oe: dut.port(&names.miso_oe).ok(),
            half_period: 2,
            gap: 4,
            extra_turnaround: 0,
            quad_writes: false,
            clocks: None,
            max_burst_words: 256,
            sck_cycles: 0,
            two: TwoClock::default(),
            bytes: 0,
        };
        dut.set(m.sck, 0);
        dut.set(m.cs_n, 1);
        dut.set(m.mosi, 0);
        dut.eval();
        Ok(m)
    }

    /// Bytes exchanged so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Advances time to `t` picoseconds (two-clock mode): every system clock
    /// edge up to and including `t` happens first, in order.
    fn advance(&mut self, dut: &mut Dut, t: u64) -> Result<()> {
        let Some(c) = self.clocks else {
            return Ok(());
        };
        let half = (c.clk_period_ps / 2).max(1);
        while self.two.next_edge <= t {
            self.two.level = !self.two.level;
            dut.clock_edge(self.two.level)?;
            self.two.next_edge += half;
        }
        self.two.now = t;
        Ok(())
    }

    /// Waits `d` picoseconds (two-clock mode) or `n` system clock cycles.
    fn wait(&mut self, dut: &mut Dut, d: u64, n: u64) -> Result<()> {
        if self.clocks.is_some() {
            let t = self.two.now + d;
            self.advance(dut, t)
        } else {
            dut.tick_n(n)
        }
    }

    /// Starts a frame in two-clock mode: the system clock is low (after
    /// [`Dut::tick`]) and its next rising edge comes after a random phase.
    fn start_two_clock(&mut self) {
        let Some(c) = self.clocks else {
            return;
        };
        if !self.two.started {
            self.two.rng = c.seed | 1;
            self.two.started = true;
        }
        // xorshift64
        let mut x = self.two.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.two.rng = x;
        let half = (c.clk_period_ps / 2).max(1);
        self.two.level = false;
        self.two.next_edge = self.two.now + 1 + x % half;
    }

    /// Ends a frame in two-clock mode: runs on to the end of a system clock
    /// cycle (clock low), so that [`Dut::tick`] may follow.
    fn end_two_clock(&mut self, dut: &mut Dut) -> Result<()> {
        if self.two.level {
            let t = self.two.next_edge;
            self.advance(dut, t)?;
        }
        Ok(())
    }

    /// One full-duplex byte: MOSI changes while SCK is low, MISO is sampled at
    /// the rising edge.
    fn byte(&mut self, dut: &mut Dut, out: u8) -> Result<u8> {
        let mut inp = 0u8;
        let (hp, hc) = (
            self.clocks.map(|c| c.sck_half_ps).unwrap_or(0),
            self.half_period,
        );
        for bit in (0..8).rev() {
            dut.set(self.mosi, ((out >> bit) & 1) as u64);
            dut.eval();
            self.wait(dut, hp, hc)?;
            let b = dut.get(self.miso) as u8 & 1;
            inp = (inp << 1) | b;
            dut.set(self.sck, 1);
            dut.eval();
            self.wait(dut, hp, hc)?;
            dut.set(self.sck, 0);
            dut.eval();
            self.sck_cycles += 1;
        }
        self.bytes += 1;
        Ok(inp)
    }

    /// One frame: `cs_n` low, the bytes of `out` exchanged, `cs_n` high.
    /// Returns the bytes received.
    pub fn frame(&mut self, dut: &mut Dut, out: &[u8]) -> Result<Vec<u8>> {
        let (hp, hc) = (
            self.clocks.map(|c| c.sck_half_ps).unwrap_or(0),
            self.half_period,
        );
        if self.clocks.is_some() {
            self.start_two_clock();
        }
        dut.set(self.cs_n, 0);
        dut.eval();
        self.wait(dut, hp, hc)?;
        let mut inp = Vec::with_capacity(out.len());
        for &b in out {
            inp.push(self.byte(dut, b)?);
        }
        self.wait(dut, hp, hc)?;
        dut.set(self.cs_n, 1);
        dut.set(self.mosi, 0);
        dut.eval();
        if let Some(c) = self.clocks {
            // cs_n high for one SCK period, and at least `gap` system clock cycles
            let d = (2 * c.sck_half_ps).max(self.gap * c.clk_period_ps);
            self.wait(dut, d, 0)?;
            self.end_two_clock(dut)?;
        } else {
            dut.tick_n(self.gap.max(1))?;
        }
        Ok(inp)
    }

    /// One nibble on IO0..IO3 (IO3 = bit 3), a quad SCK cycle; the MISO pad
    /// must be disabled (no contention) at the rising edge.
    fn nibble(&mut self, dut: &mut Dut, qd: Port, nib: u8) -> Result<()> {
        let (hp, hc) = (
            self.clocks.map(|c| c.sck_half_ps).unwrap_or(0),
            self.half_period,
        );
        dut.set(self.mosi, (nib & 1) as u64);
        dut.set(qd, (nib >> 1) as u64);
        dut.eval();
        self.wait(dut, hp, hc)?;
        if let Some(oe) = self.miso_oe {
            if dut.get(oe) & 1 != 0 {
                return Err(crate::bus::BusError::Spi(
                    "miso_oe is 1 while the master drives IO1 (quad write)".into(),
                )
                .into());
            }
        }
        dut.set(self.sck, 1);
        dut.eval();
        self.wait(dut, hp, hc)?;
        dut.set(self.sck, 0);
        dut.eval();
        self.sck_cycles += 1;
        Ok(())
    }

    /// Quad burst write ([`CMD_QWRITE`]): the command on IO0, then address
    /// and data a nibble per SCK cycle on IO0..IO3.
    pub fn write_burst_quad(&mut self, dut: &mut Dut, addr: u32, words: &[u32]) -> Result<()> {
        let qd = self.qd_in.ok_or_else(|| {
            crate::bus::BusError::Spi("the top has no qd_in pins for quad frames".into())
        })?;
        let (hp, hc) = (
            self.clocks.map(|c| c.sck_half_ps).unwrap_or(0),
            self.half_period,
        );
        if self.clocks.is_some() {
            self.start_two_clock();
        }
        dut.set(self.cs_n, 0);
        dut.eval();
        self.wait(dut, hp, hc)?;
        self.byte(dut, CMD_QWRITE)?;
        let mut payload = addr.to_be_bytes()[1..].to_vec();
        for w in words {
            payload.extend_from_slice(&w.to_be_bytes());
        }
        for b in &payload {
            self.nibble(dut, qd, b >> 4)?;
            self.nibble(dut, qd, b & 15)?;
            self.bytes += 1;
        }
        self.wait(dut, hp, hc)?;
        dut.set(self.cs_n, 1);
        dut.set(self.mosi, 0);
        dut.set(qd, 0);
        dut.eval();
        if let Some(c) = self.clocks {
            let d = (2 * c.sck_half_ps).max(self.gap * c.clk_period_ps);
            self.wait(dut, d, 0)?;
            self.end_two_clock(dut)?;
        } else {
            dut.tick_n(self.gap.max(1))?;
        }
        Ok(())
    }

    /// Burst write of `words` starting at byte address `addr` (a quad frame
    /// when [`SpiMaster::quad_writes`] is set).
    pub fn write_burst(&mut self, dut: &mut Dut, addr: u32, words: &[u32]) -> Result<()> {
        if self.quad_writes {
            return self.write_burst_quad(dut, addr, words);
        }
        let mut f = Vec::with_capacity(4 + 4 * words.len());
        f.push(CMD_WRITE);
        f.extend_from_slice(&addr.to_be_bytes()[1..]);
        for w in words {
            f.extend_from_slice(&w.to_be_bytes());
        }
        self.frame(dut, &f)?;
        Ok(())
    }

    /// Burst read of `n` words starting at byte address `addr`.
    pub fn read_burst(&mut self, dut: &mut Dut, addr: u32, n: usize) -> Result<Vec<u32>> {
        let head = 5 + self.extra_turnaround as usize;
        let mut f = vec![0u8; head + 4 * n];
        f[0] = CMD_READ;
        f[1..4].copy_from_slice(&addr.to_be_bytes()[1..]);
        let r = self.frame(dut, &f)?;
        Ok(r[head..]
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Single-word write.
    pub fn write(&mut self, dut: &mut Dut, addr: u32, data: u32) -> Result<()> {
        self.write_burst(dut, addr, &[data])
    }

    /// Single-word read.
    pub fn read(&mut self, dut: &mut Dut, addr: u32) -> Result<u32> {
        Ok(self.read_burst(dut, addr, 1)?[0])
    }
}
