//! The in-memory model: an ordered list of layers, validated once so that every
//! consumer (float and integer inference, the hardware, the MCU) can rely on it.

use crate::error::{Error, Result};
use crate::limits::{
    checked_product, MAX_ACTIVATION, MAX_LAYERS, MAX_MACS, MAX_ROW_LEN, MAX_TRACE, MAX_WEIGHTS,
};
use crate::tile::Tile;

/// Shape of an activation tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A flat vector of `n` values.
    Vector(usize),
    /// Channels x height x width, row-major.
    Chw(usize, usize, usize),
}

impl Shape {
    /// Number of elements (saturating: a validated shape holds at most
    /// [`MAX_ACTIVATION`] elements).
    pub fn numel(&self) -> usize {
        match *self {
            Shape::Vector(n) => n,
            Shape::Chw(c, h, w) => c.saturating_mul(h).saturating_mul(w),
        }
    }

    /// Checks that the shape has at most [`MAX_ACTIVATION`] elements, none zero.
    pub fn check(&self, what: &str) -> Result<usize> {
        let dims = self.dims();
        let n = checked_product(&dims, MAX_ACTIVATION, what)?;
        if n == 0 {
            return Err(Error::Shape(format!("{what} {self} has no elements")));
        }
        Ok(n)
    }

    /// The shape as a list of dimensions.
    pub fn dims(&self) -> Vec<usize> {
        match *self {
            Shape::Vector(n) => vec![n],
            Shape::Chw(c, h, w) => vec![c, h, w],
        }
    }

    /// A shape from a list of 1 or 3 dimensions.
    pub fn from_dims(d: &[usize]) -> Result<Shape> {
        let s = match *d {
            [n] if n > 0 => Shape::Vector(n),
            [c, h, w] if c > 0 && h > 0 && w > 0 => Shape::Chw(c, h, w),
            _ => {
                return Err(Error::Shape(format!(
                    "input shape {d:?} must be [n] or [channels, height, width] with no zero"
                )))
            }
        };
        s.check("input shape")?;
        Ok(s)
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::Vector(n) => write!(f, "[{n}]"),
            Shape::Chw(c, h, w) => write!(f, "[{c}x{h}x{w}]"),
        }
    }
}

/// Binary weights stored as one tile reused `p` times, scaled by alphas.
#[derive(Clone, Debug, PartialEq)]
pub struct TiledWeights {
    /// Compression factor: number of tile copies.
    pub p: usize,
    /// The tile, `q = N / p` bits.
    pub tile: Tile,
    /// One alpha per copy (`p` values) or a single alpha for all copies.
    pub alphas: Vec<f32>,
}

impl TiledWeights {
    /// Tile length q.
    pub fn q(&self) -> usize {
        self.tile.len()
    }

    /// The alpha of copy `c`.
    #[inline]
    pub fn alpha(&self, c: usize) -> f32 {
        if self.alphas.len() == 1 {
            self.alphas[0]
        } else {
            self.alphas[c]
        }
    }

    /// Alphas expanded to one per copy.
    pub fn alphas_per_copy(&self) -> Vec<f32> {
        (0..self.p).map(|c| self.alpha(c)).collect()
    }

    /// The real weight at flat index `k`: `alpha[k / q] * t[k % q]`.
    #[inline]
    pub fn weight(&self, k: usize) -> f32 {
        let q = self.q();
        self.alpha(k / q) * self.tile.sign(k % q)
    }

    /// Materialises all `p * q` weights (for tests and exports).
    pub fn materialize(&self) -> Vec<f32> {
        (0..self.p * self.q()).map(|k| self.weight(k)).collect()
    }

    /// Checks the weights for a layer of `rows` rows of length `m`.
    fn validate(&self, rows: usize, m: usize) -> std::result::Result<(), String> {
        if m > MAX_ROW_LEN {
            return Err(format!(
                "row length m = {m} exceeds the limit of {MAX_ROW_LEN} (docs/numerics.md §9)"
            ));
        }
        let n = rows
            .checked_mul(m)
            .filter(|&n| n <= MAX_WEIGHTS)
            .ok_or_else(|| {
                format!(
                    "{rows} rows x {m} = more than {MAX_WEIGHTS} weights (the limit of docs/numerics.md §9)"
                )
            })?;
        if self.p == 0 || !n.is_multiple_of(self.p) {
            return Err(format!(
                "compression p = {} does not divide the {n} weights",
                self.p
            ));
        }
        let q = n / self.p;
        if self.tile.len() != q {
            return Err(format!(
                "tile has {} bits, but {n} weights with p = {} need q = {q}",
                self.tile.len(),
                self.p
            ));
        }
        if q < m {
            return Err(format!(
                "p = {} exceeds the {rows} rows: the tile ({q} bits) is shorter than one row ({m})",
                self.p
            ));
        }
        if self.alphas.len() != 1 && self.alphas.len() != self.p {
            return Err(format!(
                "{} alphas given; need 1 or p = {}",
                self.alphas.len(),
                self.p
            ));
        }
        if let Some((i, a)) = self
            .alphas
            .iter()
            .enumerate()
            .find(|(_, a)| !a.is_finite() || **a < 0.0)
        {
            return Err(format!("alpha[{i}] = {a} must be finite and >= 0"));
        }
        Ok(())
    }
}

