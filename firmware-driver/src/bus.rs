//! How the driver reaches the accelerator's registers: the [`Bus`] trait and
//! two implementations.
//!
//! - [`MmioBus`]: the accelerator's Wishbone slave is mapped into the CPU's
//!   address space (a LiteX-style SoC, or an AXI/AHB-to-Wishbone bridge);
//!   volatile 32-bit loads and stores.
//! - [`SpiBus`]: a standalone FPGA next to a microcontroller, reached through
//!   the SPI-to-Wishbone bridge of the standalone top, over any
//!   `embedded_hal::spi::SpiDevice` (embedded-hal 1.0).
//!
//! Addresses are **byte offsets** from the accelerator's base, as in
//! [`crate::regmap`]; every access is one aligned 32-bit word. A Wishbone
//! master takes `wb_adr = offset >> 2`.
//!
//! # SPI framing (docs/register-map.md)
//!
//! One frame is one chip-select low period (one `SpiDevice::transaction`),
//! SPI mode 0, MSB first, `f_sck <= f_clk` (the bridge's serial side is
//! clocked by SCK; [`crate::regmap::SPI_MAX_SCK_PER_CLK`]):
//!
//! ```text
//! write: 02 A2 A1 A0 D3 D2 D1 D0 [D3 D2 D1 D0 ...]   (address += 4 per word)
//! read:  03 A2 A1 A0 XX | then MISO carries D3 D2 D1 D0 [...] while the master clocks
//! ```
//!
//! `A2 A1 A0` is the byte address, big-endian (bits 1:0 ignored by the bridge;
//! this driver never sends unaligned addresses); `XX` is one turnaround byte
//! (MISO 0). Data words are big-endian. Bursts longer than
//! [`SPI_MAX_BURST_WORDS`] are split into several frames.

use crate::regmap::{SPAN_BYTES, SPI_ADDR_BYTES, SPI_CMD_QWRITE, SPI_READ_DUMMY_BYTES};

/// SPI bridge commands (re-exported from the register map).
pub use crate::regmap::{SPI_CMD_READ, SPI_CMD_WRITE};

// The frame header below carries a 3-byte address.
const _: () = assert!(SPI_ADDR_BYTES == 3);

/// Turnaround (dummy) bytes the bridge needs between a read's address and
/// its data ([`crate::regmap::SPI_READ_DUMMY_BYTES`]).
pub const SPI_READ_TURNAROUND_BYTES: usize = SPI_READ_DUMMY_BYTES as usize;

/// Most words [`SpiBus`] moves in one frame (bounds its stack buffer:
/// `4 * SPI_MAX_BURST_WORDS + 5` bytes).
pub const SPI_MAX_BURST_WORDS: usize = 64;

/// Direction of a failed bus access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BusOp {
    /// A read.
    Read,
    /// A write.
    Write,
}

impl core::fmt::Display for BusOp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            BusOp::Read => "read",
            BusOp::Write => "write",
        })
    }
}

/// A failed bus access. Every variant names the direction and the byte
/// offset (the first word's offset for a burst).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The byte offset is not a multiple of 4.
    #[error("bus {op} at offset {addr:#x}: not 32-bit aligned")]
    Misaligned {
        /// Direction.
        op: BusOp,
        /// Byte offset.
        addr: u32,
    },
    /// The access (or part of a burst) lies outside the accelerator's span
    /// ([`SPAN_BYTES`]).
    #[error("bus {op} at offset {addr:#x} ({words} words): outside the accelerator's {SPAN_BYTES:#x}-byte span")]
    OutOfRange {
        /// Direction.
        op: BusOp,
        /// Byte offset of the first word.
        addr: u32,
        /// Words in the access.
        words: usize,
    },
    /// The slave did not answer in time (a bus-functional model or bridge
    /// with a timeout).
    #[error("bus {op} at offset {addr:#x}: no answer from the slave")]
    Timeout {
        /// Direction.
        op: BusOp,
        /// Byte offset.
        addr: u32,
    },
    /// The slave answered with an error (Wishbone `err`).
    #[error("bus {op} at offset {addr:#x}: the slave answered with an error")]
    ErrorResponse {
        /// Direction.
        op: BusOp,
        /// Byte offset.
        addr: u32,
    },
    /// The slave asked for a retry (Wishbone `rty`).
    #[error("bus {op} at offset {addr:#x}: the slave asked for a retry")]
    Retry {
        /// Direction.
        op: BusOp,
        /// Byte offset.
        addr: u32,
    },
    /// The SPI peripheral reported an error.
    #[error("bus {op} at offset {addr:#x}: SPI error {kind:?}")]
    Spi {
        /// Direction.
        op: BusOp,
        /// Byte offset of the frame.
        addr: u32,
        /// What the SPI HAL reported.
        kind: embedded_hal::spi::ErrorKind,
    },
    /// Any other transport failure (for [`Bus`] implementations outside this
    /// crate, e.g. a simulator).
    #[error("bus {op} at offset {addr:#x}: {what}")]
    Other {
        /// Direction.
        op: BusOp,
        /// Byte offset.
        addr: u32,
        /// What went wrong.
        what: &'static str,
    },
}

