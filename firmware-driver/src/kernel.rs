//! The microcontroller TBN kernels.
//!
//! - [`run`]: the optimized integer kernel, bit-exact with docs/numerics.md.
//!   The packed tile is read in place (from flash); only the `D` distinct rows
//!   are computed (row reuse), each one as its accumulator pair
//!   `(dot_a, dot_b)`; then every row is requantized with its own copy's alpha
//!   code. Activations are packed as bit-planes, interleaved per 32-lane word
//!   (`A` words per lane word: plane 0 first; for `A = 1` the two words are
//!   the sign bits and the lane-valid mask). Popcounts use a SWAR scheme that
//!   merges the planes' partial counts at nibble and byte level before the
//!   horizontal sum, so a tile word costs about 9 instructions per plane on a
//!   Cortex-M4 (which has no popcount instruction).
//! - [`run_float_baseline`]: the float path written the way the TBN authors'
//!   microcontroller code computes a layer (per weight: locate the tile bit,
//!   pick `+alpha` / `-alpha`, multiply-accumulate in float), for comparison.
//!
//! All buffers are provided by the caller ([`Workspace`], [`FloatWorkspace`]).

use crate::program::{Activation, Dense, Program, Shape, Stage, ValueCode};

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

/// The stage output of one row from `v = acc * M + B`, by activation.
/// Logits return `v` itself.
#[inline]
pub fn requantize_value(v: i64, shift: u32, act: Activation, out_bits: u8) -> i64 {
    let rounded = || {
        if shift == 0 {
            v
        } else {
            v.wrapping_add(1i64 << (shift - 1)) >> shift
        }
    };
    match act {
        Activation::Relu => rounded().clamp(0, (1i64 << out_bits) - 1),
        Activation::Signed => {
            rounded().clamp(-(1i64 << (out_bits - 1)), (1i64 << (out_bits - 1)) - 1)
        }
        Activation::Sign => (v > 0) as i64,
        Activation::Logits => v,
    }
}

/// `acc_r * M_r + B_r` for a row whose accumulator pair is `(dot_a, dot_b)`,
/// copy `c`, straddling or not.
#[inline]
pub fn row_value(d: &Dense<'_>, r: usize, c: usize, straddles: bool, pair: (i32, i32)) -> i64 {
    let mut acc = d.alpha_q.get(c) as i64 * pair.0 as i64;
    if straddles {
        acc += d.alpha_q.get(c + 1) as i64 * pair.1 as i64;
    }
    acc.wrapping_mul(d.mult(r) as i64).wrapping_add(d.bias(r))
}

/// Requantizes every row of a dense stage from the distinct rows'
/// accumulator pairs, calling `out(r, value)` for row `r` in order.
/// This is what the accelerator's host does with its output memory.
pub fn requantize_rows(d: &Dense<'_>, acc: &[(i32, i32)], mut out: impl FnMut(usize, i64)) {
    let g = d.geom;
    let period = g.period();
    let (mut off, mut copy, mut j) = (0usize, 0usize, 0usize);
    for r in 0..g.rows {
        let straddles = g.q - off < g.m;
        let pair = acc.get(j).copied().unwrap_or((0, 0));
        let v = row_value(d, r, copy, straddles, pair);
        out(r, requantize_value(v, d.shift, d.act, d.out_bits));
        off += g.m;
        if off >= g.q {
            off -= g.q;
            copy += 1;
        }
        j += 1;
        if j == period {
            j = 0;
        }
    }
}

// ---------------------------------------------------------------------------
// SWAR popcount pieces
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

