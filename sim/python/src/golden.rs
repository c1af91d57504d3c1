//! The golden model (`tbn_golden`) for Python: tiles, dense stages, integer
//! programs, float models, IDX loaders. Bulk data crosses as lists or bytes; the
//! Python package turns them into NumPy arrays.

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tbn_golden::integer::{self, Activation, DenseStage, Program, QuantConfig, Stage};
use tbn_golden::layout::RowGeometry;
use tbn_golden::model::{Layer, Linear, Model, Shape, TiledWeights};
use tbn_golden::tile::{self, AlphaMode, Tile};

use crate::errors::GoldenResultExt;

fn alpha_mode(s: &str) -> PyResult<AlphaMode> {
    match s {
        "per_copy" => Ok(AlphaMode::PerCopy),
        "single" => Ok(AlphaMode::Single),
        _ => Err(PyValueError::new_err(format!(
            "alpha mode `{s}` is not `per_copy` or `single`"
        ))),
    }
}

fn act_name(a: Activation) -> &'static str {
    match a {
        Activation::Relu => "relu",
        Activation::Sign => "sign",
        Activation::Signed => "signed",
        Activation::Logits => "logits",
    }
}

fn tile_from_words(words: &[u32], q: usize) -> PyResult<Tile> {
    if words.len() * 32 < q {
        return Err(PyValueError::new_err(format!(
            "tile has {} words, q = {q} needs {}",
            words.len(),
            q.div_ceil(32)
        )));
    }
    let w64: Vec<u64> = words
        .chunks(2)
        .map(|c| c[0] as u64 | (c.get(1).copied().unwrap_or(0) as u64) << 32)
        .collect();
    let mut w64 = w64;
    w64.truncate(q.div_ceil(64));
    if !q.is_multiple_of(64) {
        if let Some(last) = w64.last_mut() {
            *last &= (1u64 << (q % 64)) - 1;
        }
    }
    Tile::from_words(q, w64).py()
}

/// Checks an input vector against a program's input spec (length and range).
pub fn check_program_input(p: &Program, x: &[i32]) -> Result<(), String> {
    let n = tbn_golden::limits::checked_product(
        &p.input.shape,
        tbn_golden::limits::MAX_ACTIVATION,
        "input shape",
    )
    .map_err(|e| e.to_string())?;
    if x.len() != n {
        return Err(format!(
            "{} values for a program whose input has {n} ({:?})",
            x.len(),
            p.input.shape
        ));
    }
    let (lo, hi) = integer::value_range(p.input.bits, p.input.signed);
    if let Some((k, v)) = x
        .iter()
        .enumerate()
        .find(|(_, v)| i64::from(**v) < lo || i64::from(**v) > hi)
    {
        return Err(format!(
            "value {k} = {v} outside {lo}..={hi} of the {}-bit input",
            p.input.bits
        ));
    }
    Ok(())
}

/// Alpha codes of docs/numerics.md section 4:
/// `s_alpha = max / 32767`, `code = round_half_away(alpha / s_alpha)`.
pub fn alpha_codes(alphas: &[f32]) -> Result<Vec<u16>, String> {
    if let Some(a) = alphas.iter().find(|a| !a.is_finite() || **a < 0.0) {
        return Err(format!("alpha {a} is not finite and >= 0"));
    }
    let amax = alphas.iter().fold(0f32, |m, a| m.max(*a));
    if amax == 0.0 {
        return Ok(vec![0; alphas.len()]);
    }
    let s = f64::from(amax) / f64::from(integer::ALPHA_CODE_MAX);
    Ok(alphas
        .iter()
        .map(|a| (f64::from(*a) / s).round() as u16)
        .collect())
}

/// A compiled dense stage (`tbn_golden::integer::DenseStage`).
#[pyclass(module = "tbnsim._native", name = "Stage", frozen)]
#[derive(Clone)]
pub struct PyStage {
    pub(crate) inner: DenseStage,
}

