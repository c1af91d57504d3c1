//! Firmware-in-the-loop co-simulation (`tbn cosim`): the Cortex-M4F firmware
//! (QEMU mps2-an386) drives the accelerator RTL through `tbn_driver`'s
//! `SpiBus` over an embedded-hal 1.0 `SpiDevice` whose frames travel over the
//! CMSDK UART0 to the host bridge (`tbn_sim::cosim`), which plays them bit by
//! bit into the Verilated engine SPI top.
//!
//! Embeds (from `gen-cosim/`, written by `tbn cosim`): the model image
//! (`tbn_host::compile`), the compact integer program for the MCU kernel, N
//! test images, the golden logits and classes, and a fault-mode word. Loads
//! the image once, classifies every image through the accelerator and with
//! its own kernel, checks logits and classes against golden, measures per
//! inference the instructions spent in the driver and in the transport
//! (SysTick under `-icount`, wrap-counted, calibrated against a loop of known
//! length), and prints one JSON line over semihosting. Exit status 0 when
//! everything matched, 1 otherwise (a driver error is reported with its type).
//!
//! Framing of the UART channel: docs/simulation.md ("Firmware-in-the-loop
//! co-simulation"); the host's side is `tbn_sim::cosim`.
#![no_std]
#![no_main]

use core::fmt::Write as _;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::{syst::SystClkSource, SYST};
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hio};
use embedded_hal::spi::{ErrorKind, ErrorType, Operation, SpiDevice};
use tbn_driver::bus::{Bus, SpiBus};
use tbn_driver::driver::{DriverError, Tbn};
use tbn_driver::kernel::{self, Workspace};
use tbn_driver::program::Program;
use tbn_driver::regmap as rm;
use tbn_firmware::{le_i64, le_u32, Aligned, Buf, Esc};

static IMAGE: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/gen-cosim/image.bin"
)));
static PROGRAM: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/gen-cosim/program.bin"
)));
static IMAGES: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/gen-cosim/images.bin"));
static EXPECTED: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/gen-cosim/expected.bin"
)));

/// Fault modes (`gen-cosim/expected.bin` word 4; the header is "TBNC", images,
/// logits per image, input length, fault mode, UART wait polls): skip `load_model` and
/// start an INFER with a raw register write (the chip's NO_MODEL core error).
const FAULT_INFER_WITHOUT_MODEL: u32 = 1;
/// Fault mode: load a copy of the image with a corrupted header.
const FAULT_CORRUPT_IMAGE: u32 = 2;

// ----------------------------------------------------------------- clock

/// SysTick wraps (reload 2^24 - 1, counted by the exception).
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// SysTick ticks since start (wrap-counted, 64-bit).
fn now() -> u64 {
    loop {
        let w1 = WRAPS.load(Ordering::Relaxed);
        let v = SYST::get_current();
        let w2 = WRAPS.load(Ordering::Relaxed);
        if w1 == w2 {
            return ((w1 as u64) << 24) + (0x00FF_FFFF - v) as u64;
        }
    }
}

/// Ticks to instructions by the calibration (`calib_instr` instructions took
/// `calib_ticks` ticks).
#[derive(Clone, Copy)]
struct Calib {
    instr: u64,
    ticks: u64,
}

impl Calib {
    fn instr(&self, ticks: u64) -> u64 {
        (ticks * self.instr + self.ticks / 2) / self.ticks.max(1)
    }
}

// ------------------------------------------------------------ transport

/// CMSDK APB UART0 of mps2-an386.
const UART0: usize = 0x4000_4000;
const UART_DATA: usize = 0x00;
const UART_STATE: usize = 0x04;
const UART_CTRL: usize = 0x08;
const UART_BAUDDIV: usize = 0x10;
const STATE_TXFULL: u32 = 1;
const STATE_RXFULL: u32 = 2;
/// Polls of the UART state before a wait is a timeout (the bridge is
/// stalled); set from `gen-cosim/expected.bin` (word 5).
static WAIT_POLLS: AtomicU32 = AtomicU32::new(20_000_000);

const REQ_MAGIC: u8 = 0xA5;
const REP_MAGIC: u8 = 0x5A;
const KIND_XFER: u8 = b'X';
const KIND_MARK: u8 = b'M';
const KIND_DONE: u8 = b'D';
const MARK_BEGIN: u8 = 1;
const MARK_END: u8 = 2;
/// Longest SPI frame the transport carries (the driver's is 5 + 4 * 64).
const MAX_FRAME: usize = 512;

