//! SPI-to-Wishbone bridge and the standalone tops `tbn_spi_top` (single-layer
//! core) and `tbn_net_spi_top` (whole-network engine).
//!
//! The bridge is an SPI mode-0 slave (CPOL = 0, CPHA = 0, MSB first) whose
//! serial side is clocked by SCK itself, so the link runs at SCK rates up to
//! the system clock's ([`MAX_SCK_PER_CLK`]) instead of a quarter of it:
//!
//! - **SCK domain** (rising SCK edges): a 5-bit bit counter and a 31-bit
//!   shift register assemble 32-bit words (the command byte and the 3 address
//!   bytes form the first word, the *header*). At each completed word the
//!   bridge copies it into a holding register and toggles a request flip-flop;
//!   in a read frame it instead loads the transmit register from the core's
//!   read buffer and toggles the request (fetch the next word). (Behind
//!   `NetTop`, whose read data holds until its next read, the transmit
//!   register loads the bus's read data directly:
//!   [`SpiBridge::for_held_read_data`].)
//! - **Falling SCK edges**: one flip-flop drives MISO from the transmit
//!   register's MSB, half an SCK period before the master samples it.
//! - **Frame start**: a flip-flop clocked by the rising `cs_n` edge toggles at
//!   every frame end; the first SCK edge of the next frame sees it differ from
//!   its copy and restarts the frame state (no asynchronous reset needed).
//! - **Clock-domain crossing** (toggle handshake): the request toggle crosses
//!   into the system clock domain through a 2-flip-flop synchroniser; the
//!   holding register is stable for the 32 SCK periods until the next word,
//!   so the core domain reads it directly. The core domain answers with
//!   Wishbone cycles (header: latch the address, start the first read; write
//!   data: one write; read request: prefetch the next word into the read
//!   buffer), which the SCK domain samples only a documented number of SCK
//!   cycles later (the dummy byte for the first word, a whole word for the
//!   others).
//!
//! # Framing (see docs/register-map.md, "SPI framing")
//!
//! One frame is one `cs_n` low period: a command byte, 3 address bytes (byte
//! address, big-endian; bits 19:2 form the Wishbone word address
//! ([`WB_ADDR_BITS`] bits, `tbn_driver::regmap::WB_ADDR_BITS`), bits 1:0 and
//! 23:20 are ignored; the single-layer top [`TbnSpiTop`] uses bits 18:2 of
//! them), then data:
//!
//! - [`CMD_WRITE`] `0x02`: 4-byte big-endian words; each complete word is
//!   written at the address, which then increments by 4. An incomplete
//!   trailing word is dropped.
//! - [`CMD_READ`] `0x03`: [`READ_DUMMY_BYTES`] turnaround byte (MISO 0), then
//!   4-byte big-endian words on MISO for as long as the master clocks; the
//!   address increments by 4 per word. The bridge reads ahead: a frame reads
//!   up to 2 words past the last word clocked out (reads in this map have no
//!   side effects).
//! - [`CMD_QWRITE`] `0x38` (quad, 1-4-4): the command byte on IO0 (`mosi`),
//!   then the 3 address bytes and the data words a nibble per SCK cycle on
//!   IO0..IO3 (`mosi`, `qd_in[2:0]`; IO3 is bit 3, high nibble first), no
//!   turnaround; `miso_oe` is 0 from the rising edge that completes the
//!   command byte to the end of the frame (IO1 is then an input).
//! - any other command: the rest of the frame is ignored, MISO stays 0.
//!
//! Timing (the master's side): MISO changes after each falling SCK edge, the
//! master samples at the rising edge. `f_sck <= MAX_SCK_PER_CLK * f_clk`
//! (the read's first word must be fetched within the 8 dummy SCK periods:
//! [`READ_FETCH_MAX_CYCLES`] system clock cycles); `cs_n` high for at least
//! [`CS_HIGH_MIN_SCK`] SCK period between frames.

use crate::core::TbnCore;
use crate::nettop::NetTop;
use rust_hdl::prelude::*;