/// A fully connected layer: `out x in` weights.
#[derive(Clone, Debug, PartialEq)]
pub struct Linear {
    /// Layer name.
    pub name: String,
    /// Input length.
    pub in_features: usize,
    /// Output length (rows).
    pub out_features: usize,
    /// The tiled weights.
    pub weights: TiledWeights,
    /// Optional bias, one per output.
    pub bias: Option<Vec<f32>>,
}

/// A 2-D convolution: `out x in x kh x kw` weights, zero padding.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2d {
    /// Layer name.
    pub name: String,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels (rows).
    pub out_channels: usize,
    /// Kernel height and width.
    pub kernel: (usize, usize),
    /// Stride (same in both directions).
    pub stride: usize,
    /// Zero padding (same on all sides).
    pub padding: usize,
    /// The tiled weights.
    pub weights: TiledWeights,
    /// Optional bias, one per output channel.
    pub bias: Option<Vec<f32>>,
}

impl Conv2d {
    /// Row length `in * kh * kw` (saturating; validated layers have at most
    /// [`MAX_ROW_LEN`]).
    pub fn row_len(&self) -> usize {
        self.in_channels
            .saturating_mul(self.kernel.0)
            .saturating_mul(self.kernel.1)
    }

    /// Output height and width for an input of `h x w`, if positive.
    pub fn out_hw(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let (kh, kw) = self.kernel;
        let pad2 = self.padding.checked_mul(2)?;
        let ph = h.checked_add(pad2)?;
        let pw = w.checked_add(pad2)?;
        if ph < kh || pw < kw || self.stride == 0 {
            return None;
        }
        Some(((ph - kh) / self.stride + 1, (pw - kw) / self.stride + 1))
    }
}

/// Inference batch normalisation: `gamma * (x - mean) / sqrt(var + eps) + beta` per channel.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm {
    /// Layer name.
    pub name: String,
    /// Scale.
    pub gamma: Vec<f32>,
    /// Shift.
    pub beta: Vec<f32>,
    /// Running mean.
    pub mean: Vec<f32>,
    /// Running variance.
    pub var: Vec<f32>,
    /// Epsilon.
    pub eps: f32,
}

impl BatchNorm {
    /// Per-channel (gain, offset) so that `bn(x) = gain * x + offset`.
    pub fn affine(&self) -> Vec<(f32, f32)> {
        (0..self.gamma.len())
            .map(|i| {
                let g = self.gamma[i] / (self.var[i] + self.eps).sqrt();
                (g, self.beta[i] - g * self.mean[i])
            })
            .collect()
    }
}

/// One layer of a model.
#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    /// Fully connected, tiled.
    Linear(Linear),
    /// 2-D convolution, tiled.
    Conv2d(Conv2d),
    /// Inference batch-norm over channels (or features).
    BatchNorm(BatchNorm),
    /// max(x, 0).
    Relu,
    /// +1 if x > 0 else -1.
    Sign,
    /// ReLU quantized to `bits`-bit unsigned steps of `scale` (docs/numerics.md §4):
    /// `scale * clamp(floor(x / scale + 1/2), 0, 2^bits - 1)`. The float form of a
    /// quantization-aware trained low-bit activation (`bits` 2..=8; 1-bit
    /// activations are sign activations, [`Layer::Sign`]).
    QuantRelu {
        /// Output bits, 2..=8.
        bits: u8,
        /// Real value of one step (finite, > 0).
        scale: f32,
    },
    /// Max pooling with a square kernel.
    MaxPool2d {
        /// Kernel size.
        kernel: usize,
        /// Stride.
        stride: usize,
    },
    /// CHW to a flat vector.
    Flatten,
}

