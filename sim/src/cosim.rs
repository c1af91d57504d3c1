//! Host side of the firmware-in-the-loop co-simulation (`tbn cosim`): a
//! bridge that reads the SPI frames the Cortex-M firmware (QEMU mps2-an386)
//! sends over its UART, plays each one bit by bit into the Verilated engine
//! SPI top (`tbn_net_spi_top`, through [`crate::Accelerator::spi_frame`] and
//! the SPI master of [`crate::spi`] with SCK and clk as independent clocks)
//! and answers with the bytes sampled on MISO.
//!
//! # Framing (docs/simulation.md, "Firmware-in-the-loop co-simulation")
//!
//! ```text
//! request (firmware -> host): A5 kind seq len_lo len_hi gap0 gap1 gap2 gap3 payload[len] check
//! reply   (host -> firmware): 5A kind seq status len_lo len_hi payload[len] check
//! ```
//!
//! `kind` is [`KIND_XFER`] (payload: the MOSI bytes of one chip-select
//! period; reply payload: as many MISO bytes), [`KIND_MARK`] (payload:
//! [`MARK_BEGIN`] or [`MARK_END`] and the inference's index, u32 LE; empty
//! reply) or [`KIND_DONE`] (the firmware is finished). `seq` counts requests
//! modulo 256 and the reply echoes it. `gap` (u32 LE) is the MCU
//! instructions spent since the previous request outside the transport (the
//! driver's own work): the bridge advances the accelerator's clock by that
//! time at the MCU clock before playing the frame, so the simulated timeline
//! is the deployed one (driver at f_mcu, SPI at f_sck, engine at f_clk).
//! `check` is CRC-8 (polynomial 0x07, init 0) of every byte after the magic.
//! `status` is [`STATUS_OK`], [`STATUS_BAD_REQUEST`] (the request's check
//! byte did not match) or [`STATUS_SIM_ERROR`].

use std::io::{ErrorKind, Read, Write};

use crate::accel::Accelerator;
use crate::error::{Result, SimError};

/// First byte of a request.
pub const REQ_MAGIC: u8 = 0xA5;
/// First byte of a reply.
pub const REP_MAGIC: u8 = 0x5A;
/// Request kind: one SPI frame (chip-select period).
pub const KIND_XFER: u8 = b'X';
/// Request kind: an inference boundary marker.
pub const KIND_MARK: u8 = b'M';
/// Request kind: the firmware has finished.
pub const KIND_DONE: u8 = b'D';
/// Marker code: an inference begins.
pub const MARK_BEGIN: u8 = 1;
/// Marker code: an inference ended.
pub const MARK_END: u8 = 2;
/// Reply status: the frame was played.
pub const STATUS_OK: u8 = 0;
/// Reply status: the request's check byte did not match.
pub const STATUS_BAD_REQUEST: u8 = 1;
/// Reply status: the simulation failed (the bridge stops after it).
pub const STATUS_SIM_ERROR: u8 = 2;
/// Most payload bytes of one request (the driver's longest frame is
/// `5 + 4 * SPI_MAX_BURST_WORDS` bytes).
pub const MAX_PAYLOAD: usize = 1024;

/// CRC-8, polynomial 0x07, init 0, no reflection (the frames' check byte).
pub fn crc8(bytes: &[u8]) -> u8 {
    let mut c = 0u8;
    for &b in bytes {
        c ^= b;
        for _ in 0..8 {
            c = if c & 0x80 != 0 {
                (c << 1) ^ 0x07
            } else {
                c << 1
            };
        }
    }
    c
}

/// A fault the bridge injects (for the failure tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Flip one bit of the reply to the `n`-th SPI frame (0-based) counted
    /// from the first inference's begin marker.
    CorruptReply(u64),
    /// Stop answering at the `n`-th SPI frame counted from the first
    /// inference's begin marker (keep the channel open, read and drop
    /// everything until the firmware closes it).
    Stall(u64),
}

