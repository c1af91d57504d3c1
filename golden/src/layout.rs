//! Row geometry of a tiled layer: where each row starts in the tile, which
//! copy (alpha) it uses, whether it straddles two copies, and which rows are
//! distinct (docs/numerics.md, section 2).

/// Geometry of a tiled weight matrix of `rows` rows of length `m`, tile length
/// `q` and `p` copies (`rows * m == p * q`, `q >= m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl RowGeometry {
    /// Period after which row offsets repeat: `q / gcd(m, q)`.
    pub fn period(&self) -> usize {
        self.q / gcd(self.m, self.q)
    }

    /// Number of distinct rows `D = min(rows, period)`.
    pub fn distinct_rows(&self) -> usize {
        self.rows.min(self.period())
    }

    /// Segment of row `r`.
    #[inline]
    pub fn segment(&self, r: usize) -> Segment {
        let start = r * self.m;
        let offset = start % self.q;
        Segment {
            offset,
            copy: start / self.q,
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

    #[test]
    fn straddling_rows() {
        // 6 rows of 4, p = 2 -> q = 12; 3 rows per copy, no straddle.
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
}
