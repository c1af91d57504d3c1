//! The microcontroller TBN kernels.
//!
//! - [`run`]: the optimized integer kernel, bit-exact with docs/numerics.md.
//!   The packed tile is read in place (from flash); only the `D` distinct rows
//!   are computed (row reuse), each one as its accumulator pair
//!   `(dot_a, dot_b)`; then every row is requantized with its own copy's alpha
//!   code. For `A >= 2` the input is packed once per layer input as byte
//!   lanes (value, +128 when signed) and a row's dot product is
//!   `2 * sum_{t_l = 1} x_l - sum_l x_l`: the sum of the bytes the tile bits
//!   select ([`selected_byte_sum`]: on Cortex-M4 `MSR APSR_g` + `SEL` +
//!   `USADA8`, 4 instructions per 4 lanes; a bit-identical portable version
//!   elsewhere) and the input's prefix sums, shared by all rows. For `A = 1`
//!   the input is packed as sign and lane-valid words and the dot product is
//!   an XNOR-popcount (SWAR: Cortex-M4 has no popcount instruction).
//! - [`run_float_baseline`]: the float path written the way the TBN authors'
//!   microcontroller code computes a layer (per weight: locate the tile bit,
//!   pick `+alpha` / `-alpha`, multiply-accumulate in float), for comparison.
//!
//! All buffers are provided by the caller ([`Workspace`], [`FloatWorkspace`]).

use crate::program::{Activation, ConvGeom, Dense, Program, Shape, Stage, ValueCode};

/// Why a kernel could not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// A caller-provided buffer is smaller than the program needs.
    #[error("buffer `{buffer}` too small: need {need} elements, have {have}")]
    BufferTooSmall {
        /// Buffer name.
        buffer: &'static str,
        /// Elements needed.
        need: usize,
        /// Elements provided.
        have: usize,
    },
    /// The input has the wrong number of values.
    #[error("input has {found} values, the program expects {expected}")]
    InputLength {
        /// Expected count.
        expected: usize,
        /// Count given.
        found: usize,
    },
    /// An input value is outside the range of the input's bit width.
    #[error("input value {value} at index {index} is outside [{min}, {max}]")]
    InputOutOfRange {
        /// Index of the value.
        index: usize,
        /// The value.
        value: i32,
        /// Smallest allowed.
        min: i32,
        /// Largest allowed.
        max: i32,
    },
    /// The float baseline needs float parameters the program does not carry.
    #[error("stage {stage} has no float parameters (the float baseline needs them)")]
    NoFloatParams {
        /// Stage index.
        stage: usize,
    },
}

