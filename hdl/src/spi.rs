//! SPI-to-Wishbone bridge and the standalone top `tbn_spi_top`.
//!
//! The bridge is an SPI mode-0 slave (CPOL = 0, CPHA = 0, MSB first) clocked
//! by the system clock: `sck`, `cs_n` and `mosi` pass through 2-flip-flop
//! synchronisers, a third `sck` flip-flop detects the rising edge, MOSI is
//! shifted in at each detected rising edge, and a Wishbone B4 classic master
//! state machine performs one bus cycle per complete data word.
//!
//! # Framing (see docs/register-map.md, "SPI framing")
//!
//! One frame is one `cs_n` low period: a command byte, 3 address bytes (byte
//! address, big-endian; bits 1:0 and 23:19 are ignored), then data:
//!
//! - [`CMD_WRITE`] `0x02`: 4-byte big-endian words; each complete word is
//!   written at the address, which then increments by 4. An incomplete
//!   trailing word is dropped.
//! - [`CMD_READ`] `0x03`: [`READ_DUMMY_BYTES`] turnaround byte (MISO 0), then
//!   4-byte big-endian words on MISO for as long as the master clocks; the
//!   address increments by 4 per word. The bridge reads ahead: a frame
//!   reads up to 2 words past the last word clocked out (reads in this map
//!   have no side effects).
//! - any other command: the rest of the frame is ignored, MISO stays 0.
//!
//! MISO is a flip-flop output that changes at most 3 system clock cycles after
//! each rising SCK edge (it holds across the edge the master samples): the
//! master samples at the rising edge as usual for mode 0. Requirements:
//! `f_clk >= 4 f_sck`, `cs_n` falls at least one clock period before the first
//! rising SCK edge and stays high at least 2 clock periods between frames.
//! Raising `cs_n` ends the frame at any bit (the state resets; a bus cycle
//! already started completes).

use crate::core::TbnCore;
use rust_hdl::prelude::*;

/// SPI command byte: burst write (`tbn_driver::regmap::SPI_CMD_WRITE`).
pub const CMD_WRITE: u8 = tbn_driver::regmap::SPI_CMD_WRITE;
/// SPI command byte: burst read (`tbn_driver::regmap::SPI_CMD_READ`).
pub const CMD_READ: u8 = tbn_driver::regmap::SPI_CMD_READ;
/// Turnaround bytes between a read's address and its first data byte.
pub const READ_DUMMY_BYTES: usize = tbn_driver::regmap::SPI_READ_DUMMY_BYTES as usize;
const _: () = assert!(
    READ_DUMMY_BYTES == 1,
    "the bridge implements one dummy byte"
);
/// Largest delay, in system clock cycles, from a rising SCK edge to the MISO update.
pub const MISO_DELAY_CYCLES: usize = 3;
/// Smallest supported ratio `f_clk / f_sck`.
pub const MIN_CLOCK_RATIO: usize = 4;
/// Cycles the standalone top holds its internal power-on reset.
pub const POR_CYCLES: usize = 15;
/// Name of the standalone top module.
pub const SPI_TOP: &str = "tbn_spi_top";