/// Clocks of the co-simulation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BridgeClocks {
    /// MCU clock, Hz (one instruction per cycle).
    pub mcu_hz: f64,
    /// Accelerator clock, Hz.
    pub clk_hz: f64,
}

/// The driver's MCU instructions between frames of one inference, by the
/// frame that follows them (what the driver was preparing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DriverGaps {
    /// Before the input writes (checking and packing the input, framing).
    pub input: u64,
    /// Before the CTRL write (INFER).
    pub ctrl: u64,
    /// Before the STATUS polls.
    pub status: u64,
    /// Before the CLASS read.
    pub class: u64,
    /// Before the logits reads.
    pub logits: u64,
    /// After the last frame (decoding the logits, returning).
    pub tail: u64,
    /// Before any other frame.
    pub other: u64,
}

impl DriverGaps {
    fn add(&mut self, frame: &[u8], instr: u64) {
        let cmd = frame.first().copied().unwrap_or(0);
        let addr = frame
            .get(1..4)
            .map_or(u32::MAX, |a| u32::from_be_bytes([0, a[0], a[1], a[2]]));
        use tbn_driver::regmap as rm;
        let slot = match (cmd, addr) {
            (crate::spi::CMD_WRITE, a) if a >= rm::INPUT_BASE => &mut self.input,
            (crate::spi::CMD_WRITE, rm::CTRL) => &mut self.ctrl,
            (crate::spi::CMD_READ, rm::STATUS) => &mut self.status,
            (crate::spi::CMD_READ, rm::CLASS) => &mut self.class,
            (crate::spi::CMD_READ, a)
                if (rm::LOGITS_BASE..rm::LOGITS_BASE + rm::LOGITS_SIZE).contains(&a) =>
            {
                &mut self.logits
            }
            _ => &mut self.other,
        };
        *slot += instr;
    }
}

/// Figures of one inference, between its begin and end markers.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct InferenceFigures {
    /// The firmware's index of the image.
    pub index: u32,
    /// SPI frames.
    pub frames: u64,
    /// Bytes moved on the SPI bus.
    pub spi_bytes: u64,
    /// SCK cycles clocked.
    pub sck_cycles: u64,
    /// Accelerator clock cycles simulated (MCU gaps, frames, compute).
    pub clk_cycles: u64,
    /// Of which while the MCU ran the driver between frames.
    pub mcu_gap_clk_cycles: u64,
    /// MCU instructions the firmware reported between frames (the driver's own work).
    pub mcu_gap_instructions: u64,
    /// The same by the frame that follows.
    pub driver_gaps: DriverGaps,
}

/// What the bridge saw.
#[derive(Debug, Clone, Default)]
pub struct BridgeOutcome {
    /// Per inference (in marker order).
    pub inferences: Vec<InferenceFigures>,
    /// SPI frames played in all.
    pub frames: u64,
    /// Requests with a bad check byte.
    pub bad_requests: u64,
    /// The firmware sent [`KIND_DONE`].
    pub done: bool,
    /// A fault was injected (and where: the SPI frame index).
    pub fault_injected: Option<Fault>,
}

/// The bridge: the accelerator behind its SPI master, and the clocks.
pub struct Bridge {
    acc: Accelerator,
    clocks: BridgeClocks,
    /// Fault to inject.
    pub fault: Option<Fault>,
    /// Advance the RTL's clock by the driver's MCU time between frames
    /// (default true; false plays the frames back to back, as a host driver
    /// with no time of its own, `tbn sim --engine rtl --bus spi`).
    pub mcu_time: bool,
    /// Fractional accelerator cycles carried between gaps.
    carry: f64,
    gap_cycles_total: u64,
    gap_instr_total: u64,
    bytes_total: u64,
}

/// The state at an inference's begin marker.
#[derive(Debug, Clone, Copy)]
struct Mark {
    index: u32,
    frames: u64,
    bytes: u64,
    sck: u64,
    clk: u64,
    gap_clk: u64,
    gap_instr: u64,
}