fn check_len(buffer: &'static str, need: usize, have: usize) -> Result<(), KernelError> {
    if have < need {
        Err(KernelError::BufferTooSmall { buffer, need, have })
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Requantization (docs/numerics.md section 4)
// ---------------------------------------------------------------------------

/// Requantizes every row of a dense stage from the distinct rows'
/// accumulator pairs, calling `out(r, value)` for row `r` in order.
/// This is what the accelerator's host does with its output memory.
pub fn requantize_rows(d: &Dense<'_>, acc: &[(i32, i32)], out: impl FnMut(usize, i64)) {
    let (shift, bits) = (d.shift, d.out_bits);
    let round = move |v: i64| {
        if shift == 0 {
            v
        } else {
            v.wrapping_add(1i64 << (shift - 1)) >> shift
        }
    };
    // One loop per activation, so the per-row work has no dispatch.
    match d.act {
        Activation::Relu => {
            let top = (1i64 << bits) - 1;
            rows_loop(d, acc, out, move |v| round(v).clamp(0, top))
        }
        Activation::Signed => {
            let (lo, hi) = (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
            rows_loop(d, acc, out, move |v| round(v).clamp(lo, hi))
        }
        Activation::Sign => rows_loop(d, acc, out, |v| (v > 0) as i64),
        Activation::Logits => rows_loop(d, acc, out, |v| v),
    }
}

/// `out(r, f(acc_r * M_r + B_r))` for every row, tracking each row's tile
/// offset, copy (alpha codes) and distinct row incrementally.
#[inline(always)]
fn rows_loop(
    d: &Dense<'_>,
    acc: &[(i32, i32)],
    mut out: impl FnMut(usize, i64),
    f: impl Fn(i64) -> i64,
) {
    let g = d.geom;
    let period = g.period();
    let uniform = d.mult.len() == 1;
    let mult0 = d.mult.get_i32(0) as i64;
    let has_bias = !d.bias.is_empty();
    // Alpha codes are u16 and accumulators i32: 32 x 32-bit products.
    let alphas = |c: usize| (d.alpha_q.get(c) as i32, d.alpha_q.get(c + 1) as i32);
    let (mut alpha, mut alpha_next) = alphas(0);
    let (mut off, mut copy, mut j) = (0usize, 0usize, 0usize);
    for r in 0..g.rows {
        let (a, b) = acc.get(j).copied().unwrap_or((0, 0));
        let mut v = alpha as i64 * a as i64;
        if g.q - off < g.m {
            // A straddling row: its second segment belongs to the next copy.
            v += alpha_next as i64 * b as i64;
        }
        let m = if uniform {
            mult0
        } else {
            d.mult.get_i32(r) as i64
        };
        v = v.wrapping_mul(m);
        if has_bias {
            v = v.wrapping_add(d.bias.get(r));
        }
        out(r, f(v));
        off += g.m;
        if off >= g.q {
            off -= g.q;
            copy += 1;
            (alpha, alpha_next) = alphas(copy);
        }
        j += 1;
        if j == period {
            j = 0;
        }
    }
}

// ---------------------------------------------------------------------------
// Population counts (1-bit activations)
// ---------------------------------------------------------------------------

/// Per-nibble bit counts (each nibble 0..=4).
#[inline(always)]
fn nib(y: u32) -> u32 {
    let a = y - ((y >> 1) & 0x5555_5555);
    (a & 0x3333_3333) + ((a >> 2) & 0x3333_3333)
}

/// Nibble values (each <= 7) folded to byte sums (each <= 14).
#[inline(always)]
fn bytes_of(n: u32) -> u32 {
    (n + (n >> 4)) & 0x0F0F_0F0F
}

/// Byte values folded into two 16-bit lanes.
#[inline(always)]
fn wide(b: u32) -> u32 {
    (b & 0x00FF_00FF) + ((b >> 8) & 0x00FF_00FF)
}

/// Sum of the two 16-bit lanes.
#[inline(always)]
fn hsum16(a: u32) -> u32 {
    (a & 0xFFFF) + (a >> 16)
}

/// Population count in the SWAR style (no hardware popcount on Cortex-M4).
#[inline(always)]
pub fn popcount(y: u32) -> u32 {
    (bytes_of(nib(y)).wrapping_mul(0x0101_0101)) >> 24
}

/// The tile window of 32 bits starting at tile bit `pos` (may be negative);
/// bits outside the tile words read as 0.
#[inline]
fn window(tile: &[u32], pos: isize) -> u32 {
    if pos < 0 {
        let sh = (-pos) as usize;
        if sh >= 32 {
            0
        } else {
            tile.first().copied().unwrap_or(0) << sh
        }
    } else {
        let k = pos as usize / 32;
        let s = pos as usize % 32;
        let w0 = tile.get(k).copied().unwrap_or(0);
        if s == 0 {
            w0
        } else {
            (w0 >> s) | (tile.get(k + 1).copied().unwrap_or(0) << (32 - s))
        }
    }
}

/// Mask of lanes `[lo, hi)` of a 32-lane word (0 <= lo < hi <= 32).
#[inline]
fn lane_mask(lo: usize, hi: usize) -> u32 {
    let upper = if hi >= 32 { u32::MAX } else { (1u32 << hi) - 1 };
    upper & !((1u32 << lo) - 1)
}

/// The 32-lane words `first..=last` covering lanes `[xpos, xpos + n)`
/// (`n >= 1`), with the lane masks of the two edge words.
#[derive(Clone, Copy)]
struct Span {
    first: usize,
    last: usize,
    first_mask: u32,
    last_mask: u32,
    /// Tile bit minus lane index.
    delta: isize,
}

impl Span {
    fn new(tpos: usize, xpos: usize, n: usize) -> Span {
        let first = xpos / 32;
        let last = (xpos + n - 1) / 32;
        let lo = xpos % 32;
        let hi = (xpos + n - 1) % 32 + 1;
        let (first_mask, last_mask) = if first == last {
            (lane_mask(lo, hi), 0)
        } else {
            (lane_mask(lo, 32), lane_mask(0, hi))
        };
        Span {
            first,
            last,
            first_mask,
            last_mask,
            delta: tpos as isize - xpos as isize,
        }
    }

    /// The tile window aligned with lane word `i`.
    #[inline]
    fn window(&self, tile: &[u32], i: usize) -> u32 {
        window(tile, i as isize * 32 + self.delta)
    }

    /// Tile word index and bit shift of the window of the first middle word
    /// (`first + 1`); only meaningful when there are middle words, whose
    /// lanes all map into the tile.
    #[inline]
    fn middle_start(&self) -> (usize, u32) {
        let start = ((self.first + 1) as isize * 32 + self.delta).max(0) as usize;
        (start / 32, (start % 32) as u32)
    }
}

/// A = 1 segment: `pop(XNOR(t, x) & valid)` over lanes `[xpos, xpos + n)`
/// against tile bits `[tpos, tpos + n)`.
fn segment_xnor(tile: &[u32], tpos: usize, planes: &[u32], xpos: usize, n: usize) -> i32 {
    let sp = Span::new(tpos, xpos, n);
    let word = |i: usize, t: u32, mask: u32| -> u32 {
        let x = planes.get(2 * i).copied().unwrap_or(0);
        let valid = planes.get(2 * i + 1).copied().unwrap_or(0) & mask;
        hsum16(wide(bytes_of(nib(!(t ^ x) & valid))))
    };
    let mut total = word(sp.first, sp.window(tile, sp.first), sp.first_mask);
    if sp.last == sp.first {
        return total as i32;
    }
    if sp.last > sp.first + 1 {
        let (k0, s) = sp.middle_start();
        let mut acc = 0u32;
        for (j, i) in (sp.first + 1..sp.last).enumerate() {
            let t = window(tile, ((k0 + j) * 32) as isize + s as isize);
            let x = planes.get(2 * i).copied().unwrap_or(0);
            let valid = planes.get(2 * i + 1).copied().unwrap_or(0);
            acc += wide(bytes_of(nib(!(t ^ x) & valid)));
            if j % 2048 == 2047 {
                total += hsum16(acc);
                acc = 0;
            }
        }
        total += hsum16(acc);
    }
    (total + word(sp.last, sp.window(tile, sp.last), sp.last_mask)) as i32
}

/// Popcount of tile bits `[tpos, tpos + n)` (`n >= 1`).
fn tile_pop(tile: &[u32], tpos: usize, n: usize) -> u32 {
    let sp = Span::new(tpos, 0, n);
    let mut total = popcount(sp.window(tile, sp.first) & sp.first_mask);
    for i in sp.first + 1..sp.last {
        total += popcount(sp.window(tile, i));
    }
    if sp.last > sp.first {
        total += popcount(sp.window(tile, sp.last) & sp.last_mask);
    }
    total
}

// ---------------------------------------------------------------------------
// Byte lanes (A >= 2): sums of the input bytes the tile selects
// ---------------------------------------------------------------------------

/// Byte-lane words per 32-lane word (lane `l` is byte `l % 4` of word `l / 4`).
const BYTE_WORDS: usize = 8;

/// Byte masks of a 4-lane nibble: byte `i` is 0xFF when bit `i` is set.
const NIBBLE_BYTES: [u32; 16] = {
    let mut t = [0u32; 16];
    let mut n = 0;
    while n < 16 {
        let mut i = 0;
        while i < 4 {
            if n >> i & 1 == 1 {
                t[n] |= 0xFF << (8 * i);
            }
            i += 1;
        }
        n += 1;
    }
    t
};

/// Sum of the four bytes of `v`.
#[inline(always)]
fn byte_sum(v: u32) -> u32 {
    hsum16(wide(v))
}

/// Sum over `j` of the bytes of `xs[8j..8j + 8]` whose lane bit is set in
/// `tw[j]` (lane `l` of word `j` is byte `l % 4` of `xs[8j + l / 4]`), for
/// `j < min(tw.len(), xs.len() / 8)`. Portable reference of
/// [`selected_byte_sum`].
pub fn selected_byte_sum_portable(tw: &[u32], xs: &[u32]) -> u32 {
    let mut acc = 0u32;
    for (&t, x) in tw.iter().zip(xs.chunks_exact(BYTE_WORDS)) {
        for (k, &w) in x.iter().enumerate() {
            acc = acc.wrapping_add(byte_sum(w & NIBBLE_BYTES[((t >> (4 * k)) & 0xF) as usize]));
        }
    }
    acc
}

/// Sum over `j` of the bytes of `xs[8j..8j + 8]` whose lane bit is set in
/// `tw[j]` (see [`selected_byte_sum_portable`], to which it is bit-identical).
/// On Cortex-M4/M7 (ARMv7E-M) this is 4 instructions per 4 lanes: the lane
/// bits go to the APSR.GE flags (`MSR APSR_g`), `SEL` keeps the selected
/// bytes and `USADA8` adds them up.
#[inline]
pub fn selected_byte_sum(tw: &[u32], xs: &[u32]) -> u32 {
    let n = tw.len().min(xs.len() / BYTE_WORDS);
    #[cfg(tbn_dsp)]
    {
        if n == 0 {
            return 0;
        }
        // SAFETY: reads `n` words of `tw` and `8 n` words of `xs`, in bounds.
        unsafe { dsp::selected_byte_sum(tw.as_ptr(), xs.as_ptr(), n) }
    }
    #[cfg(not(tbn_dsp))]
    selected_byte_sum_portable(&tw[..n], &xs[..BYTE_WORDS * n])
}

#[cfg(tbn_dsp)]
mod dsp {
    /// See [`super::selected_byte_sum`]; `n >= 1`.
    ///
    /// # Safety
    /// `tw` must be valid for `n` word reads and `xs` for `8 n` word reads.
    #[inline]
    pub(super) unsafe fn selected_byte_sum(tw: *const u32, xs: *const u32, n: usize) -> u32 {
        let mut acc = 0u32;
        // Nibble k of t (lanes 4k..4k+3) is rotated to bits 16..19, which
        // MSR APSR_g copies to GE[3:0]; SEL then keeps byte i of x_k where
        // GE[i] is set and USADA8 adds the four bytes to the accumulator.
        core::arch::asm!(
            "movs {zero}, #0",
            "2:",
            "ldr {t}, [{tp}], #4",
            "ldm {xp}!, {{r0, r1, r2, r3}}",
            "ror {tmp}, {t}, #16",
            "msr APSR_g, {tmp}",
            "sel {tmp}, r0, {zero}",
            "usada8 {acc}, {tmp}, {zero}, {acc}",
            "ror {tmp}, {t}, #20",
            "msr APSR_g, {tmp}",
            "sel {tmp}, r1, {zero}",
            "usada8 {acc}, {tmp}, {zero}, {acc}",
            "ror {tmp}, {t}, #24",
            "msr APSR_g, {tmp}",
            "sel {tmp}, r2, {zero}",
            "usada8 {acc}, {tmp}, {zero}, {acc}",
            "ror {tmp}, {t}, #28",
            "msr APSR_g, {tmp}",
            "sel {tmp}, r3, {zero}",
            "usada8 {acc}, {tmp}, {zero}, {acc}",
            "ldm {xp}!, {{r0, r1, r2, r3}}",
            "msr APSR_g, {t}",
            "sel {tmp}, r0, {zero}",
            "usada8 {acc}, {tmp}, {zero}, {acc}",
            "ror {tmp}, {t}, #4",
            "msr APSR_g, {tmp}",
            "sel {tmp}, r1, {zero}",
            "usada8 {acc}, {tmp}, {zero}, {acc}",
            "ror {tmp}, {t}, #8",
            "msr APSR_g, {tmp}",
            "sel {tmp}, r2, {zero}",
            "usada8 {acc}, {tmp}, {zero}, {acc}",
            "ror {tmp}, {t}, #12",
            "msr APSR_g, {tmp}",
            "sel {tmp}, r3, {zero}",
            "usada8 {acc}, {tmp}, {zero}, {acc}",
            "subs {n}, {n}, #1",
            "bne 2b",
            tp = inout(reg) tw => _,
            xp = inout(reg) xs => _,
            n = inout(reg) n => _,
            acc = inout(reg) acc,
            t = out(reg) _,
            tmp = out(reg) _,
            zero = out(reg) _,
            out("r0") _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            options(nostack, readonly),
        );
        acc
    }
}

/// Words of tile windows prepared per call of [`selected_byte_sum`] when a
/// segment does not start on a tile word boundary.
const WINDOW_CHUNK: usize = 16;

/// Sum of the (biased) input bytes of lanes `[xpos, xpos + n)` (`n >= 1`)
/// whose tile bit (`tpos + lane - xpos`) is set.
fn segment_bytes(tile: &[u32], tpos: usize, xb: &[u32], xpos: usize, n: usize) -> u32 {
    let delta = tpos as isize - xpos as isize;
    if delta % 4 != 0 {
        return segment_bytes_windowed(tile, tpos, xb, xpos, n);
    }
    // Tile words read in place: the lanes of tile word k start at lane
    // 32 k - delta, a multiple of 4, i.e. at byte-lane word 8 k - delta / 4.
    let xw = |k: usize| 8 * k as isize - delta / 4;
    let (kf, kl) = (tpos / 32, (tpos + n - 1) / 32);
    let (lo, hi) = (tpos % 32, (tpos + n - 1) % 32 + 1);
    // A partial tile word: its lanes may reach outside the input buffer,
    // where they are masked off (read as 0 here).
    let edge = |k: usize, mask: u32| -> u32 {
        let t = tile.get(k).copied().unwrap_or(0) & mask;
        let base = xw(k);
        if base >= 0 {
            if let Some(x) = xb.get(base as usize..base as usize + BYTE_WORDS) {
                return selected_byte_sum(&[t], x);
            }
        }
        let mut x = [0u32; BYTE_WORDS];
        for (j, dst) in x.iter_mut().enumerate() {
            let i = base + j as isize;
            if i >= 0 {
                *dst = xb.get(i as usize).copied().unwrap_or(0);
            }
        }
        selected_byte_sum(&[t], &x)
    };
    if kf == kl {
        return edge(kf, lane_mask(lo, hi));
    }
    // Whole tile words [ks, ke) in one call; a partial first / last word apart.
    let mut total = 0;
    let ks = if lo == 0 {
        kf
    } else {
        total += edge(kf, lane_mask(lo, 32));
        kf + 1
    };
    let ke = if hi == 32 {
        kl + 1
    } else {
        total += edge(kl, lane_mask(0, hi));
        kl
    };
    if ke > ks {
        // Whole words lie inside the segment, so their lanes are in the input.
        let base = xw(ks).max(0) as usize;
        let tw = tile.get(ks..ke).unwrap_or(&[]);
        let xs = xb.get(base..base + BYTE_WORDS * (ke - ks)).unwrap_or(&[]);
        total += selected_byte_sum(tw, xs);
    }
    total
}

/// [`segment_bytes`] when tile bits and lanes are not 4-aligned to each
/// other: the tile windows are funnel-shifted into a small buffer.
fn segment_bytes_windowed(tile: &[u32], tpos: usize, xb: &[u32], xpos: usize, n: usize) -> u32 {
    let sp = Span::new(tpos, xpos, n);
    let edge = |i: usize, mask: u32| -> u32 {
        let t = sp.window(tile, i) & mask;
        xb.get(i * BYTE_WORDS..(i + 1) * BYTE_WORDS)
            .map_or(0, |x| selected_byte_sum(&[t], x))
    };
    let mut total = edge(sp.first, sp.first_mask);
    if sp.last == sp.first {
        return total;
    }
    if sp.last > sp.first + 1 {
        let cnt = sp.last - sp.first - 1;
        let (k0, s) = sp.middle_start();
        let xs = xb
            .get((sp.first + 1) * BYTE_WORDS..sp.last * BYTE_WORDS)
            .unwrap_or(&[]);
        // Funnel-shifted windows (s != 0 here: lanes and tile bits are not
        // 4-aligned), a chunk at a time.
        let mut buf = [0u32; WINDOW_CHUNK];
        let tw = tile.get(k0..(k0 + cnt + 1).min(tile.len())).unwrap_or(&[]);
        for (c, xc) in xs.chunks(WINDOW_CHUNK * BYTE_WORDS).enumerate() {
            let words = xc.len() / BYTE_WORDS;
            let base = c * WINDOW_CHUNK;
            let src = tw
                .get(base..(base + words + 1).min(tw.len()))
                .unwrap_or(&[]);
            for (dst, pair) in buf.iter_mut().zip(src.windows(2)) {
                *dst = window(pair, s as isize);
            }
            total += selected_byte_sum(&buf[..words], xc);
        }
    }
    total + edge(sp.last, sp.last_mask)
}

// ---------------------------------------------------------------------------
// Packing the input of a dense stage
// ---------------------------------------------------------------------------

/// Words per 32-lane word of a packed input of `bits`-bit values: 2 for
/// `A = 1` (sign bits, lane-valid mask), 8 byte-lane words for `A >= 2`.
pub fn words_per_lane_word(bits: u8) -> usize {
    if bits == 1 {
        2
    } else {
        BYTE_WORDS
    }
}

/// The byte a lane holds for `A >= 2`: the value plus 128 when signed
/// (so selected sums never go negative); invalid lanes hold value 0.
#[inline(always)]
fn lane_byte(code: ValueCode, v: i32) -> u32 {
    (v as u32 & 0xFF) ^ if code.signed { 0x80 } else { 0 }
}

/// Packs `n` lanes given by `value(l) -> Option<i32>` (None = invalid lane,
/// conv padding): `A = 1` as sign and valid words, `A >= 2` as byte lanes.
/// Lanes past `n` are invalid. `prefix[w]` becomes the sum over lanes
/// `< 32 w` of the values (`A >= 2`) or the valid-lane count (`A = 1`).
fn pack(
    code: ValueCode,
    n: usize,
    planes: &mut [u32],
    prefix: &mut [i32],
    mut value: impl FnMut(usize) -> Option<i32>,
) {
    let a = words_per_lane_word(code.bits);
    let words = n.div_ceil(32);
    prefix[0] = 0;
    for w in 0..words {
        let mut pl = [0u32; BYTE_WORDS];
        let mut sum = 0i32;
        for l in 0..32 {
            let v = if w * 32 + l < n {
                value(w * 32 + l)
            } else {
                None
            };
            if code.bits == 1 {
                if let Some(v) = v {
                    pl[0] |= ((v & 1) as u32) << l;
                    pl[1] |= 1 << l;
                    sum += 1;
                }
            } else {
                let v = v.unwrap_or(0);
                pl[l / 4] |= lane_byte(code, v) << (8 * (l % 4));
                sum += v;
            }
        }
        planes[w * a..w * a + a].copy_from_slice(&pl[..a]);
        prefix[w + 1] = prefix[w] + sum;
    }
}

/// `acc` plus the sum of the four bytes of `v` (`USADA8` on ARMv7E-M).
#[inline(always)]
fn add_byte_sum(acc: u32, v: u32) -> u32 {
    #[cfg(tbn_dsp)]
    {
        let r: u32;
        // SAFETY: a pure register operation.
        unsafe {
            core::arch::asm!(
                "usada8 {r}, {v}, {z}, {a}",
                r = lateout(reg) r,
                v = in(reg) v,
                z = in(reg) 0u32,
                a = in(reg) acc,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        r
    }
    #[cfg(not(tbn_dsp))]
    {
        acc + byte_sum(v)
    }
}

/// Fast packing of a fully valid linear input of `A >= 2` bits: four lanes
/// to a byte-lane word, then the prefix sums from the bytes. The values
/// must be in the input's range (checked for the program input, guaranteed
/// by requantization for later stages).
fn pack_bytes(code: ValueCode, x: &[i32], xb: &mut [u32], prefix: &mut [i32]) {
    let words = x.len().div_ceil(32);
    let xb = &mut xb[..words * BYTE_WORDS];
    let bias = if code.signed { 0x80 } else { 0 };
    let fours = x.chunks_exact(4);
    let rest = fours.remainder();
    let mut dst = xb.iter_mut();
    for (four, d) in fours.zip(&mut dst) {
        let b = |v: i32| (v + bias) as u32;
        *d = (b(four[0]) | b(four[1]) << 8) | (b(four[2]) | b(four[3]) << 8) << 16;
    }
    // The partial last word, then invalid lanes (value 0) up to 32 lanes.
    let mut tail = [0i32; 4];
    tail[..rest.len()].copy_from_slice(rest);
    if let Some(d) = dst.next() {
        *d = tail
            .iter()
            .enumerate()
            .fold(0, |w, (i, &v)| w | lane_byte(code, v) << (8 * i));
    }
    for d in dst {
        *d = 0x0101_0101 * bias as u32;
    }
    // Lanes hold value + bias: 32 lanes a word.
    let mut sum = 0i32;
    prefix[0] = 0;
    for (w, lw) in xb.chunks_exact(BYTE_WORDS).enumerate() {
        let bytes = lw.iter().fold(0u32, |a, &v| add_byte_sum(a, v));
        sum += bytes as i32 - 32 * bias;
        prefix[w + 1] = sum;
    }
}

/// Sum of the values (`A >= 2`) or valid counts (`A = 1`) over lanes `[0, lane)`.
fn prefix_at(code: ValueCode, planes: &[u32], prefix: &[i32], lane: usize) -> i32 {
    let w = lane / 32;
    let part = lane % 32;
    let mut s = prefix.get(w).copied().unwrap_or(0);
    if part != 0 {
        let mask = (1u32 << part) - 1;
        if code.bits == 1 {
            s += popcount(planes.get(2 * w + 1).copied().unwrap_or(0) & mask) as i32;
        } else {
            let x = planes
                .get(w * BYTE_WORDS..(w + 1) * BYTE_WORDS)
                .unwrap_or(&[]);
            s += selected_byte_sum_portable(&[mask], x) as i32;
            if code.signed {
                s -= 128 * part as i32;
            }
        }
    }
    s
}

/// Dot product of one segment: tile bits `[tpos, tpos + n)` against lanes
/// `[xpos, xpos + n)` of the packed input, whose value sum is `px`.
fn segment_dot(
    code: ValueCode,
    tile: &[u32],
    tpos: usize,
    planes: &[u32],
    px: i32,
    xpos: usize,
    n: usize,
) -> i32 {
    if n == 0 {
        return 0;
    }
    if code.bits == 1 {
        // sum over valid lanes of (+1 if x == t else -1).
        return 2 * segment_xnor(tile, tpos, planes, xpos, n) - px;
    }
    // sum_l x_l (2 t_l - 1) = 2 sum_{t_l = 1} x_l - sum_l x_l; signed bytes
    // carry +128, removed once per selected tile bit.
    let mut selected = segment_bytes(tile, tpos, planes, xpos, n) as i32;
    if code.signed {
        selected -= 128 * tile_pop(tile, tpos, n) as i32;
    }
    2 * selected - px
}

/// Accumulator pairs of the distinct rows of `d` for a packed input.
fn distinct_rows(d: &Dense<'_>, planes: &[u32], prefix: &[i32], acc: &mut [(i32, i32)]) {
    let g = d.geom;
    let code = d.input;
    let whole = prefix_at(code, planes, prefix, g.m);
    // Row j starts at tile bit (j m) mod q (docs/numerics.md section 2).
    let mut offset = 0usize;
    for slot in acc.iter_mut().take(g.distinct_rows()) {
        let len_a = g.m.min(g.q - offset);
        *slot = if len_a == g.m {
            (segment_dot(code, d.tile, offset, planes, whole, 0, g.m), 0)
        } else {
            let head = prefix_at(code, planes, prefix, len_a);
            (
                segment_dot(code, d.tile, offset, planes, head, 0, len_a),
                segment_dot(code, d.tile, 0, planes, whole - head, len_a, g.m - len_a),
            )
        };
        offset += g.m;
        if offset >= g.q {
            offset -= g.q;
        }
    }
}

// ---------------------------------------------------------------------------
// Conv2d with byte lanes (A >= 2)
// ---------------------------------------------------------------------------
//
// A conv stage runs the same few short rows (m = C kh kw lanes) at every
// output position, so what is per row in the generic path is hoisted to once
// per stage: each distinct row's tile bits are extracted once into lane-
// aligned selection words (no funnel shifts or edge words per position), and
// each row's requantization parameters (alpha codes, multiplier, bias) into a
// small table. Per position the patch is gathered straight into byte lanes,
// (c, ky) run by (c, ky) run, from the CHW input. All of it lives in the
// caller's `planes` buffer ([`conv_plane_words`]).

/// Header words of a distinct row's entry in the row table: the length of
/// its first segment, then the tile-bit counts of both segments.
const ROW_HEADER: usize = 3;

/// Words per row of the requantization table: alpha code of the row's copy,
/// alpha code of the next copy (0 unless the row straddles), multiplier,
/// bias low and high words.
const PARAM_WORDS: usize = 5;

/// Words of `planes` that [`run`] needs for a dense stage: the packed input
/// (see [`words_per_lane_word`]), plus for a conv stage of `A >= 2` the row
/// table (per distinct row, 3 header words and the selection words of both
/// segments) and the requantization table (5 words per row).
pub fn plane_words(d: &Dense<'_>) -> usize {
    let words = d.geom.m.div_ceil(32);
    let packed = words * words_per_lane_word(d.input.bits);
    if d.conv.is_some() && d.input.bits >= 2 {
        packed + d.geom.distinct_rows() * (ROW_HEADER + 2 * words) + d.geom.rows * PARAM_WORDS
    } else {
        packed
    }
}

/// The selection word of lane word `w` for tile bits starting at `tpos`,
/// restricted to lanes `[lo, hi)` (lane `l` takes tile bit `tpos + l`).
fn select_word(tile: &[u32], tpos: isize, w: usize, lo: usize, hi: usize) -> u32 {
    let (a, b) = (lo.max(32 * w), hi.min(32 * w + 32));
    if a >= b {
        return 0;
    }
    window(tile, tpos + 32 * w as isize) & lane_mask(a - 32 * w, b - 32 * w)
}

/// Fills the row table: for distinct row `j` (tile offset `(j m) mod q`)
/// `[len_a, pop_a, pop_b, sel_a[words], sel_b[words]]`, where `sel_a` holds
/// the tile bits of lanes `[0, len_a)` (from the row's offset) and `sel_b`
/// those of lanes `[len_a, m)` (from tile bit 0; all zero unless the row
/// straddles the tile's end).
fn build_row_table(d: &Dense<'_>, words: usize, table: &mut [u32]) {
    let g = d.geom;
    let stride = ROW_HEADER + 2 * words;
    let mut offset = 0usize;
    for entry in table.chunks_exact_mut(stride).take(g.distinct_rows()) {
        let len_a = g.m.min(g.q - offset);
        let (head, sel) = entry.split_at_mut(ROW_HEADER);
        let (sel_a, sel_b) = sel.split_at_mut(words);
        let (mut pop_a, mut pop_b) = (0, 0);
        for w in 0..words {
            sel_a[w] = select_word(d.tile, offset as isize, w, 0, len_a);
            sel_b[w] = select_word(d.tile, -(len_a as isize), w, len_a, g.m);
            pop_a += popcount(sel_a[w]);
            pop_b += popcount(sel_b[w]);
        }
        head.copy_from_slice(&[len_a as u32, pop_a, pop_b]);
        offset += g.m;
        if offset >= g.q {
            offset -= g.q;
        }
    }
}

/// Fills the requantization table, row by row, with what [`rows_loop`]
/// derives per row: the alpha codes of the row's copy and (straddling rows
/// only, else 0) of the next copy, the multiplier and the bias plus `half`.
fn build_param_table(d: &Dense<'_>, half: i64, table: &mut [u32]) {
    let g = d.geom;
    let (mut off, mut copy) = (0usize, 0usize);
    for (r, p) in table.chunks_exact_mut(PARAM_WORDS).take(g.rows).enumerate() {
        let alpha = d.alpha_q.get(copy) as u32;
        let alpha_next = if g.q - off < g.m {
            d.alpha_q.get(copy + 1) as u32
        } else {
            0
        };
        let bias = d.bias(r).wrapping_add(half) as u64;
        p.copy_from_slice(&[
            alpha,
            alpha_next,
            d.mult(r) as u32,
            bias as u32,
            (bias >> 32) as u32,
        ]);
        off += g.m;
        if off >= g.q {
            off -= g.q;
            copy += 1;
        }
    }
}

/// `planes` viewed as bytes: lane `l` of a byte-lane image is byte `l`
/// (little-endian words; see [`gather_patch`] for big-endian targets).
fn as_bytes_mut(words: &mut [u32]) -> &mut [u8] {
    // SAFETY: the same memory under the same exclusive borrow; u8 has no
    // alignment or validity requirements.
    unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 4) }
}

/// Gathers the im2col patch of output position `(oy, ox)` (lane order
/// `(c, ky, kx)`, docs/numerics.md section 3) into byte lanes: the value
/// (xor 0x80 when signed, i.e. +128), padding lanes hold value 0. Lanes past
/// `m` are left as they are.
fn gather_patch(
    code: ValueCode,
    x: &[i32],
    cg: &ConvGeom,
    oy: usize,
    ox: usize,
    patch: &mut [u32],
) {
    let flip = if code.signed { 0x80u8 } else { 0 };
    let (kh, kw) = (cg.kh, cg.kw);
    let iy0 = (oy * cg.stride) as isize - cg.pad as isize;
    let ix0 = (ox * cg.stride) as isize - cg.pad as isize;
    // Kernel columns [kx_lo, kx_hi) fall inside the input row (the same for
    // every run of this position).
    let kx_lo = (-ix0).clamp(0, kw as isize) as usize;
    let kx_hi = (cg.in_w as isize - ix0).clamp(kx_lo as isize, kw as isize) as usize;
    let bytes = as_bytes_mut(patch);
    let mut runs = bytes.chunks_exact_mut(kw);
    if iy0 >= 0 && iy0 as usize + kh <= cg.in_h && kx_lo == 0 && kx_hi == kw {
        // An interior position (most of them): every run is kw consecutive
        // input values, no padding.
        let first = iy0 as usize * cg.in_w + ix0 as usize;
        match kw {
            // The usual 3 x 3 kernel: fully unrolled runs.
            3 => gather_interior::<3>(flip, x, cg, first, bytes),
            _ => {
                let plane = cg.in_h * cg.in_w;
                for c in 0..cg.in_c {
                    let mut start = c * plane + first;
                    for run in (&mut runs).take(kh) {
                        for (dst, &v) in run.iter_mut().zip(&x[start..start + kw]) {
                            *dst = v as u8 ^ flip;
                        }
                        start += cg.in_w;
                    }
                }
            }
        }
    } else {
        gather_edge(flip, x, cg, iy0, ix0, (kx_lo, kx_hi), runs);
    }
    if cfg!(target_endian = "big") {
        for w in patch.iter_mut() {
            *w = u32::from_le(*w);
        }
    }
}

/// [`gather_patch`] for an interior position of a kernel `KW` wide, input
/// element `first` at its top-left corner in channel 0.
#[inline(always)]
fn gather_interior<const KW: usize>(
    flip: u8,
    x: &[i32],
    cg: &ConvGeom,
    first: usize,
    bytes: &mut [u8],
) {
    let plane = cg.in_h * cg.in_w;
    let mut runs = bytes.chunks_exact_mut(KW);
    for c in 0..cg.in_c {
        let mut start = c * plane + first;
        for run in (&mut runs).take(cg.kh) {
            let src = &x[start..start + KW];
            for k in 0..KW {
                run[k] = src[k] as u8 ^ flip;
            }
            start += cg.in_w;
        }
    }
}

/// [`gather_patch`] for a position whose window reaches into the padding.
fn gather_edge<'a>(
    flip: u8,
    x: &[i32],
    cg: &ConvGeom,
    iy0: isize,
    ix0: isize,
    (kx_lo, kx_hi): (usize, usize),
    mut runs: impl Iterator<Item = &'a mut [u8]>,
) {
    let (kh, kw) = (cg.kh, cg.kw);
    for c in 0..cg.in_c {
        for (ky, run) in (0..kh).zip(&mut runs) {
            let iy = iy0 + ky as isize;
            if iy < 0 || iy as usize >= cg.in_h {
                run.fill(flip);
                continue;
            }
            if kx_hi > kx_lo {
                // ix = ix0 + kx is in [0, in_w) for kx in [kx_lo, kx_hi).
                let start = (c * cg.in_h + iy as usize) * cg.in_w + (ix0 + kx_lo as isize) as usize;
                let src = &x[start..start + (kx_hi - kx_lo)];
                for (dst, &v) in run[kx_lo..kx_hi].iter_mut().zip(src) {
                    *dst = v as u8 ^ flip;
                }
            }
            if kx_lo > 0 {
                run[..kx_lo].fill(flip);
            }
            if kx_hi < kw {
                run[kx_hi..].fill(flip);
            }
        }
    }
}

/// `acc` plus the bytes of `x` whose bit is set in the low nibble of `t`
/// (byte `i` for bit `i`).
#[inline(always)]
fn add_selected_nibble(acc: u32, t: u32, x: u32) -> u32 {
    #[cfg(tbn_dsp)]
    {
        let r: u32;
        // SAFETY: register operations only (the GE flags are clobbered,
        // which the asm block does not promise to preserve).
        unsafe {
            core::arch::asm!(
                "msr APSR_g, {t}",
                "sel {s}, {x}, {z}",
                "usada8 {r}, {s}, {z}, {a}",
                t = in(reg) t << 16,
                x = in(reg) x,
                z = in(reg) 0u32,
                a = in(reg) acc,
                s = out(reg) _,
                r = lateout(reg) r,
                options(pure, nomem, nostack),
            );
        }
        r
    }
    #[cfg(not(tbn_dsp))]
    {
        acc + byte_sum(x & NIBBLE_BYTES[(t & 0xF) as usize])
    }
}

/// Sum of the patch bytes of lanes `[0, m)` whose bit is set in `sel`
/// (lane-aligned selection words): whole words through
/// [`selected_byte_sum`], the last partial word nibble by nibble.
#[inline]
fn selected_patch_sum(sel: &[u32], patch: &[u32], m: usize) -> u32 {
    let full = m / 32;
    let mut acc = selected_byte_sum(&sel[..full], &patch[..BYTE_WORDS * full]);
    let nibbles = (m % 32).div_ceil(4);
    if nibbles > 0 {
        let mut t = sel[full];
        for &x in &patch[BYTE_WORDS * full..BYTE_WORDS * full + nibbles] {
            acc = add_selected_nibble(acc, t, x);
            t >>= 4;
        }
    }
    acc
}

/// Sum of the patch's values over lanes `[0, n)`.
fn patch_value_sum(code: ValueCode, patch: &[u32], n: usize) -> i32 {
    let whole = n / 4;
    let mut s = patch[..whole].iter().fold(0u32, |a, &v| add_byte_sum(a, v));
    if !n.is_multiple_of(4) {
        s = add_byte_sum(s, patch[whole] & ((1u32 << (8 * (n % 4))) - 1));
    }
    s as i32 - if code.signed { 128 * n as i32 } else { 0 }
}

/// The accumulator pairs of the distinct rows for one gathered patch (the
/// row table from [`build_row_table`]); the same arithmetic as
/// [`segment_dot`]: `2 (selected - 128 pop) - sum`.
fn conv_rows(
    code: ValueCode,
    m: usize,
    patch: &[u32],
    table: &[u32],
    words: usize,
    acc: &mut [(i32, i32)],
) {
    let whole = patch_value_sum(code, patch, m);
    if words == 1 {
        return conv_rows_short(code, m, patch, table, whole, acc);
    }
    for (entry, slot) in table
        .chunks_exact(ROW_HEADER + 2 * words)
        .zip(acc.iter_mut())
    {
        let sel_a = &entry[ROW_HEADER..ROW_HEADER + words];
        let a = selected_patch_sum(sel_a, patch, m) as i32;
        *slot = row_pair(code, m, patch, entry, words, a, whole);
    }
}

/// A row's accumulator pair from its first segment's selected sum `a`
/// (see [`conv_rows`]).
#[inline(always)]
fn row_pair(
    code: ValueCode,
    m: usize,
    patch: &[u32],
    entry: &[u32],
    words: usize,
    a: i32,
    whole: i32,
) -> (i32, i32) {
    let bias = if code.signed { 128 } else { 0 };
    let (len_a, pop_a) = (entry[0] as usize, entry[1] as i32);
    let a = a - bias * pop_a;
    if len_a == m {
        return (2 * a - whole, 0);
    }
    // A straddling row: the second segment is selected by sel_b.
    let head = patch_value_sum(code, patch, len_a);
    let sel_b = &entry[ROW_HEADER + words..ROW_HEADER + 2 * words];
    let b = selected_patch_sum(sel_b, patch, m) as i32 - bias * entry[2] as i32;
    (2 * a - head, 2 * b - (whole - head))
}

/// [`conv_rows`] for rows of at most 32 lanes (e.g. a first layer's 1 x 3 x 3
/// kernel): the patch's few words are loaded once and every row is one
/// selection word, 4 lanes per `MSR` + `SEL` + `USADA8`.
fn conv_rows_short(
    code: ValueCode,
    m: usize,
    patch: &[u32],
    table: &[u32],
    whole: i32,
    acc: &mut [(i32, i32)],
) {
    let mut xs = [0u32; BYTE_WORDS];
    let n = m.div_ceil(4);
    xs[..n].copy_from_slice(&patch[..n]);
    let xs = &xs[..n];
    for (entry, slot) in table.chunks_exact(ROW_HEADER + 2).zip(acc.iter_mut()) {
        let mut t = entry[ROW_HEADER];
        let mut a = 0u32;
        for &x in xs {
            a = add_selected_nibble(a, t, x);
            t >>= 4;
        }
        *slot = row_pair(code, m, patch, entry, 1, a as i32, whole);
    }
}

/// Requantizes every row of one position from the parameter table (see
/// [`build_param_table`]): `f(acc_r * M_r + B_r)`, the same arithmetic as
/// [`rows_loop`] (the table's bias may carry the rounding half, see
/// [`conv_bytes`]). `out(v)` for every row in order.
#[inline(always)]
fn conv_requantize(
    period: usize,
    acc: &[(i32, i32)],
    params: &[u32],
    mut out: impl FnMut(i64),
    f: impl Fn(i64) -> i64,
) {
    // Row r uses distinct row r mod period: one block of rows per period.
    for block in params.chunks(PARAM_WORDS * period) {
        for (p, &(a, b)) in block.chunks_exact(PARAM_WORDS).zip(acc) {
            // Alpha codes are u16: two 32 x 32 -> 64-bit multiply-accumulates.
            let mut v = p[0] as i32 as i64 * a as i64 + p[1] as i32 as i64 * b as i64;
            v = v.wrapping_mul(p[2] as i32 as i64);
            v = v.wrapping_add(((p[4] as u64) << 32 | p[3] as u64) as i64);
            out(f(v));
        }
    }
}

/// A conv stage with `A >= 2` inputs (see the section comment). Not inlined:
/// it runs once per stage, and inlined it made the linear stages' code in
/// [`run`] slower (the reference MLP took 1% more instructions).
#[inline(never)]
fn conv_bytes(
    d: &Dense<'_>,
    cg: &ConvGeom,
    x: &[i32],
    planes: &mut [u32],
    acc: &mut [(i32, i32)],
    probe: &mut impl FnMut(Part),
    mut out: impl FnMut(usize, i64),
) {
    let g = d.geom;
    let words = g.m.div_ceil(32);
    let (patch, rest) = planes.split_at_mut(words * BYTE_WORDS);
    let (rows, rest) = rest.split_at_mut(g.distinct_rows() * (ROW_HEADER + 2 * words));
    let params = &mut rest[..g.rows * PARAM_WORDS];
    build_row_table(d, words, rows);
    // Relu and Signed round as (v + 2^(S-1)) >> S: the half is added to the
    // bias once per stage instead of per output (wrapping adds commute).
    let (shift, bits) = (d.shift, d.out_bits);
    let rounds = matches!(d.act, Activation::Relu | Activation::Signed);
    let half = if rounds && shift > 0 {
        1i64 << (shift - 1)
    } else {
        0
    };
    build_param_table(d, half, params);
    // Lanes past m stay 0 (the selection words never pick them).
    patch.fill(0);
    let (positions, ow) = (d.positions(), d.out_shape.w);
    let acc = &mut acc[..g.distinct_rows()];
    let period = g.period();
    for pos in 0..positions {
        gather_patch(d.input, x, cg, pos / ow, pos % ow, patch);
        probe(Part::Pack);
        conv_rows(d.input, g.m, patch, rows, words, acc);
        probe(Part::Rows);
        // Row r of this position is CHW element r * positions + pos.
        let mut idx = pos;
        let out = |v: i64| {
            out(idx, v);
            idx += positions;
        };
        // One loop per activation, as in requantize_rows.
        match d.act {
            Activation::Relu => {
                let top = (1i64 << bits) - 1;
                conv_requantize(period, acc, params, out, move |v| {
                    (v >> shift).clamp(0, top)
                })
            }
            Activation::Signed => {
                let (lo, hi) = (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
                conv_requantize(period, acc, params, out, move |v| {
                    (v >> shift).clamp(lo, hi)
                })
            }
            Activation::Sign => conv_requantize(period, acc, params, out, |v| (v > 0) as i64),
            Activation::Logits => conv_requantize(period, acc, params, out, |v| v),
        }
        probe(Part::Requantize);
    }
}

// ---------------------------------------------------------------------------
// The optimized integer kernel
// ---------------------------------------------------------------------------

/// Caller-provided working memory for [`run`]; sizes from [`Program::req`]
/// (`act_a`: `req.act_a`, `act_b`: `req.act_b`, both at most `max_act`;
/// `planes`: `max_plane_words`; `prefix`: `max_prefix`; `acc`:
/// `max_distinct`).
pub struct Workspace<'a> {
    /// Activation buffer A.
    pub act_a: &'a mut [i32],
    /// Activation buffer B.
    pub act_b: &'a mut [i32],
    /// One packed input vector (byte lanes for `A >= 2`, sign and valid
    /// words for `A = 1`; see [`words_per_lane_word`]).
    pub planes: &'a mut [u32],
    /// Prefix sums of the packed input.
    pub prefix: &'a mut [i32],
    /// Accumulator pairs of the distinct rows.
    pub acc: &'a mut [(i32, i32)],
}

impl Workspace<'_> {
    fn check(&self, prog: &Program<'_>) -> Result<(), KernelError> {
        let r = prog.req;
        check_len("act_a", r.act_a, self.act_a.len())?;
        check_len("act_b", r.act_b, self.act_b.len())?;
        check_len("planes", r.max_plane_words, self.planes.len())?;
        check_len("prefix", r.max_prefix, self.prefix.len())?;
        check_len("acc", r.max_distinct, self.acc.len())
    }
}

fn check_input(prog: &Program<'_>, input: &[i32]) -> Result<(), KernelError> {
    let n = prog.input_shape.numel();
    if input.len() != n {
        return Err(KernelError::InputLength {
            expected: n,
            found: input.len(),
        });
    }
    let (min, max) = (prog.input.min(), prog.input.max());
    // The range holds 2^A values: every value is in range iff the OR of
    // all `v - min` has no bit above the range's width (one pass, no branch).
    let span = max.wrapping_sub(min) as u32;
    if span & span.wrapping_add(1) == 0
        && input
            .iter()
            .fold(0u32, |a, &v| a | v.wrapping_sub(min) as u32)
            <= span
    {
        return Ok(());
    }
    if let Some((index, &value)) = input
        .iter()
        .enumerate()
        .find(|(_, v)| **v < min || **v > max)
    {
        return Err(KernelError::InputOutOfRange {
            index,
            value,
            min,
            max,
        });
    }
    Ok(())
}

/// Runs a program on an integer input (values in the input's range; for a
/// 1-bit input, 1 = +1 and 0 = -1) and writes the logits `v_r`.
/// Returns the number of logits written.
pub fn run(
    prog: &Program<'_>,
    input: &[i32],
    ws: &mut Workspace<'_>,
    logits: &mut [i64],
) -> Result<usize, KernelError> {
    run_probed(prog, input, ws, logits, |_, _| {})
}

/// A part of an inference, reported by [`run_probed`] when it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Argument checks and the copy of the input (reported once, stage 0).
    Setup,
    /// Decoding a stage from the compact program (`Program::stages`).
    Decode,
    /// Packing a dense stage's input (bytes or bit-planes, prefix sums).
    Pack,
    /// The accumulator pairs of a dense stage's distinct rows.
    Rows,
    /// Requantizing every row of a dense stage (or writing the logits).
    Requantize,
    /// A max-pool stage.
    Pool,
}

