//! The tile: a packed bit vector (bit 1 = weight +1), and its construction from
//! real-valued scores with the paper's rule (docs/numerics.md, section 1).

use crate::error::{Error, Result};

/// A tile of `len` bits, packed LSB first into u64 words (bit `j` is bit
/// `j % 64` of word `j / 64`). Bits past `len` in the last word are zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    len: usize,
    words: Vec<u64>,
}

impl Tile {
    /// An all-zero (all -1) tile of `len` bits.
    pub fn zeros(len: usize) -> Self {
        Tile {
            len,
            words: vec![0; len.div_ceil(64)],
        }
    }

    /// Builds a tile from booleans (`true` = +1).
    pub fn from_bools(bits: &[bool]) -> Self {
        let mut t = Tile::zeros(bits.len());
        for (j, &b) in bits.iter().enumerate() {
            t.set(j, b);
        }
        t
    }

    /// Builds a tile of `len` bits from packed u64 words (LSB first); bits past
    /// `len` are cleared.
    pub fn from_words(len: usize, mut words: Vec<u64>) -> Result<Self> {
        if words.len() != len.div_ceil(64) {
            return Err(Error::format(
                "tile",
                format!("{} words cannot hold exactly {len} bits", words.len()),
            ));
        }
        if !len.is_multiple_of(64) {
            if let Some(last) = words.last_mut() {
                *last &= (1u64 << (len % 64)) - 1;
            }
        }
        Ok(Tile { len, words })
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the tile has no bits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The packed words (LSB first).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// The tile as 32-bit words, LSB first (the layout of the accelerator and MCU).
    pub fn words32(&self) -> Vec<u32> {
        let n = self.len.div_ceil(32);
        (0..n)
            .map(|i| (self.words[i / 2] >> (32 * (i % 2))) as u32)
            .collect()
    }

    /// Bit `j` (true = +1). Panics if `j >= len` (an internal invariant).
    #[inline]
    pub fn get(&self, j: usize) -> bool {
        debug_assert!(j < self.len);
        (self.words[j / 64] >> (j % 64)) & 1 == 1
    }

    /// Sets bit `j`.
    #[inline]
    pub fn set(&mut self, j: usize, v: bool) {
        let w = &mut self.words[j / 64];
        if v {
            *w |= 1 << (j % 64);
        } else {
            *w &= !(1 << (j % 64));
        }
    }

    /// Weight sign of bit `j`: +1.0 or -1.0.
    #[inline]
    pub fn sign(&self, j: usize) -> f32 {
        if self.get(j) {
            1.0
        } else {
            -1.0
        }
    }

    /// The 64 bits starting at bit `start`, reading past the end as zero.
    #[inline]
    pub fn window64(&self, start: usize) -> u64 {
        let w = start / 64;
        let s = start % 64;
        let lo = self.words.get(w).copied().unwrap_or(0);
        if s == 0 {
            lo
        } else {
            let hi = self.words.get(w + 1).copied().unwrap_or(0);
            (lo >> s) | (hi << (64 - s))
        }
    }

    /// Hex encoding, MSB first within each byte (the reference file's order:
    /// bit `j` is bit `7 - j % 8` of byte `j / 8`).
    pub fn to_hex_msb(&self) -> String {
        let nbytes = self.len.div_ceil(8);
        let mut s = String::with_capacity(nbytes * 2);
        for b in 0..nbytes {
            let mut byte = 0u8;
            for i in 0..8 {
                let j = b * 8 + i;
                if j < self.len && self.get(j) {
                    byte |= 0x80 >> i;
                }
            }
            s.push_str(&format!("{byte:02x}"));
        }
        s
    }

    /// Parses the MSB-first hex encoding of a tile of `len` bits. The hex must
    /// have exactly `ceil(len / 8)` bytes and padding bits must be zero.
    pub fn from_hex_msb(hex: &str, len: usize) -> Result<Self> {
        let hex = hex.trim();
        let want = len.div_ceil(8) * 2;
        if hex.len() != want {
            return Err(Error::format(
                "tile_hex",
                format!(
                    "has {} hex digits, a tile of {len} bits needs {want}",
                    hex.len()
                ),
            ));
        }
        let mut t = Tile::zeros(len);
        for (b, pair) in hex.as_bytes().chunks(2).enumerate() {
            let digits = std::str::from_utf8(pair).unwrap_or("??");
            let byte = u8::from_str_radix(digits, 16).map_err(|_| {
                Error::format("tile_hex", format!("bad hex digits {digits:?} at byte {b}"))
            })?;
            for i in 0..8 {
                let j = b * 8 + i;
                let bit = byte & (0x80 >> i) != 0;
                if j < len {
                    t.set(j, bit);
                } else if bit {
                    return Err(Error::format(
                        "tile_hex",
                        format!("padding bit {j} past the tile's {len} bits is set"),
                    ));
                }
            }
        }
        Ok(t)
    }

    /// Number of +1 bits.
    pub fn count_ones(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// How alphas are derived when compressing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlphaMode {
    /// One alpha for the whole layer: mean |A|.
    Single,
    /// One alpha per tile copy: mean |A| over each chunk of q elements.
    PerCopy,
}

/// Builds the tile of `scores` (N = p * q elements) with the paper's rule:
/// `s_j = sum_c S[c*q + j]`, bit = `s_j > 0` (zero maps to -1).
pub fn tile_from_scores(scores: &[f32], p: usize) -> Result<Tile> {
    let q = tile_len(scores.len(), p)?;
    let mut t = Tile::zeros(q);
    for j in 0..q {
        let mut s = 0.0f32;
        for c in 0..p {
            s += scores[c * q + j];
        }
        t.set(j, s > 0.0);
    }
    Ok(t)
}

/// Alphas from a tensor `a` (latent weights or scores): mean |a| per chunk or overall.
pub fn alphas_from(a: &[f32], p: usize, mode: AlphaMode) -> Result<Vec<f32>> {
    let q = tile_len(a.len(), p)?;
    let mean_abs =
        |xs: &[f32]| (xs.iter().map(|v| f64::from(v.abs())).sum::<f64>() / xs.len() as f64) as f32;
    Ok(match mode {
        AlphaMode::Single => vec![mean_abs(a)],
        AlphaMode::PerCopy => a.chunks(q).map(mean_abs).collect(),
    })
}

/// `q = n / p`, with an error when `p` is zero or does not divide `n`.
pub fn tile_len(n: usize, p: usize) -> Result<usize> {
    if p == 0 || n == 0 || !n.is_multiple_of(p) {
        return Err(Error::Shape(format!(
            "compression p = {p} does not divide the {n} weights"
        )));
    }
    Ok(n / p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_roundtrip_and_order() {
        let t = Tile::from_hex_msb("80", 8).unwrap();
        assert!(t.get(0));
        assert!(!t.get(7));
        assert_eq!(t.to_hex_msb(), "80");
        let t = Tile::from_hex_msb("a0", 3).unwrap();
        assert_eq!((t.get(0), t.get(1), t.get(2)), (true, false, true));
        assert!(Tile::from_hex_msb("a1", 3).is_err());
        assert!(Tile::from_hex_msb("zz", 8).is_err());
        assert!(Tile::from_hex_msb("8000", 8).is_err());
    }

    #[test]
    fn paper_rule_zero_maps_to_minus_one() {
        // p = 2, q = 3: sums 1+(-1)=0 -> -1, 2+1 -> +1, -1+0 -> -1
        let t = tile_from_scores(&[1.0, 2.0, -1.0, -1.0, 1.0, 0.0], 2).unwrap();
        assert_eq!((t.get(0), t.get(1), t.get(2)), (false, true, false));
        let a = alphas_from(&[1.0, -2.0, 3.0, -4.0], 2, AlphaMode::PerCopy).unwrap();
        assert_eq!(a, vec![1.5, 3.5]);
        assert!(tile_from_scores(&[1.0; 5], 2).is_err());
    }

    #[test]
    fn window_and_words32() {
        let mut t = Tile::zeros(100);
        t.set(63, true);
        t.set(64, true);
        t.set(99, true);
        assert_eq!(t.window64(63) & 0b11, 0b11);
        assert_eq!(t.window64(99), 1);
        let w = t.words32();
        assert_eq!(w.len(), 4);
        assert_eq!(w[1], 1 << 31);
        assert_eq!(w[2], 1);
        assert_eq!(w[3], 1 << 3);
    }
}
