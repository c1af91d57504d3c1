//! TBN inference on a Cortex-M4F under QEMU (mps2-an386).
//!
//! Embeds (from `gen/`, written on the host by `tbn mcu run`): the integer
//! program in the compact format of `tbn_driver::program`, N test images and
//! the golden model's expected outputs. Runs the optimized integer kernel and
//! the authors'-style float baseline on every image, checks the integer logits
//! bit-exactly and the float predictions, measures instructions per inference
//! with SysTick (under `-icount shift=0` one SysTick tick at 25 MHz is 40
//! instructions; a calibration loop checks that), checks that corrupted
//! programs are rejected with an error (not a fault), and prints one JSON
//! report over semihosting. Exit status: 0 when everything matched, 1 otherwise.
#![no_std]
#![no_main]

use core::fmt::Write as _;
use core::panic::PanicInfo;

use cortex_m::peripheral::{syst::SystClkSource, SYST};
use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use tbn_driver::kernel::{self, FloatWorkspace, Workspace};
use tbn_driver::program::{ParseError, Program};
use tbn_firmware::{le_i64, le_u32, Aligned, Buf};

static PROGRAM: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/gen/program.bin"
)));
static IMAGES: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/gen/images.bin"));
static EXPECTED: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/gen/expected.bin"
)));

/// Static working memory (caller-provided buffers of the kernels), sized by
/// build.rs from the embedded program's `Program::req`: `ACT_A_LEN`,
/// `ACT_B_LEN`, `PLANE_WORDS`, `PREFIX_LEN`, `DISTINCT`, `LOGITS`,
/// `INPUT_LEN`.
mod buffers {
    include!(concat!(env!("OUT_DIR"), "/buffers.rs"));
}
use buffers::{ACT_A_LEN, ACT_B_LEN, DISTINCT, INPUT_LEN, LOGITS, PLANE_WORDS, PREFIX_LEN};
/// Stages and parts of the per-part breakdown (`kernel::Part`).
const MAX_STAGES: usize = 8;
const N_PARTS: usize = 6;
/// SysTick period in instructions under `-icount shift=0` (25 MHz clock).
const INSTR_PER_TICK: u32 = 40;

// The float baseline runs in the same two activation buffers (viewed as
// f32, see `Buffers::float`): the two kernels never run at once.
static mut ACT_A: [i32; ACT_A_LEN] = [0; ACT_A_LEN];
static mut ACT_B: [i32; ACT_B_LEN] = [0; ACT_B_LEN];
static mut PLANES: [u32; PLANE_WORDS] = [0; PLANE_WORDS];
static mut PREFIX: [i32; PREFIX_LEN] = [0; PREFIX_LEN];
static mut ACC: [(i32, i32); DISTINCT] = [(0, 0); DISTINCT];
static mut INPUT: [i32; INPUT_LEN] = [0; INPUT_LEN];
static mut CORRUPT: Aligned<[u8; 256]> = Aligned([0; 256]);

/// The kernels' static buffers, lent to one kernel run at a time.
struct Buffers {
    act_a: &'static mut [i32],
    act_b: &'static mut [i32],
    planes: &'static mut [u32],
    prefix: &'static mut [i32],
    acc: &'static mut [(i32, i32)],
}

/// `s` viewed as `f32`s.
fn as_f32(s: &mut [i32]) -> &mut [f32] {
    // SAFETY: i32 and f32 have the same size and alignment and every bit
    // pattern is a valid f32; the result borrows `s` exclusively.
    unsafe { core::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<f32>(), s.len()) }
}

impl Buffers {
    /// The optimized kernel's workspace.
    fn int(&mut self) -> Workspace<'_> {
        Workspace {
            act_a: self.act_a,
            act_b: self.act_b,
            planes: self.planes,
            prefix: self.prefix,
            acc: self.acc,
        }
    }

    /// The float baseline's workspace: the same activation buffers.
    fn float(&mut self) -> FloatWorkspace<'_> {
        FloatWorkspace {
            act_a: as_f32(self.act_a),
            act_b: as_f32(self.act_b),
        }
    }
}

extern "C" {
    static __sdata: u32;
    static __edata: u32;
    static __sbss: u32;
    static __ebss: u32;
    static _stack_start: u32;
}