/// Checks that `words` words starting at byte offset `addr` are aligned and
/// inside the map. Implementations of [`Bus`] may use it.
pub fn check_range(op: BusOp, addr: u32, words: usize) -> Result<(), BusError> {
    if !addr.is_multiple_of(4) {
        return Err(BusError::Misaligned { op, addr });
    }
    let end = (addr as u64).saturating_add((words as u64).saturating_mul(4));
    if end > SPAN_BYTES as u64 {
        return Err(BusError::OutOfRange { op, addr, words });
    }
    Ok(())
}

/// 32-bit register access to the accelerator by byte offset from its base.
///
/// Implement [`read32`](Bus::read32) and [`write32`](Bus::write32); override
/// the burst helpers when the transport has cheaper bursts (SPI does).
/// `addr` is always a byte offset below [`SPAN_BYTES`] and a multiple of 4
/// when it comes from the driver.
pub trait Bus {
    /// Reads the word at byte offset `addr`.
    fn read32(&mut self, addr: u32) -> Result<u32, BusError>;

    /// Writes `value` to the word at byte offset `addr`.
    fn write32(&mut self, addr: u32, value: u32) -> Result<(), BusError>;

    /// Reads `out.len()` consecutive words starting at byte offset `addr`.
    fn read_block(&mut self, addr: u32, out: &mut [u32]) -> Result<(), BusError> {
        check_range(BusOp::Read, addr, out.len())?;
        for (i, w) in out.iter_mut().enumerate() {
            *w = self.read32(addr + 4 * i as u32)?;
        }
        Ok(())
    }

    /// Writes `words` to consecutive words starting at byte offset `addr`.
    fn write_block(&mut self, addr: u32, words: &[u32]) -> Result<(), BusError> {
        check_range(BusOp::Write, addr, words.len())?;
        for (i, &w) in words.iter().enumerate() {
            self.write32(addr + 4 * i as u32, w)?;
        }
        Ok(())
    }
}

/// A pointer to a bus is a bus (`&mut B`, and with `std` `Box<B>`, e.g. a
/// `Box<dyn Bus>` choosing the device at run time).
macro_rules! forward_bus {
    ($($ptr:ty),*) => {$(
        impl<B: Bus + ?Sized> Bus for $ptr {
            fn read32(&mut self, addr: u32) -> Result<u32, BusError> {
                (**self).read32(addr)
            }
            fn write32(&mut self, addr: u32, value: u32) -> Result<(), BusError> {
                (**self).write32(addr, value)
            }
            fn read_block(&mut self, addr: u32, out: &mut [u32]) -> Result<(), BusError> {
                (**self).read_block(addr, out)
            }
            fn write_block(&mut self, addr: u32, words: &[u32]) -> Result<(), BusError> {
                (**self).write_block(addr, words)
            }
        }
    )*};
}

forward_bus!(&mut B);
#[cfg(feature = "std")]
forward_bus!(std::boxed::Box<B>);

// ------------------------------------------------------------------ MMIO

/// The accelerator mapped into the CPU's address space: volatile 32-bit
/// loads and stores at `base + offset`.
#[derive(Debug)]
pub struct MmioBus {
    base: usize,
}

impl MmioBus {
    /// A bus over the accelerator mapped at address `base`.
    ///
    /// # Safety
    ///
    /// `base` must be 4-byte aligned and `base .. base + SPAN_BYTES` must be
    /// the accelerator's register window (or other memory valid for volatile
    /// 32-bit reads and writes) for the whole life of the returned value, and
    /// nothing else may access it concurrently in a way that breaks the
    /// driver's assumptions (one `MmioBus` per accelerator).
    pub const unsafe fn new(base: usize) -> MmioBus {
        MmioBus { base }
    }