/// [`run`] that calls `probe(stage, part)` each time a part of the
/// inference ends (for conv stages once per output position and part), so
/// a caller can attribute time (e.g. SysTick ticks) to the parts. With a
/// no-op probe this is [`run`].
pub fn run_probed(
    prog: &Program<'_>,
    input: &[i32],
    ws: &mut Workspace<'_>,
    logits: &mut [i64],
    mut probe: impl FnMut(usize, Part),
) -> Result<usize, KernelError> {
    ws.check(prog)?;
    check_input(prog, input)?;
    check_len("logits", prog.req.logits, logits.len())?;
    probe(0, Part::Setup);
    let Workspace {
        act_a,
        act_b,
        planes,
        prefix,
        acc,
    } = ws;
    // The first stage reads the input in place; later stages alternate
    // between the two activation buffers.
    let (mut cur, mut nxt): (&mut [i32], &mut [i32]) = (act_a, act_b);
    let mut from_input = true;
    for (i, st) in prog.stages().enumerate() {
        let mut probe = |part| probe(i, part);
        probe(Part::Decode);
        let x: &[i32] = if from_input { input } else { cur };
        match st {
            Stage::Dense(d) => {
                if d.act == Activation::Logits {
                    dense(&d, x, planes, prefix, acc, &mut probe, |idx, v| {
                        logits[idx] = v
                    });
                    return Ok(prog.req.logits);
                }
                dense(&d, x, planes, prefix, acc, &mut probe, |idx, v| {
                    nxt[idx] = v as i32
                });
            }
            Stage::MaxPool {
                kernel,
                stride,
                in_shape,
                out_shape,
            } => {
                maxpool(x, nxt, kernel, stride, in_shape, out_shape, |a, b| a.max(b));
                probe(Part::Pool);
            }
            Stage::Flatten => continue,
        }
        core::mem::swap(&mut cur, &mut nxt);
        from_input = false;
    }
    Ok(prog.req.logits)
}