fn io_err(what: &str, e: std::io::Error) -> SimError {
    let t = matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
    SimError::Accelerator(format!(
        "co-simulation channel: {what}: {}",
        if t {
            "timed out (the firmware sent nothing within the bridge's timeout)".to_string()
        } else {
            e.to_string()
        }
    ))
}

/// Reads exactly `buf.len()` bytes; `Ok(false)` on a clean end of stream
/// before the first byte.
fn read_full(s: &mut impl Read, buf: &mut [u8], what: &str) -> Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match s.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => {
                return Err(SimError::Accelerator(format!(
                    "co-simulation channel: {what}: closed in the middle of a request"
                )))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(what, e)),
        }
    }
    Ok(true)
}

impl Bridge {
    /// A bridge over `acc` (an SPI top, past reset) at `clocks`.
    pub fn new(acc: Accelerator, clocks: BridgeClocks) -> Result<Bridge> {
        if !(clocks.mcu_hz > 0.0 && clocks.clk_hz > 0.0) {
            return Err(SimError::Invalid(format!(
                "co-simulation clocks must be positive: {clocks:?}"
            )));
        }
        Ok(Bridge {
            acc,
            clocks,
            fault: None,
            mcu_time: true,
            carry: 0.0,
            gap_cycles_total: 0,
            gap_instr_total: 0,
            bytes_total: 0,
        })
    }

    /// The accelerator.
    pub fn accelerator(&mut self) -> &mut Accelerator {
        &mut self.acc
    }

    fn sck(&mut self) -> u64 {
        match self.acc.link() {
            crate::Link::Spi(s) => s.sck_cycles,
            _ => 0,
        }
    }

    /// Advances the accelerator's clock by `instr` MCU instructions' time.
    fn advance(&mut self, instr: u32) -> Result<()> {
        if !self.mcu_time {
            return Ok(());
        }
        let exact = f64::from(instr) * self.clocks.clk_hz / self.clocks.mcu_hz + self.carry;
        let n = exact.floor();
        self.carry = exact - n;
        let n = n as u64;
        if n > 0 {
            self.acc.dut().tick_n(n)?;
        }
        self.gap_cycles_total += n;
        self.gap_instr_total += u64::from(instr);
        Ok(())
    }

    fn reply(
        s: &mut impl Write,
        kind: u8,
        seq: u8,
        status: u8,
        payload: &[u8],
        corrupt: bool,
    ) -> Result<()> {
        let mut f = Vec::with_capacity(7 + payload.len());
        f.push(REP_MAGIC);
        f.push(kind);
        f.push(seq);
        f.push(status);
        f.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        f.extend_from_slice(payload);
        let c = crc8(&f[1..]);
        f.push(c);
        if corrupt {
            // one bit of the payload (or of the length when there is none)
            let at = if payload.is_empty() { 4 } else { 6 };
            f[at] ^= 0x10;
        }
        s.write_all(&f).map_err(|e| io_err("writing a reply", e))?;
        s.flush().map_err(|e| io_err("writing a reply", e))
    }

