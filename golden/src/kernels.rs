//! Fast CPU kernels: bit-packed u64 words, hardware popcount, row reuse,
//! straddling rows and masked partial words.
//!
//! The tile is expanded once per layer into its `D` distinct rows
//! ([`PackedRows`], the same number of bits as the tile when no row straddles),
//! so the inner loops are aligned AND/XOR + popcount over u64 words.

use crate::layout::RowGeometry;
use crate::tile::Tile;

/// The distinct rows of a tiled layer, each packed into `wpr` u64 words (bits
/// past `m` are zero), with the length of each row's first segment.
#[derive(Clone, Debug)]
pub struct PackedRows {
    /// Row length in bits.
    pub m: usize,
    /// Words per row.
    pub wpr: usize,
    /// `D * wpr` words.
    pub words: Vec<u64>,
    /// Per distinct row: bits in the first segment (== m unless it straddles).
    pub len_a: Vec<usize>,
}

impl PackedRows {
    /// Expands the distinct rows of `geom` from `tile`.
    pub fn new(tile: &Tile, geom: &RowGeometry) -> PackedRows {
        let m = geom.m;
        let wpr = m.div_ceil(64);
        let d = geom.distinct_rows();
        let mut words = vec![0u64; d * wpr];
        let mut len_a = Vec::with_capacity(d);
        for j in 0..d {
            let seg = geom.segment(j);
            len_a.push(seg.len_a);
            let row = &mut words[j * wpr..(j + 1) * wpr];
            copy_bits(tile, seg.offset, seg.len_a, row, 0);
            if seg.len_a < m {
                copy_bits(tile, 0, m - seg.len_a, row, seg.len_a);
            }
        }
        PackedRows {
            m,
            wpr,
            words,
            len_a,
        }
    }

    /// Number of distinct rows.
    pub fn len(&self) -> usize {
        self.len_a.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len_a.is_empty()
    }

    /// The words of distinct row `j`.
    #[inline]
    pub fn row(&self, j: usize) -> &[u64] {
        &self.words[j * self.wpr..(j + 1) * self.wpr]
    }
}

/// Copies `len` tile bits starting at `from` into `dst` starting at bit `at`.
fn copy_bits(tile: &Tile, from: usize, len: usize, dst: &mut [u64], at: usize) {
    let mut done = 0;
    while done < len {
        let n = (len - done).min(64 - (at + done) % 64);
        let mut w = tile.window64(from + done);
        if n < 64 {
            w &= (1u64 << n) - 1;
        }
        dst[(at + done) / 64] |= w << ((at + done) % 64);
        done += n;
    }
}

/// Mask of the low `n` bits (n <= 64).
#[inline]
fn low_mask(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Integer activations of one input vector as bit-planes (docs/numerics.md §3).
#[derive(Clone, Debug)]
pub struct Planes {
    /// Bits per activation, 1..=8.
    pub bits: u8,
    /// Two's complement (sign plane weighted negatively).
    pub signed: bool,
    /// Number of lanes.
    pub m: usize,
    /// Words per plane.
    pub wpr: usize,
    /// `bits * wpr` words; plane `b` holds bit `b` of every lane.
    pub words: Vec<u64>,
    /// For `bits == 1`: the valid lanes (padding lanes are 0).
    pub valid: Vec<u64>,
}

impl Planes {
    /// Packs `x` (for `bits == 1`, values are bits: 1 = +1, 0 = -1), with an
    /// optional per-lane validity (conv padding); invalid lanes contribute 0.
    pub fn pack(x: &[i32], bits: u8, signed: bool, valid: Option<&[bool]>) -> Planes {
        let m = x.len();
        let wpr = m.div_ceil(64);
        let nb = bits as usize;
        let mut words = vec![0u64; nb * wpr];
        let mut vmask = vec![0u64; wpr];
        for (w, chunk) in x.chunks(64).enumerate() {
            let mut vw = low_mask(chunk.len());
            if let Some(va) = valid {
                for (i, &ok) in va[w * 64..w * 64 + chunk.len()].iter().enumerate() {
                    if !ok {
                        vw &= !(1u64 << i);
                    }
                }
            }
            vmask[w] = vw;
            // Eight lanes at a time: the low bytes of eight values, then one
            // bit-plane byte per plane by a multiply-gather.
            for (g, lanes) in chunk.chunks(8).enumerate() {
                let mut bytes = [0u8; 8];
                for (k, &v) in lanes.iter().enumerate() {
                    if (vw >> (g * 8 + k)) & 1 == 1 {
                        bytes[k] = v as u8;
                    }
                }
                let packed = u64::from_le_bytes(bytes);
                for b in 0..nb {
                    let bitb = (packed >> b) & 0x0101_0101_0101_0101;
                    let byte = bitb.wrapping_mul(0x0102_0408_1020_4080) >> 56;
                    words[b * wpr + w] |= byte << (g * 8);
                }
            }
        }
        Planes {
            bits,
            signed,
            m,
            wpr,
            words,
            valid: vmask,
        }
    }

    #[inline]
    fn plane(&self, b: usize) -> &[u64] {
        &self.words[b * self.wpr..(b + 1) * self.wpr]
    }

    /// Weight of plane `b`.
    #[inline]
    fn weight(&self, b: usize) -> i64 {
        if self.signed && b + 1 == self.bits as usize {
            -(1i64 << b)
        } else {
            1i64 << b
        }
    }
}

/// Popcount of `f(w)` over lanes `[0, n)` and over all lanes, in one pass.
#[inline(always)]
fn prefix_and_total(words: usize, n: usize, f: impl Fn(usize) -> u64) -> (i64, i64) {
    let full = n / 64;
    let mut pre = 0u32;
    let mut total = 0u32;
    for w in 0..words {
        let c = f(w);
        let pc = c.count_ones();
        total += pc;
        if w < full {
            pre += pc;
        } else if w == full {
            pre += (c & low_mask(n % 64)).count_ones();
        }
    }
    (pre as i64, total as i64)
}

/// Popcount of `a & b` over whole slices.
#[inline(always)]
fn and_popcount(a: &[u64], b: &[u64]) -> i64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x & y).count_ones())
        .sum::<u32>() as i64
}