/// Why a transport transaction failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TransportError {
    /// No byte within [`WAIT_POLLS`] polls (sending or receiving).
    Timeout { receiving: bool },
    /// The reply's check byte does not match.
    BadCheck { got: u8, want: u8 },
    /// The reply's header does not answer the request (magic, kind, seq, length).
    BadReply { what: &'static str },
    /// The bridge answered with an error status.
    HostStatus { status: u8 },
    /// The frame is longer than [`MAX_FRAME`].
    TooLong { len: usize },
}

impl embedded_hal::spi::Error for TransportError {
    fn kind(&self) -> ErrorKind {
        match self {
            TransportError::BadCheck { .. } | TransportError::BadReply { .. } => {
                ErrorKind::FrameFormat
            }
            _ => ErrorKind::Other,
        }
    }
}

/// What the transport spent.
#[derive(Clone, Copy, Default)]
struct TransportStats {
    /// Ticks inside the transport, waits included.
    ticks: u64,
    /// Of which waiting for the UART (the host's simulation time).
    wait_ticks: u64,
    /// SPI frames.
    frames: u64,
}

/// An embedded-hal `SpiDevice` whose chip-select periods are frames over UART0.
struct UartSpi {
    seq: u8,
    last_end: u64,
    calib: Calib,
    stats: TransportStats,
    last_error: Option<TransportError>,
    mosi: [u8; MAX_FRAME],
}

fn reg(off: usize) -> *mut u32 {
    (UART0 + off) as *mut u32
}

fn crc8_update(mut c: u8, bytes: &[u8]) -> u8 {
    for &b in bytes {
        c = CRC8[(c ^ b) as usize];
    }
    c
}