/// One dense stage: for each output position, pack the input (im2col for
/// conv), compute the distinct rows, requantize all rows. `out(index, v)`
/// receives CHW indices.
fn dense(
    d: &Dense<'_>,
    x: &[i32],
    planes: &mut [u32],
    prefix: &mut [i32],
    acc: &mut [(i32, i32)],
    probe: &mut impl FnMut(Part),
    mut out: impl FnMut(usize, i64),
) {
    let m = d.geom.m;
    let positions = d.positions();
    if let Some(cg) = d.conv {
        if d.input.bits >= 2 {
            return conv_bytes(d, &cg, x, planes, acc, probe, out);
        }
    }
    for pos in 0..positions {
        match d.conv {
            None if d.input.bits >= 2 => pack_bytes(d.input, &x[..m], planes, prefix),
            None => pack(d.input, m, planes, prefix, |l| Some(x[l])),
            Some(cg) => {
                let (oy, ox) = (pos / d.out_shape.w, pos % d.out_shape.w);
                let (kh, kw) = (cg.kh, cg.kw);
                pack(d.input, m, planes, prefix, |l| {
                    let ic = l / (kh * kw);
                    let ky = (l / kw) % kh;
                    let kx = l % kw;
                    let iy = (oy * cg.stride + ky) as isize - cg.pad as isize;
                    let ix = (ox * cg.stride + kx) as isize - cg.pad as isize;
                    if iy < 0 || ix < 0 || iy as usize >= cg.in_h || ix as usize >= cg.in_w {
                        None
                    } else {
                        Some(x[(ic * cg.in_h + iy as usize) * cg.in_w + ix as usize])
                    }
                })
            }
        }
        probe(Part::Pack);
        distinct_rows(d, planes, prefix, acc);
        probe(Part::Rows);
        requantize_rows(d, acc, |r, v| out(r * positions + pos, v));
        probe(Part::Requantize);
    }
}