/// The accumulator pairs `(dot_a, dot_b)` of every distinct row for the input
/// `x` (docs/numerics.md §3), computed the hardware's way. Uses the CPU's
/// popcount instruction when it has one (detected at run time).
pub fn accumulators(rows: &PackedRows, x: &Planes) -> Vec<(i32, i32)> {
    assert_eq!(rows.m, x.m, "row length and input length differ");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU supports popcnt (checked just above).
        return unsafe { accumulators_popcnt(rows, x) };
    }
    accumulators_portable(rows, x)
}

/// [`accumulators_portable`] compiled with the popcnt instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn accumulators_popcnt(rows: &PackedRows, x: &Planes) -> Vec<(i32, i32)> {
    accumulators_portable(rows, x)
}

#[inline(always)]
fn accumulators_portable(rows: &PackedRows, x: &Planes) -> Vec<(i32, i32)> {
    let wpr = rows.wpr;
    let nb = x.bits as usize;
    // Whole-row popcounts of the activations, shared by every row.
    let n_valid: i64 = x.valid.iter().map(|w| w.count_ones() as i64).sum();
    let x_total: Vec<i64> = (0..nb)
        .map(|b| x.plane(b).iter().map(|w| w.count_ones() as i64).sum())
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for j in 0..rows.len() {
        let t = rows.row(j);
        let la = rows.len_a[j];
        if la == rows.m {
            // No straddle: one segment over the whole row.
            let a = if nb == 1 {
                let dis: u32 = t
                    .iter()
                    .zip(&x.words)
                    .zip(&x.valid)
                    .map(|((t, x), v)| ((t ^ x) & v).count_ones())
                    .sum();
                n_valid - 2 * dis as i64
            } else {
                (0..nb)
                    .map(|b| x.weight(b) * (2 * and_popcount(t, x.plane(b)) - x_total[b]))
                    .sum()
            };
            out.push((a as i32, 0));
            continue;
        }
        let (a, total) = if nb == 1 {
            let v = &x.valid;
            let (dis_a, dis_t) = prefix_and_total(wpr, la, |w| (t[w] ^ x.words[w]) & v[w]);
            let (n_a, n_t) = prefix_and_total(wpr, la, |w| v[w]);
            (n_a - 2 * dis_a, n_t - 2 * dis_t)
        } else {
            let mut a = 0i64;
            let mut total = 0i64;
            for b in 0..nb {
                let p = x.plane(b);
                let (tx_a, tx_t) = prefix_and_total(wpr, la, |w| t[w] & p[w]);
                let (x_a, x_t) = prefix_and_total(wpr, la, |w| p[w]);
                let wb = x.weight(b);
                a += wb * (2 * tx_a - x_a);
                total += wb * (2 * tx_t - x_t);
            }
            (a, total)
        };
        out.push((a as i32, (total - a) as i32));
    }
    out
}

/// Float segment sums of every distinct row: `(sum_{i<len_a} t_i x_i, sum_{i>=len_a} t_i x_i)`
/// in f64, with `t_i = +-1`.
pub fn float_row_sums(rows: &PackedRows, x: &[f32]) -> Vec<(f64, f64)> {
    assert_eq!(rows.m, x.len(), "row length and input length differ");
    // sum t_i x_i = 2 * sum_{t_i = 1} x_i - sum x_i
    let mut prefix = Vec::with_capacity(x.len() + 1);
    let mut s = 0f64;
    prefix.push(0.0);
    for &v in x {
        s += f64::from(v);
        prefix.push(s);
    }
    (0..rows.len())
        .map(|j| {
            let t = rows.row(j);
            let la = rows.len_a[j];
            let mut pos_a = 0f64;
            let mut pos_b = 0f64;
            for (w, &word) in t.iter().enumerate() {
                let mut bits = word;
                while bits != 0 {
                    let i = w * 64 + bits.trailing_zeros() as usize;
                    if i < la {
                        pos_a += f64::from(x[i]);
                    } else {
                        pos_b += f64::from(x[i]);
                    }
                    bits &= bits - 1;
                }
            }
            let sum_a = prefix[la];
            let sum_b = prefix[rows.m] - sum_a;
            (2.0 * pos_a - sum_a, 2.0 * pos_b - sum_b)
        })
        .collect()
}
