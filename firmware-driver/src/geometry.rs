//! Row geometry of a tiled layer (docs/numerics.md, section 2): where each
//! row starts in the tile, which copy (alpha) it uses, whether it straddles
//! two copies, and which rows are distinct. The one implementation, used by
//! the golden model (`tbn_golden::layout`), this driver, the image compiler
//! and the simulation harness.

/// Greatest common divisor (`gcd(a, 0) = a`).
pub const fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Period `P = q / gcd(m, q)` after which row offsets repeat (0 if `q == 0`).
pub const fn period(m: u64, q: u64) -> u64 {
    if q == 0 {
        0
    } else {
        q / gcd(m, q)
    }
}

/// Number of distinct rows `D = min(rows, q / gcd(m, q))` (0 if `q == 0`).
pub const fn distinct_rows(rows: u64, m: u64, q: u64) -> u64 {
    let p = period(m, q);
    if rows < p {
        rows
    } else {
        p
    }
}

/// Geometry of a tiled weight matrix of `rows` rows of length `m`, tile length
/// `q` and `p` copies (`rows * m == p * q`, `q >= m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RowGeometry {
    /// Number of rows (outputs, or output channels).
    pub rows: usize,
    /// Row length (inputs, or `in * kh * kw`).
    pub m: usize,
    /// Tile length in bits.
    pub q: usize,
    /// Number of tile copies.
    pub p: usize,
}

/// Where one row lies in the tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Tile bit at which the row starts.
    pub offset: usize,
    /// Tile copy (alpha index) of the row's first segment.
    pub copy: usize,
    /// Length of the first segment; `len_a < m` means the row straddles into
    /// copy `copy + 1`, continuing at tile bit 0.
    pub len_a: usize,
}

impl Segment {
    /// True when the row crosses into the next tile copy.
    pub fn straddles(&self, m: usize) -> bool {
        self.len_a < m
    }
}

impl RowGeometry {
    /// Period after which row offsets repeat: `q / gcd(m, q)`.
    pub fn period(&self) -> usize {
        // In the native word: on a 32-bit MCU a u64 remainder is a library
        // call (__aeabi_uldivmod), which cost the kernel 2% of its instructions.
        let (mut a, mut b) = (self.m, self.q);
        while b != 0 {
            (a, b) = (b, a % b);
        }
        if self.q == 0 {
            0
        } else {
            self.q / a
        }
    }

    /// Number of distinct rows `D = min(rows, period)`.
    pub fn distinct_rows(&self) -> usize {
        self.rows.min(self.period())
    }

    /// Segment of row `r` (`q > 0`).
    #[inline]
    pub fn segment(&self, r: usize) -> Segment {
        // r * m in u64: no overflow on 32-bit targets for any row the limits allow.
        let start = r as u64 * self.m as u64;
        let offset = (start % self.q as u64) as usize;
        Segment {
            offset,
            copy: (start / self.q as u64) as usize,
            len_a: self.m.min(self.q - offset),
        }
    }

    /// The distinct row that row `r` reuses.
    #[inline]
    pub fn distinct_of(&self, r: usize) -> usize {
        r % self.period()
    }

    /// True when some row straddles two tile copies.
    pub fn has_straddles(&self) -> bool {
        (0..self.distinct_rows()).any(|j| self.segment(j).straddles(self.m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_fc1_has_32_distinct_rows() {
        let g = RowGeometry {
            rows: 128,
            m: 784,
            q: 25088,
            p: 4,
        };
        assert_eq!(g.period(), 32);
        assert_eq!(g.distinct_rows(), 32);
        assert!(!g.has_straddles());
        assert_eq!(
            g.segment(33),
            Segment {
                offset: 784,
                copy: 1,
                len_a: 784
            }
        );
    }

    /// The native-word period equals the u64 `period` (every m, q up to 300).
    #[test]
    fn period_in_the_native_word_equals_the_u64_one() {
        for m in 1..=300usize {
            for q in 0..=300usize {
                let g = RowGeometry {
                    rows: 1,
                    m,
                    q,
                    p: 1,
                };
                assert_eq!(g.period() as u64, period(m as u64, q as u64), "m {m} q {q}");
            }
        }
    }

    #[test]
    fn straddling_rows() {
        // 5 rows of 6, p = 3 -> q = 10: row 1 starts at 6, straddles (len_a 4).
        let g = RowGeometry {
            rows: 5,
            m: 6,
            q: 10,
            p: 3,
        };
        let s = g.segment(1);
        assert_eq!((s.offset, s.copy, s.len_a), (6, 0, 4));
        assert!(g.has_straddles());
        assert_eq!(g.period(), 5);
    }

    #[test]
    fn distinct_rows_of_register_values() {
        assert_eq!(distinct_rows(100, 10, 25), 5);
        assert_eq!(distinct_rows(3, 10, 25), 3);
        assert_eq!(distinct_rows(3, 10, 0), 0);
        assert_eq!(gcd(12, 18), 6);
        assert_eq!(gcd(7, 0), 7);
    }
}