/// Max-pool of a CHW map (`k x k` windows, stride `s`, no padding). The
/// common 2 x 2 / 2 case reads each pair of input rows once, two lanes at a
/// time; other shapes take the windows row by row.
fn maxpool<T: Copy>(
    x: &[T],
    y: &mut [T],
    k: usize,
    s: usize,
    i: Shape,
    o: Shape,
    max: impl Fn(T, T) -> T,
) {
    let plane = i.h * i.w;
    let outs = y.chunks_exact_mut(o.w).take(o.c * o.h);
    for (n, dst) in outs.enumerate() {
        let (c, oy) = (n / o.h, n % o.h);
        let base = c * plane + oy * s * i.w;
        if k == 2 && s == 2 {
            let r0 = &x[base..base + 2 * o.w];
            let r1 = &x[base + i.w..base + i.w + 2 * o.w];
            for ((d, a), b) in dst
                .iter_mut()
                .zip(r0.chunks_exact(2))
                .zip(r1.chunks_exact(2))
            {
                *d = max(max(a[0], a[1]), max(b[0], b[1]));
            }
            continue;
        }
        for (ox, d) in dst.iter_mut().enumerate() {
            let start = base + ox * s;
            let mut best = x[start];
            for row in x[start..].chunks(i.w).take(k) {
                best = row[..k].iter().fold(best, |m, &v| max(m, v));
            }
            *d = best;
        }
    }
}