const STACK_PAINT: u32 = 0x5AA5_C33C;
const PAINT_BYTES: usize = 64 * 1024;

/// Elapsed SysTick ticks of `f` (the counter counts down, 24 bits).
fn ticks<R>(f: impl FnOnce() -> R) -> (u32, R) {
    let a = SYST::get_current();
    let r = f();
    let b = SYST::get_current();
    (a.wrapping_sub(b) & 0x00FF_FFFF, r)
}

fn fail(msg: &str, code: u32) -> ! {
    let mut b = Buf::<2048>::new();
    let _ = write!(b, "{{\"ok\":false,\"error\":\"{msg}\",\"code\":{code}}}");
    b.print_line();
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}

/// Checks that corrupted copies of the program are rejected with the right error.
fn corrupted_programs_rejected(prog: &[u8]) -> bool {
    // SAFETY: single-threaded firmware; CORRUPT is only used here.
    let buf = unsafe { &mut *core::ptr::addr_of_mut!(CORRUPT) };
    let n = prog.len().min(buf.0.len());
    buf.0[..n].copy_from_slice(&prog[..n]);
    let bad_magic = {
        buf.0[0] ^= 0xFF;
        let ok = matches!(Program::parse(&buf.0[..n]), Err(ParseError::BadMagic));
        buf.0[0] ^= 0xFF;
        ok
    };
    let bad_version = {
        buf.0[12] = 0x7F;
        let ok = matches!(
            Program::parse(&buf.0[..n]),
            Err(ParseError::WrongVersion { .. })
        );
        buf.0[12] = prog[12];
        ok
    };
    let truncated = matches!(
        Program::parse(&buf.0[..n.min(100)]),
        Err(ParseError::Truncated { .. })
    );
    let too_many_stages = {
        buf.0[14] = 0xFF;
        let ok = matches!(
            Program::parse(&buf.0[..n]),
            Err(ParseError::BeyondLimit { .. })
        );
        buf.0[14] = prog[14];
        ok
    };
    bad_magic && bad_version && truncated && too_many_stages
}

/// The kernel's DSP-instruction byte sums (MSR APSR_g / SEL / USADA8 on
/// this Cortex-M4) must equal the portable reference on random data.
fn dsp_byte_sums_match() -> bool {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    };
    let (mut tw, mut xs) = ([0u32; 9], [0u32; 72]);
    for trial in 0..200 {
        let n = 1 + trial % 9;
        for t in tw.iter_mut() {
            *t = next();
        }
        for x in xs.iter_mut() {
            *x = next();
        }
        if kernel::selected_byte_sum(&tw[..n], &xs[..8 * n])
            != kernel::selected_byte_sum_portable(&tw[..n], &xs[..8 * n])
        {
            return false;
        }
    }
    true
}

