//! Seeded data augmentation on the CPU: random translations (whole pixels,
//! zero fill) and optional small rotations (bilinear) of single-channel images
//! stored as f32 in [0, 1]. Every training image gets a fresh transform in
//! every epoch; the draws come from the trainer's seeded generator, so a seed
//! fixes the augmented data exactly.

use rand::Rng;

use crate::error::{Result, TrainError};

/// Augmentation settings (`max_shift = 0` and `max_rotate_deg = 0` = none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Augment {
    /// Largest translation in pixels along each axis (uniform in `-s..=s`).
    pub max_shift: usize,
    /// Largest rotation in degrees (uniform in `[-r, r]`, about the image centre).
    pub max_rotate_deg: f32,
}

impl Default for Augment {
    /// +-1 pixel translations, no rotation (the best setting found for the
    /// MNIST MLP; +-2 underfits it, see docs/training.md).
    fn default() -> Self {
        Augment {
            max_shift: 1,
            max_rotate_deg: 0.0,
        }
    }
}

/// One drawn transform.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transform {
    /// Shift right (columns).
    pub dx: i32,
    /// Shift down (rows).
    pub dy: i32,
    /// Rotation in radians (counter-clockwise on screen).
    pub angle: f32,
}

impl Augment {
    /// True when the settings change nothing.
    pub fn is_identity(&self) -> bool {
        self.max_shift == 0 && self.max_rotate_deg == 0.0
    }

    /// Checks the ranges: the shift must leave part of the image, the rotation must be finite and at most 45 degrees.
    pub fn validate(&self, rows: usize, cols: usize) -> Result<()> {
        if self.max_shift >= rows.min(cols) {
            return Err(TrainError::Config(format!(
                "augmentation shift {} would move a {rows}x{cols} image out of the frame",
                self.max_shift
            )));
        }
        if !(self.max_rotate_deg.is_finite() && (0.0..=45.0).contains(&self.max_rotate_deg)) {
            return Err(TrainError::Config(format!(
                "augmentation rotation {} degrees must be in [0, 45]",
                self.max_rotate_deg
            )));
        }
        Ok(())
    }

    /// Draws a transform from `rng`.
    pub fn draw(&self, rng: &mut impl Rng) -> Transform {
        let s = self.max_shift as i32;
        let (dx, dy) = if s > 0 {
            (rng.gen_range(-s..=s), rng.gen_range(-s..=s))
        } else {
            (0, 0)
        };
        let angle = if self.max_rotate_deg > 0.0 {
            rng.gen_range(-self.max_rotate_deg..=self.max_rotate_deg)
                .to_radians()
        } else {
            0.0
        };
        Transform { dx, dy, angle }
    }
}

/// Applies `t` to the `rows x cols` image `src`, writing `dst` (same size).
/// Pixels that come from outside the frame are 0. With `angle == 0` this is an
/// exact integer shift; otherwise each output pixel samples the rotated and
/// shifted source bilinearly.
pub fn apply(src: &[f32], rows: usize, cols: usize, t: Transform, dst: &mut [f32]) {
    debug_assert_eq!(src.len(), rows * cols);
    debug_assert_eq!(dst.len(), rows * cols);
    let (r, c) = (rows as i64, cols as i64);
    if t.angle == 0.0 {
        for y in 0..r {
            let sy = y - i64::from(t.dy);
            for x in 0..c {
                let sx = x - i64::from(t.dx);
                dst[(y * c + x) as usize] = if (0..r).contains(&sy) && (0..c).contains(&sx) {
                    src[(sy * c + sx) as usize]
                } else {
                    0.0
                };
            }
        }
        return;
    }
    let (sin, cos) = t.angle.sin_cos();
    let cy = (rows as f32 - 1.0) / 2.0;
    let cx = (cols as f32 - 1.0) / 2.0;
    let px = |yy: i64, xx: i64| -> f32 {
        if (0..r).contains(&yy) && (0..c).contains(&xx) {
            src[(yy * c + xx) as usize]
        } else {
            0.0
        }
    };
    for y in 0..rows {
        for x in 0..cols {
            // Inverse map: undo the shift, then rotate back about the centre.
            let u = x as f32 - t.dx as f32 - cx;
            let v = y as f32 - t.dy as f32 - cy;
            let sx = cos * u + sin * v + cx;
            let sy = -sin * u + cos * v + cy;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let top = px(y0, x0) * (1.0 - fx) + px(y0, x0 + 1) * fx;
            let bottom = px(y0 + 1, x0) * (1.0 - fx) + px(y0 + 1, x0 + 1) * fx;
            dst[y * cols + x] = top * (1.0 - fy) + bottom * fy;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn integer_shift_moves_pixels_and_fills_zero() {
        let src: Vec<f32> = (0..12).map(|v| v as f32 + 1.0).collect(); // 3 x 4
        let mut dst = vec![-1.0; 12];
        apply(
            &src,
            3,
            4,
            Transform {
                dx: 1,
                dy: -1,
                angle: 0.0,
            },
            &mut dst,
        );
        assert_eq!(
            dst,
            vec![0.0, 5.0, 6.0, 7.0, 0.0, 9.0, 10.0, 11.0, 0.0, 0.0, 0.0, 0.0]
        );
    }

    #[test]
    fn zero_transform_is_identity_and_rotation_keeps_centre() {
        let src: Vec<f32> = (0..25).map(|v| (v % 7) as f32 / 7.0).collect();
        let mut dst = vec![0.0; 25];
        let id = Transform {
            dx: 0,
            dy: 0,
            angle: 0.0,
        };
        apply(&src, 5, 5, id, &mut dst);
        assert_eq!(dst, src);
        // A quarter turn maps the 5x5 grid onto itself exactly (up to rounding).
        let quarter = Transform {
            dx: 0,
            dy: 0,
            angle: std::f32::consts::FRAC_PI_2,
        };
        apply(&src, 5, 5, quarter, &mut dst);
        assert!((dst[12] - src[12]).abs() < 1e-5, "centre pixel stays");
        let mut back = vec![0.0; 25];
        let minus = Transform {
            angle: -std::f32::consts::FRAC_PI_2,
            ..quarter
        };
        apply(&dst, 5, 5, minus, &mut back);
        for (a, b) in back.iter().zip(&src) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }

    #[test]
    fn draws_are_in_range_and_seeded() {
        let seed = 42;
        println!("seed {seed}");
        let aug = Augment {
            max_shift: 2,
            max_rotate_deg: 10.0,
        };
        let mut a = ChaCha8Rng::seed_from_u64(seed);
        let mut b = ChaCha8Rng::seed_from_u64(seed);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..500 {
            let t = aug.draw(&mut a);
            assert_eq!(t, aug.draw(&mut b));
            assert!(t.dx.abs() <= 2 && t.dy.abs() <= 2);
            assert!(t.angle.abs() <= 10f32.to_radians() + 1e-6);
            seen.insert((t.dx, t.dy));
        }
        assert_eq!(seen.len(), 25, "every shift in -2..=2 squared occurs");
        assert!(aug.validate(28, 28).is_ok());
        assert!(Augment {
            max_shift: 28,
            max_rotate_deg: 0.0
        }
        .validate(28, 28)
        .is_err());
    }
}