/// SPI command byte: burst write (`tbn_driver::regmap::SPI_CMD_WRITE`).
pub const CMD_WRITE: u8 = tbn_driver::regmap::SPI_CMD_WRITE;
/// SPI command byte: burst read (`tbn_driver::regmap::SPI_CMD_READ`).
pub const CMD_READ: u8 = tbn_driver::regmap::SPI_CMD_READ;
/// SPI command byte: quad burst write, 1-4-4 (command on IO0, address and
/// data on IO0..IO3; `tbn_driver::regmap::SPI_CMD_QWRITE`).
pub const CMD_QWRITE: u8 = tbn_driver::regmap::SPI_CMD_QWRITE;
/// Turnaround bytes between a read's address and its first data byte.
pub const READ_DUMMY_BYTES: usize = tbn_driver::regmap::SPI_READ_DUMMY_BYTES as usize;
const _: () = assert!(
    READ_DUMMY_BYTES == 1,
    "the bridge implements one dummy byte"
);
/// Largest supported ratio `f_sck / f_clk` (verified in simulation with
/// independent clocks and random phase, docs/register-map.md).
pub const MAX_SCK_PER_CLK: f64 = tbn_driver::regmap::SPI_MAX_SCK_PER_CLK;
/// Smallest supported ratio `f_clk / f_sck` (rounded up to an integer): 1,
/// SCK may run as fast as the system clock. (Before the SCK-clocked bridge it
/// was 4.)
pub const MIN_CLOCK_RATIO: usize = 1;
/// System clock cycles from the rising SCK edge that completes a read's
/// header to the first word in the read buffer, at most (2-flip-flop
/// synchroniser, accept, Wishbone read with 2 wait states, capture, plus one
/// cycle of phase): the 8 dummy SCK periods must cover it.
pub const READ_FETCH_MAX_CYCLES: usize = 7;
/// SCK periods `cs_n` must stay high between frames, at least.
pub const CS_HIGH_MIN_SCK: usize = 1;
/// Cycles the standalone top holds its internal power-on reset.
pub const POR_CYCLES: usize = 15;
/// Name of the standalone top module (single-layer core).
pub const SPI_TOP: &str = "tbn_spi_top";
/// Name of the whole-network engine's standalone top module ([`TbnNetSpiTop`]).
pub const NET_SPI_TOP: &str = "tbn_net_spi_top";
/// Width of the bridge's Wishbone word address (byte address bits 19:2).
pub const WB_ADDR_BITS: usize = tbn_driver::regmap::WB_ADDR_BITS as usize;
const _: () = assert!(WB_ADDR_BITS == 18, "the bridge's wb_adr is 18 bits wide");

/// The standalone top's pins, one name per FPGA pin (bus bits as nextpnr names them).
pub const SPI_TOP_PINS: [&str; 10] = [
    "clk", "sck", "cs_n", "mosi", "qd_in[0]", "qd_in[1]", "qd_in[2]", "miso", "miso_oe", "irq",
];

