//! SPI master bus-functional model for the accelerator's standalone top
//! (SPI-to-Wishbone bridge), bit by bit, SPI mode 0, MSB first.
//!
//! Framing (docs/register-map.md): one frame per `cs_n` low period; a command
//! byte (`0x02` write, `0x03` read), 3 address bytes (byte address, big-endian),
//! then 4-byte big-endian data words with the address incrementing by 4. A read
//! has one turnaround byte after the address before data appears on MISO.

use crate::dut::{Dut, Port};
use crate::error::Result;

/// SPI command byte: burst write.
pub const CMD_WRITE: u8 = 0x02;
/// SPI command byte: burst read.
pub const CMD_READ: u8 = 0x03;

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
}

impl Default for SpiNames {
    /// `spi_sck`, `spi_cs_n`, `spi_mosi`, `spi_miso`.
    fn default() -> Self {
        SpiNames {
            sck: "spi_sck".into(),
            cs_n: "spi_cs_n".into(),
            mosi: "spi_mosi".into(),
            miso: "spi_miso".into(),
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
        }
    }
}

/// An SPI mode-0 master driving the pins of a [`Dut`] from the system clock.
#[derive(Debug, Clone)]
pub struct SpiMaster {
    sck: Port,
    cs_n: Port,
    mosi: Port,
    miso: Port,
    /// System clock cycles per SCK half period (the bridge needs at least 2).
    pub half_period: u64,
    /// System clock cycles with `cs_n` high between frames.
    pub gap: u64,
    /// Extra turnaround bytes clocked after a read's address (0 = exactly the
    /// one byte of the framing).
    pub extra_turnaround: u32,
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
            half_period: 2,
            gap: 4,
            extra_turnaround: 0,
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

    /// One full-duplex byte: MOSI changes while SCK is low, MISO is sampled at
    /// the rising edge.
    fn byte(&mut self, dut: &mut Dut, out: u8) -> Result<u8> {
        let mut inp = 0u8;
        for bit in (0..8).rev() {
            dut.set(self.mosi, ((out >> bit) & 1) as u64);
            dut.tick_n(self.half_period)?;
            let b = dut.get(self.miso) as u8 & 1;
            inp = (inp << 1) | b;
            dut.set(self.sck, 1);
            dut.tick_n(self.half_period)?;
            dut.set(self.sck, 0);
        }
        self.bytes += 1;
        Ok(inp)
    }

    /// One frame: `cs_n` low, the bytes of `out` exchanged, `cs_n` high.
    /// Returns the bytes received.
    pub fn frame(&mut self, dut: &mut Dut, out: &[u8]) -> Result<Vec<u8>> {
        dut.set(self.cs_n, 0);
        dut.tick_n(self.half_period)?;
        let mut inp = Vec::with_capacity(out.len());
        for &b in out {
            inp.push(self.byte(dut, b)?);
        }
        dut.tick_n(self.half_period)?;
        dut.set(self.cs_n, 1);
        dut.set(self.mosi, 0);
        dut.tick_n(self.gap.max(1))?;
        Ok(inp)
    }

    /// Burst write of `words` starting at byte address `addr`.
    pub fn write_burst(&mut self, dut: &mut Dut, addr: u32, words: &[u32]) -> Result<()> {
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