/// The SPI-to-Wishbone bridge (SPI mode 0 slave, Wishbone B4 classic master).
///
/// Only [`READ_DUMMY_BYTES`] = 1 is implemented (the bridge's state machine
/// starts the first read after the address and loads the shift register at
/// the end of byte 4).
#[derive(LogicBlock)]
pub struct SpiBridge {
    /// System clock.
    pub clk: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub rst: Signal<In, Bit>,
    /// SPI clock (asynchronous to `clk`).
    pub sck: Signal<In, Bit>,
    /// SPI chip select, active low (asynchronous).
    pub cs_n: Signal<In, Bit>,
    /// SPI master out, slave in (asynchronous).
    pub mosi: Signal<In, Bit>,
    /// SPI master in, slave out (registered).
    pub miso: Signal<Out, Bit>,
    /// Wishbone word address.
    pub wb_adr: Signal<Out, Bits<17>>,
    /// Wishbone write data.
    pub wb_dat_w: Signal<Out, Bits<32>>,
    /// Wishbone read data.
    pub wb_dat_r: Signal<In, Bits<32>>,
    /// Wishbone write enable.
    pub wb_we: Signal<Out, Bit>,
    /// Wishbone byte selects (always all four: whole words).
    pub wb_sel: Signal<Out, Bits<4>>,
    /// Wishbone strobe.
    pub wb_stb: Signal<Out, Bit>,
    /// Wishbone cycle.
    pub wb_cyc: Signal<Out, Bit>,
    /// Wishbone acknowledge.
    pub wb_ack: Signal<In, Bit>,
    sck1: DFF<Bit>,
    sck2: DFF<Bit>,
    sck3: DFF<Bit>,
    cs1: DFF<Bit>,
    cs2: DFF<Bit>,
    mosi1: DFF<Bit>,
    mosi2: DFF<Bit>,
    bitcnt: DFF<Bits<3>>,
    shift_in: DFF<Bits<7>>,
    byte_idx: DFF<Bits<3>>,
    dbyte: DFF<Bits<2>>,
    addr: DFF<Bits<24>>,
    wdata: DFF<Bits<24>>,
    tx: DFF<Bits<32>>,
    rbuf: DFF<Bits<32>>,
    cyc: DFF<Bit>,
    we: DFF<Bit>,
    adr: DFF<Bits<17>>,
    dat_w: DFF<Bits<32>>,
    c_read: Constant<Bits<8>>,
    c_write: Constant<Bits<8>>,
    rise: Signal<Local, Bit>,
    byte_done: Signal<Local, Bit>,
    byte_in: Signal<Local, Bits<8>>,
    addr_next: Signal<Local, Bits<24>>,
    addr_inc: Signal<Local, Bits<24>>,
    word_in: Signal<Local, Bits<32>>,
    is_read: DFF<Bit>,
    is_write: DFF<Bit>,
    bit7: DFF<Bit>,
}

