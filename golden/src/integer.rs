//! The integer (deployed) program: the executable form of docs/numerics.md.
//!
//! [`quantize`] compiles a float [`Model`] plus calibration inputs into a
//! [`Program`] of dense stages (tile, alpha codes, fixed-point multipliers)
//! and pooling stages. [`Program::run`] executes it with the bit-packed
//! kernels; [`DenseStage::accumulators_reference`] is the element-by-element
//! definition the kernels are tested against.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::float::{forward_trace, im2col, maxpool, Patches};
use crate::kernels::{accumulators, PackedRows, Planes};
use crate::layout::RowGeometry;
use crate::limits::{MAX_BIAS, MAX_LAYERS, MAX_MACS, MAX_ROW_LEN, MAX_TRACE, MAX_WEIGHTS};
use crate::model::{Layer, Model, Shape};
use crate::tile::Tile;

/// Largest alpha code (alpha codes are u16 below 2^15).
pub const ALPHA_CODE_MAX: u16 = 32767;
/// Multipliers satisfy `|M| < 2^15`.
pub const MULT_LIMIT: i64 = 1 << 15;

/// What follows a dense stage's fixed-point product (docs/numerics.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// ReLU into unsigned `out_bits` values.
    Relu,
    /// Sign into bits (1 = +1, 0 = -1).
    Sign,
    /// No activation, signed `out_bits` values (a hidden stage).
    Signed,
    /// No activation, the final logits `v_r` (real value `v_r * 2^-S`).
    Logits,
}

/// Integer input of the program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Bits per input value.
    pub bits: u8,
    /// Two's complement input.
    pub signed: bool,
    /// Real value of one step: `x_real = scale * x_int`.
    pub scale: f32,
    /// Input shape: `[n]` or `[c, h, w]`.
    pub shape: Vec<usize>,
}

impl InputSpec {
    /// Quantizes a float input: `clamp(round_half_away(x / scale), range)`.
    pub fn quantize(&self, x: &[f32]) -> Vec<i32> {
        let (lo, hi) = value_range(self.bits, self.signed);
        x.iter()
            .map(|&v| ((f64::from(v) / f64::from(self.scale)).round() as i64).clamp(lo, hi) as i32)
            .collect()
    }
}

/// The range of an `A`-bit value (`bits == 1`: the stored bit, 0 or 1).
pub fn value_range(bits: u8, signed: bool) -> (i64, i64) {
    if bits == 1 {
        (0, 1)
    } else if signed {
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    } else {
        (0, (1i64 << bits) - 1)
    }
}

/// Accumulator pairs `(dot_a, dot_b)` of every distinct row of a tile of
/// geometry `geom` for one input vector of `m` values of `in_bits` bits,
/// element by element (the definition, docs/numerics.md §3): the reference
/// that the fast kernels, the RTL testbenches and the mock core compare with.
/// `valid` marks conv padding lanes (invalid lanes contribute 0).
pub fn accumulators_reference(
    tile: &Tile,
    geom: &RowGeometry,
    in_bits: u8,
    x: &[i32],
    valid: Option<&[bool]>,
) -> Vec<(i32, i32)> {
    let term = |k: usize, i: usize| -> i64 {
        if valid.is_some_and(|v| !v[i]) {
            return 0;
        }
        let t: i64 = if tile.get(k) { 1 } else { -1 };
        let xv = if in_bits == 1 {
            2 * i64::from(x[i]) - 1
        } else {
            i64::from(x[i])
        };
        t * xv
    };
    (0..geom.distinct_rows())
        .map(|j| {
            let s = geom.segment(j);
            let a: i64 = (0..s.len_a).map(|i| term(s.offset + i, i)).sum();
            let b: i64 = (s.len_a..geom.m).map(|i| term(i - s.len_a, i)).sum();
            (a as i32, b as i32)
        })
        .collect()
}

/// im2col geometry of a convolution stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvGeom {
    /// Input channels.
    pub in_channels: usize,
    /// Input height and width.
    pub in_hw: (usize, usize),
    /// Kernel height and width.
    pub kernel: (usize, usize),
    /// Stride.
    pub stride: usize,
    /// Zero padding.
    pub padding: usize,
    /// Output height and width.
    pub out_hw: (usize, usize),
}