/// The SPI-to-Wishbone bridge (SPI mode 0 slave, Wishbone B4 classic master),
/// serial side clocked by `sck` (see the module documentation).
///
/// `rst` resets the system clock side only; the SCK side needs no reset (its
/// flip-flops start at 0, and every frame restarts it).
#[derive(LogicBlock)]
pub struct SpiBridge {
    /// System clock.
    pub clk: Signal<In, Clock>,
    /// Synchronous reset of the system clock side, active high.
    pub rst: Signal<In, Bit>,
    /// SPI clock (asynchronous to `clk`; clocks the serial side).
    pub sck: Signal<In, Bit>,
    /// SPI chip select, active low (its rising edge ends a frame).
    pub cs_n: Signal<In, Bit>,
    /// SPI master out, slave in (sampled at rising SCK edges).
    pub mosi: Signal<In, Bit>,
    /// SPI master in, slave out (changes after falling SCK edges).
    pub miso: Signal<Out, Bit>,
    /// Quad data lines IO1..IO3 in (bit 0 = IO1; IO0 is `mosi`), sampled at
    /// rising SCK edges during a [`CMD_QWRITE`] frame's address and data.
    pub qd_in: Signal<In, Bits<3>>,
    /// Output enable of the MISO (IO1) pad: 0 while a [`CMD_QWRITE`] frame
    /// drives IO1 from the master (from the edge that completes the command
    /// byte to the end of the frame), else 1.
    pub miso_oe: Signal<Out, Bit>,
    /// Wishbone word address (byte address bits 19:2).
    pub wb_adr: Signal<Out, Bits<18>>,
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
    // clocks derived from the pins
    sck_clk: Signal<Local, Clock>,
    sck_fall: Signal<Local, Clock>,
    cs_clk: Signal<Local, Clock>,
    // cs_n rising edge domain
    f_tog: DFF<Bit>,
    // SCK domain
    s_seen: DFF<Bit>,
    s_cnt: DFF<Bits<5>>,
    s_sr: DFF<Bits<31>>,
    s_last: DFF<Bit>,
    s_data: DFF<Bit>,
    s_nocap: DFF<Bit>,
    s_rdq: DFF<Bit>,
    s_noevt: DFF<Bit>,
    s_load: DFF<Bit>,
    s_isrd: DFF<Bit>,
    s_iswr: DFF<Bit>,
    s_quad: DFF<Bit>,
    c_qwrite: Constant<Bits<8>>,
    s_dv: DFF<Bit>,
    s_tx: DFF<Bits<32>>,
    s_tog: DFF<Bit>,
    h_word: DFF<Bits<32>>,
    h_hdr: DFF<Bit>,
    // falling SCK edges
    m_out: DFF<Bit>,
    // system clock domain
    c_s1: DFF<Bit>,
    c_s2: DFF<Bit>,
    c_seen: DFF<Bit>,
    c_rd: DFF<Bit>,
    c_wr: DFF<Bit>,
    cyc: DFF<Bit>,
    we: DFF<Bit>,
    adr: DFF<Bits<18>>,
    rbuf: DFF<Bits<32>>,
    /// The slave holds its read data until its next read completes: the
    /// transmit register loads `wb_dat_r` itself and `rbuf` goes unused.
    c_held: Constant<Bit>,
    c_read: Constant<Bits<8>>,
    c_write: Constant<Bits<8>>,
    new_frame: Signal<Local, Bit>,
    cnt: Signal<Local, Bits<5>>,
    last: Signal<Local, Bit>,
    hdr_done: Signal<Local, Bit>,
    cap: Signal<Local, Bit>,
    load: Signal<Local, Bit>,
    quad: Signal<Local, Bit>,
    evt: Signal<Local, Bit>,
    word_in: Signal<Local, Bits<32>>,
    cmd_in: Signal<Local, Bits<8>>,
    rd_word: Signal<Local, Bits<32>>,
    pending: Signal<Local, Bit>,
}