#[pymethods]
impl PyStage {
    /// A linear stage from its tile and alphas, with logits output
    /// (`v_r = sum of alpha codes * accumulators`, no scaling): geometry
    /// `rows x m` with `p` copies of a `q = rows * m / p` bit tile.
    #[staticmethod]
    #[pyo3(signature = (tile, rows, m, p, alphas, in_bits=8, in_signed=false, name="layer"))]
    #[allow(clippy::too_many_arguments)]
    fn linear(
        tile: Vec<u32>,
        rows: usize,
        m: usize,
        p: usize,
        alphas: Vec<f32>,
        in_bits: u8,
        in_signed: bool,
        name: &str,
    ) -> PyResult<PyStage> {
        let n = rows
            .checked_mul(m)
            .filter(|&n| n <= tbn_golden::limits::MAX_WEIGHTS)
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "rows x m = {rows} x {m} exceeds {} weights",
                    tbn_golden::limits::MAX_WEIGHTS
                ))
            })?;
        if rows == 0 || m == 0 || p == 0 || !n.is_multiple_of(p) {
            return Err(PyValueError::new_err(format!(
                "p = {p} does not divide rows x m = {rows} x {m}"
            )));
        }
        if !(1..=8).contains(&in_bits) {
            return Err(PyValueError::new_err(format!(
                "input bits {in_bits} not in 1..=8"
            )));
        }
        let q = n / p;
        let alphas = match alphas.len() {
            1 => vec![alphas[0]; p],
            n if n == p => alphas,
            n => {
                return Err(PyValueError::new_err(format!(
                    "{n} alphas for p = {p} (give 1 or p)"
                )))
            }
        };
        let alpha_q = alpha_codes(&alphas).map_err(PyValueError::new_err)?;
        let inner = DenseStage {
            name: name.to_string(),
            geom: RowGeometry { rows, m, q, p },
            conv: None,
            tile: tile_from_words(&tile, q)?,
            alpha_q,
            mult: vec![1],
            bias: Vec::new(),
            shift: 0,
            in_bits,
            in_signed: in_signed && in_bits > 1,
            act: Activation::Logits,
            out_bits: 8,
            out_scale: 1.0,
        };
        inner.validate().py()?;
        Ok(PyStage { inner })
    }

    /// Stage name.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }
    /// Rows (outputs).
    #[getter]
    fn rows(&self) -> usize {
        self.inner.geom.rows
    }
    /// Row length.
    #[getter]
    fn m(&self) -> usize {
        self.inner.geom.m
    }
    /// Tile bits.
    #[getter]
    fn q(&self) -> usize {
        self.inner.geom.q
    }
    /// Tile copies.
    #[getter]
    fn p(&self) -> usize {
        self.inner.geom.p
    }
    /// Distinct rows computed by the hardware.
    #[getter]
    fn distinct_rows(&self) -> usize {
        self.inner.geom.distinct_rows()
    }
    /// Whether some row straddles two tile copies.
    #[getter]
    fn has_straddles(&self) -> bool {
        self.inner.geom.has_straddles()
    }
    /// Input bits A.
    #[getter]
    fn in_bits(&self) -> u8 {
        self.inner.in_bits
    }
    /// Two's complement input.
    #[getter]
    fn in_signed(&self) -> bool {
        self.inner.in_signed
    }
    /// `relu`, `sign`, `signed` or `logits`.
    #[getter]
    fn activation(&self) -> &'static str {
        act_name(self.inner.act)
    }
    /// Output bits.
    #[getter]
    fn out_bits(&self) -> u8 {
        self.inner.out_bits
    }
    /// Right shift S.
    #[getter]
    fn shift(&self) -> u32 {
        self.inner.shift
    }
    /// Alpha codes (p values).
    #[getter]
    fn alpha_q(&self) -> Vec<u16> {
        self.inner.alpha_q.clone()
    }
    /// Multipliers (1 or one per row).
    #[getter]
    fn mult(&self) -> Vec<i32> {
        self.inner.mult.clone()
    }
    /// Biases (empty or one per row).
    #[getter]
    fn bias(&self) -> Vec<i64> {
        self.inner.bias.clone()
    }
    /// Whether this is a convolution stage.
    #[getter]
    fn is_conv(&self) -> bool {
        self.inner.conv.is_some()
    }
    /// Tile as u32 words (bit `j` at bit `j % 32` of word `j / 32`).
    #[getter]
    fn tile_words(&self) -> Vec<u32> {
        self.inner.tile.words32()
    }

    /// Accumulator pairs `(dot_a, dot_b)` of every distinct row for input `x`
    /// (`m` values of the stage's input format).
    fn accumulators(&self, x: Vec<i32>) -> PyResult<Vec<(i32, i32)>> {
        let s = &self.inner;
        if x.len() != s.geom.m {
            return Err(PyValueError::new_err(format!(
                "{} inputs for a stage with m = {}",
                x.len(),
                s.geom.m
            )));
        }
        let (lo, hi) = integer::value_range(s.in_bits, s.in_signed);
        if let Some((k, v)) = x
            .iter()
            .enumerate()
            .find(|(_, v)| i64::from(**v) < lo || i64::from(**v) > hi)
        {
            return Err(PyValueError::new_err(format!(
                "input {k} = {v} outside {lo}..={hi} for A = {}",
                s.in_bits
            )));
        }
        Ok(s.accumulators(&x))
    }

    /// The element-by-element definition of the accumulators (slow reference).
    fn accumulators_reference(&self, x: Vec<i32>) -> PyResult<Vec<(i32, i32)>> {
        self.accumulators(x.clone())?;
        Ok(self.inner.accumulators_reference(&x, None))
    }

    /// Requantizes the distinct rows' accumulator pairs into every row's output.
    fn requantize(&self, acc: Vec<(i32, i32)>) -> PyResult<Vec<i64>> {
        let d = self.inner.geom.distinct_rows();
        if acc.len() != d {
            return Err(PyValueError::new_err(format!(
                "{} accumulator pairs for a stage with {d} distinct rows",
                acc.len()
            )));
        }
        // |dot| <= m * 2^A (docs/numerics.md §3): larger pairs cannot come from
        // an input and could overflow the i64 arithmetic of §4.
        let bound = (self.inner.geom.m as i64) << self.inner.in_bits;
        if let Some((j, p)) = acc
            .iter()
            .enumerate()
            .find(|(_, (a, b))| i64::from(*a).abs() > bound || i64::from(*b).abs() > bound)
        {
            return Err(PyValueError::new_err(format!(
                "accumulator pair {j} = {p:?} exceeds m * 2^A = {bound}"
            )));
        }
        Ok(self.inner.requantize(&acc))
    }

    fn __repr__(&self) -> String {
        let g = &self.inner.geom;
        format!(
            "<Stage {} rows={} m={} p={} q={} D={} A={}{} act={}>",
            self.inner.name,
            g.rows,
            g.m,
            g.p,
            g.q,
            g.distinct_rows(),
            self.inner.in_bits,
            if self.inner.in_signed { " signed" } else { "" },
            act_name(self.inner.act)
        )
    }
}