/// A compiled linear or conv2d layer with its batch-norm and activation folded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DenseStage {
    /// Name of the source layer.
    pub name: String,
    /// Tile geometry.
    pub geom: RowGeometry,
    /// Present for conv2d stages.
    pub conv: Option<ConvGeom>,
    /// The tile.
    #[serde(with = "crate::format::tile_serde")]
    pub tile: Tile,
    /// One u16 alpha code per copy (`p` values).
    pub alpha_q: Vec<u16>,
    /// Multipliers: one (uniform) or one per row; `|M| < 2^15`.
    pub mult: Vec<i32>,
    /// Biases in the fixed-point domain: empty (zero) or one per row.
    pub bias: Vec<i64>,
    /// Right shift S.
    pub shift: u32,
    /// Input bits A (1..=8).
    pub in_bits: u8,
    /// Input values are two's complement.
    pub in_signed: bool,
    /// Activation / output kind.
    pub act: Activation,
    /// Output bits (1 for sign; for logits, informational).
    pub out_bits: u8,
    /// Real value of one output step (`2^-S` for logits, 1 for sign).
    pub out_scale: f32,
}

/// One stage of an integer program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // a handful of stages per program: size is irrelevant
pub enum Stage {
    /// Linear or conv2d.
    Dense(DenseStage),
    /// Max pooling of integer CHW values.
    MaxPool {
        /// Kernel size.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Input shape (c, h, w).
        in_chw: (usize, usize, usize),
    },
    /// CHW to vector (no-op on the values).
    Flatten,
}

/// A compiled integer program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// Name of the source model.
    pub name: String,
    /// The integer input.
    pub input: InputSpec,
    /// Stages in order.
    #[serde(deserialize_with = "crate::format::max_layers")]
    pub stages: Vec<Stage>,
}

/// Quantizer settings.
#[derive(Clone, Debug)]
pub struct QuantConfig {
    /// Bits of hidden activations (1..=8; sign activations always use 1).
    pub act_bits: u8,
    /// Bits of the input.
    pub input_bits: u8,
    /// Input scale; `None` calibrates it (max |x| / (2^A - 1)).
    pub input_scale: Option<f32>,
}

impl Default for QuantConfig {
    fn default() -> Self {
        QuantConfig {
            act_bits: 8,
            input_bits: 8,
            input_scale: None,
        }
    }
}

/// Rounds half away from zero to i64 (saturating).
fn round_i64(v: f64) -> i64 {
    v.round() as i64
}

impl DenseStage {
    /// Number of tile copies.
    pub fn p(&self) -> usize {
        self.geom.p
    }

    /// Multiplier of row `r`.
    #[inline]
    pub fn mult_of(&self, r: usize) -> i64 {
        i64::from(if self.mult.len() == 1 {
            self.mult[0]
        } else {
            self.mult[r]
        })
    }

    /// Bias of row `r`.
    #[inline]
    pub fn bias_of(&self, r: usize) -> i64 {
        if self.bias.is_empty() {
            0
        } else {
            self.bias[r]
        }
    }

    /// Checks the stage's own invariants.
    pub fn validate(&self) -> Result<()> {
        let g = &self.geom;
        let err = |msg: String| Error::Layer {
            layer: 0,
            name: self.name.clone(),
            msg,
        };
        if g.m > MAX_ROW_LEN {
            return Err(err(format!(
                "row length m = {} exceeds the limit of {MAX_ROW_LEN} (docs/numerics.md §9)",
                g.m
            )));
        }
        let n = g.rows.checked_mul(g.m).filter(|&n| n <= MAX_WEIGHTS);
        let Some(n) = n else {
            return Err(err(format!(
                "{} rows x {} = more than {MAX_WEIGHTS} weights (docs/numerics.md §9)",
                g.rows, g.m
            )));
        };
        if g.rows == 0 || g.m == 0 || g.p == 0 || g.p.checked_mul(g.q) != Some(n) || g.q < g.m {
            return Err(err(format!("impossible geometry {g:?}")));
        }
        if self.tile.len() != g.q {
            return Err(err(format!(
                "tile has {} bits, q = {}",
                self.tile.len(),
                g.q
            )));
        }
        if self.alpha_q.len() != g.p {
            return Err(err(format!(
                "{} alpha codes for p = {}",
                self.alpha_q.len(),
                g.p
            )));
        }
        if self.alpha_q.iter().any(|&a| a > ALPHA_CODE_MAX) {
            return Err(err("alpha code above 32767".into()));
        }
        if !(self.mult.len() == 1 || self.mult.len() == g.rows) {
            return Err(err(format!(
                "{} multipliers for {} rows",
                self.mult.len(),
                g.rows
            )));
        }
        if self.mult.iter().any(|&m| i64::from(m).abs() >= MULT_LIMIT) {
            return Err(err("multiplier magnitude must be below 2^15".into()));
        }
        if !(self.bias.is_empty() || self.bias.len() == g.rows) {
            return Err(err(format!(
                "{} biases for {} rows",
                self.bias.len(),
                g.rows
            )));
        }
        if let Some(b) = self
            .bias
            .iter()
            .find(|b| b.unsigned_abs() > MAX_BIAS as u64)
        {
            return Err(err(format!(
                "bias {b} is beyond +-2^62 (docs/numerics.md §4)"
            )));
        }
        if self.shift > 62 || !(1..=8).contains(&self.in_bits) || !(1..=8).contains(&self.out_bits)
        {
            return Err(err("shift or bit widths out of range".into()));
        }
        if self.act == Activation::Sign && self.out_bits != 1 {
            return Err(err(format!(
                "a sign stage outputs 1 bit, not {}",
                self.out_bits
            )));
        }
        if !(self.out_scale.is_finite() && self.out_scale > 0.0) {
            return Err(err(format!(
                "output scale {} must be finite and positive",
                self.out_scale
            )));
        }
        if self.in_bits == 1 && self.in_signed {
            return Err(err(
                "1-bit inputs are sign bits, not two's complement".into()
            ));
        }
        Ok(())
    }