impl Logic for SpiBridge {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clk, sck1, sck2, sck3, cs1, cs2, mosi1, mosi2, bitcnt, shift_in, byte_idx, dbyte,
            addr, wdata, tx, rbuf, cyc, we, adr, dat_w, is_read, is_write, bit7
        );
        // 2-FF synchronisers (sck3: edge detect)
        self.sck1.d.next = self.sck.val();
        self.sck2.d.next = self.sck1.q.val();
        self.sck3.d.next = self.sck2.q.val();
        self.cs1.d.next = self.cs_n.val();
        self.cs2.d.next = self.cs1.q.val();
        self.mosi1.d.next = self.mosi.val();
        self.mosi2.d.next = self.mosi1.q.val();
        self.rise.next = self.sck2.q.val() & !self.sck3.q.val() & !self.cs2.q.val();
        // "bit 7 of the byte" and the command decode are flip-flops, set
        // when the bit counter / the command byte are: the enables of the
        // 32-bit bus registers stay two LUT levels deep
        self.byte_done.next = self.rise.val() & self.bit7.q.val();
        self.byte_in.next = (bit_cast::<8, 7>(self.shift_in.q.val()) << 1)
            | bit_cast::<8, 1>(self.mosi2.q.val().into());
        self.addr_next.next = (self.addr.q.val() << 8) | bit_cast::<24, 8>(self.byte_in.val());
        self.addr_inc.next = self.addr.q.val() + 4;
        self.word_in.next =
            (bit_cast::<32, 24>(self.wdata.q.val()) << 8) | bit_cast::<32, 8>(self.byte_in.val());
        // outputs
        self.miso.next = self.tx.q.val().get_bit(31);
        self.wb_adr.next = self.adr.q.val();
        self.wb_dat_w.next = self.dat_w.q.val();
        self.wb_we.next = self.we.q.val();
        self.wb_sel.next = 15.into();
        self.wb_stb.next = self.cyc.q.val();
        self.wb_cyc.next = self.cyc.q.val();
        // Wishbone master: end of a bus cycle
        if self.cyc.q.val() & self.wb_ack.val() {
            self.cyc.d.next = false;
            self.addr.d.next = self.addr_inc.val();
            if !self.we.q.val() {
                self.rbuf.d.next = self.wb_dat_r.val();
            }
        }
        // serial side
        if self.rise.val() {
            self.bitcnt.d.next = self.bitcnt.q.val() + 1;
            self.bit7.d.next = self.bitcnt.q.val() == 6;
            self.shift_in.d.next = self.byte_in.val().get_bits::<7>(0);
            self.tx.d.next = self.tx.q.val() << 1;
        }
        if self.byte_done.val() {
            if self.byte_idx.q.val() == 0 {
                self.is_read.d.next = self.byte_in.val() == self.c_read.val();
                self.is_write.d.next = self.byte_in.val() == self.c_write.val();
            }
            if (self.byte_idx.q.val() != 0) & (self.byte_idx.q.val() != 4) {
                self.addr.d.next = self.addr_next.val();
            }
            if self.byte_idx.q.val() != 4 {
                self.byte_idx.d.next = self.byte_idx.q.val() + 1;
            }
            if (self.byte_idx.q.val() == 3) & self.is_read.q.val() {
                // first read as soon as the address is complete
                self.cyc.d.next = true;
                self.we.d.next = false;
                self.adr.d.next = self.addr_next.val().get_bits::<17>(2);
            }
            if self.byte_idx.q.val() == 4 {
                self.dbyte.d.next = self.dbyte.q.val() + 1;
                if self.is_write.q.val() {
                    self.wdata.d.next = self.word_in.val().get_bits::<24>(0);
                    if self.dbyte.q.val() == 3 {
                        self.cyc.d.next = true;
                        self.we.d.next = true;
                        self.adr.d.next = self.addr.q.val().get_bits::<17>(2);
                        self.dat_w.d.next = self.word_in.val();
                    }
                }
                if self.is_read.q.val() & (self.dbyte.q.val() == 0) {
                    // a word starts: shift out the fetched word, prefetch the next
                    self.tx.d.next = self.rbuf.q.val();
                    self.cyc.d.next = true;
                    self.we.d.next = false;
                    self.adr.d.next = self.addr.q.val().get_bits::<17>(2);
                }
            }
        }
        // frame end: reset the serial state (a started bus cycle completes)
        if self.cs2.q.val() {
            self.bitcnt.d.next = 0.into();
            self.bit7.d.next = false;
            self.is_read.d.next = false;
            self.is_write.d.next = false;
            self.byte_idx.d.next = 0.into();
            self.dbyte.d.next = 0.into();
            self.tx.d.next = 0.into();
        }
        if self.rst.val() {
            self.bitcnt.d.next = 0.into();
            self.bit7.d.next = false;
            self.is_read.d.next = false;
            self.is_write.d.next = false;
            self.byte_idx.d.next = 0.into();
            self.dbyte.d.next = 0.into();
            self.tx.d.next = 0.into();
            self.cyc.d.next = false;
            self.we.d.next = false;
        }
    }
}

impl Default for SpiBridge {
    fn default() -> Self {
        SpiBridge {
            clk: Default::default(),
            rst: Default::default(),
            sck: Default::default(),
            cs_n: Default::default(),
            mosi: Default::default(),
            miso: Default::default(),
            wb_adr: Default::default(),
            wb_dat_w: Default::default(),
            wb_dat_r: Default::default(),
            wb_we: Default::default(),
            wb_sel: Default::default(),
            wb_stb: Default::default(),
            wb_cyc: Default::default(),
            wb_ack: Default::default(),
            sck1: Default::default(),
            sck2: Default::default(),
            sck3: Default::default(),
            cs1: Default::default(),
            cs2: Default::default(),
            mosi1: Default::default(),
            mosi2: Default::default(),
            bitcnt: Default::default(),
            shift_in: Default::default(),
            byte_idx: Default::default(),
            dbyte: Default::default(),
            addr: Default::default(),
            wdata: Default::default(),
            tx: Default::default(),
            rbuf: Default::default(),
            cyc: Default::default(),
            we: Default::default(),
            adr: Default::default(),
            dat_w: Default::default(),
            c_read: Constant::new((CMD_READ as u64).into()),
            c_write: Constant::new((CMD_WRITE as u64).into()),
            rise: Default::default(),
            byte_done: Default::default(),
            byte_in: Default::default(),
            addr_next: Default::default(),
            addr_inc: Default::default(),
            word_in: Default::default(),
            is_read: Default::default(),
            is_write: Default::default(),
            bit7: Default::default(),
        }
    }
}