    /// The base address.
    pub const fn base(&self) -> usize {
        self.base
    }

    fn ptr(&self, addr: u32) -> *mut u32 {
        // In range by check_range: base + addr stays inside the window.
        (self.base + addr as usize) as *mut u32
    }
}

impl Bus for MmioBus {
    fn read32(&mut self, addr: u32) -> Result<u32, BusError> {
        check_range(BusOp::Read, addr, 1)?;
        // SAFETY: the constructor's contract makes [base, base + SPAN_BYTES)
        // valid for aligned volatile 32-bit access; addr is aligned and in
        // range (checked above).
        Ok(unsafe { core::ptr::read_volatile(self.ptr(addr)) })
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), BusError> {
        check_range(BusOp::Write, addr, 1)?;
        // SAFETY: as in read32.
        unsafe { core::ptr::write_volatile(self.ptr(addr), value) };
        Ok(())
    }
}

// ------------------------------------------------------------------- SPI

/// The accelerator behind the standalone top's SPI-to-Wishbone bridge.
///
/// Each [`Bus`] access is one frame (one `SpiDevice::transaction`, i.e. one
/// chip-select period); bursts ([`Bus::read_block`], [`Bus::write_block`])
/// move up to [`SPI_MAX_BURST_WORDS`] words per frame. The device must be
/// configured for SPI mode 0, MSB first, with `f_sck <= f_clk` of the
/// accelerator's clock ([`crate::regmap::SPI_MAX_SCK_PER_CLK`]); its chip
/// select must fall at least half an SCK period before the first SCK edge and
/// stay high at least one SCK period between frames (docs/register-map.md,
/// SPI framing). Faster SCK returns wrong read data (the first word misses
/// the dummy byte), which [`crate::driver::Tbn::probe`]'s ID check reports.
#[derive(Debug)]
pub struct SpiBus<D> {
    dev: D,
}

impl<D: embedded_hal::spi::SpiDevice> SpiBus<D> {
    /// A bus over the SPI device `dev`.
    pub fn new(dev: D) -> SpiBus<D> {
        SpiBus { dev }
    }

    /// Gives the SPI device back.
    pub fn release(self) -> D {
        self.dev
    }

    /// Mutable access to the SPI device.
    pub fn device(&mut self) -> &mut D {
        &mut self.dev
    }

    fn header(cmd: u8, addr: u32) -> [u8; 4] {
        let a = addr.to_be_bytes();
        [cmd, a[1], a[2], a[3]]
    }

    fn spi_err(op: BusOp, addr: u32, e: D::Error) -> BusError {
        use embedded_hal::spi::Error as _;
        BusError::Spi {
            op,
            addr,
            kind: e.kind(),
        }
    }

    /// One write frame of at most [`SPI_MAX_BURST_WORDS`] words.
    fn write_frame(&mut self, addr: u32, words: &[u32]) -> Result<(), BusError> {
        let mut buf = [0u8; 4 + 4 * SPI_MAX_BURST_WORDS];
        buf[..4].copy_from_slice(&Self::header(SPI_CMD_WRITE, addr));
        for (chunk, w) in buf[4..].chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
        let n = 4 + 4 * words.len().min(SPI_MAX_BURST_WORDS);
        self.dev
            .write(&buf[..n])
            .map_err(|e| Self::spi_err(BusOp::Write, addr, e))
    }

    /// One read frame of at most [`SPI_MAX_BURST_WORDS`] words.
    fn read_frame(&mut self, addr: u32, out: &mut [u32]) -> Result<(), BusError> {
        let mut head = [0u8; 4 + SPI_READ_TURNAROUND_BYTES];
        head[..4].copy_from_slice(&Self::header(SPI_CMD_READ, addr));
        let mut data = [0u8; 4 * SPI_MAX_BURST_WORDS];
        let n = out.len().min(SPI_MAX_BURST_WORDS);
        {
            use embedded_hal::spi::Operation;
            let mut ops = [Operation::Write(&head), Operation::Read(&mut data[..4 * n])];
            self.dev
                .transaction(&mut ops)
                .map_err(|e| Self::spi_err(BusOp::Read, addr, e))?;
        }
        for (w, b) in out.iter_mut().zip(data.chunks_exact(4)) {
            *w = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        }
        Ok(())
    }
}

impl<D: embedded_hal::spi::SpiDevice> Bus for SpiBus<D> {
    fn read32(&mut self, addr: u32) -> Result<u32, BusError> {
        let mut w = [0u32; 1];
        self.read_block(addr, &mut w)?;
        Ok(w[0])
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), BusError> {
        self.write_block(addr, &[value])
    }