    /// Accumulator pairs of every distinct row for one input vector of `m`
    /// values, element by element (the definition, docs/numerics.md §3).
    /// `valid` marks conv padding lanes (invalid lanes contribute 0).
    pub fn accumulators_reference(&self, x: &[i32], valid: Option<&[bool]>) -> Vec<(i32, i32)> {
        accumulators_reference(&self.tile, &self.geom, self.in_bits, x, valid)
    }

    /// Accumulator pairs of every distinct row, computed by the fast kernel
    /// (bit-planes and popcounts, the hardware's way). `x` has `m` values.
    pub fn accumulators(&self, x: &[i32]) -> Vec<(i32, i32)> {
        let rows = PackedRows::new(&self.tile, &self.geom);
        accumulators(&rows, &Planes::pack(x, self.in_bits, self.in_signed, None))
    }

    /// Requantizes the accumulator pairs of the distinct rows into the outputs
    /// of every row (docs/numerics.md §4).
    pub fn requantize(&self, acc: &[(i32, i32)]) -> Vec<i64> {
        let g = &self.geom;
        let (lo, hi) = value_range(self.out_bits, self.act == Activation::Signed);
        let half = if self.shift == 0 {
            0
        } else {
            1i64 << (self.shift - 1)
        };
        (0..g.rows)
            .map(|r| {
                let s = g.segment(r);
                let (da, db) = acc[g.distinct_of(r)];
                let mut a = i64::from(self.alpha_q[s.copy]) * i64::from(da);
                if s.straddles(g.m) {
                    a += i64::from(self.alpha_q[s.copy + 1]) * i64::from(db);
                }
                let v = a * self.mult_of(r) + self.bias_of(r);
                match self.act {
                    Activation::Logits => v,
                    Activation::Sign => i64::from(v > 0),
                    Activation::Relu | Activation::Signed => {
                        ((v + half) >> self.shift).clamp(lo, hi)
                    }
                }
            })
            .collect()
    }
}

/// A program with its distinct rows packed once, for repeated fast inference.
pub struct Runner<'a> {
    program: &'a Program,
    packed: Vec<Option<PackedRows>>,
}

impl<'a> Runner<'a> {
    /// Runs one input; returns the output of every stage.
    pub fn run_stages(&self, x: &[i32]) -> Result<Vec<Vec<i64>>> {
        let mut outs = Vec::with_capacity(self.program.stages.len());
        self.execute(x, |out| outs.push(out.to_vec()))?;
        Ok(outs)
    }

    /// Runs one input, handing every stage's output to `observe`; returns the last.
    fn execute(&self, x: &[i32], mut observe: impl FnMut(&[i64])) -> Result<Vec<i64>> {
        self.program.check_input(x)?;
        let mut cur: Vec<i64> = x.iter().map(|&v| i64::from(v)).collect();
        for (stage, packed) in self.program.stages.iter().zip(&self.packed) {
            cur = match stage {
                Stage::Dense(d) => {
                    let rows = packed.as_ref().expect("dense stages are packed");
                    let xi: Vec<i32> = cur.iter().map(|&v| v as i32).collect();
                    match &d.conv {
                        None => d.requantize(&accumulators(
                            rows,
                            &Planes::pack(&xi, d.in_bits, d.in_signed, None),
                        )),
                        Some(cg) => conv_stage(d, cg, &xi, |patch, valid| {
                            accumulators(
                                rows,
                                &Planes::pack(patch, d.in_bits, d.in_signed, Some(valid)),
                            )
                        }),
                    }
                }
                Stage::MaxPool {
                    kernel,
                    stride,
                    in_chw,
                } => maxpool(&cur, *in_chw, *kernel, *stride),
                Stage::Flatten => cur,
            };
            observe(&cur);
        }
        Ok(cur)
    }

