//! Port values: Python integers of any size to and from little-endian u32 words,
//! with the width checks that turn misuse into clear exceptions.

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt};

/// Why a value does not fit a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidthError {
    /// The value, as decimal text.
    pub value: String,
    /// The port width.
    pub width: u32,
}

impl std::fmt::Display for WidthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = self.width;
        if w <= 64 {
            let max = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
            let min = -(1i128 << (w - 1));
            write!(
                f,
                "value {} does not fit in {w} bit{}: use 0..={max} (or {min}..=-1 as two's complement)",
                self.value,
                if w == 1 { "" } else { "s" }
            )
        } else {
            write!(
                f,
                "value {} does not fit in {w} bits (use -2^{}..2^{w})",
                self.value,
                w - 1
            )
        }
    }
}

/// Masks `v` (two's complement for negative values) to `width <= 64` bits after
/// checking `-2^(width-1) <= v < 2^width`.
pub fn fit_i128(v: i128, width: u32) -> Result<u64, WidthError> {
    let hi = 1i128 << width;
    let lo = -(1i128 << (width - 1));
    if v >= hi || v < lo {
        return Err(WidthError {
            value: v.to_string(),
            width,
        });
    }
    Ok((v & (hi - 1)) as u64)
}

/// Converts a Python value (int, bool, or anything with `__index__`) into the
/// port's u32 words (least significant first), checking the width.
pub fn to_words(obj: &Bound<'_, PyAny>, width: u32, port: &str) -> PyResult<Vec<u32>> {
    let n = width.div_ceil(32) as usize;
    let int = if obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyBool>() {
        obj.clone()
    } else if let Ok(i) = obj.call_method0("__index__") {
        i
    } else {
        return Err(PyTypeError::new_err(format!(
            "port `{port}`: cannot assign a value of type {} (use an int)",
            obj.get_type().name()?
        )));
    };
    if width <= 64 {
        let v: i128 = int.extract()?;
        let u = fit_i128(v, width)
            .map_err(|e| PyOverflowError::new_err(format!("port `{port}`: {e}")))?;
        return Ok((0..n).map(|i| (u >> (32 * i)) as u32).collect());
    }
    // Wide: range check and two's complement through Python's own int arithmetic.
    let py = obj.py();
    let one = 1u32.into_pyobject(py)?;
    let hi = one.call_method1("__lshift__", (width,))?;
    let lo = one
        .call_method1("__lshift__", (width - 1,))?
        .call_method0("__neg__")?;
    if int.ge(&hi)? || int.lt(&lo)? {
        return Err(PyOverflowError::new_err(format!(
            "port `{port}`: {}",
            WidthError {
                value: int.str()?.to_string(),
                width
            }
        )));
    }
    let masked = int.call_method1("__and__", (hi.call_method1("__sub__", (1,))?,))?;
    let bytes = masked.call_method1("to_bytes", (4 * n, "little"))?;
    let b: &[u8] = bytes.downcast::<PyBytes>()?.as_bytes();
    Ok(b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Converts words (least significant first) into a Python int.
pub fn from_words<'py>(py: Python<'py>, words: &[u32]) -> PyResult<Bound<'py, PyAny>> {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let int_type = py.get_type::<PyInt>();
    int_type.call_method1("from_bytes", (PyBytes::new(py, &bytes), "little"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_and_masks() {
        assert_eq!(fit_i128(255, 8), Ok(255));
        assert_eq!(fit_i128(-1, 8), Ok(255));
        assert_eq!(fit_i128(-128, 8), Ok(128));
        assert!(fit_i128(256, 8).is_err());
        assert!(fit_i128(-129, 8).is_err());
        assert_eq!(fit_i128(1, 1), Ok(1));
        assert_eq!(fit_i128(-1, 1), Ok(1));
        assert!(fit_i128(2, 1).is_err());
        assert_eq!(fit_i128(u64::MAX as i128, 64), Ok(u64::MAX));
    }

    #[test]
    fn width_error_names_the_range() {
        let e = fit_i128(300, 4).unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("300") && s.contains("0..=15") && s.contains("-8..=-1"),
            "{s}"
        );
    }
}