impl Logic for SpiBridge {
    #[hdl_gen]
    fn update(&mut self) {
        self.sck_clk.next = self.sck.val().into();
        self.sck_fall.next = (!self.sck.val()).into();
        self.cs_clk.next = self.cs_n.val().into();
        dff_setup!(self, cs_clk, f_tog);
        dff_setup!(
            self, sck_clk, s_seen, s_cnt, s_sr, s_last, s_data, s_nocap, s_rdq, s_noevt, s_load,
            s_isrd, s_iswr, s_quad, s_dv, s_tx, s_tog, h_word, h_hdr
        );
        dff_setup!(self, sck_fall, m_out);
        dff_setup!(self, clk, c_s1, c_s2, c_seen, c_rd, c_wr, cyc, we, adr, rbuf);
        // ---- frame end: toggles at each rising cs_n edge
        self.f_tog.d.next = !self.f_tog.q.val();
        // ---- SCK domain: the first edge of a frame sees f_tog != s_seen.
        // The enables of the 32-bit registers are one LUT deep: `s_last`
        // (this edge completes a word), `s_nocap` (a completed word does not
        // go to the holding register; 0 for the header and write data, and at
        // power-up) and `s_rdq` (read data: load the transmit register) are
        // flip-flops.
        self.new_frame.next = self.s_seen.q.val() != self.f_tog.q.val();
        self.cnt.next = self.s_cnt.q.val();
        if self.new_frame.val() {
            self.cnt.next = 0.into();
        }
        self.last.next = self.s_last.q.val() & !self.new_frame.val();
        self.hdr_done.next = self.last.val() & !self.s_data.q.val();
        self.cap.next = self.last.val() & !self.s_nocap.q.val();
        self.load.next = self.s_load.q.val();
        // a handshake event (header, write word or read word): one LUT of flops
        self.evt.next = self.last.val() & !self.s_noevt.q.val();
        // quad frames: a nibble per edge, IO3 first (`s_quad` is 0 on a
        // frame's first edge: set from the command byte on)
        self.word_in.next = (bit_cast::<32, 31>(self.s_sr.q.val()) << 1)
            | bit_cast::<32, 1>(self.mosi.val().into());
        // `s_quad` is stale on a frame's first edge: gated
        self.quad.next = self.s_quad.q.val() & !self.new_frame.val();
        if self.quad.val() {
            self.word_in.next = (bit_cast::<32, 31>(self.s_sr.q.val()) << 4)
                | (bit_cast::<32, 3>(self.qd_in.val()) << 1)
                | bit_cast::<32, 1>(self.mosi.val().into());
        }
        self.s_seen.d.next = self.f_tog.q.val();
        self.s_sr.d.next = self.word_in.val().get_bits::<31>(0);
        self.s_cnt.d.next = self.cnt.val() + 1;
        self.s_last.d.next = !self.new_frame.val() & (self.s_cnt.q.val() == 30);
        if self.quad.val() {
            // counts 11, 15, .., 31 in the header, 3, 7, .., 31 per data word
            self.s_cnt.d.next = self.cnt.val() + 4;
            self.s_last.d.next = !self.new_frame.val() & (self.s_cnt.q.val() == 27);
        }
        // the next edge loads a read word (registered: no frame-start gate, so
        // after a read frame aborted 1 bit before a word boundary the next
        // frame's first edge reloads the transmit register; harmless: the
        // request toggle is gated by `evt`, and MISO stays 0 because `s_dv`
        // is cleared with priority)
        self.s_load.d.next =
            !self.new_frame.val() & (self.s_cnt.q.val() == 30) & self.s_rdq.q.val();
        // the command byte always arrives on MOSI alone (quad starts after
        // it): decoded from the shift register and MOSI, not through the
        // quad multiplexer of `word_in`
        self.cmd_in.next =
            (self.s_sr.q.val().get_bits::<8>(0) << 1) | bit_cast::<8, 1>(self.mosi.val().into());
        if (self.cnt.val() == 7) & !self.s_data.q.val() {
            // the command byte is complete: decode it now, off the word-end path
            self.s_isrd.d.next = self.cmd_in.val() == self.c_read.val();
            self.s_iswr.d.next = (self.cmd_in.val() == self.c_write.val())
                | (self.cmd_in.val() == self.c_qwrite.val());
            if self.cmd_in.val() == self.c_qwrite.val() {
                // address and data on 4 lines from the next edge
                self.s_quad.d.next = true;
                self.s_cnt.d.next = 11.into();
            }
        }
        if self.new_frame.val() {
            self.s_data.d.next = false;
            self.s_nocap.d.next = false;
            self.s_noevt.d.next = false;
            self.s_rdq.d.next = false;
            self.s_quad.d.next = false;
        }
        if self.last.val() {
            self.s_data.d.next = true;
        }
        if self.hdr_done.val() {
            // header: command and address
            self.s_nocap.d.next = !self.s_iswr.q.val();
            self.s_rdq.d.next = self.s_isrd.q.val();
            self.s_noevt.d.next = !(self.s_iswr.q.val() | self.s_isrd.q.val());
            if self.s_isrd.q.val() {
                // the dummy byte: the next word boundary is 8 bits away
                self.s_cnt.d.next = 24.into();
            }
        }
        self.s_tx.d.next = self.s_tx.q.val() << 1;
        self.rd_word.next = self.rbuf.q.val();
        if self.c_held.val() {
            self.rd_word.next = self.wb_dat_r.val();
        }
        if self.cap.val() {
            // header or write data word
            self.h_word.d.next = self.word_in.val();
        }
        if self.load.val() {
            // read: shift out the fetched word
            self.s_tx.d.next = self.rd_word.val();
            self.s_dv.d.next = true;
        }
        if self.evt.val() {
            // hand the word over / request the next read
            self.h_hdr.d.next = !self.s_data.q.val();
            self.s_tog.d.next = !self.s_tog.q.val();
        }
        if self.new_frame.val() {
            self.s_dv.d.next = false;
        }
        // ---- falling SCK edges: MISO (0 until the frame's first read word)
        self.m_out.d.next = self.s_tx.q.val().get_bit(31) & self.s_dv.q.val();
        self.miso.next = self.m_out.q.val() & !self.new_frame.val();
        self.miso_oe.next = !self.quad.val();
        // ---- system clock domain: synchronise the request toggle
        self.c_s1.d.next = self.s_tog.q.val();
        self.c_s2.d.next = self.c_s1.q.val();
        self.pending.next = self.c_s2.q.val() != self.c_seen.q.val();
        self.wb_adr.next = self.adr.q.val();
        self.wb_dat_w.next = self.h_word.q.val();
        self.wb_we.next = self.we.q.val();
        self.wb_sel.next = 15.into();
        self.wb_stb.next = self.cyc.q.val();
        self.wb_cyc.next = self.cyc.q.val();
        if self.cyc.q.val() & self.wb_ack.val() {
            self.cyc.d.next = false;
            self.adr.d.next = self.adr.q.val() + 1;
            if !self.we.q.val() {
                self.rbuf.d.next = self.wb_dat_r.val();
            }
        }
        if !self.cyc.q.val() & self.pending.val() {
            self.c_seen.d.next = self.c_s2.q.val();
            if self.h_hdr.q.val() {
                self.adr.d.next = self.h_word.q.val().get_bits::<18>(2);
                self.c_rd.d.next = self.h_word.q.val().get_bits::<8>(24) == self.c_read.val();
                self.c_wr.d.next = (self.h_word.q.val().get_bits::<8>(24) == self.c_write.val())
                    | (self.h_word.q.val().get_bits::<8>(24) == self.c_qwrite.val());
                if self.h_word.q.val().get_bits::<8>(24) == self.c_read.val() {
                    self.cyc.d.next = true;
                    self.we.d.next = false;
                }
            } else {
                if self.c_rd.q.val() {
                    self.cyc.d.next = true;
                    self.we.d.next = false;
                }
                if self.c_wr.q.val() {
                    self.cyc.d.next = true;
                    self.we.d.next = true;
                }
            }
        }
        if self.rst.val() {
            self.c_seen.d.next = self.c_s2.q.val();
            self.c_rd.d.next = false;
            self.c_wr.d.next = false;
            self.cyc.d.next = false;
            self.we.d.next = false;
        }
    }
}