/// The standalone top: internal power-on reset, [`SpiBridge`] and [`TbnCore`].
///
/// Ports: `clk`, `sck`, `cs_n`, `mosi` (in), `miso`, `irq` (out). The
/// power-on reset holds the core and the bridge in reset for the first
/// [`POR_CYCLES`] cycles after configuration (its counter starts at 0, the
/// iCE40/ECP5 flip-flop power-up value); afterwards `CTRL.SOFT_RESET` over SPI
/// is the reset.
#[derive(LogicBlock)]
pub struct TbnSpiTop<const L: usize, const W: usize, const N: usize> {
    /// System clock.
    pub clk: Signal<In, Clock>,
    /// SPI clock.
    pub sck: Signal<In, Bit>,
    /// SPI chip select, active low.
    pub cs_n: Signal<In, Bit>,
    /// SPI data in.
    pub mosi: Signal<In, Bit>,
    /// SPI data out.
    pub miso: Signal<Out, Bit>,
    /// Interrupt (level, active high).
    pub irq: Signal<Out, Bit>,
    por: DFF<Bits<4>>,
    por_rst: Signal<Local, Bit>,
    bridge: SpiBridge,
    core: TbnCore<L, W, N>,
}

impl<const L: usize, const W: usize, const N: usize> TbnSpiTop<L, W, N> {
    /// A standalone top around a core with the given capacities.
    pub fn new(tile_max: usize, max_in: usize, max_rows: usize) -> Self {
        TbnSpiTop {
            clk: Default::default(),
            sck: Default::default(),
            cs_n: Default::default(),
            mosi: Default::default(),
            miso: Default::default(),
            irq: Default::default(),
            por: Default::default(),
            por_rst: Default::default(),
            bridge: Default::default(),
            core: TbnCore::new(tile_max, max_in, max_rows),
        }
    }
}

impl<const L: usize, const W: usize, const N: usize> Logic for TbnSpiTop<L, W, N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, por);
        self.por_rst.next = self.por.q.val() != 15;
        if self.por_rst.val() {
            self.por.d.next = self.por.q.val() + 1;
        }
        self.bridge.clk.next = self.clk.val();
        self.core.clk.next = self.clk.val();
        self.bridge.rst.next = self.por_rst.val();
        self.core.rst.next = self.por_rst.val();
        self.bridge.sck.next = self.sck.val();
        self.bridge.cs_n.next = self.cs_n.val();
        self.bridge.mosi.next = self.mosi.val();
        self.miso.next = self.bridge.miso.val();
        self.irq.next = self.core.irq.val();
        self.core.wb_adr.next = self.bridge.wb_adr.val();
        self.core.wb_dat_w.next = self.bridge.wb_dat_w.val();
        self.core.wb_we.next = self.bridge.wb_we.val();
        self.core.wb_sel.next = self.bridge.wb_sel.val();
        self.core.wb_stb.next = self.bridge.wb_stb.val();
        self.core.wb_cyc.next = self.bridge.wb_cyc.val();
        self.bridge.wb_dat_r.next = self.core.wb_dat_r.val();
        self.bridge.wb_ack.next = self.core.wb_ack.val();
    }
}

/// The SPI bytes of a burst write frame of `words` at byte address `addr`.
pub fn write_frame(addr: u32, words: &[u32]) -> Vec<u8> {
    let mut f = vec![CMD_WRITE];
    f.extend_from_slice(&addr.to_be_bytes()[1..]);
    for w in words {
        f.extend_from_slice(&w.to_be_bytes());
    }
    f
}

/// The SPI bytes (MOSI) of a burst read frame of `n` words at byte address `addr`.
pub fn read_frame(addr: u32, n: usize) -> Vec<u8> {
    let mut f = vec![0u8; 4 + READ_DUMMY_BYTES + 4 * n];
    f[0] = CMD_READ;
    f[1..4].copy_from_slice(&addr.to_be_bytes()[1..]);
    f
}

/// The words of a read frame's MISO bytes (as returned for [`read_frame`]).
pub fn read_frame_words(miso: &[u8]) -> Vec<u32> {
    miso.get(4 + READ_DUMMY_BYTES..)
        .unwrap_or(&[])
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