    /// Runs one input; returns the final outputs (the logits `v_r`).
    pub fn run(&self, x: &[i32]) -> Result<Vec<i64>> {
        self.execute(x, |_| {})
    }
}

/// Output shape of a (validated) dense stage for an input of `shape`, or
/// what does not fit.
fn dense_output_shape(d: &DenseStage, shape: Shape) -> std::result::Result<Shape, String> {
    let g = &d.geom;
    let Some(cg) = &d.conv else {
        if shape.numel() != g.m {
            return Err(format!("a linear stage of m = {} inputs gets {shape}", g.m));
        }
        return Ok(Shape::Vector(g.rows));
    };
    let (ih, iw) = cg.in_hw;
    if shape != Shape::Chw(cg.in_channels, ih, iw) {
        return Err(format!(
            "conv input {}x{ih}x{iw}, the stage before gives {shape}",
            cg.in_channels
        ));
    }
    let conv = conv_layer(cg, g.rows);
    if conv.row_len() != g.m {
        return Err(format!(
            "conv row length {} x {} x {} is not m = {}",
            cg.in_channels, cg.kernel.0, cg.kernel.1, g.m
        ));
    }
    match conv.out_hw(ih, iw) {
        Some(o) if o == cg.out_hw => Ok(Shape::Chw(g.rows, o.0, o.1)),
        _ => Err(format!(
            "conv kernel {:?}, stride {}, padding {} on {ih}x{iw} do not give {:?}",
            cg.kernel, cg.stride, cg.padding, cg.out_hw
        )),
    }
}

/// The float-model conv layer with a stage's geometry (for im2col).
fn conv_layer(cg: &ConvGeom, rows: usize) -> crate::model::Conv2d {
    crate::model::Conv2d {
        name: String::new(),
        in_channels: cg.in_channels,
        out_channels: rows,
        kernel: cg.kernel,
        stride: cg.stride,
        padding: cg.padding,
        weights: crate::model::TiledWeights {
            p: 1,
            tile: Tile::zeros(0),
            alphas: vec![],
        },
        bias: None,
    }
}

/// Runs a conv stage: im2col, accumulators per position, requantize, CHW out.
fn conv_stage(
    d: &DenseStage,
    cg: &ConvGeom,
    x: &[i32],
    acc: impl Fn(&[i32], &[bool]) -> Vec<(i32, i32)>,
) -> Vec<i64> {
    let conv = conv_layer(cg, d.geom.rows);
    let Patches {
        values: patches,
        valid,
        out_hw: (oh, ow),
    } = im2col(&conv, x, cg.in_hw);
    let mut out = vec![0i64; d.geom.rows * oh * ow];
    for (pos, (patch, v)) in patches.iter().zip(&valid).enumerate() {
        for (r, y) in d.requantize(&acc(patch, v)).into_iter().enumerate() {
            out[r * oh * ow + pos] = y;
        }
    }
    out
}