    /// Serves requests from `s` until the firmware sends [`KIND_DONE`] or
    /// closes the channel. The caller sets the channel's read timeout: a
    /// firmware that stops talking is an error after it.
    pub fn serve<S: Read + Write>(&mut self, s: &mut S) -> Result<BridgeOutcome> {
        let mut out = BridgeOutcome::default();
        let mut mark: Option<Mark> = None;
        let mut gaps = DriverGaps::default();
        // SPI frames before the first inference (faults count from there)
        let mut first_inference: Option<u64> = None;
        loop {
            let mut head = [0u8; 9];
            if !read_full(s, &mut head[..1], "reading a request")? {
                return Ok(out);
            }
            if head[0] != REQ_MAGIC {
                // resynchronise on the next magic byte
                out.bad_requests += 1;
                continue;
            }
            if !read_full(s, &mut head[1..], "reading a request header")? {
                return Ok(out);
            }
            let kind = head[1];
            let seq = head[2];
            let len = u16::from_le_bytes([head[3], head[4]]) as usize;
            let gap = u32::from_le_bytes([head[5], head[6], head[7], head[8]]);
            if len > MAX_PAYLOAD {
                out.bad_requests += 1;
                Self::reply(s, kind, seq, STATUS_BAD_REQUEST, &[], false)?;
                continue;
            }
            let mut body = vec![0u8; len + 1];
            if !read_full(s, &mut body, "reading a request payload")? {
                return Ok(out);
            }
            let check = body.pop().unwrap_or(0);
            let mut covered = head[1..].to_vec();
            covered.extend_from_slice(&body);
            if crc8(&covered) != check {
                out.bad_requests += 1;
                Self::reply(s, kind, seq, STATUS_BAD_REQUEST, &[], false)?;
                continue;
            }
            match kind {
                KIND_XFER => {
                    let n = first_inference.map_or(u64::MAX, |f| out.frames - f);
                    if self.fault == Some(Fault::Stall(n)) {
                        out.fault_injected = self.fault;
                        // read and drop until the firmware gives up and closes
                        let mut sink = [0u8; 256];
                        loop {
                            match s.read(&mut sink) {
                                Ok(0) => return Ok(out),
                                Ok(_) => {}
                                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                                Err(_) => return Ok(out),
                            }
                        }
                    }
                    if mark.is_some() {
                        gaps.add(&body, u64::from(gap));
                    }
                    if let Err(e) = self.advance(gap) {
                        Self::reply(s, kind, seq, STATUS_SIM_ERROR, &[], false)?;
                        return Err(e);
                    }
                    let miso = match self.acc.spi_frame(&body) {
                        Ok(m) => m,
                        Err(e) => {
                            Self::reply(s, kind, seq, STATUS_SIM_ERROR, &[], false)?;
                            return Err(e);
                        }
                    };
                    self.bytes_total += body.len() as u64;
                    out.frames += 1;
                    let corrupt = self.fault == Some(Fault::CorruptReply(n));
                    if corrupt {
                        out.fault_injected = self.fault;
                    }
                    Self::reply(s, kind, seq, STATUS_OK, &miso, corrupt)?;
                }
                KIND_MARK => {
                    let code = body.first().copied().unwrap_or(0);
                    let index = body
                        .get(1..5)
                        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                    match code {
                        MARK_BEGIN => {
                            first_inference.get_or_insert(out.frames);
                            gaps = DriverGaps::default();
                            mark = Some(Mark {
                                index,
                                frames: out.frames,
                                bytes: self.bytes_total,
                                sck: self.sck(),
                                clk: self.acc.dut().cycles(),
                                gap_clk: self.gap_cycles_total,
                                gap_instr: self.gap_instr_total,
                            });
                        }
                        MARK_END => {
                            // the driver's tail after the last frame
                            self.advance(gap)?;
                            gaps.tail += u64::from(gap);
                            if let Some(m) = mark.take() {
                                let sck = self.sck();
                                out.inferences.push(InferenceFigures {
                                    index: m.index,
                                    frames: out.frames - m.frames,
                                    spi_bytes: self.bytes_total - m.bytes,
                                    sck_cycles: sck - m.sck,
                                    clk_cycles: self.acc.dut().cycles() - m.clk,
                                    mcu_gap_clk_cycles: self.gap_cycles_total - m.gap_clk,
                                    mcu_gap_instructions: self.gap_instr_total - m.gap_instr,
                                    driver_gaps: gaps,
                                });
                            }
                        }
                        _ => {}
                    }
                    Self::reply(s, kind, seq, STATUS_OK, &[], false)?;
                }
                KIND_DONE => {
                    out.done = true;
                    Self::reply(s, kind, seq, STATUS_OK, &[], false)?;
                    return Ok(out);
                }
                _ => {
                    out.bad_requests += 1;
                    Self::reply(s, kind, seq, STATUS_BAD_REQUEST, &[], false)?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::crc8;

    #[test]
    fn crc8_check_value() {
        // CRC-8 (poly 0x07, init 0): check value of "123456789"
        assert_eq!(crc8(b"123456789"), 0xF4);
    }
}