/// A compiled integer program (`tbn_golden::integer::Program`).
#[pyclass(module = "tbnsim._native", name = "Program", frozen)]
pub struct PyProgram {
    pub(crate) inner: Program,
}

#[pymethods]
impl PyProgram {
    /// Loads a program (JSON, `tbn quantize` output).
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<PyProgram> {
        Ok(PyProgram {
            inner: tbn_golden::format::load_program(&path).py()?,
        })
    }

    /// Quantizes a float model with calibration inputs (docs/numerics.md section 4).
    #[staticmethod]
    #[pyo3(signature = (model, calib, act_bits=8, input_bits=8, input_scale=None))]
    fn quantize(
        model: &PyModel,
        calib: Vec<Vec<f32>>,
        act_bits: u8,
        input_bits: u8,
        input_scale: Option<f32>,
    ) -> PyResult<PyProgram> {
        let cfg = QuantConfig {
            act_bits,
            input_bits,
            input_scale,
        };
        Ok(PyProgram {
            inner: integer::quantize(&model.inner, &calib, &cfg).py()?,
        })
    }

    /// Saves the program as JSON.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        tbn_golden::format::save_program(&self.inner, &path).py()
    }

    /// Source model name.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }
    /// Input bits.
    #[getter]
    fn input_bits(&self) -> u8 {
        self.inner.input.bits
    }
    /// Input is two's complement.
    #[getter]
    fn input_signed(&self) -> bool {
        self.inner.input.signed
    }
    /// Real value of one input step.
    #[getter]
    fn input_scale(&self) -> f32 {
        self.inner.input.scale
    }
    /// Input shape.
    #[getter]
    fn input_shape(&self) -> Vec<usize> {
        self.inner.input.shape.clone()
    }
    /// Kinds of the stages (`dense`, `maxpool`, `flatten`).
    #[getter]
    fn stage_kinds(&self) -> Vec<&'static str> {
        self.inner
            .stages
            .iter()
            .map(|s| match s {
                Stage::Dense(_) => "dense",
                Stage::MaxPool { .. } => "maxpool",
                Stage::Flatten => "flatten",
            })
            .collect()
    }
    /// The dense stages in order.
    #[getter]
    fn dense_stages(&self) -> Vec<PyStage> {
        self.inner
            .dense_stages()
            .map(|s| PyStage { inner: s.clone() })
            .collect()
    }

    /// Quantizes a float input to the program's integer input.
    fn quantize_input(&self, x: Vec<f32>) -> Vec<i32> {
        self.inner.input.quantize(&x)
    }

    /// Integer inference: the final outputs (logits `v_r`).
    fn run(&self, x: Vec<i32>) -> PyResult<Vec<i64>> {
        check_program_input(&self.inner, &x).map_err(PyValueError::new_err)?;
        self.inner.run(&x).py()
    }

    /// Integer inference of many inputs (flat, `n * input size` values).
    fn run_batch(&self, xs: Vec<i32>) -> PyResult<Vec<Vec<i64>>> {
        let n: usize = self.inner.input.shape.iter().product();
        if n == 0 || !xs.len().is_multiple_of(n) {
            return Err(PyValueError::new_err(format!(
                "{} values is not a whole number of inputs of {n}",
                xs.len()
            )));
        }
        let runner = self.inner.runner();
        xs.chunks(n)
            .map(|x| {
                check_program_input(&self.inner, x).map_err(PyValueError::new_err)?;
                runner.run(x).py()
            })
            .collect()
    }

    /// Outputs of every stage for one input.
    fn run_stages(&self, x: Vec<i32>) -> PyResult<Vec<Vec<i64>>> {
        check_program_input(&self.inner, &x).map_err(PyValueError::new_err)?;
        self.inner.runner().run_stages(&x).py()
    }

    fn __repr__(&self) -> String {
        format!(
            "<Program {} input={:?} ({} bits) stages={}>",
            self.inner.name,
            self.inner.input.shape,
            self.inner.input.bits,
            self.inner.stages.len()
        )
    }
}

