//! Size limits every loader enforces (docs/numerics.md §9), and checked size
//! arithmetic. A file within these limits can be loaded and run in bounded
//! memory and time; anything beyond them is rejected with an error that names
//! the limit, before any allocation sized by the file's claims.

use crate::error::{Error, Result};

/// Most layers in a model (stages in a program).
pub const MAX_LAYERS: usize = 1024;
/// Longest row `m` (inputs of a linear layer, `in * kh * kw` of a conv):
/// keeps `|dot| <= m * 2^A <= 2^24` (docs/numerics.md §3).
pub const MAX_ROW_LEN: usize = 1 << 16;
/// Most weights `N = rows * m` in one layer (the float reference path
/// materialises them: 256 MiB of f32 at the limit).
pub const MAX_WEIGHTS: usize = 1 << 26;
/// Most values in one activation tensor (the input, or a layer's output).
pub const MAX_ACTIVATION: usize = 1 << 24;
/// Most values of all layers' outputs together (a calibration trace keeps them all).
pub const MAX_TRACE: usize = 1 << 26;
/// Most multiply-accumulates of one inference, all layers together (bounds run time).
pub const MAX_MACS: u64 = 1 << 32;
/// Largest magnitude of a program's bias `B_r`: keeps `acc * M + B` and the
/// rounding offset inside i64 (docs/numerics.md §4).
pub const MAX_BIAS: i64 = 1 << 62;
/// Most bytes of an input file (IDX, float tensors), also after decompression
/// (MNIST's training images are 47 MB).
pub const MAX_INPUT_BYTES: usize = 1 << 30;
/// Most values in one imported float tensor (`tbn compress`), equal to [`MAX_WEIGHTS`].
pub const MAX_TENSOR: usize = MAX_WEIGHTS;

/// The product of `dims`, or an error naming `what` when it overflows or
/// exceeds `limit`.
pub fn checked_product(dims: &[usize], limit: usize, what: &str) -> Result<usize> {
    let mut n: usize = 1;
    for &d in dims {
        n = n
            .checked_mul(d)
            .filter(|&v| v <= limit)
            .ok_or_else(|| too_large(what, dims, limit))?;
    }
    Ok(n)
}

fn too_large(what: &str, dims: &[usize], limit: usize) -> Error {
    Error::Shape(format!(
        "{what} {dims:?} has more than {limit} elements (the limit of docs/numerics.md §9)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_checked() {
        assert_eq!(checked_product(&[2, 3, 4], 24, "t").unwrap(), 24);
        assert!(checked_product(&[2, 3, 4], 23, "t").is_err());
        let e = checked_product(&[1 << 32, 1 << 32, 0], usize::MAX, "t").unwrap_err();
        assert!(e.to_string().contains("more than"), "{e}");
    }
}
