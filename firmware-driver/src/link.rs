//! The cost of the host link, in one place: the SPI framing of
//! docs/register-map.md as a typed model ([`SpiLink`]), and a [`Bus`] wrapper
//! that tallies what a driver moves ([`LinkCounter`], under a [`LinkModel`]: SPI or
//! Wishbone) so any protocol's link
//! cost is counted from the accesses it really makes.
//!
//! A frame is a command byte, 3 address bytes, then 4 bytes per word; a read
//! adds [`crate::regmap::SPI_READ_DUMMY_BYTES`] turnaround byte(s). With
//! `lines` data lines (1: standard SPI, 4: quad) a byte takes `8 / lines` SCK
//! cycles; with 4 lines only writes are quad (the bridge's 1-4-4 QWRITE: the
//! command byte on one line), reads stay on one line. [`crate::bus::SpiBus`] splits bursts into frames of at most
//! [`crate::bus::SPI_MAX_BURST_WORDS`] words; the model does the same.

use crate::bus::{Bus, BusError, SPI_MAX_BURST_WORDS};
use crate::regmap::{SPI_ADDR_BYTES, SPI_READ_DUMMY_BYTES, STATUS};

/// Clock cycles of one Wishbone write (registered ack: one wait state; docs/register-map.md).
pub const WB_WRITE_CYCLES: u64 = 2;
/// Clock cycles of one Wishbone read (two wait states; docs/register-map.md).
pub const WB_READ_CYCLES: u64 = 3;

/// How the host reaches the core, for cost accounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkModel {
    /// The core's Wishbone slave on the host's bus: costs in core clock cycles
    /// (classic cycles, one word per access).
    Wishbone,
    /// The SPI bridge of the standalone top: costs in SCK cycles.
    Spi(SpiLink),
}

impl LinkModel {
    /// Cost of writing `words` consecutive words.
    pub fn write_cost(&self, words: u64) -> u64 {
        match self {
            LinkModel::Wishbone => WB_WRITE_CYCLES * words,
            LinkModel::Spi(l) => l.write_sck(words),
        }
    }

    /// Cost of reading `words` consecutive words.
    pub fn read_cost(&self, words: u64) -> u64 {
        match self {
            LinkModel::Wishbone => WB_READ_CYCLES * words,
            LinkModel::Spi(l) => l.read_sck(words),
        }
    }
}

/// The SPI link's framing cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpiLink {
    /// Data lines: 1 (standard SPI) or 4 (quad).
    pub lines: u32,
    /// Most words per frame (the driver's burst split).
    pub burst_words: u32,
}

impl Default for SpiLink {
    fn default() -> Self {
        SpiLink {
            lines: 1,
            burst_words: SPI_MAX_BURST_WORDS as u32,
        }
    }
}

impl SpiLink {
    /// SCK cycles of `bytes` bytes.
    pub const fn sck(&self, bytes: u64) -> u64 {
        (bytes * 8).div_ceil(self.lines as u64)
    }

    fn frames(&self, words: u64) -> (u64, u64) {
        let full = words / self.burst_words as u64;
        let rest = words % self.burst_words as u64;
        (full, rest)
    }

    fn split_cost(&self, words: u64, frame: impl Fn(u64) -> u64) -> u64 {
        let (full, rest) = self.frames(words.max(1));
        full * frame(self.burst_words as u64) + if rest > 0 { frame(rest) } else { 0 }
    }

    /// SCK cycles to write `words` consecutive words: `8 (4 + 4 n)` per frame
    /// on one line; with 4 lines the bridge's quad write
    /// ([`crate::regmap::SPI_CMD_QWRITE`], 1-4-4), `8 + 2 (3 + 4 n)`.
    pub fn write_sck(&self, words: u64) -> u64 {
        if self.lines == 4 {
            self.split_cost(words, |n| 8 + 2 * (SPI_ADDR_BYTES as u64 + 4 * n))
        } else {
            self.split_cost(words, |n| self.sck(1 + SPI_ADDR_BYTES as u64 + 4 * n))
        }
    }

    /// SCK cycles to read `words` consecutive words: `8 (5 + 4 n)` per frame.
    /// Reads use one line whatever `lines` is: the bridge has no quad read.
    pub fn read_sck(&self, words: u64) -> u64 {
        let head = 1 + SPI_ADDR_BYTES as u64 + SPI_READ_DUMMY_BYTES as u64;
        self.split_cost(words, |n| 8 * (head + 4 * n))
    }
}

/// What went over the link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkTally {
    /// Bus read transactions (single reads and bursts).
    pub reads: u64,
    /// Bus write transactions (single writes and bursts).
    pub writes: u64,
    /// Words read.
    pub words_read: u64,
    /// Words written.
    pub words_written: u64,
    /// Cost under the counter's [`LinkModel`] (SCK cycles for SPI, clock
    /// cycles for Wishbone).
    pub cost: u64,
    /// Single reads of STATUS (polls).
    pub status_polls: u64,
}

/// A [`Bus`] that forwards every access and tallies its cost.
#[derive(Debug)]
pub struct LinkCounter<B: Bus> {
    bus: B,
    link: LinkModel,
    /// The tally so far (reset it freely).
    pub tally: LinkTally,
}

impl<B: Bus> LinkCounter<B> {
    /// Counts the accesses to `bus` under `link`.
    pub fn new(bus: B, link: LinkModel) -> Self {
        LinkCounter {
            bus,
            link,
            tally: LinkTally::default(),
        }
    }

    /// The wrapped bus.
    pub fn inner(&mut self) -> &mut B {
        &mut self.bus
    }

    fn read(&mut self, n: usize) {
        self.tally.reads += 1;
        self.tally.words_read += n as u64;
        self.tally.cost += self.link.read_cost(n as u64);
    }

    fn write(&mut self, n: usize) {
        self.tally.writes += 1;
        self.tally.words_written += n as u64;
        self.tally.cost += self.link.write_cost(n as u64);
    }
}

impl<B: Bus> Bus for LinkCounter<B> {
    fn read32(&mut self, addr: u32) -> Result<u32, BusError> {
        self.read(1);
        if addr == STATUS {
            self.tally.status_polls += 1;
        }
        self.bus.read32(addr)
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), BusError> {
        self.write(1);
        self.bus.write32(addr, value)
    }

    fn read_block(&mut self, addr: u32, out: &mut [u32]) -> Result<(), BusError> {
        if !out.is_empty() {
            self.read(out.len());
        }
        self.bus.read_block(addr, out)
    }

    fn write_block(&mut self, addr: u32, words: &[u32]) -> Result<(), BusError> {
        if !words.is_empty() {
            self.write(words.len());
        }
        self.bus.write_block(addr, words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_map_formula() {
        let l = SpiLink::default();
        for n in [1u64, 2, 16, 64] {
            assert_eq!(l.write_sck(n), 8 * (4 + 4 * n));
            assert_eq!(l.read_sck(n), 8 * (5 + 4 * n));
        }
        assert_eq!(l.write_sck(65), 8 * (4 + 4 * 64) + 8 * (4 + 4));
        let q = SpiLink { lines: 4, ..l };
        // quad writes (1-4-4), single-line reads
        for n in [1u64, 16, 64] {
            assert_eq!(q.write_sck(n), 8 + 2 * (3 + 4 * n));
            assert_eq!(q.read_sck(n), 8 * (5 + 4 * n));
        }
        assert_eq!(q.write_sck(65), 8 + 2 * (3 + 4 * 64) + 8 + 2 * (3 + 4));
    }
}