/// CRC-8, polynomial 0x07 (table).
static CRC8: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u8;
        let mut k = 0;
        while k < 8 {
            c = if c & 0x80 != 0 {
                (c << 1) ^ 0x07
            } else {
                c << 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

impl UartSpi {
    fn new(calib: Calib) -> UartSpi {
        // SAFETY: UART0's registers on mps2-an386; only this driver uses them.
        unsafe {
            core::ptr::write_volatile(reg(UART_BAUDDIV), 16);
            core::ptr::write_volatile(reg(UART_CTRL), 3); // TX and RX enabled
        }
        UartSpi {
            seq: 0,
            last_end: now(),
            calib,
            stats: TransportStats::default(),
            last_error: None,
            mosi: [0; MAX_FRAME],
        }
    }

    fn state() -> u32 {
        // SAFETY: as in new.
        unsafe { core::ptr::read_volatile(reg(UART_STATE)) }
    }

    fn put(&mut self, b: u8) -> Result<(), TransportError> {
        if Self::state() & STATE_TXFULL != 0 {
            let t0 = now();
            let mut n = 0u32;
            while Self::state() & STATE_TXFULL != 0 {
                n += 1;
                if n >= WAIT_POLLS.load(Ordering::Relaxed) {
                    return Err(TransportError::Timeout { receiving: false });
                }
            }
            self.stats.wait_ticks += now() - t0;
        }
        // SAFETY: as in new.
        unsafe { core::ptr::write_volatile(reg(UART_DATA), b as u32) };
        Ok(())
    }

    /// One received byte. The polling loop lies between two clock reads and
    /// counts as waiting whether or not the byte was already there, so the
    /// transport's own instructions (outside the loop, the clock reads'
    /// overhead included) do not depend on how fast the host answered.
    fn get(&mut self) -> Result<u8, TransportError> {
        let t0 = now();
        let mut n = 0u32;
        while Self::state() & STATE_RXFULL == 0 {
            n += 1;
            if n >= WAIT_POLLS.load(Ordering::Relaxed) {
                self.stats.wait_ticks += now() - t0;
                return Err(TransportError::Timeout { receiving: true });
            }
        }
        self.stats.wait_ticks += now() - t0;
        // SAFETY: as in new.
        Ok(unsafe { core::ptr::read_volatile(reg(UART_DATA)) } as u8)
    }

    /// One request of `kind` with the first `len` bytes of `self.mosi` (or
    /// `extra` when given) and its reply's payload into `self.mosi`. Returns
    /// the reply's length.
    fn exchange(
        &mut self,
        kind: u8,
        len: usize,
        extra: Option<&[u8]>,
    ) -> Result<usize, TransportError> {
        let t0 = now();
        let gap = self
            .calib
            .instr(t0.saturating_sub(self.last_end))
            .min(u32::MAX as u64) as u32;
        let r = self.exchange_inner(kind, len, extra, gap);
        let t1 = now();
        self.stats.ticks += t1 - t0;
        self.last_end = t1;
        if let Err(e) = r {
            self.last_error = Some(e);
        }
        r
    }

    fn exchange_inner(
        &mut self,
        kind: u8,
        len: usize,
        extra: Option<&[u8]>,
        gap: u32,
    ) -> Result<usize, TransportError> {
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        let l = (len as u16).to_le_bytes();
        let g = gap.to_le_bytes();
        let head = [kind, seq, l[0], l[1], g[0], g[1], g[2], g[3]];
        self.put(REQ_MAGIC)?;
        for &b in &head {
            self.put(b)?;
        }
        let mut c = crc8_update(0, &head);
        let payload_len = len;
        for i in 0..payload_len {
            let b = match extra {
                Some(e) => e[i],
                None => self.mosi[i],
            };
            self.put(b)?;
        }
        c = crc8_update(
            c,
            match extra {
                Some(e) => &e[..len],
                None => &self.mosi[..len],
            },
        );
        self.put(c)?;
        // reply: 5A kind seq status len_lo len_hi payload check
        let m = self.get()?;
        if m != REP_MAGIC {
            return Err(TransportError::BadReply { what: "magic" });
        }
        let mut rh = [0u8; 5];
        for b in rh.iter_mut() {
            *b = self.get()?;
        }
        let rlen = u16::from_le_bytes([rh[3], rh[4]]) as usize;
        if rlen > MAX_FRAME {
            // drain nothing: the length itself is corrupt
            return Err(TransportError::BadReply { what: "length" });
        }
        for i in 0..rlen {
            self.mosi[i] = self.get()?;
        }
        let check = self.get()?;
        let want = crc8_update(crc8_update(0, &rh), &self.mosi[..rlen]);
        if check != want {
            return Err(TransportError::BadCheck { got: check, want });
        }
        if rh[0] != kind || rh[1] != seq {
            return Err(TransportError::BadReply {
                what: "kind or sequence",
            });
        }
        if rh[2] != 0 {
            return Err(TransportError::HostStatus { status: rh[2] });
        }
        if kind == KIND_XFER && rlen != len {
            return Err(TransportError::BadReply { what: "length" });
        }
        Ok(rlen)
    }

    /// An inference boundary for the host's per-inference figures.
    fn mark(&mut self, code: u8, index: u32) -> Result<(), TransportError> {
        let i = index.to_le_bytes();
        self.exchange(KIND_MARK, 5, Some(&[code, i[0], i[1], i[2], i[3]]))
            .map(|_| ())
    }

    /// Tells the host the firmware is done.
    fn done(&mut self) -> Result<(), TransportError> {
        self.exchange(KIND_DONE, 0, Some(&[])).map(|_| ())
    }
}

impl ErrorType for UartSpi {
    type Error = TransportError;
}

impl SpiDevice for UartSpi {
    fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), TransportError> {
        // MOSI bytes of the whole chip-select period.
        let mut n = 0usize;
        for op in ops.iter() {
            let (w, len): (&[u8], usize) = match op {
                Operation::Read(r) => (&[], r.len()),
                Operation::Write(w) => (w, w.len()),
                Operation::Transfer(r, w) => (w, r.len().max(w.len())),
                Operation::TransferInPlace(b) => (b, b.len()),
                Operation::DelayNs(_) => (&[], 0),
            };
            if n + len > MAX_FRAME {
                let e = TransportError::TooLong { len: n + len };
                self.last_error = Some(e);
                return Err(e);
            }
            self.mosi[n..n + len].fill(0);
            self.mosi[n..n + w.len()].copy_from_slice(w);
            n += len;
        }
        self.stats.frames += 1;
        self.exchange(KIND_XFER, n, None)?;
        // MISO back into the read buffers.
        let mut at = 0usize;
        for op in ops.iter_mut() {
            match op {
                Operation::Read(r) => {
                    r.copy_from_slice(&self.mosi[at..at + r.len()]);
                    at += r.len();
                }
                Operation::Write(w) => at += w.len(),
                Operation::Transfer(r, w) => {
                    let l = r.len();
                    r.copy_from_slice(&self.mosi[at..at + l]);
                    at += l.max(w.len());
                }
                Operation::TransferInPlace(b) => {
                    let l = b.len();
                    b.copy_from_slice(&self.mosi[at..at + l]);
                    at += l;
                }
                Operation::DelayNs(_) => {}
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- report

/// The report's text.
type Report = Buf<16384>;

static mut OUT: Report = Report::new();

fn out() -> &'static mut Report {
    // SAFETY: single-threaded firmware; OUT is only used through this.
    unsafe { &mut *core::ptr::addr_of_mut!(OUT) }
}

fn emit() -> ! {
    let b = out();
    if let Ok(mut o) = hio::hstdout() {
        let _ = o.write_all(b.bytes());
        let _ = o.write_all(b"\n");
    }
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}

fn finish(ok: bool) -> ! {
    let b = out();
    if let Ok(mut o) = hio::hstdout() {
        let _ = o.write_all(b.bytes());
        let _ = o.write_all(b"\n");
    }
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::bkpt();
    }
}

/// Reports a failure: `stage`, the driver's typed error (Display and Debug)
/// and the transport's last error.
fn fail_driver(stage: &str, e: &DriverError, t: Option<TransportError>) -> ! {
    let b = out();
    b.clear();
    let _ = write!(b, "{{\"ok\":false,\"stage\":\"{stage}\",\"error\":\"");
    let _ = write!(Esc(b), "{e}");
    let _ = write!(b, "\",\"error_debug\":\"");
    let _ = write!(Esc(b), "{e:?}");
    let _ = write!(b, "\",\"transport_error\":");
    match t {
        Some(t) => {
            let _ = write!(b, "\"");
            let _ = write!(Esc(b), "{t:?}");
            let _ = write!(b, "\"");
        }
        None => {
            let _ = write!(b, "null");
        }
    }
    let _ = write!(b, "}}");
    emit()
}

fn fail(msg: &str) -> ! {
    let b = out();
    b.clear();
    let _ = write!(b, "{{\"ok\":false,\"stage\":\"setup\",\"error\":\"");
    let _ = write!(Esc(b), "{msg}");
    let _ = write!(b, "\",\"error_debug\":null,\"transport_error\":null}}");
    emit()
}

// --------------------------------------------------------------- buffers

const MAX_ACT: usize = 32768;
const MAX_PLANE_WORDS: usize = 4096;
const MAX_PREFIX: usize = 2049;
const MAX_DISTINCT: usize = 2048;
const MAX_LOGITS: usize = 64;
const MAX_IMAGE_WORDS: usize = 65536;
const MAX_IMAGES: usize = 256;

static mut ACT_A: [i32; MAX_ACT] = [0; MAX_ACT];
static mut ACT_B: [i32; MAX_ACT] = [0; MAX_ACT];
static mut PLANES: [u32; MAX_PLANE_WORDS] = [0; MAX_PLANE_WORDS];
static mut PREFIX: [i32; MAX_PREFIX] = [0; MAX_PREFIX];
static mut ACC: [(i32, i32); MAX_DISTINCT] = [(0, 0); MAX_DISTINCT];
static mut INPUT: [i32; MAX_ACT] = [0; MAX_ACT];
static mut IMAGE_WORDS: [u32; MAX_IMAGE_WORDS] = [0; MAX_IMAGE_WORDS];

/// Per inference figures.
#[derive(Clone, Copy, Default)]
struct Row {
    class: u32,
    want_class: u32,
    logits_match: bool,
    driver_instr: u64,
    transport_instr: u64,
    frames: u64,
    mcu_instr: u64,
    mcu_match: bool,
}

static mut ROWS: [Row; MAX_IMAGES] = [Row {
    class: 0,
    want_class: 0,
    logits_match: false,
    driver_instr: 0,
    transport_instr: 0,
    frames: 0,
    mcu_instr: 0,
    mcu_match: false,
}; MAX_IMAGES];

#[entry]
fn main() -> ! {
    let Some(cp) = cortex_m::Peripherals::take() else {
        fail("peripherals already taken")
    };
    let mut syst = cp.SYST;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(0x00FF_FFFF);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();

    // Calibration: 2 instructions per iteration (subs, bne).
    let calib_iters: u32 = 500_000;
    let c0 = now();
    // SAFETY: a register-only loop.
    unsafe {
        core::arch::asm!("2:", "subs {0}, #1", "bne 2b", inout(reg) calib_iters => _, options(nomem, nostack));
    }
    let calib = Calib {
        instr: 2 * calib_iters as u64,
        ticks: now() - c0,
    };

    // Embedded inputs.
    let exp = &EXPECTED.0;
    if exp.get(0..4) != Some(b"TBNC") {
        fail("expected.bin has a bad magic");
    }
    let n_images = le_u32(exp, 4) as usize;
    let n_logits = le_u32(exp, 8) as usize;
    let in_len = le_u32(exp, 12) as usize;
    let faults = le_u32(exp, 16);
    WAIT_POLLS.store(le_u32(exp, 20).max(1000), Ordering::Relaxed);
    let logits_at = 24;
    let classes_at = logits_at + n_images * n_logits * 8;
    if n_images > MAX_IMAGES
        || n_logits > MAX_LOGITS
        || in_len > MAX_ACT
        || IMAGES.len() < n_images * in_len
        || exp.len() < classes_at + n_images
        || !IMAGE.0.len().is_multiple_of(4)
        || IMAGE.0.len() / 4 > MAX_IMAGE_WORDS
    {
        fail("gen-cosim inputs do not fit the firmware's buffers");
    }
    let prog = match Program::parse(&PROGRAM.0) {
        Ok(p) => p,
        Err(_) => fail("embedded program rejected by the parser"),
    };
    let r = prog.req;
    if r.max_act > MAX_ACT
        || r.max_plane_words > MAX_PLANE_WORDS
        || r.max_prefix > MAX_PREFIX
        || r.max_distinct > MAX_DISTINCT
        || r.logits != n_logits
        || prog.input_shape.numel() != in_len
    {
        fail("program does not match the firmware's buffers or the expected outputs");
    }
    // SAFETY: single-threaded firmware; each static buffer is borrowed once here.
    let (act_a, act_b, planes, prefix, acc, input, img, rows) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(ACT_A),
            &mut *core::ptr::addr_of_mut!(ACT_B),
            &mut *core::ptr::addr_of_mut!(PLANES),
            &mut *core::ptr::addr_of_mut!(PREFIX),
            &mut *core::ptr::addr_of_mut!(ACC),
            &mut *core::ptr::addr_of_mut!(INPUT),
            &mut *core::ptr::addr_of_mut!(IMAGE_WORDS),
            &mut *core::ptr::addr_of_mut!(ROWS),
        )
    };
    let image_words = IMAGE.0.len() / 4;
    for (k, w) in img[..image_words].iter_mut().enumerate() {
        *w = le_u32(&IMAGE.0, 4 * k);
    }
    let mut ws = Workspace {
        act_a,
        act_b,
        planes,
        prefix,
        acc,
    };

    // The accelerator over SPI over UART.
    let mut dev = UartSpi::new(calib);
    let mut tbn = match Tbn::probe(SpiBus::new(&mut dev)) {
        Ok(t) => t,
        Err(e) => fail_driver("probe", &e, dev.last_error),
    };
    let last_err = |t: &mut Tbn<SpiBus<&mut UartSpi>>| t.bus().device().last_error;

    if faults & FAULT_INFER_WITHOUT_MODEL != 0 {
        // A raw INFER with no model loaded: the chip must flag NO_MODEL.
        let r = tbn
            .bus()
            .write32(rm::CTRL, rm::CTRL_INFER)
            .map_err(DriverError::from)
            .and_then(|_| tbn.wait(64));
        match r {
            Err(e) => {
                let t = last_err(&mut tbn);
                fail_driver("infer_without_model", &e, t)
            }
            Ok(_) => fail("INFER without a model finished without a core error"),
        }
    }
    if faults & FAULT_CORRUPT_IMAGE != 0 {
        img[0] ^= 0x0000_0100;
    }
    let l_st0 = tbn.bus().device().stats;
    let t_load = now();
    let model = match tbn.load_model(&img[..image_words]) {
        Ok(m) => m,
        Err(e) => {
            let t = last_err(&mut tbn);
            fail_driver("load_model", &e, t)
        }
    };
    let t_loaded = now();
    let l_st1 = tbn.bus().device().stats;
    let load_instr = calib.instr((t_loaded - t_load).saturating_sub(l_st1.ticks - l_st0.ticks));
    let load_transport = calib
        .instr((l_st1.ticks - l_st0.ticks).saturating_sub(l_st1.wait_ticks - l_st0.wait_ticks));
    if model.num_out as usize != n_logits || model.num_in as usize != in_len {
        fail("the loaded model's shape differs from the expected outputs");
    }
    let signed = prog.input.signed;

    let (mut logits_match, mut class_match, mut mcu_match) = (0usize, 0usize, 0usize);
    for i in 0..n_images {
        for (k, dst) in input[..in_len].iter_mut().enumerate() {
            let b = IMAGES[i * in_len + k];
            *dst = if signed { b as i8 as i32 } else { b as i32 };
        }
        let x = &input[..in_len];
        let mut logits = [0i64; MAX_LOGITS];
        if let Err(e) = tbn.bus().device().mark(MARK_BEGIN, i as u32) {
            fail_driver("marker", &DriverError::Bus(spi_bus_error(e)), Some(e));
        }
        let st0 = tbn.bus().device().stats;
        let t0 = now();
        let res = tbn.infer(x, &mut logits[..n_logits]);
        let t1 = now();
        let st1 = tbn.bus().device().stats;
        let inf = match res {
            Ok(v) => v,
            Err(e) => {
                let t = last_err(&mut tbn);
                fail_driver("infer", &e, t)
            }
        };
        if let Err(e) = tbn.bus().device().mark(MARK_END, i as u32) {
            fail_driver("marker", &DriverError::Bus(spi_bus_error(e)), Some(e));
        }
        let transport = st1.ticks - st0.ticks;
        let wait = st1.wait_ticks - st0.wait_ticks;
        let base = logits_at + i * n_logits * 8;
        let want = |k: usize| le_i64(exp, base + 8 * k);
        let want_class = exp[classes_at + i] as u32;
        let lm = (0..n_logits).all(|k| logits[k] == want(k));
        // The MCU kernel on the same image.
        let mut mlog = [0i64; MAX_LOGITS];
        let m0 = now();
        let mres = kernel::run(&prog, x, &mut ws, &mut mlog);
        let m1 = now();
        let mm = mres.is_ok() && (0..n_logits).all(|k| mlog[k] == want(k));
        logits_match += lm as usize;
        class_match += (inf.class == want_class) as usize;
        mcu_match += mm as usize;
        rows[i] = Row {
            class: inf.class,
            want_class,
            logits_match: lm,
            driver_instr: calib.instr((t1 - t0).saturating_sub(transport)),
            transport_instr: calib.instr(transport.saturating_sub(wait)),
            frames: st1.frames - st0.frames,
            mcu_instr: calib.instr(m1 - m0),
            mcu_match: mm,
        };
    }
    let _ = tbn.bus().device().done();

    let ok = logits_match == n_images && class_match == n_images && mcu_match == n_images;
    let b = out();
    b.clear();
    let _ = write!(
        b,
        "{{\"ok\":{ok},\"images\":{n_images},\"logits_match\":{logits_match},\"class_match\":{class_match},\
\"mcu_logits_match\":{mcu_match},\"calibration\":{{\"instructions\":{},\"ticks\":{}}},\
\"load_model_instructions\":{load_instr},\"load_model_transport_instructions\":{load_transport},\"image_words\":{image_words},\"inferences\":[",
        calib.instr, calib.ticks
    );
    for (i, r) in rows[..n_images].iter().enumerate() {
        let _ = write!(
            b,
            "{}{{\"class\":{},\"golden_class\":{},\"logits_match\":{},\"driver_instructions\":{},\
\"transport_instructions\":{},\"frames\":{},\"mcu_instructions\":{},\"mcu_logits_match\":{}}}",
            if i == 0 { "" } else { "," },
            r.class,
            r.want_class,
            r.logits_match,
            r.driver_instr,
            r.transport_instr,
            r.frames,
            r.mcu_instr,
            r.mcu_match
        );
    }
    let _ = write!(b, "]}}");
    finish(ok)
}

/// The driver's error for a transport failure outside a driver call (markers).
fn spi_bus_error(e: TransportError) -> tbn_driver::bus::BusError {
    use embedded_hal::spi::Error as _;
    tbn_driver::bus::BusError::Spi {
        op: tbn_driver::bus::BusOp::Write,
        addr: 0,
        kind: e.kind(),
    }
}

#[panic_handler]
fn panic(_info: &PanicInfo) -> ! {
    fail("panic")
}