impl Layer {
    /// A short kind name ("linear", "conv2d", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Linear(_) => "linear",
            Layer::Conv2d(_) => "conv2d",
            Layer::BatchNorm(_) => "batchnorm",
            Layer::Relu => "relu",
            Layer::Sign => "sign",
            Layer::QuantRelu { .. } => "quant_relu",
            Layer::MaxPool2d { .. } => "maxpool2d",
            Layer::Flatten => "flatten",
        }
    }

    /// The layer's name (kind for unnamed layers).
    pub fn name(&self) -> &str {
        match self {
            Layer::Linear(l) => &l.name,
            Layer::Conv2d(c) => &c.name,
            Layer::BatchNorm(b) => &b.name,
            other => other.kind(),
        }
    }

    /// The tiled weights of a weighted layer.
    pub fn weights(&self) -> Option<&TiledWeights> {
        match self {
            Layer::Linear(l) => Some(&l.weights),
            Layer::Conv2d(c) => Some(&c.weights),
            _ => None,
        }
    }

    /// (rows, row length) of a weighted layer.
    pub fn rows_and_len(&self) -> Option<(usize, usize)> {
        match self {
            Layer::Linear(l) => Some((l.out_features, l.in_features)),
            Layer::Conv2d(c) => Some((c.out_channels, c.row_len())),
            _ => None,
        }
    }

    /// Output shape for `input`, or an error naming the mismatch.
    pub fn output_shape(&self, input: Shape) -> std::result::Result<Shape, String> {
        match self {
            Layer::Linear(l) => {
                if input.numel() != l.in_features {
                    return Err(format!(
                        "expects {} inputs, gets {} ({input})",
                        l.in_features,
                        input.numel()
                    ));
                }
                Ok(Shape::Vector(l.out_features))
            }
            Layer::Conv2d(c) => {
                let Shape::Chw(ch, h, w) = input else {
                    return Err(format!("conv2d needs a CHW input, gets {input}"));
                };
                if ch != c.in_channels {
                    return Err(format!(
                        "expects {} input channels, gets {ch}",
                        c.in_channels
                    ));
                }
                let (oh, ow) = c.out_hw(h, w).ok_or_else(|| {
                    format!(
                        "kernel {:?} with padding {} does not fit input {input}",
                        c.kernel, c.padding
                    )
                })?;
                Ok(Shape::Chw(c.out_channels, oh, ow))
            }
            Layer::BatchNorm(b) => {
                let ch = match input {
                    Shape::Vector(n) => n,
                    Shape::Chw(c, _, _) => c,
                };
                if b.gamma.len() != ch {
                    return Err(format!(
                        "has {} channels, input {input} has {ch}",
                        b.gamma.len()
                    ));
                }
                Ok(input)
            }
            Layer::Relu | Layer::Sign | Layer::QuantRelu { .. } => Ok(input),
            Layer::MaxPool2d { kernel, stride } => {
                let Shape::Chw(c, h, w) = input else {
                    return Err(format!("maxpool2d needs a CHW input, gets {input}"));
                };
                if *kernel == 0 || *stride == 0 || h < *kernel || w < *kernel {
                    return Err(format!(
                        "kernel {kernel}, stride {stride} do not fit {input}"
                    ));
                }
                Ok(Shape::Chw(
                    c,
                    (h - kernel) / stride + 1,
                    (w - kernel) / stride + 1,
                ))
            }
            Layer::Flatten => Ok(Shape::Vector(input.numel())),
        }
    }

    /// Checks the layer's own parameters.
    fn validate_params(&self) -> std::result::Result<(), String> {
        match self {
            Layer::Linear(l) => {
                if l.in_features == 0 || l.out_features == 0 {
                    return Err("in and out features must be positive".into());
                }
                l.weights.validate(l.out_features, l.in_features)?;
                check_bias(&l.bias, l.out_features)
            }
            Layer::Conv2d(c) => {
                if c.in_channels == 0 || c.out_channels == 0 || c.kernel.0 == 0 || c.kernel.1 == 0 {
                    return Err("channels and kernel must be positive".into());
                }
                if c.stride == 0 {
                    return Err("stride must be positive".into());
                }
                c.weights.validate(c.out_channels, c.row_len())?;
                check_bias(&c.bias, c.out_channels)
            }
            Layer::BatchNorm(b) => {
                let n = b.gamma.len();
                if n == 0 || b.beta.len() != n || b.mean.len() != n || b.var.len() != n {
                    return Err(
                        "gamma, beta, mean and var must have the same non-zero length".into(),
                    );
                }
                if !(b.eps.is_finite() && b.eps >= 0.0) {
                    return Err(format!("eps = {} must be finite and >= 0", b.eps));
                }
                let all = b.gamma.iter().chain(&b.beta).chain(&b.mean).chain(&b.var);
                if all.clone().any(|v| !v.is_finite()) {
                    return Err("parameters must be finite".into());
                }
                if b.var.iter().any(|v| v + b.eps <= 0.0) {
                    return Err("var + eps must be positive".into());
                }
                if let Some(i) = b
                    .affine()
                    .iter()
                    .position(|(g, o)| !g.is_finite() || !o.is_finite())
                {
                    return Err(format!(
                        "channel {i}: gamma / sqrt(var + eps) or its offset overflows f32"
                    ));
                }
                Ok(())
            }
            Layer::QuantRelu { bits, scale } => {
                if !(2..=8).contains(bits) {
                    return Err(format!(
                        "quant_relu bits = {bits} must be 2..=8 (a 1-bit activation is a sign \
                         activation, docs/numerics.md §3: use a sign layer)"
                    ));
                }
                if !(scale.is_finite() && *scale > 0.0) {
                    return Err(format!("quant_relu scale = {scale} must be finite and > 0"));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The float quantized ReLU of [`Layer::QuantRelu`] for one value (computed in
/// f64, rounded to f32 once).
pub fn quant_relu(x: f32, bits: u8, scale: f32) -> f32 {
    let hi = f64::from((1u32 << bits) - 1);
    let s = f64::from(scale);
    let k = (f64::from(x) / s + 0.5).floor().clamp(0.0, hi);
    (k * s) as f32
}

fn check_bias(bias: &Option<Vec<f32>>, rows: usize) -> std::result::Result<(), String> {
    match bias {
        Some(b) if b.len() != rows => Err(format!("bias has {} values, need {rows}", b.len())),
        Some(b) if b.iter().any(|v| !v.is_finite()) => Err("bias must be finite".into()),
        _ => Ok(()),
    }
}

/// A validated model: input shape and layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Model name.
    pub name: String,
    /// Shape of one input.
    pub input_shape: Shape,
    /// The layers in order.
    pub layers: Vec<Layer>,
}

impl Model {
    /// Builds and validates a model.
    pub fn new(name: impl Into<String>, input_shape: Shape, layers: Vec<Layer>) -> Result<Model> {
        let m = Model {
            name: name.into(),
            input_shape,
            layers,
        };
        m.validate()?;
        Ok(m)
    }

    /// Checks every layer and the shapes between them; returns the output shape
    /// of every layer.
    /// Enforces the limits of docs/numerics.md §9 (layer count, tensor sizes,
    /// work per inference) with checked arithmetic.
    pub fn validate(&self) -> Result<Vec<Shape>> {
        if self.layers.is_empty() {
            return Err(Error::Shape("the model has no layers".into()));
        }
        if self.layers.len() > MAX_LAYERS {
            return Err(Error::Shape(format!(
                "{} layers exceed the limit of {MAX_LAYERS} (docs/numerics.md §9)",
                self.layers.len()
            )));
        }
        let mut shape = self.input_shape;
        let mut trace = shape.check("input shape")?;
        let mut macs: u64 = 0;
        let mut shapes = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            let err = |msg: String| Error::Layer {
                layer: i,
                name: layer.name().to_string(),
                msg,
            };
            layer.validate_params().map_err(err)?;
            let out = layer
                .output_shape(shape)
                .map_err(|m| Error::Shape(format!("layer {i} ({}) {m}", layer.name())))?;
            let n = out.check(&format!("output of layer {i} ({})", layer.name()))?;
            trace = trace.saturating_add(n);
            if let Some((_, m)) = layer.rows_and_len() {
                // Every output value is one row of m MACs.
                macs = macs.saturating_add((n as u64).saturating_mul(m as u64));
            }
            if trace > MAX_TRACE || macs > MAX_MACS {
                return Err(Error::Shape(format!(
                    "up to layer {i} ({}) the model needs {trace} activation values and {macs} \
                     multiply-accumulates per inference, beyond the limits of {MAX_TRACE} and \
                     {MAX_MACS} (docs/numerics.md §9)",
                    layer.name()
                )));
            }
            shape = out;
            shapes.push(shape);
        }
        Ok(shapes)
    }

    /// Output shape of the whole model.
    pub fn output_shape(&self) -> Result<Shape> {
        Ok(*self.validate()?.last().expect("non-empty"))
    }
}