#[entry]
fn main() -> ! {
    let Some(cp) = cortex_m::Peripherals::take() else {
        fail("peripherals already taken", 10)
    };
    let mut syst = cp.SYST;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(0x00FF_FFFF);
    syst.clear_current();
    syst.enable_counter();

    // Paint the stack below the current frame to measure its high-water mark.
    let sp = cortex_m::register::msp::read() as usize;
    // Never below the static data (on a small RAM the stack may be closer
    // to .bss than PAINT_BYTES).
    let ebss_at = core::ptr::addr_of!(__ebss) as usize;
    let paint_lo = (sp.saturating_sub(PAINT_BYTES).max(ebss_at) + 3) & !3;
    let paint_hi = sp.saturating_sub(256) & !3;
    let mut a = paint_lo;
    while a < paint_hi {
        // SAFETY: RAM between the static data and the live stack frame is unused.
        unsafe { core::ptr::write_volatile(a as *mut u32, STACK_PAINT) };
        a += 4;
    }

    // Calibration: 2 instructions per iteration (subs, bne).
    let calib_iters: u32 = 500_000;
    let (calib_ticks, ()) = ticks(|| unsafe {
        core::arch::asm!("2:", "subs {0}, #1", "bne 2b", inout(reg) calib_iters => _, options(nomem, nostack));
    });

    let prog = match Program::parse(&PROGRAM.0) {
        Ok(p) => p,
        Err(_) => fail("embedded program rejected by the parser", 2),
    };
    let exp = &EXPECTED.0;
    if exp.get(0..4) != Some(b"TBNE") {
        fail("expected.bin has a bad magic", 3);
    }
    let n_images = le_u32(exp, 4) as usize;
    let n_logits = le_u32(exp, 8) as usize;
    let in_len = le_u32(exp, 12) as usize;
    if n_logits != prog.req.logits
        || in_len != prog.input_shape.numel()
        || IMAGES.len() < n_images * in_len
    {
        fail("expected.bin / images.bin do not match the program", 4);
    }
    let r = prog.req;
    // build.rs sized the buffers from this very program; this guards a
    // stale build.
    if r.act_a > ACT_A_LEN
        || r.act_b > ACT_B_LEN
        || r.max_plane_words > PLANE_WORDS
        || r.max_prefix > PREFIX_LEN
        || r.max_distinct > DISTINCT
        || r.logits > LOGITS
        || in_len > INPUT_LEN
    {
        fail(
            "program needs more working memory than the firmware's static buffers",
            5,
        );
    }
    let rejects_bad = corrupted_programs_rejected(&PROGRAM.0);
    let dsp_ok = dsp_byte_sums_match();

    // SAFETY: single-threaded firmware; each static buffer is borrowed once here.
    let (mut bufs, input) = unsafe {
        (
            Buffers {
                act_a: &mut *core::ptr::addr_of_mut!(ACT_A),
                act_b: &mut *core::ptr::addr_of_mut!(ACT_B),
                planes: &mut *core::ptr::addr_of_mut!(PLANES),
                prefix: &mut *core::ptr::addr_of_mut!(PREFIX),
                acc: &mut *core::ptr::addr_of_mut!(ACC),
            },
            &mut *core::ptr::addr_of_mut!(INPUT),
        )
    };
    let signed = prog.input.signed;

    let (mut int_match, mut float_match, mut int_correct_vs_float) = (0usize, 0usize, 0usize);
    let (mut opt_ticks, mut base_ticks) = (0u64, 0u64);
    let (mut opt_min, mut opt_max, mut base_min, mut base_max) = (u32::MAX, 0u32, u32::MAX, 0u32);
    let mut repeat_equal = true;
    let mut errors = 0usize;
    // Ticks per (stage, kernel::Part as usize) summed over the images.
    let mut parts = [[0u64; N_PARTS]; MAX_STAGES];
    let preds_at = 16 + n_images * n_logits * 8;
    for i in 0..n_images {
        for (k, dst) in input[..in_len].iter_mut().enumerate() {
            let b = IMAGES[i * in_len + k];
            *dst = if signed { b as i8 as i32 } else { b as i32 };
        }
        let x = &input[..in_len];
        let mut logits = [0i64; LOGITS];
        let (t_opt, res) = ticks(|| kernel::run(&prog, x, &mut bufs.int(), &mut logits));
        let mut flog = [0f32; LOGITS];
        let (t_base, fres) =
            ticks(|| kernel::run_float_baseline(&prog, x, &mut bufs.float(), &mut flog));
        if res.is_err() || fres.is_err() {
            errors += 1;
            continue;
        }
        if i == 0 {
            // Determinism: the same inference again must take the same time,
            // up to one SysTick period (40 instructions) of phase.
            let (t2, _) = ticks(|| kernel::run(&prog, x, &mut bufs.int(), &mut logits));
            let (b2, _) =
                ticks(|| kernel::run_float_baseline(&prog, x, &mut bufs.float(), &mut flog));
            repeat_equal = t2.abs_diff(t_opt) <= 1 && b2.abs_diff(t_base) <= 1;
        }
        // Per-part breakdown (a separate, probed run of the same inference).
        let mut last = SYST::get_current();
        let _ = kernel::run_probed(&prog, x, &mut bufs.int(), &mut logits, |stage, part| {
            let now = SYST::get_current();
            parts[stage.min(MAX_STAGES - 1)][part as usize] +=
                (last.wrapping_sub(now) & 0x00FF_FFFF) as u64;
            last = SYST::get_current();
        });
        opt_ticks += t_opt as u64;
        base_ticks += t_base as u64;
        opt_min = opt_min.min(t_opt);
        opt_max = opt_max.max(t_opt);
        base_min = base_min.min(t_base);
        base_max = base_max.max(t_base);
        let base = 16 + i * n_logits * 8;
        if (0..n_logits).all(|k| logits[k] == le_i64(exp, base + 8 * k)) {
            int_match += 1;
        }
        let fpred = kernel::argmax(&flog[..n_logits]);
        let want_f = exp.get(preds_at + i).copied().unwrap_or(0xFF) as usize;
        if fpred == want_f {
            float_match += 1;
        }
        if kernel::argmax(&logits[..n_logits]) == want_f {
            int_correct_vs_float += 1;
        }
    }

    // Stack high-water mark.
    let mut lowest = paint_hi;
    let mut a = paint_lo;
    while a < paint_hi {
        // SAFETY: reading the painted region.
        if unsafe { core::ptr::read_volatile(a as *const u32) } != STACK_PAINT {
            lowest = a;
            break;
        }
        a += 4;
    }
    // Linker symbols: only their addresses are used.
    let (sdata, edata, sbss, ebss, stack_top) = (
        core::ptr::addr_of!(__sdata) as usize,
        core::ptr::addr_of!(__edata) as usize,
        core::ptr::addr_of!(__sbss) as usize,
        core::ptr::addr_of!(__ebss) as usize,
        core::ptr::addr_of!(_stack_start) as usize,
    );
    let stack_used = stack_top.saturating_sub(lowest);
    let n = n_images.max(1) as u64;
    let ipt = INSTR_PER_TICK as u64;
    let ok = int_match == n_images
        && float_match == n_images
        && errors == 0
        && rejects_bad
        && dsp_ok
        && repeat_equal;
    let mut b = Buf::<2048>::new();
    let _ = write!(
        b,
        "{{\"ok\":{ok},\"images\":{n_images},\"int_logits_match\":{int_match},\"float_pred_match\":{float_match},\
\"int_pred_eq_float_pred\":{int_correct_vs_float},\"errors\":{errors},\"bad_programs_rejected\":{rejects_bad},\
\"repeat_identical\":{repeat_equal},\"dsp_byte_sums_match\":{dsp_ok},\"instr_per_tick\":{INSTR_PER_TICK},\"calibration\":{{\"instructions\":{},\"ticks\":{calib_ticks}}},\
\"optimized\":{{\"instr_per_inference\":{},\"min\":{},\"max\":{}}},\
\"baseline\":{{\"instr_per_inference\":{},\"min\":{},\"max\":{}}},\
\"program_bytes\":{},\"static_ram_bytes\":{},\"kernel_buffers_bytes\":{},\"stack_bytes\":{stack_used},",
        2 * calib_iters as u64,
        opt_ticks * ipt / n,
        opt_min as u64 * ipt,
        opt_max as u64 * ipt,
        base_ticks * ipt / n,
        base_min as u64 * ipt,
        base_max as u64 * ipt,
        prog.byte_len(),
        (edata - sdata) + (ebss - sbss),
        // The two activation buffers (shared by both kernels), packed
        // input, prefix sums, accumulator pairs and the input, as this
        // program needs them (the static buffers are exactly these).
        (r.act_a + r.act_b) * 4 + r.max_plane_words * 4 + r.max_prefix * 4 + r.max_distinct * 8 + in_len * 4,
    );
    // Per-part instructions per inference: setup, then per stage
    // [decode, pack, rows, requantize, pool] (stages without time are omitted).
    let per = |t: u64| t * ipt / n;
    let _ = write!(
        b,
        "\"parts\":{{\"setup\":{},\"stages\":[",
        per(parts[0][kernel::Part::Setup as usize])
    );
    let mut first = true;
    for (i, st) in parts.iter().enumerate() {
        let [_, decode, pack, rows, requant, pool] = *st;
        if decode + pack + rows + requant + pool == 0 {
            continue;
        }
        let _ = write!(
            b,
            "{}{{\"stage\":{i},\"decode\":{},\"pack\":{},\"rows\":{},\"requantize\":{},\"pool\":{}}}",
            if first { "" } else { "," },
            per(decode),
            per(pack),
            per(rows),
            per(requant),
            per(pool)
        );
        first = false;
    }
    let _ = write!(b, "]}}}}");
    b.print_line();
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::bkpt();
    }
}

#[panic_handler]
fn panic(_info: &PanicInfo) -> ! {
    fail("panic", 99)
}