    fn read_block(&mut self, addr: u32, out: &mut [u32]) -> Result<(), BusError> {
        check_range(BusOp::Read, addr, out.len())?;
        let mut a = addr;
        for chunk in out.chunks_mut(SPI_MAX_BURST_WORDS) {
            self.read_frame(a, chunk)?;
            a += 4 * chunk.len() as u32;
        }
        Ok(())
    }

    fn write_block(&mut self, addr: u32, words: &[u32]) -> Result<(), BusError> {
        check_range(BusOp::Write, addr, words.len())?;
        let mut a = addr;
        for chunk in words.chunks(SPI_MAX_BURST_WORDS) {
            self.write_frame(a, chunk)?;
            a += 4 * chunk.len() as u32;
        }
        Ok(())
    }
}

// -------------------------------------------------------------- quad SPI

/// A quad SPI transport for [`QuadSpiBus`]. embedded-hal 1.0 has no quad SPI
/// trait, so this crate defines the one operation the bridge needs: a
/// 1-4-4 write frame (one chip-select period: the command byte on IO0, 8 SCK
/// cycles, then `payload` on IO0..IO3, 2 SCK cycles per byte, high nibble
/// first, IO3 = bit 3; no dummy cycles). Implement it over the MCU's
/// QSPI/OCTOSPI peripheral in indirect write mode (instruction 1 line,
/// address and data 4 lines, 24-bit address = the first 3 payload bytes).
pub trait QuadWrite: embedded_hal::spi::ErrorType {
    /// One 1-4-4 write frame.
    fn write_1_4_4(&mut self, cmd: u8, payload: &[u8]) -> Result<(), Self::Error>;
}

/// [`SpiBus`] with quad writes: bursts written with the bridge's QWRITE
/// ([`SPI_CMD_QWRITE`], docs/register-map.md), `8 + 2 (3 + 4 n)` SCK per
/// frame instead of `8 (4 + 4 n)`; reads stay single-line SPI frames
/// (`embedded_hal::spi::SpiDevice`). The device must also drive IO1 only in
/// quad frames (the bridge's `miso_oe`).
#[derive(Debug)]
pub struct QuadSpiBus<D> {
    inner: SpiBus<D>,
}

impl<D: embedded_hal::spi::SpiDevice + QuadWrite> QuadSpiBus<D> {
    /// A bus over the device `dev` (single-line reads, quad writes).
    pub fn new(dev: D) -> QuadSpiBus<D> {
        QuadSpiBus {
            inner: SpiBus::new(dev),
        }
    }

    /// Gives the device back.
    pub fn release(self) -> D {
        self.inner.release()
    }

    /// Mutable access to the device.
    pub fn device(&mut self) -> &mut D {
        self.inner.device()
    }

    /// One quad write frame of at most [`SPI_MAX_BURST_WORDS`] words.
    fn write_frame(&mut self, addr: u32, words: &[u32]) -> Result<(), BusError> {
        let mut buf = [0u8; 3 + 4 * SPI_MAX_BURST_WORDS];
        buf[..3].copy_from_slice(&addr.to_be_bytes()[1..]);
        for (chunk, w) in buf[3..].chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
        let n = 3 + 4 * words.len().min(SPI_MAX_BURST_WORDS);
        self.inner
            .dev
            .write_1_4_4(SPI_CMD_QWRITE, &buf[..n])
            .map_err(|e| SpiBus::<D>::spi_err(BusOp::Write, addr, e))
    }
}

impl<D: embedded_hal::spi::SpiDevice + QuadWrite> Bus for QuadSpiBus<D> {
    fn read32(&mut self, addr: u32) -> Result<u32, BusError> {
        self.inner.read32(addr)
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), BusError> {
        self.write_block(addr, &[value])
    }

    fn read_block(&mut self, addr: u32, out: &mut [u32]) -> Result<(), BusError> {
        self.inner.read_block(addr, out)
    }

    fn write_block(&mut self, addr: u32, words: &[u32]) -> Result<(), BusError> {
        check_range(BusOp::Write, addr, words.len())?;
        let mut a = addr;
        for chunk in words.chunks(SPI_MAX_BURST_WORDS) {
            self.write_frame(a, chunk)?;
            a += 4 * chunk.len() as u32;
        }
        Ok(())
    }
}