/// Nibble values (each <= 15) folded to byte sums (each <= 30).
#[inline(always)]
fn bytes_of_wide(n: u32) -> u32 {
    (n & 0x0F0F_0F0F) + ((n >> 4) & 0x0F0F_0F0F)
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

/// Weighted plane counts of one 32-lane word: for planes `b < A`, with
/// `y_b = t & x_b`, returns `[sum_{b<4} 2^b pop(y_b), sum_{4<=b<8} 2^(b-4) pop(y_b)]`
/// as 16-bit-lane pairs (each lane <= 240), and the sign plane's count (lanes <= 32).
#[inline(always)]
fn plane_word<const A: usize>(t: u32, x: &[u32; A], signed: bool) -> (u32, u32, u32) {
    let y = |b: usize| if b < A { t & x[b] } else { 0 };
    // Pairs of planes merged at nibble level: n0 + 2 n1 <= 12 per nibble.
    let pair = |b: usize| {
        if b >= A {
            0
        } else if b + 1 >= A {
            bytes_of(nib(y(b)))
        } else {
            bytes_of_wide(nib(y(b)) + (nib(y(b + 1)) << 1))
        }
    };
    // Quads merged at byte level: p0 + 4 p1 <= 120 per byte.
    let lo = if A > 2 {
        pair(0) + (pair(2) << 2)
    } else {
        pair(0)
    };
    let hi = if A > 6 {
        pair(4) + (pair(6) << 2)
    } else if A > 4 {
        pair(4)
    } else {
        0
    };
    let s = if signed {
        wide(bytes_of(nib(y(A - 1))))
    } else {
        0
    };
    (wide(lo), if A > 4 { wide(hi) } else { 0 }, s)
}

/// Accumulated weighted counts of a run of words.
#[derive(Clone, Copy, Default)]
struct Counts {
    lo: u32,
    hi: u32,
    sign: u32,
}

impl Counts {
    /// `sum_b w_b pop(t & x_b)` with plane weights (sign plane negative when signed).
    fn weighted<const A: usize>(&self, signed: bool) -> i32 {
        let unsigned = self.lo as i32 + ((self.hi as i32) << 4);
        if signed {
            unsigned - ((self.sign as i32) << A)
        } else {
            unsigned
        }
    }
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

/// Sum over tile bits `[tpos, tpos + n)` against input lanes `[xpos, xpos + n)`
/// of the per-word plane counts (A >= 2), or XNOR counts over valid lanes (A = 1).
fn segment_counts<const A: usize>(
    tile: &[u32],
    tpos: usize,
    planes: &[u32],
    xpos: usize,
    n: usize,
    signed: bool,
) -> i32 {
    let first = xpos / 32;
    let last = (xpos + n - 1) / 32;
    let delta = tpos as isize - xpos as isize;
    let word = |i: usize, t: u32| -> (u32, u32, u32) {
        let base = i * A;
        let mut x = [0u32; A];
        if let Some(s) = planes.get(base..base + A) {
            x.copy_from_slice(s);
        }
        plane_word::<A>(t, &x, signed)
    };
    let edge_mask = |i: usize| -> u32 {
        let lo = if i == first { xpos % 32 } else { 0 };
        let hi = if i == last {
            (xpos + n - 1) % 32 + 1
        } else {
            32
        };
        lane_mask(lo, hi)
    };
    let mut total = Counts::default();
    let add = |c: &mut Counts, w: (u32, u32, u32)| {
        c.lo += hsum16(w.0);
        c.hi += hsum16(w.1);
        c.sign += hsum16(w.2);
    };
    // First word (masked).
    let t = window(tile, first as isize * 32 + delta) & edge_mask(first);
    add(&mut total, word(first, t));
    if last == first {
        return total.weighted::<A>(signed);
    }
    // Middle words: full lanes, fast loop without bounds checks.
    let mid_lo = first + 1;
    let mid_hi = last; // exclusive
    if mid_hi > mid_lo {
        let cnt = mid_hi - mid_lo;
        let start = mid_lo as isize * 32 + delta; // >= 0: lanes past xpos map into the tile
        let k0 = start as usize / 32;
        let s = start as usize % 32;
        let xs = &planes[mid_lo * A..mid_hi * A];
        let tw = &tile[k0.min(tile.len())..(k0 + cnt + 1).min(tile.len())];
        // One pass per group of at most four planes keeps every value in
        // registers on a Cortex-M4 (the tile window is recomputed per pass).
        total.lo += mid_pass::<A, 0>(tw, s, xs, A.min(4));
        if A > 4 {
            total.hi += mid_pass::<A, 4>(tw, s, xs, A - 4);
        }
        if signed {
            total.sign += mid_pass::<A, 0>(tw, s, xs, usize::MAX);
        }
    }
    // Last word (masked).
    let t = window(tile, last as isize * 32 + delta) & edge_mask(last);
    add(&mut total, word(last, t));
    total.weighted::<A>(signed)
}

/// `sum_{k<n} 2^k pop(t & x[LO + k])` over the middle words (n <= 4), or the
/// sign plane's count when `n == usize::MAX`; the tile window of word `j`
/// is bits `s..s+32` of `tw[j], tw[j+1]`.
#[inline(always)]
fn mid_pass<const A: usize, const LO: usize>(tw: &[u32], s: usize, xs: &[u32], n: usize) -> u32 {
    let mut total = 0u32;
    let mut acc = 0u32;
    let mut left = 255;
    for (j, x) in xs.chunks_exact(A).enumerate() {
        let w0 = tw.get(j).copied().unwrap_or(0);
        let t = if s == 0 {
            w0
        } else {
            (w0 >> s) | (tw.get(j + 1).copied().unwrap_or(0) << (32 - s))
        };
        let Ok(x) = <&[u32; A]>::try_from(x) else {
            continue;
        };
        let y = |k: usize| if LO + k < A { t & x[LO + k] } else { 0 };
        acc += if n == usize::MAX {
            wide(bytes_of(nib(t & x[A - 1])))
        } else {
            let pair = |k: usize| {
                if k >= n {
                    0
                } else if k + 1 >= n {
                    bytes_of(nib(y(k)))
                } else {
                    bytes_of_wide(nib(y(k)) + (nib(y(k + 1)) << 1))
                }
            };
            wide(pair(0) + (pair(2) << 2))
        };
        left -= 1;
        if left == 0 {
            total += hsum16(acc);
            acc = 0;
            left = 255;
        }
    }
    total + hsum16(acc)
}

/// Count of XNOR(t, x) over valid lanes, as a 16-bit-lane pair.
#[inline(always)]
fn xnor_word(t: u32, x: &[u32; 2]) -> u32 {
    wide(bytes_of(nib(!(t ^ x[0]) & x[1])))
}

/// A = 1 segment: `pop(XNOR(t, x) & valid)` over the lanes.
fn segment_xnor(tile: &[u32], tpos: usize, planes: &[u32], xpos: usize, n: usize) -> i32 {
    let first = xpos / 32;
    let last = (xpos + n - 1) / 32;
    let delta = tpos as isize - xpos as isize;
    let pair = |i: usize| -> [u32; 2] {
        let mut x = [0u32; 2];
        if let Some(s) = planes.get(2 * i..2 * i + 2) {
            x.copy_from_slice(s);
        }
        x
    };
    let edge = |i: usize| -> u32 {
        let lo = if i == first { xpos % 32 } else { 0 };
        let hi = if i == last {
            (xpos + n - 1) % 32 + 1
        } else {
            32
        };
        lane_mask(lo, hi)
    };
    let mut total = 0u32;
    let mut x = pair(first);
    x[1] &= edge(first);
    total += hsum16(xnor_word(window(tile, first as isize * 32 + delta), &x));
    if last == first {
        return total as i32;
    }
    if last > first + 1 {
        let start = (first + 1) as isize * 32 + delta;
        let k0 = start as usize / 32;
        let s = start as usize % 32;
        let xs = &planes[2 * (first + 1)..2 * last];
        let tw = &tile[k0..(k0 + (last - first - 1) + 1).min(tile.len())];
        let mut acc = 0u32;
        for (j, x) in xs.chunks_exact(2).enumerate() {
            let w0 = tw.get(j).copied().unwrap_or(0);
            let t = if s == 0 {
                w0
            } else {
                (w0 >> s) | (tw.get(j + 1).copied().unwrap_or(0) << (32 - s))
            };
            if let Ok(x) = <&[u32; 2]>::try_from(x) {
                acc += xnor_word(t, x);
            }
            if j % 2048 == 2047 {
                total += hsum16(acc);
                acc = 0;
            }
        }
        total += hsum16(acc);
    }
    let mut x = pair(last);
    x[1] &= edge(last);
    total += hsum16(xnor_word(window(tile, last as isize * 32 + delta), &x));
    total as i32
}

// ---------------------------------------------------------------------------
// Activations as bit-planes
// ---------------------------------------------------------------------------

/// Words per 32-lane group for `bits`-bit activations (`A = 1`: sign + valid).
pub fn words_per_lane_word(bits: u8) -> usize {
    (bits as usize).max(2)
}

/// Packs `n` lanes given by `value(l) -> Option<i32>` (None = invalid lane,
/// conv padding) into interleaved bit-planes, and fills `prefix` with the
/// per-word sums `sum_b w_b pop(x_b)` (A >= 2) or valid-lane counts (A = 1)
/// at `prefix[w + 1]` (made cumulative by [`pack_prefixed`]). Lanes past `n`
/// are zero / invalid.
fn pack(
    code: ValueCode,
    n: usize,
    planes: &mut [u32],
    prefix: &mut [i32],
    mut value: impl FnMut(usize) -> Option<i32>,
) {
    let a = words_per_lane_word(code.bits);
    let words = n.div_ceil(32);
    for w in 0..words {
        let mut pl = [0u32; 8];
        let lanes = (n - w * 32).min(32);
        for l in 0..lanes {
            if let Some(v) = value(w * 32 + l) {
                if code.bits == 1 {
                    pl[0] |= ((v & 1) as u32) << l;
                    pl[1] |= 1 << l;
                } else {
                    let u = v as u32;
                    for (b, p) in pl.iter_mut().enumerate().take(code.bits as usize) {
                        *p |= ((u >> b) & 1) << l;
                    }
                }
            }
        }
        planes[w * a..w * a + a].copy_from_slice(&pl[..a]);
        let s = if code.bits == 1 {
            popcount(pl[1]) as i32
        } else {
            let mut s = 0i32;
            for (b, p) in pl.iter().enumerate().take(code.bits as usize) {
                let c = popcount(*p) as i32;
                if code.signed && b + 1 == code.bits as usize {
                    s -= c << b;
                } else {
                    s += c << b;
                }
            }
            s
        };
        prefix[w + 1] = s;
    }
}

/// Sum of `sum_b w_b pop(x_b)` (or valid counts) over lanes `[0, lane)`.
fn prefix_at(code: ValueCode, planes: &[u32], prefix: &[i32], lane: usize) -> i32 {
    let w = lane / 32;
    let part = lane % 32;
    let mut s = prefix[w];
    if part != 0 {
        let a = words_per_lane_word(code.bits);
        let mask = (1u32 << part) - 1;
        let pl = &planes[w * a..w * a + a];
        if code.bits == 1 {
            s += popcount(pl[1] & mask) as i32;
        } else {
            for (b, p) in pl.iter().enumerate().take(code.bits as usize) {
                let c = popcount(*p & mask) as i32;
                if code.signed && b + 1 == code.bits as usize {
                    s -= c << b;
                } else {
                    s += c << b;
                }
            }
        }
    }
    s
}

/// Dot product of one segment: tile bits `[tpos, tpos + n)` against lanes
/// `[xpos, xpos + n)` of the packed activations.
pub(crate) fn segment_dot(
    code: ValueCode,
    tile: &[u32],
    tpos: usize,
    planes: &[u32],
    prefix: &[i32],
    xpos: usize,
    n: usize,
) -> i32 {
    let px = prefix_at(code, planes, prefix, xpos + n) - prefix_at(code, planes, prefix, xpos);
    let s = code.signed;
    let pt = match code.bits {
        1 => return 2 * segment_xnor(tile, tpos, planes, xpos, n) - px,
        2 => segment_counts::<2>(tile, tpos, planes, xpos, n, s),
        3 => segment_counts::<3>(tile, tpos, planes, xpos, n, s),
        4 => segment_counts::<4>(tile, tpos, planes, xpos, n, s),
        5 => segment_counts::<5>(tile, tpos, planes, xpos, n, s),
        6 => segment_counts::<6>(tile, tpos, planes, xpos, n, s),
        7 => segment_counts::<7>(tile, tpos, planes, xpos, n, s),
        _ => segment_counts::<8>(tile, tpos, planes, xpos, n, s),
    };
    2 * pt - px
}

/// Accumulator pairs of the distinct rows of `d` for packed activations.
pub(crate) fn distinct_rows(d: &Dense<'_>, planes: &[u32], prefix: &[i32], acc: &mut [(i32, i32)]) {
    let g = d.geom;
    for (j, slot) in acc.iter_mut().enumerate().take(g.distinct_rows()) {
        let seg = g.segment(j);
        let a = segment_dot(d.input, d.tile, seg.offset, planes, prefix, 0, seg.len_a);
        let b = if seg.len_a < g.m {
            segment_dot(
                d.input,
                d.tile,
                0,
                planes,
                prefix,
                seg.len_a,
                g.m - seg.len_a,
            )
        } else {
            0
        };
        *slot = (a, b);
    }
}

// ---------------------------------------------------------------------------
// The optimized integer kernel
// ---------------------------------------------------------------------------

/// Caller-provided working memory for [`run`]; sizes from [`Program::req`]
/// (`act_a`, `act_b`: `max_act`; `planes`: `max_plane_words`; `prefix`:
/// `max_prefix`; `acc`: `max_distinct`).
pub struct Workspace<'a> {
    /// Activation buffer A.
    pub act_a: &'a mut [i32],
    /// Activation buffer B.
    pub act_b: &'a mut [i32],
    /// Packed bit-planes of one row's input.
    pub planes: &'a mut [u32],
    /// Prefix sums of the packed input.
    pub prefix: &'a mut [i32],
    /// Accumulator pairs of the distinct rows.
    pub acc: &'a mut [(i32, i32)],
}

impl Workspace<'_> {
    fn check(&self, prog: &Program<'_>) -> Result<(), KernelError> {
        let r = prog.req;
        check_len("act_a", r.max_act, self.act_a.len())?;
        check_len("act_b", r.max_act, self.act_b.len())?;
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
    ws.check(prog)?;
    check_input(prog, input)?;
    check_len("logits", prog.req.logits, logits.len())?;
    let n_in = input.len();
    ws.act_a[..n_in].copy_from_slice(input);
    let Workspace {
        act_a,
        act_b,
        planes,
        prefix,
        acc,
    } = ws;
    let (mut cur, mut nxt): (&mut [i32], &mut [i32]) = (act_a, act_b);
    for st in prog.stages() {
        match st {
            Stage::Dense(d) => {
                if d.act == Activation::Logits {
                    dense(&d, cur, planes, prefix, acc, |idx, v| logits[idx] = v);
                    return Ok(prog.req.logits);
                }
                dense(&d, cur, planes, prefix, acc, |idx, v| nxt[idx] = v as i32);
                core::mem::swap(&mut cur, &mut nxt);
            }
            Stage::MaxPool {
                kernel,
                stride,
                in_shape,
                out_shape,
            } => {
                maxpool(cur, nxt, kernel, stride, in_shape, out_shape, |a, b| {
                    a.max(b)
                });
                core::mem::swap(&mut cur, &mut nxt);
            }
            Stage::Flatten => {}
        }
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
    mut out: impl FnMut(usize, i64),
) {
    let m = d.geom.m;
    let positions = d.positions();
    for pos in 0..positions {
        match d.conv {
            None if d.input.bits >= 2 => pack_bytes(d.input, &x[..m], planes, prefix),
            None => pack_prefixed(d.input, m, planes, prefix, |l| Some(x[l])),
            Some(cg) => {
                let (oy, ox) = (pos / d.out_shape.w, pos % d.out_shape.w);
                let (kh, kw) = (cg.kh, cg.kw);
                pack_prefixed(d.input, m, planes, prefix, |l| {
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
        distinct_rows(d, planes, prefix, acc);
        requantize_rows(d, acc, |r, v| out(r * positions + pos, v));
    }
}

/// Fast packing of a fully valid input of `A >= 2` bits: four lanes at a
/// time as bytes, each plane's four bits gathered with one multiply.
fn pack_bytes(code: ValueCode, x: &[i32], planes: &mut [u32], prefix: &mut [i32]) {
    let a = code.bits as usize;
    let top = a - 1;
    prefix[0] = 0;
    for (w, (lanes, out)) in x.chunks(32).zip(planes.chunks_exact_mut(a)).enumerate() {
        let mut pl = [0u32; 8];
        for (g, four) in lanes.chunks(4).enumerate() {
            let mut bytes = 0u32;
            for (k, &v) in four.iter().enumerate() {
                bytes |= (v as u32 & 0xFF) << (8 * k);
            }
            for (b, p) in pl.iter_mut().enumerate().take(a) {
                // Bits 0, 8, 16, 24 of the plane land on bits 21..=24.
                let nib = ((((bytes >> b) & 0x0101_0101).wrapping_mul(0x0020_4081)) >> 21) & 0xF;
                *p |= nib << (4 * g);
            }
        }
        out.copy_from_slice(&pl[..a]);
        let mut sum = 0i32;
        for (b, p) in pl.iter().enumerate().take(a) {
            let c = popcount(*p) as i32;
            sum += if code.signed && b == top {
                -(c << b)
            } else {
                c << b
            };
        }
        prefix[w + 1] = prefix[w] + sum;
    }
}

/// [`pack`] followed by a correct running prefix.
fn pack_prefixed(
    code: ValueCode,
    n: usize,
    planes: &mut [u32],
    prefix: &mut [i32],
    value: impl FnMut(usize) -> Option<i32>,
) {
    let words = n.div_ceil(32);
    for p in prefix.iter_mut().take(words + 1) {
        *p = 0;
    }
    pack(code, n, planes, prefix, value);
    // `pack` stored the sum of word w at prefix[w + 1]: make it cumulative.
    for w in 1..=words {
        prefix[w] += prefix[w - 1];
    }
}

fn maxpool<T: Copy>(
    x: &[T],
    y: &mut [T],
    k: usize,
    s: usize,
    i: Shape,
    o: Shape,
    max: impl Fn(T, T) -> T,
) {
    for c in 0..o.c {
        for oy in 0..o.h {
            for ox in 0..o.w {
                let base = (c * i.h + oy * s) * i.w + ox * s;
                let mut best = x[base];
                for ky in 0..k {
                    for kx in 0..k {
                        best = max(best, x[base + ky * i.w + kx]);
                    }
                }
                y[(c * o.h + oy) * o.w + ox] = best;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The float baseline (the authors' style)
// ---------------------------------------------------------------------------

/// Caller-provided working memory for [`run_float_baseline`] (`max_act` each).
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
    check_len("act_a", prog.req.max_act, ws.act_a.len())?;
    check_len("act_b", prog.req.max_act, ws.act_b.len())?;
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