// ---------------------------------------------------------------------------
// The float baseline (the authors' style)
// ---------------------------------------------------------------------------

/// Caller-provided working memory for [`run_float_baseline`] (`act_a`:
/// `req.act_a`, `act_b`: `req.act_b`, as for [`Workspace`]).
pub struct FloatWorkspace<'a> {
    /// Activation buffer A.
    pub act_a: &'a mut [f32],
    /// Activation buffer B.
    pub act_b: &'a mut [f32],
}

/// Runs the float path of a program (float alphas, gains, offsets) per
/// weight, as the TBN authors' microcontroller code does: for each weight,
/// find its tile bit, choose `+alpha` or `-alpha` of its copy, multiply by
/// the input and accumulate in float. The integer input is scaled by the
/// program's input scale (1-bit inputs become +1 / -1). Writes float logits.
pub fn run_float_baseline(
    prog: &Program<'_>,
    input: &[i32],
    ws: &mut FloatWorkspace<'_>,
    logits: &mut [f32],
) -> Result<usize, KernelError> {
    check_input(prog, input)?;
    check_len("act_a", prog.req.act_a, ws.act_a.len())?;
    check_len("act_b", prog.req.act_b, ws.act_b.len())?;
    check_len("logits", prog.req.logits, logits.len())?;
    for (i, st) in prog.stages().enumerate() {
        if let Stage::Dense(d) = st {
            if d.float.is_none() {
                return Err(KernelError::NoFloatParams { stage: i });
            }
        }
    }
    let scale = prog.input_scale;
    for (dst, &v) in ws.act_a.iter_mut().zip(input) {
        *dst = if prog.input.bits == 1 {
            if v != 0 {
                1.0
            } else {
                -1.0
            }
        } else {
            v as f32 * scale
        };
    }
    let (mut cur, mut nxt): (&mut [f32], &mut [f32]) = (&mut *ws.act_a, &mut *ws.act_b);
    for st in prog.stages() {
        match st {
            Stage::Dense(d) => {
                if d.act == Activation::Logits {
                    float_dense(&d, cur, logits);
                    return Ok(prog.req.logits);
                }
                float_dense(&d, cur, nxt);
                core::mem::swap(&mut cur, &mut nxt);
            }
            Stage::MaxPool {
                kernel,
                stride,
                in_shape,
                out_shape,
            } => {
                maxpool(cur, nxt, kernel, stride, in_shape, out_shape, f32::max);
                core::mem::swap(&mut cur, &mut nxt);
            }
            Stage::Flatten => {}
        }
    }
    Ok(prog.req.logits)
}