impl Default for SpiBridge {
    fn default() -> Self {
        Self::with_read_buffer(true)
    }
}

impl SpiBridge {
    /// The bridge for a Wishbone slave that holds its read data (`wb_dat_r`)
    /// from the acknowledge of a read until its next read completes, as
    /// [`NetTop`]'s registered read data does: the transmit register loads
    /// the word from the bus itself (the fetched word is stable there for
    /// as long as it is in the read buffer: the bridge is the only master
    /// and requests the next read only at the SCK edge that loads it), so
    /// the bridge needs no read buffer of its own.
    pub fn for_held_read_data() -> Self {
        Self::with_read_buffer(false)
    }

    fn with_read_buffer(rbuf: bool) -> Self {
        SpiBridge {
            clk: Default::default(),
            rst: Default::default(),
            sck: Default::default(),
            cs_n: Default::default(),
            mosi: Default::default(),
            miso: Default::default(),
            qd_in: Default::default(),
            miso_oe: Default::default(),
            wb_adr: Default::default(),
            wb_dat_w: Default::default(),
            wb_dat_r: Default::default(),
            wb_we: Default::default(),
            wb_sel: Default::default(),
            wb_stb: Default::default(),
            wb_cyc: Default::default(),
            wb_ack: Default::default(),
            sck_clk: Default::default(),
            sck_fall: Default::default(),
            cs_clk: Default::default(),
            f_tog: Default::default(),
            s_seen: Default::default(),
            s_cnt: Default::default(),
            s_sr: Default::default(),
            s_last: Default::default(),
            s_data: Default::default(),
            s_nocap: Default::default(),
            s_rdq: Default::default(),
            s_noevt: Default::default(),
            s_load: Default::default(),
            s_isrd: Default::default(),
            s_iswr: Default::default(),
            s_quad: Default::default(),
            c_qwrite: Constant::new((CMD_QWRITE as u64).into()),
            s_dv: Default::default(),
            s_tx: Default::default(),
            s_tog: Default::default(),
            h_word: Default::default(),
            h_hdr: Default::default(),
            m_out: Default::default(),
            c_s1: Default::default(),
            c_s2: Default::default(),
            c_seen: Default::default(),
            c_rd: Default::default(),
            c_wr: Default::default(),
            cyc: Default::default(),
            we: Default::default(),
            adr: Default::default(),
            rbuf: Default::default(),
            c_held: Constant::new(!rbuf),
            c_read: Constant::new((CMD_READ as u64).into()),
            c_write: Constant::new((CMD_WRITE as u64).into()),
            new_frame: Default::default(),
            cnt: Default::default(),
            last: Default::default(),
            hdr_done: Default::default(),
            cap: Default::default(),
            load: Default::default(),
            quad: Default::default(),
            evt: Default::default(),
            word_in: Default::default(),
            cmd_in: Default::default(),
            rd_word: Default::default(),
            pending: Default::default(),
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
    /// SPI data out (IO1).
    pub miso: Signal<Out, Bit>,
    /// Quad data lines IO1..IO3 in (bit 0 = IO1), for [`CMD_QWRITE`] frames.
    pub qd_in: Signal<In, Bits<3>>,
    /// Output enable for the MISO (IO1) pad (0 while a quad write drives it).
    pub miso_oe: Signal<Out, Bit>,
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
            qd_in: Default::default(),
            miso_oe: Default::default(),
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
        self.bridge.qd_in.next = self.qd_in.val();
        self.miso_oe.next = self.bridge.miso_oe.val();
        self.irq.next = self.core.irq.val();
        // the single-layer map spans byte addresses below 2^19 (bit 19 ignored)
        self.core.wb_adr.next = self.bridge.wb_adr.val().get_bits::<17>(0);
        self.core.wb_dat_w.next = self.bridge.wb_dat_w.val();
        self.core.wb_we.next = self.bridge.wb_we.val();
        self.core.wb_sel.next = self.bridge.wb_sel.val();
        self.core.wb_stb.next = self.bridge.wb_stb.val();
        self.core.wb_cyc.next = self.bridge.wb_cyc.val();
        self.bridge.wb_dat_r.next = self.core.wb_dat_r.val();
        self.bridge.wb_ack.next = self.core.wb_ack.val();
    }
}

/// The whole-network engine's standalone top (module [`NET_SPI_TOP`]):
/// internal power-on reset, [`SpiBridge`] and [`NetTop`] (the engine's
/// Wishbone slave, top `tbn_net_core` on its own).
///
/// The same pins as [`TbnSpiTop`] ([`SPI_TOP_PINS`]: `clk`, `sck`, `cs_n`,
/// `mosi`, `qd_in[2:0]` in, `miso`, `miso_oe`, `irq` out), so the board
/// files of `tbn_spi_top` apply. The bridge's whole 18-bit word address goes
/// to the engine (the IMAGE window is byte address bit 19). The power-on
/// reset holds the bridge and the engine for the first [`POR_CYCLES`]
/// cycles; afterwards `CTRL.SOFT_RESET` over SPI is the reset.
#[derive(LogicBlock)]
pub struct TbnNetSpiTop<const L: usize, const W: usize, const N: usize> {
    /// System clock.
    pub clk: Signal<In, Clock>,
    /// SPI clock.
    pub sck: Signal<In, Bit>,
    /// SPI chip select, active low.
    pub cs_n: Signal<In, Bit>,
    /// SPI data in (IO0).
    pub mosi: Signal<In, Bit>,
    /// SPI data out (IO1).
    pub miso: Signal<Out, Bit>,
    /// Quad data lines IO1..IO3 in (bit 0 = IO1), for [`CMD_QWRITE`] frames.
    pub qd_in: Signal<In, Bits<3>>,
    /// Output enable for the MISO (IO1) pad (0 while a quad write drives it).
    pub miso_oe: Signal<Out, Bit>,
    /// Interrupt (level, active high): IRQ_ENABLE and (DONE or ERROR).
    pub irq: Signal<Out, Bit>,
    por: DFF<Bits<4>>,
    por_rst: Signal<Local, Bit>,
    /// The power-on reset, registered (it fans out to the whole engine).
    rst_q: DFF<Bit>,
    bridge: SpiBridge,
    /// The engine behind its Wishbone slave (public for observation in tests).
    pub net: NetTop<L, W, N>,
}

impl<const L: usize, const W: usize, const N: usize> TbnNetSpiTop<L, W, N> {
    /// The top for `cfg` with a weight memory of `weight_bits` bits (see
    /// [`crate::netcore::net_target`]).
    pub fn new(cfg: &crate::Config, weight_bits: usize) -> Self {
        Self::with_mem(cfg, &crate::netcore::NetMem::new(cfg, weight_bits))
    }