/// A float model (`tbn_golden::Model`).
#[pyclass(module = "tbnsim._native", name = "Model", frozen)]
pub struct PyModel {
    pub(crate) inner: Model,
}

#[pymethods]
impl PyModel {
    /// Loads a model (project JSON or binary, or the authors' reference JSON).
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<PyModel> {
        Ok(PyModel {
            inner: tbn_golden::load_model(&path).py()?,
        })
    }

    /// A one-layer model: a tiled linear layer `rows x m` from its tile and alphas
    /// (1 or p), with an optional bias.
    #[staticmethod]
    #[pyo3(signature = (tile, rows, m, p, alphas, bias=None, name="layer"))]
    fn linear(
        tile: Vec<u32>,
        rows: usize,
        m: usize,
        p: usize,
        alphas: Vec<f32>,
        bias: Option<Vec<f32>>,
        name: &str,
    ) -> PyResult<PyModel> {
        let n = rows
            .checked_mul(m)
            .filter(|&n| n <= tbn_golden::limits::MAX_WEIGHTS)
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "rows x m = {rows} x {m} exceeds {} weights",
                    tbn_golden::limits::MAX_WEIGHTS
                ))
            })?;
        if rows == 0 || m == 0 || p == 0 || !n.is_multiple_of(p) {
            return Err(PyValueError::new_err(format!(
                "p = {p} does not divide rows x m = {rows} x {m}"
            )));
        }
        let q = n / p;
        let layer = Layer::Linear(Linear {
            name: name.to_string(),
            in_features: m,
            out_features: rows,
            weights: TiledWeights {
                p,
                tile: tile_from_words(&tile, q)?,
                alphas,
            },
            bias,
        });
        Ok(PyModel {
            inner: Model::new(name, Shape::Vector(m), vec![layer]).py()?,
        })
    }

    /// Saves as project JSON.
    fn save_json(&self, path: PathBuf) -> PyResult<()> {
        tbn_golden::format::save_model_json(&self.inner, &path).py()
    }

    /// Saves in the compact binary format.
    fn save_binary(&self, path: PathBuf) -> PyResult<()> {
        tbn_golden::format::save_model_binary(&self.inner, &path).py()
    }

    /// Model name.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }
    /// Input shape.
    #[getter]
    fn input_shape(&self) -> Vec<usize> {
        self.inner.input_shape.dims()
    }
    /// `(kind, name)` of every layer.
    #[getter]
    fn layers(&self) -> Vec<(&'static str, String)> {
        self.inner
            .layers
            .iter()
            .map(|l| (l.kind(), l.name().to_string()))
            .collect()
    }
    /// Dense weights of weighted layer `i` (flat, row-major), reconstructed from
    /// the tile and alphas.
    fn weights(&self, i: usize) -> PyResult<Vec<f32>> {
        let l = self.inner.layers.get(i).ok_or_else(|| {
            PyValueError::new_err(format!(
                "layer {i} does not exist ({} layers)",
                self.inner.layers.len()
            ))
        })?;
        let w = l.weights().ok_or_else(|| {
            PyValueError::new_err(format!("layer {i} ({}) has no weights", l.kind()))
        })?;
        Ok(w.materialize())
    }

    /// Float inference (logits).
    fn forward(&self, x: Vec<f32>) -> PyResult<Vec<f32>> {
        tbn_golden::float::forward(&self.inner, &x).py()
    }

    fn __repr__(&self) -> String {
        format!(
            "<Model {} input={} layers={}>",
            self.inner.name,
            self.inner.input_shape,
            self.inner.layers.len()
        )
    }
}