fn float_dense(d: &Dense<'_>, x: &[f32], y: &mut [f32]) {
    let Some(f) = d.float else { return };
    let g = d.geom;
    let (m, q) = (g.m, g.q);
    let positions = d.positions();
    for pos in 0..positions {
        for r in 0..g.rows {
            let mut sum = 0.0f32;
            for k in 0..m {
                // Per weight: flat index, tile bit, alpha of its copy.
                let idx = r * m + k;
                let bit = (d.tile[(idx % q) / 32] >> ((idx % q) % 32)) & 1;
                let alpha = f.alpha(idx / q);
                let w = if bit == 1 { alpha } else { -alpha };
                let xv = match d.conv {
                    None => x[k],
                    Some(cg) => {
                        let (oy, ox) = (pos / d.out_shape.w, pos % d.out_shape.w);
                        let ic = k / (cg.kh * cg.kw);
                        let ky = (k / cg.kw) % cg.kh;
                        let kx = k % cg.kw;
                        let iy = (oy * cg.stride + ky) as isize - cg.pad as isize;
                        let ix = (ox * cg.stride + kx) as isize - cg.pad as isize;
                        if iy < 0 || ix < 0 || iy as usize >= cg.in_h || ix as usize >= cg.in_w {
                            0.0
                        } else {
                            x[(ic * cg.in_h + iy as usize) * cg.in_w + ix as usize]
                        }
                    }
                };
                sum += w * xv;
            }
            let v = f.gain(r) * sum + f.offset(r);
            y[r * positions + pos] = match d.act {
                Activation::Relu => v.max(0.0),
                Activation::Sign => {
                    if v > 0.0 {
                        1.0
                    } else {
                        -1.0
                    }
                }
                Activation::Signed | Activation::Logits => v,
            };
        }
    }
}

/// Index of the largest value; ties go to the lowest index (docs/numerics.md section 6).
pub fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    let mut best = 0;
    for i in 1..v.len() {
        if v[i] > v[best] {
            best = i;
        }
    }
    best
}