    /// The top for `cfg` with the engine memories `mem` (e.g.
    /// [`crate::netcore::NetMem::up5k`]).
    pub fn with_mem(cfg: &crate::Config, mem: &crate::netcore::NetMem) -> Self {
        TbnNetSpiTop {
            clk: Default::default(),
            sck: Default::default(),
            cs_n: Default::default(),
            mosi: Default::default(),
            miso: Default::default(),
            qd_in: Default::default(),
            miso_oe: Default::default(),
            irq: Default::default(),
            por: Default::default(),
            por_rst: Default::default(),
            rst_q: Default::default(),
            bridge: SpiBridge::for_held_read_data(),
            net: NetTop::for_held_requests(cfg, mem),
        }
    }
}

impl<const L: usize, const W: usize, const N: usize> Logic for TbnNetSpiTop<L, W, N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clk, por, rst_q);
        self.por_rst.next = self.por.q.val() != 15;
        if self.por_rst.val() {
            self.por.d.next = self.por.q.val() + 1;
        }
        self.rst_q.d.next = self.por_rst.val();
        self.bridge.clk.next = self.clk.val();
        self.net.clk.next = self.clk.val();
        self.bridge.rst.next = self.rst_q.q.val();
        self.net.rst.next = self.rst_q.q.val();
        self.bridge.sck.next = self.sck.val();
        self.bridge.cs_n.next = self.cs_n.val();
        self.bridge.mosi.next = self.mosi.val();
        self.miso.next = self.bridge.miso.val();
        self.bridge.qd_in.next = self.qd_in.val();
        self.miso_oe.next = self.bridge.miso_oe.val();
        self.irq.next = self.net.irq.val();
        self.net.wb_adr.next = self.bridge.wb_adr.val();
        self.net.wb_dat_w.next = self.bridge.wb_dat_w.val();
        self.net.wb_we.next = self.bridge.wb_we.val();
        self.net.wb_sel.next = self.bridge.wb_sel.val();
        self.net.wb_stb.next = self.bridge.wb_stb.val();
        self.net.wb_cyc.next = self.bridge.wb_cyc.val();
        self.bridge.wb_dat_r.next = self.net.wb_dat_r.val();
        self.bridge.wb_ack.next = self.net.wb_ack.val();
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
