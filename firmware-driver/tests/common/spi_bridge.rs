//! The SPI-to-Wishbone bridge of the standalone top, modelled byte by byte
//! as an `embedded_hal::spi::SpiDevice` in front of a register model.

use std::cell::RefCell;
use std::rc::Rc;

use embedded_hal::spi::{ErrorKind, ErrorType, Operation, SpiDevice};
use tbn_driver::bus::Bus;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MockSpiError;

impl embedded_hal::spi::Error for MockSpiError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::ChipSelectFault
    }
}

/// An `SpiDevice` that implements the SPI-to-Wishbone bridge of the
/// standalone top byte by byte (docs/register-map.md) in front of any
/// register model `B`, and records every frame (MOSI bytes, MISO bytes).
pub struct BridgeSpi<B: Bus> {
    /// The register model behind the bridge.
    pub core: Rc<RefCell<B>>,
    /// Every frame: (MOSI bytes, MISO bytes).
    pub frames: Vec<(Vec<u8>, Vec<u8>)>,
    /// Fail every transaction.
    pub fail: bool,
    /// SCK cycles of the quad write frames.
    pub quad_sck: u64,
}

impl<B: Bus> BridgeSpi<B> {
    /// A bridge in front of `core`.
    pub fn new(core: Rc<RefCell<B>>) -> Self {
        BridgeSpi {
            core,
            frames: Vec::new(),
            fail: false,
            quad_sck: 0,
        }
    }

    /// SCK cycles of the recorded frames (8 per byte).
    pub fn sck_cycles(&self) -> u64 {
        self.frames
            .iter()
            .map(|f| 8 * f.0.len() as u64)
            .sum::<u64>()
            + self.quad_sck
    }
}

#[derive(Default)]
struct BridgeState {
    n: usize,
    cmd: u8,
    addr: u32,
    word: [u8; 4],
    rdata: u32,
}

impl<B: Bus> BridgeSpi<B> {
    fn byte(&self, st: &mut BridgeState, mosi: u8) -> u8 {
        let i = st.n;
        st.n += 1;
        match i {
            0 => {
                st.cmd = mosi;
                0
            }
            1..=3 => {
                st.addr = (st.addr << 8) | mosi as u32;
                0
            }
            _ if st.cmd == 0x02 => {
                let k = (i - 4) % 4;
                st.word[k] = mosi;
                if k == 3 {
                    self.core
                        .borrow_mut()
                        .write32(st.addr & !3, u32::from_be_bytes(st.word))
                        .unwrap();
                    st.addr += 4;
                }
                0
            }
            4 if st.cmd == 0x03 => 0, // turnaround
            _ if st.cmd == 0x03 => {
                let k = (i - 5) % 4;
                if k == 0 {
                    st.rdata = self.core.borrow_mut().read32(st.addr & !3).unwrap();
                    st.addr += 4;
                }
                st.rdata.to_be_bytes()[k]
            }
            _ => 0,
        }
    }
}

impl<B: Bus> ErrorType for BridgeSpi<B> {
    type Error = MockSpiError;
}

impl<B: Bus> SpiDevice for BridgeSpi<B> {
    fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), MockSpiError> {
        if self.fail {
            return Err(MockSpiError);
        }
        let mut st = BridgeState::default();
        let (mut mosi, mut miso) = (Vec::new(), Vec::new());
        for op in ops.iter_mut() {
            match op {
                Operation::Write(w) => {
                    for &b in w.iter() {
                        mosi.push(b);
                        miso.push(self.byte(&mut st, b));
                    }
                }
                Operation::Read(r) => {
                    for slot in r.iter_mut() {
                        mosi.push(0);
                        *slot = self.byte(&mut st, 0);
                        miso.push(*slot);
                    }
                }
                Operation::Transfer(r, w) => {
                    for k in 0..r.len().max(w.len()) {
                        let b = w.get(k).copied().unwrap_or(0);
                        mosi.push(b);
                        let o = self.byte(&mut st, b);
                        miso.push(o);
                        if let Some(s) = r.get_mut(k) {
                            *s = o;
                        }
                    }
                }
                Operation::TransferInPlace(buf) => {
                    for s in buf.iter_mut() {
                        mosi.push(*s);
                        *s = self.byte(&mut st, *s);
                        miso.push(*s);
                    }
                }
                Operation::DelayNs(_) => {}
            }
        }
        self.frames.push((mosi, miso));
        Ok(())
    }
}

/// The bridge's quad write (1-4-4): the same register effect as a single-line
/// write frame; recorded with its SCK cycles (8 + 2 per payload byte) in
/// `quad_sck`.
impl<B: Bus> tbn_driver::bus::QuadWrite for BridgeSpi<B> {
    fn write_1_4_4(&mut self, cmd: u8, payload: &[u8]) -> Result<(), MockSpiError> {
        if self.fail {
            return Err(MockSpiError);
        }
        assert_eq!(cmd, tbn_driver::regmap::SPI_CMD_QWRITE);
        let mut st = BridgeState::default();
        self.byte(&mut st, 0x02);
        for &b in payload {
            self.byte(&mut st, b);
        }
        self.quad_sck += 8 + 2 * payload.len() as u64;
        Ok(())
    }
}