impl Program {
    /// Checks every stage and that the stages chain: each stage's input shape
    /// and value code (bits, signedness) are what the one before produces,
    /// within the limits of docs/numerics.md §9. A validated program runs
    /// without panics.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Error::format("program", msg);
        let inp = &self.input;
        if !(1..=8).contains(&inp.bits) || (inp.bits == 1 && inp.signed) {
            return Err(bad(format!(
                "input bits {} (signed: {}) must be 1..=8, and 1-bit inputs are unsigned sign bits",
                inp.bits, inp.signed
            )));
        }
        if !(inp.scale.is_finite() && inp.scale > 0.0) {
            return Err(bad(format!(
                "input scale {} must be finite and positive",
                inp.scale
            )));
        }
        if self.stages.is_empty() || self.stages.len() > MAX_LAYERS {
            return Err(bad(format!(
                "{} stages: a program has 1 to {MAX_LAYERS}",
                self.stages.len()
            )));
        }
        let mut shape = Shape::from_dims(&inp.shape)?;
        let mut code = (inp.bits, inp.signed);
        let mut after_logits = false;
        let (mut trace, mut macs) = (shape.numel(), 0u64);
        for (i, stage) in self.stages.iter().enumerate() {
            let at = |msg: String| bad(format!("stage {i}: {msg}"));
            shape = match stage {
                Stage::Dense(d) => {
                    d.validate().map_err(|e| at(e.to_string()))?;
                    if after_logits {
                        return Err(at("a dense stage cannot follow the logits stage".into()));
                    }
                    if (d.in_bits, d.in_signed) != code {
                        return Err(at(format!(
                            "takes {}-bit {} inputs, the stage before gives {}-bit {}",
                            d.in_bits,
                            if d.in_signed { "signed" } else { "unsigned" },
                            code.0,
                            if code.1 { "signed" } else { "unsigned" }
                        )));
                    }
                    let out = dense_output_shape(d, shape).map_err(at)?;
                    macs =
                        macs.saturating_add((out.numel() as u64).saturating_mul(d.geom.m as u64));
                    code = match d.act {
                        Activation::Relu => (d.out_bits, false),
                        Activation::Signed => (d.out_bits, d.out_bits > 1),
                        Activation::Sign => (1, false),
                        Activation::Logits => {
                            after_logits = true;
                            (d.out_bits, true)
                        }
                    };
                    out
                }
                Stage::MaxPool {
                    kernel,
                    stride,
                    in_chw,
                } => {
                    let (c, h, w) = *in_chw;
                    if shape != Shape::Chw(c, h, w) {
                        return Err(at(format!(
                            "max-pool input {c}x{h}x{w}, the stage before gives {shape}"
                        )));
                    }
                    if *kernel == 0 || *stride == 0 || h < *kernel || w < *kernel {
                        return Err(at(format!(
                            "max-pool kernel {kernel}, stride {stride} do not fit {shape}"
                        )));
                    }
                    Shape::Chw(c, (h - kernel) / stride + 1, (w - kernel) / stride + 1)
                }
                Stage::Flatten => Shape::Vector(shape.numel()),
            };
            trace = trace.saturating_add(shape.check(&format!("output of stage {i}"))?);
            if trace > MAX_TRACE || macs > MAX_MACS {
                return Err(at(format!(
                    "up to here the program needs {trace} values and {macs} multiply-accumulates \
                     per inference, beyond the limits of {MAX_TRACE} and {MAX_MACS} (docs/numerics.md §9)"
                )));
            }
        }
        Ok(())
    }

    fn check_input(&self, x: &[i32]) -> Result<()> {
        let n = crate::limits::checked_product(
            &self.input.shape,
            crate::limits::MAX_ACTIVATION,
            "program input shape",
        )?;
        if x.len() != n {
            return Err(Error::Shape(format!(
                "input has {} values, the program expects {n}",
                x.len()
            )));
        }
        let (lo, hi) = value_range(self.input.bits, self.input.signed);
        if let Some((i, v)) = x
            .iter()
            .enumerate()
            .find(|(_, v)| i64::from(**v) < lo || i64::from(**v) > hi)
        {
            return Err(Error::Shape(format!(
                "input value {v} at {i} is outside [{lo}, {hi}]"
            )));
        }
        Ok(())
    }

    /// A runner with every dense stage's distinct rows packed once.
    pub fn runner(&self) -> Runner<'_> {
        let packed = self
            .stages
            .iter()
            .map(|s| match s {
                Stage::Dense(d) => Some(PackedRows::new(&d.tile, &d.geom)),
                _ => None,
            })
            .collect();
        Runner {
            program: self,
            packed,
        }
    }

    /// Runs one integer input; returns the final outputs (logits `v_r`).
    pub fn run(&self, x: &[i32]) -> Result<Vec<i64>> {
        self.runner().run(x)
    }

    /// Runs one input the slow, element-by-element way (for tests).
    pub fn run_reference(&self, x: &[i32]) -> Result<Vec<i64>> {
        self.check_input(x)?;
        let mut cur: Vec<i64> = x.iter().map(|&v| i64::from(v)).collect();
        for stage in &self.stages {
            cur = match stage {
                Stage::Dense(d) => {
                    let xi: Vec<i32> = cur.iter().map(|&v| v as i32).collect();
                    match &d.conv {
                        None => d.requantize(&d.accumulators_reference(&xi, None)),
                        Some(cg) => {
                            conv_stage(d, cg, &xi, |p, v| d.accumulators_reference(p, Some(v)))
                        }
                    }
                }
                Stage::MaxPool {
                    kernel,
                    stride,
                    in_chw,
                } => maxpool(&cur, *in_chw, *kernel, *stride),
                Stage::Flatten => cur,
            };
        }
        Ok(cur)
    }

    /// The dense stages in order.
    pub fn dense_stages(&self) -> impl Iterator<Item = &DenseStage> {
        self.stages.iter().filter_map(|s| match s {
            Stage::Dense(d) => Some(d),
            _ => None,
        })
    }
}