/// Tile of a score tensor (`N = p * q` floats): `s_j = sum_c S[c*q + j]`,
/// bit = `s_j > 0`. Returns `(q, tile words)`.
#[pyfunction]
fn tile_from_scores(scores: Vec<f32>, p: usize) -> PyResult<(usize, Vec<u32>)> {
    let t = tile::tile_from_scores(&scores, p).py()?;
    Ok((t.len(), t.words32()))
}

/// Alphas of a tensor: mean |a| per copy (`per_copy`) or overall (`single`).
#[pyfunction]
#[pyo3(signature = (a, p, mode="per_copy"))]
fn alphas_from(a: Vec<f32>, p: usize, mode: &str) -> PyResult<Vec<f32>> {
    tile::alphas_from(&a, p, alpha_mode(mode)?).py()
}

/// Alpha codes of docs/numerics.md section 4.
#[pyfunction]
#[pyo3(name = "alpha_codes")]
fn py_alpha_codes(alphas: Vec<f32>) -> PyResult<Vec<u16>> {
    alpha_codes(&alphas).map_err(PyValueError::new_err)
}

/// Reads IDX images: `(count, rows, cols, pixel bytes)`.
#[pyfunction]
fn read_images(py: Python<'_>, path: PathBuf) -> PyResult<(usize, usize, usize, Py<PyBytes>)> {
    let im = tbn_golden::idx::read_images(&path).py()?;
    Ok((
        im.count,
        im.rows,
        im.cols,
        PyBytes::new(py, &im.pixels).unbind(),
    ))
}

/// Reads IDX labels as bytes.
#[pyfunction]
fn read_labels(py: Python<'_>, path: PathBuf) -> PyResult<Py<PyBytes>> {
    let l = tbn_golden::idx::read_labels(&path).py()?;
    Ok(PyBytes::new(py, &l).unbind())
}

/// Adds the golden-model classes and functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyStage>()?;
    m.add_class::<PyProgram>()?;
    m.add_class::<PyModel>()?;
    m.add_function(wrap_pyfunction!(tile_from_scores, m)?)?;
    m.add_function(wrap_pyfunction!(alphas_from, m)?)?;
    m.add_function(wrap_pyfunction!(py_alpha_codes, m)?)?;
    m.add_function(wrap_pyfunction!(read_images, m)?)?;
    m.add_function(wrap_pyfunction!(read_labels, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_codes_follow_numerics() {
        assert_eq!(
            alpha_codes(&[1.0, 0.5, 0.0]).unwrap(),
            vec![32767, 16384, 0]
        );
        assert_eq!(alpha_codes(&[0.0, 0.0]).unwrap(), vec![0, 0]);
        assert!(alpha_codes(&[-1.0]).is_err());
        assert!(alpha_codes(&[f32::NAN]).is_err());
    }
}