/// MNIST pixel bytes as the program input (A = 8 unsigned, scale 1/255).
pub fn mnist_input(pixels: &[u8]) -> Vec<i32> {
    pixels.iter().map(|&p| i32::from(p)).collect()
}

/// Compiles `model` into an integer program, choosing activation scales from
/// the calibration inputs (float, one vector per input).
pub fn quantize(model: &Model, calib: &[Vec<f32>], cfg: &QuantConfig) -> Result<Program> {
    let shapes = model.validate()?;
    if !(1..=8).contains(&cfg.act_bits) || !(1..=8).contains(&cfg.input_bits) {
        return Err(Error::Unsupported(format!(
            "activation bits {} / input bits {} must be 1..=8",
            cfg.act_bits, cfg.input_bits
        )));
    }
    if calib.is_empty() {
        return Err(Error::Unsupported(
            "quantization needs at least one calibration input".into(),
        ));
    }
    // Float trace of every calibration input: max |value| per layer output.
    let mut layer_max = vec![0f32; model.layers.len()];
    let mut input_max = 0f32;
    let mut input_signed = false;
    for x in calib {
        for &v in x {
            input_max = input_max.max(v.abs());
            input_signed |= v < 0.0;
        }
        for (i, out) in forward_trace(model, x)?.iter().enumerate() {
            for &v in out {
                layer_max[i] = layer_max[i].max(v.abs());
            }
        }
    }
    let in_levels = if input_signed {
        (1u32 << (cfg.input_bits - 1)) - 1
    } else {
        (1u32 << cfg.input_bits) - 1
    };
    let input_scale = cfg.input_scale.unwrap_or(if input_max > 0.0 {
        input_max / in_levels as f32
    } else {
        1.0
    });
    if !(input_scale.is_finite() && input_scale > 0.0) {
        return Err(Error::Unsupported(format!(
            "input scale {input_scale} must be positive"
        )));
    }
    let input = InputSpec {
        bits: cfg.input_bits,
        signed: input_signed && cfg.input_bits > 1,
        scale: input_scale,
        shape: model.input_shape.dims(),
    };

    let last_dense = model.layers.iter().rposition(|l| l.weights().is_some());
    let Some(last_dense) = last_dense else {
        return Err(Error::Unsupported(
            "the model has no linear or conv2d layer".into(),
        ));
    };
    let mut stages = Vec::new();
    // Current input quantization: bits, signed, real scale.
    let (mut bits, mut signed, mut s_x) = (input.bits, input.signed, f64::from(input.scale));
    let mut shape = model.input_shape;
    let mut i = 0;
    while i < model.layers.len() {
        let layer = &model.layers[i];
        match layer {
            Layer::Flatten => {
                stages.push(Stage::Flatten);
                shape = shapes[i];
                i += 1;
            }
            Layer::MaxPool2d { kernel, stride } => {
                let Shape::Chw(c, h, w) = shape else { unreachable!("validated") };
                stages.push(Stage::MaxPool { kernel: *kernel, stride: *stride, in_chw: (c, h, w) });
                shape = shapes[i];
                i += 1;
            }
            Layer::Linear(_) | Layer::Conv2d(_) => {
                let (rows, m) = layer.rows_and_len().expect("weighted");
                let w = layer.weights().expect("weighted");
                let mut gain = vec![1f64; rows];
                let mut offs: Vec<f64> = match layer {
                    Layer::Linear(l) => l.bias.clone(),
                    Layer::Conv2d(c) => c.bias.clone(),
                    _ => None,
                }
                .map_or(vec![0.0; rows], |b| b.iter().map(|&v| f64::from(v)).collect());
                let mut end = i;
                if let Some(Layer::BatchNorm(bn)) = model.layers.get(end + 1) {
                    for (r, (g, o)) in bn.affine().into_iter().enumerate() {
                        gain[r] *= f64::from(g);
                        offs[r] = f64::from(g) * offs[r] + f64::from(o);
                    }
                    end += 1;
                }
                // A quantization-aware trained ReLU carries its own bits and scale.
                let mut fixed: Option<(u8, f64)> = None;
                let act = match model.layers.get(end + 1) {
                    Some(Layer::Relu) => {
                        end += 1;
                        Activation::Relu
                    }
                    Some(Layer::QuantRelu { bits, scale }) => {
                        end += 1;
                        fixed = Some((*bits, f64::from(*scale)));
                        Activation::Relu
                    }
                    Some(Layer::Sign) => {
                        end += 1;
                        Activation::Sign
                    }
                    _ if i == last_dense => Activation::Logits,
                    _ => Activation::Signed,
                };
                let out_bits = match (act, fixed) {
                    (Activation::Sign, _) => 1,
                    (_, Some((b, _))) => b,
                    _ => cfg.act_bits,
                };
                if out_bits == 1 && matches!(act, Activation::Relu | Activation::Signed) {
                    // docs/numerics.md §3: a 1-bit activation is a sign bit (+-1); a
                    // ReLU (or a hidden stage without activation) cannot be stored in it.
                    return Err(Error::Unsupported(format!(
                        "stage {} (layer {}): {} cannot produce 1-bit activations: a 1-bit \
                         activation is a sign bit (bit 1 = +1, bit 0 = -1, docs/numerics.md §3), \
                         so the next stage would read 0 as -1. Use --act-bits 2 or more for this \
                         model, or train a sign-activation model (tbn train --act sign) for A = 1",
                        stages.iter().filter(|s| matches!(s, Stage::Dense(_))).count(),
                        layer.name(),
                        if act == Activation::Relu {
                            "a ReLU stage"
                        } else {
                            "a hidden stage without activation"
                        }
                    )));
                }
                if act == Activation::Sign {
                    stages.push(Stage::Dense(sign_stage(
                        layer, shape, &gain, &offs, s_x, bits, signed,
                    )?));
                    bits = 1;
                    signed = false;
                    s_x = 1.0;
                    shape = shapes[end];
                    i = end + 1;
                    continue;
                }
                let s_y = match act {
                    Activation::Sign | Activation::Logits => 1.0,
                    Activation::Relu | Activation::Signed if fixed.is_some() => {
                        fixed.map_or(1.0, |f| f.1)
                    }
                    Activation::Relu | Activation::Signed => {
                        let (_, hi) = value_range(out_bits, act == Activation::Signed);
                        let mx = f64::from(layer_max[end]);
                        if mx > 0.0 {
                            mx / hi as f64
                        } else {
                            1.0
                        }
                    }
                };
                let alphas = w.alphas_per_copy();
                let amax = alphas.iter().cloned().fold(0f32, f32::max) as f64;
                let s_alpha = if amax > 0.0 { amax / f64::from(ALPHA_CODE_MAX) } else { 1.0 };
                let alpha_q: Vec<u16> = alphas.iter().map(|&a| round_i64(f64::from(a) / s_alpha) as u16).collect();
                let mu: Vec<f64> = gain.iter().map(|g| s_x * s_alpha * g / s_y).collect();
                let b_real: Vec<f64> = offs.iter().map(|b| b / s_y).collect();
                let mut shift = 62u32;
                loop {
                    let scale = (shift as f64).exp2();
                    let m_ok = mu.iter().all(|v| round_i64(v * scale).abs() < MULT_LIMIT);
                    let b_ok = b_real.iter().all(|v| (v * scale).abs() < (1u64 << 61) as f64);
                    if (m_ok && b_ok) || shift == 0 {
                        break;
                    }
                    shift -= 1;
                }
                let scale = (shift as f64).exp2();
                let mut mult: Vec<i32> = mu.iter().map(|v| round_i64(v * scale) as i32).collect();
                if mult.iter().all(|&v| v == mult[0]) {
                    mult.truncate(1);
                }
                let mut bias: Vec<i64> = b_real.iter().map(|v| round_i64(v * scale)).collect();
                if bias.iter().all(|&v| v == 0) {
                    bias.clear();
                }
                let conv = conv_geom(layer, shape);
                let out_scale = match act {
                    Activation::Logits => (-(shift as f64)).exp2() as f32,
                    _ => s_y as f32,
                };
                stages.push(Stage::Dense(DenseStage {
                    name: layer.name().to_string(),
                    geom: RowGeometry { rows, m, q: w.q(), p: w.p },
                    conv,
                    tile: w.tile.clone(),
                    alpha_q,
                    mult,
                    bias,
                    shift,
                    in_bits: bits,
                    in_signed: signed && bits > 1,
                    act,
                    out_bits,
                    out_scale,
                }));
                bits = out_bits;
                signed = act == Activation::Signed;
                s_x = s_y;
                shape = shapes[end];
                i = end + 1;
            }
            other => {
                return Err(Error::Unsupported(format!(
                    "layer {i} ({}) must follow a linear or conv2d layer (pattern: dense, [batchnorm], [relu|sign])",
                    other.kind()
                )))
            }
        }
    }
    let p = Program {
        name: model.name.clone(),
        input,
        stages,
    };
    p.validate()?;
    Ok(p)
}

/// The im2col geometry of a conv layer on an input of `shape` (None for linear).
fn conv_geom(layer: &Layer, shape: Shape) -> Option<ConvGeom> {
    match (layer, shape) {
        (Layer::Conv2d(c), Shape::Chw(ic, h, wd)) => Some(ConvGeom {
            in_channels: ic,
            in_hw: (h, wd),
            kernel: c.kernel,
            stride: c.stride,
            padding: c.padding,
            out_hw: c.out_hw(h, wd)?,
        }),
        _ => None,
    }
}

/// Compiles a dense layer followed by (batch-norm and) sign into a sign stage
/// whose batch-norm is folded into exact integer thresholds (docs/numerics.md
/// §4, "Sign stages"): per row `M_r` in {+1, 0, -1}, shift 0, and `B_r` such that
/// `acc_r * M_r + B_r > 0` exactly when the real pre-activation
/// `g_r * s_x * (alpha_c dot_a + alpha_c+1 dot_b) + b_r` is positive.
fn sign_stage(
    layer: &Layer,
    shape: Shape,
    gain: &[f64],
    offs: &[f64],
    s_x: f64,
    in_bits: u8,
    in_signed: bool,
) -> Result<DenseStage> {
    let (rows, m) = layer.rows_and_len().expect("weighted");
    let w = layer.weights().expect("weighted");
    let geom = RowGeometry {
        rows,
        m,
        q: w.q(),
        p: w.p,
    };
    let alphas = w.alphas_per_copy();
    let amax = f64::from(alphas.iter().cloned().fold(0f32, f32::max));
    let s_alpha = if amax > 0.0 {
        amax / f64::from(ALPHA_CODE_MAX)
    } else {
        1.0
    };
    let alpha_q: Vec<u16> = alphas
        .iter()
        .map(|&a| round_i64(f64::from(a) / s_alpha) as u16)
        .collect();
    // |dot| <= m * 2^A (docs/numerics.md §3); thresholds beyond that are clamped,
    // which keeps |B_r| < 2^15 * 2^26 < 2^62 without changing any output.
    let dot_max = (m as f64) * f64::from(1u32 << in_bits) + 1.0;
    let mut mult = Vec::with_capacity(rows);
    let mut bias = Vec::with_capacity(rows);
    for r in 0..rows {
        let seg = geom.segment(r);
        let (g, b) = (gain[r], offs[r]);
        // Non-straddling rows: threshold on dot with the exact real alpha, then
        // scaled by the integer alpha code (exact). Straddling rows mix two
        // alphas: threshold on acc, exact with respect to the alpha codes.
        let (k, unit) = if seg.straddles(m) {
            (g * s_x * s_alpha, 1i64)
        } else {
            let aq = i64::from(alpha_q[seg.copy]);
            let k = if aq == 0 {
                0.0
            } else {
                g * s_x * f64::from(alphas[seg.copy])
            };
            (k, aq)
        };
        let lim = dot_max
            * if seg.straddles(m) {
                2.0 * f64::from(ALPHA_CODE_MAX)
            } else {
                1.0
            };
        let (mr, br) = if k == 0.0 || !k.is_finite() {
            (0, i64::from(b > 0.0))
        } else {
            let t = (-b / k).clamp(-lim, lim);
            if k > 0.0 {
                // y > 0  <=>  dot > t  <=>  dot > floor(t)
                (1, -unit * (t.floor() as i64))
            } else {
                // y > 0  <=>  dot < t  <=>  dot < ceil(t)
                (-1, unit * (t.ceil() as i64))
            }
        };
        mult.push(mr);
        bias.push(br);
    }
    if mult.iter().all(|&v| v == mult[0]) {
        mult.truncate(1);
    }
    if bias.iter().all(|&v| v == 0) {
        bias.clear();
    }
    Ok(DenseStage {
        name: layer.name().to_string(),
        geom,
        conv: conv_geom(layer, shape),
        tile: w.tile.clone(),
        alpha_q,
        mult,
        bias,
        shift: 0,
        in_bits,
        in_signed: in_signed && in_bits > 1,
        act: Activation::Sign,
        out_bits: 1,
        out_scale: 1.0,
    })
}
