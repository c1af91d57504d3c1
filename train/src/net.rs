//! The trainable network built from an [`Arch`], its forward pass (training and
//! inference form), and its export into a golden [`Model`].

use candle_core::{Device, Tensor, Var};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tbn_golden::model::{BatchNorm, Conv2d, Layer, Linear, Model, Shape};

use crate::arch::{Arch, ArchKind, Block};
use crate::error::{Result, TrainError};
use crate::tiled::WeightParam;

/// What kind of weights the network trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Tiled Bit Network: layers at or above the size threshold use compression p.
    Tbn,
    /// Binary weights (p = 1 in every layer) with one alpha per layer.
    Binary,
    /// Full-precision f32 weights (baseline; not exportable).
    F32,
}

impl std::str::FromStr for Mode {
    type Err = TrainError;
    fn from_str(s: &str) -> Result<Mode> {
        match s {
            "tbn" => Ok(Mode::Tbn),
            "binary" => Ok(Mode::Binary),
            "f32" => Ok(Mode::F32),
            other => Err(TrainError::Config(format!(
                "unknown mode {other:?} (use tbn, binary or f32)"
            ))),
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Tbn => "tbn",
            Mode::Binary => "binary",
            Mode::F32 => "f32",
        })
    }
}

/// Which layers are tiled and how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TilePolicy {
    /// Weight kind.
    pub mode: Mode,
    /// Compression factor of tiled layers (mode tbn).
    pub p: usize,
    /// Layers with fewer weights than this use p = 1 (the paper leaves small layers untiled).
    pub min_tile_size: usize,
    /// Keep the first and the last weighted layer at p = 1.
    pub keep_ends_binary: bool,
}

impl TilePolicy {
    /// The compression of a weighted layer with `n` weights, `index` of `count`.
    fn p_for(&self, n: usize, index: usize, count: usize) -> usize {
        let end = index == 0 || index + 1 == count;
        match self.mode {
            Mode::Tbn if n >= self.min_tile_size && !(self.keep_ends_binary && end) => self.p,
            _ => 1,
        }
    }
}

/// The activation of every hidden layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    /// Float ReLU (quantized after training by `tbn quantize --act-bits`).
    #[default]
    Relu,
    /// Sign activations (+1 if x > 0 else -1; 1-bit, W1A1) after batch-norm,
    /// trained with a straight-through estimator (gradient 1 on `[-1, 1]`, 0 outside).
    Sign,
    /// ReLU quantized to this many unsigned bits (2..=8) with the fixed step
    /// [`QUANT_STEP`] after batch-norm, trained quantization-aware with a
    /// straight-through estimator (gradient 1 on `[0, (2^bits - 1) * step]`).
    QuantRelu(u8),
}

impl std::fmt::Display for Act {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Act::Relu => f.write_str("relu"),
            Act::Sign => f.write_str("sign"),
            Act::QuantRelu(b) => write!(f, "relu, {b}-bit unsigned"),
        }
    }
}

/// Step of a quantized ReLU: a power of two, so `x / step` is exact in f32 and
/// f64 alike; batch-norm's learned gain makes a fixed step lose nothing.
pub const QUANT_STEP: f32 = 0.5;

/// Batch normalisation with learned gamma/beta and running statistics:
/// per channel, or shared by all channels of the layer (one mean, variance,
/// gain and bias: [`NetOptions::uniform_bn`]).
#[derive(Debug)]
pub struct BatchNormParam {
    name: String,
    /// Channels (features) of the layer; gamma and the statistics have one
    /// value per channel, or one in all when shared.
    channels: usize,
    gamma: Var,
    beta: Var,
    running_mean: Tensor,
    running_var: Tensor,
    eps: f64,
    momentum: f64,
}

/// One layer of the trainable network.
#[derive(Debug)]
pub enum NetLayer {
    /// Linear `out x in`, optional bias.
    Linear {
        /// Layer name.
        name: String,
        /// Weight `(out, in)`.
        w: WeightParam,
        /// Bias `(out)`.
        bias: Option<Var>,
    },
    /// Convolution `(out, in, k, k)`, stride 1, padding k/2, no bias (batch-norm follows).
    Conv {
        /// Layer name.
        name: String,
        /// Weight.
        w: WeightParam,
        /// Padding.
        pad: usize,
    },
    /// Batch-norm over channels (4-D input) or features (2-D input).
    BatchNorm(BatchNormParam),
    /// ReLU.
    Relu,
    /// Sign with a straight-through estimator.
    Sign,
    /// Quantized ReLU: `bits` unsigned, step `scale`, straight-through estimator.
    QuantRelu {
        /// Output bits.
        bits: u8,
        /// Step.
        scale: f32,
    },
    /// Max pooling with window and stride `k`.
    MaxPool(usize),
    /// Flatten to `(batch, features)`.
    Flatten,
    /// Inverted dropout with this drop rate while training (seeded masks);
    /// the identity at inference, so it is not exported.
    Dropout(f32),
}

/// Regularisation and normalisation options of [`Net::new`].
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct NetOptions {
    /// Batch-norm after the hidden layers of an MLP (CNNs always have it).
    pub mlp_batch_norm: bool,
    /// Dropout rate on the input while training.
    pub input_dropout: f32,
    /// Dropout rate after every hidden fully connected layer while training.
    pub dropout: f32,
    /// Activation of every hidden layer.
    pub act: Act,
    /// Batch-norm with one mean, variance, gain and bias per layer, shared
    /// by its channels: folded into the integer program it is one uniform
    /// requantization record per layer instead of one per row
    /// (docs/model-image.md section 2.4), so the accelerator's constants
    /// memory holds the model whatever its width.
    pub uniform_bn: bool,
}

/// A trainable network.
#[derive(Debug)]
pub struct Net {
    /// The architecture it was built from.
    pub arch: Arch,
    /// The tiling policy.
    pub policy: TilePolicy,
    /// Shape of one input.
    pub input_shape: Shape,
    /// The layers.
    pub layers: Vec<NetLayer>,
    device: Device,
}

struct WeightedPlan {
    shape: Vec<usize>,
    rows: usize,
    fan_in: usize,
}

impl Net {
    /// Builds the network for images of `rows x cols` with the seeded `rng`.
    pub fn new(
        arch: &Arch,
        policy: TilePolicy,
        (rows, cols): (usize, usize),
        opts: NetOptions,
        rng: &mut ChaCha8Rng,
    ) -> Result<Net> {
        let use_bn_mlp = opts.mlp_batch_norm;
        for r in [opts.input_dropout, opts.dropout] {
            if !(0.0..1.0).contains(&r) {
                return Err(TrainError::Config(format!(
                    "dropout rate {r} must be in [0, 1)"
                )));
            }
        }
        let act_layer = match opts.act {
            Act::Relu => NetLayer::Relu,
            Act::Sign => NetLayer::Sign,
            Act::QuantRelu(bits) if (2..=8).contains(&bits) => NetLayer::QuantRelu {
                bits,
                scale: QUANT_STEP,
            },
            Act::QuantRelu(bits) => {
                return Err(TrainError::Config(format!(
                    "quantized ReLU with {bits} bits: use 2..=8 (1-bit activations are sign \
                     activations, docs/numerics.md §3: use --act sign)"
                )))
            }
        };
        if opts.act != Act::Relu && arch.kind == ArchKind::Mlp && !use_bn_mlp {
            return Err(TrainError::Config(format!(
                "{} activations are trained as batch-norm then activation: keep --bn on",
                opts.act
            )));
        }
        if opts.uniform_bn && arch.kind == ArchKind::Mlp && !use_bn_mlp {
            return Err(TrainError::Config(
                "a uniform batch-norm needs batch-norm: keep --bn on".into(),
            ));
        }
        let dev = Device::Cpu;
        let err = |msg: String| TrainError::Arch {
            spec: arch.spec.clone(),
            msg,
        };
        if policy.mode == Mode::Tbn && policy.p == 0 {
            return Err(TrainError::Config("p must be at least 1".into()));
        }
        let input_shape = match arch.kind {
            ArchKind::Mlp => {
                let n = arch.mlp_inputs.unwrap_or(0);
                if n != rows * cols {
                    return Err(err(format!(
                        "declares {n} inputs but the images have {rows} x {cols} = {} pixels",
                        rows * cols
                    )));
                }
                Shape::Vector(n)
            }
            ArchKind::Cnn => Shape::Chw(1, rows, cols),
        };
        // First pass: plan the weighted layers to know their count and sizes.
        let mut plans: Vec<WeightedPlan> = Vec::new();
        let mut shape = input_shape;
        let mut proto: Vec<(Option<usize>, &Block)> = Vec::new(); // plan index per block
        for b in &arch.blocks {
            match (*b, shape) {
                (Block::Conv { out, k }, Shape::Chw(c, h, w)) => {
                    plans.push(WeightedPlan {
                        shape: vec![out, c, k, k],
                        rows: out,
                        fan_in: c * k * k,
                    });
                    proto.push((Some(plans.len() - 1), b));
                    shape = Shape::Chw(out, h, w);
                }
                (Block::Pool { k }, Shape::Chw(c, h, w)) => {
                    if h < k || w < k {
                        return Err(err(format!(
                            "pool p{k} does not fit a {h} x {w} feature map"
                        )));
                    }
                    proto.push((None, b));
                    shape = Shape::Chw(c, (h - k) / k + 1, (w - k) / k + 1);
                }
                (Block::Fc { out }, s) => {
                    let n = s.numel();
                    plans.push(WeightedPlan {
                        shape: vec![out, n],
                        rows: out,
                        fan_in: n,
                    });
                    proto.push((Some(plans.len() - 1), b));
                    shape = Shape::Vector(out);
                }
                (b, s) => {
                    return Err(err(format!(
                        "block {b:?} cannot follow a layer of shape {s}"
                    )))
                }
            }
        }
        let n_in = shape.numel();
        plans.push(WeightedPlan {
            shape: vec![arch.classes, n_in],
            rows: arch.classes,
            fan_in: n_in,
        });
        let count = plans.len();
        let make_w = |i: usize, rng: &mut ChaCha8Rng| -> Result<WeightParam> {
            let pl = &plans[i];
            let n: usize = pl.shape.iter().product();
            match policy.mode {
                Mode::F32 => WeightParam::float(&pl.shape, pl.fan_in, rng, &dev),
                _ => {
                    let p = policy.p_for(n, i, count);
                    if !n.is_multiple_of(p) || p > pl.rows {
                        return Err(err(format!(
                            "weighted layer {} ({:?}, {n} weights) cannot use p = {p}: p must divide the weights and not exceed the {} rows",
                            i + 1,
                            pl.shape,
                            pl.rows
                        )));
                    }
                    WeightParam::tiled(&pl.shape, pl.fan_in, p, rng, &dev)
                }
            }
        };
        let mut layers = Vec::new();
        if opts.input_dropout > 0.0 {
            layers.push(NetLayer::Dropout(opts.input_dropout));
        }
        let mut shape = input_shape;
        let (mut n_conv, mut n_fc, mut n_bn) = (0, 0, 0);
        let mut bn = |channels: usize, layers: &mut Vec<NetLayer>| -> Result<()> {
            n_bn += 1;
            let ch = if opts.uniform_bn { 1 } else { channels };
            layers.push(NetLayer::BatchNorm(BatchNormParam {
                name: format!("bn{n_bn}"),
                channels,
                gamma: Var::from_tensor(&Tensor::ones(ch, candle_core::DType::F32, &dev)?)?,
                beta: Var::from_tensor(&Tensor::zeros(ch, candle_core::DType::F32, &dev)?)?,
                running_mean: Tensor::zeros(ch, candle_core::DType::F32, &dev)?,
                running_var: Tensor::ones(ch, candle_core::DType::F32, &dev)?,
                eps: 1e-5,
                momentum: 0.1,
            }));
            Ok(())
        };
        for (plan, b) in proto {
            match *b {
                Block::Conv { out, k } => {
                    n_conv += 1;
                    let w = make_w(plan.expect("conv is weighted"), rng)?;
                    layers.push(NetLayer::Conv {
                        name: format!("conv{n_conv}"),
                        w,
                        pad: k / 2,
                    });
                    bn(out, &mut layers)?;
                    layers.push(act_layer.clone_act());
                    if let Shape::Chw(_, h, w) = shape {
                        shape = Shape::Chw(out, h, w);
                    }
                }
                Block::Pool { k } => {
                    layers.push(NetLayer::MaxPool(k));
                    if let Shape::Chw(c, h, w) = shape {
                        shape = Shape::Chw(c, (h - k) / k + 1, (w - k) / k + 1);
                    }
                }
                Block::Fc { out } => {
                    if matches!(shape, Shape::Chw(..)) {
                        layers.push(NetLayer::Flatten);
                    }
                    n_fc += 1;
                    let w = make_w(plan.expect("fc is weighted"), rng)?;
                    let with_bn = arch.kind == ArchKind::Cnn || use_bn_mlp;
                    let bias = if with_bn {
                        None
                    } else {
                        Some(Var::from_tensor(&Tensor::zeros(
                            out,
                            candle_core::DType::F32,
                            &dev,
                        )?)?)
                    };
                    layers.push(NetLayer::Linear {
                        name: format!("fc{n_fc}"),
                        w,
                        bias,
                    });
                    if with_bn {
                        bn(out, &mut layers)?;
                    }
                    layers.push(act_layer.clone_act());
                    if opts.dropout > 0.0 {
                        layers.push(NetLayer::Dropout(opts.dropout));
                    }
                    shape = Shape::Vector(out);
                }
            }
        }
        if matches!(shape, Shape::Chw(..)) {
            layers.push(NetLayer::Flatten);
        }
        n_fc += 1;
        let w = make_w(count - 1, rng)?;
        let bias = Var::from_tensor(&Tensor::zeros(arch.classes, candle_core::DType::F32, &dev)?)?;
        layers.push(NetLayer::Linear {
            name: format!("fc{n_fc}"),
            w,
            bias: Some(bias),
        });
        Ok(Net {
            arch: arch.clone(),
            policy,
            input_shape,
            layers,
            device: dev,
        })
    }

    /// The device tensors live on (CPU).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// All trainable variables.
    pub fn vars(&self) -> Vec<Var> {
        let mut v = Vec::new();
        for l in &self.layers {
            match l {
                NetLayer::Linear { w, bias, .. } => {
                    v.extend(w.vars());
                    v.extend(bias.iter().cloned());
                }
                NetLayer::Conv { w, .. } => v.extend(w.vars()),
                NetLayer::BatchNorm(b) => v.extend([b.gamma.clone(), b.beta.clone()]),
                _ => {}
            }
        }
        v
    }

    /// Forward pass of a batch `x` (`(n, features)` or `(n, 1, rows, cols)`).
    /// In training mode batch-norm uses batch statistics and updates its
    /// running statistics; otherwise it uses the running statistics.
    /// `rng` draws the dropout masks (training only).
    pub fn forward(
        &mut self,
        x: &Tensor,
        train: bool,
        mut rng: Option<&mut ChaCha8Rng>,
    ) -> Result<Tensor> {
        let mut x = x.clone();
        for l in &mut self.layers {
            x = match l {
                NetLayer::Linear { w, bias, .. } => {
                    let y = x.matmul(&w.weight()?.t()?)?;
                    match bias {
                        Some(b) => y.broadcast_add(b.as_tensor())?,
                        None => y,
                    }
                }
                NetLayer::Conv { w, pad, .. } => x.conv2d(&w.weight()?, *pad, 1, 1, 1)?,
                NetLayer::BatchNorm(b) => b.forward(&x, train)?,
                NetLayer::Relu => x.relu()?,
                NetLayer::Sign => sign_ste(&x)?,
                NetLayer::QuantRelu { bits, scale } => quant_relu_ste(&x, *bits, *scale)?,
                NetLayer::MaxPool(k) => x.max_pool2d(*k)?,
                NetLayer::Flatten => x.flatten_from(1)?,
                NetLayer::Dropout(rate) => match (train, rng.as_deref_mut()) {
                    (true, Some(rng)) => {
                        let keep = 1.0 - *rate;
                        let mask: Vec<f32> = (0..x.elem_count())
                            .map(|_| {
                                if rng.gen::<f32>() < keep {
                                    1.0 / keep
                                } else {
                                    0.0
                                }
                            })
                            .collect();
                        (x.clone() * Tensor::from_vec(mask, x.shape(), &self.device)?)?
                    }
                    _ => x,
                },
            };
        }
        Ok(x)
    }

    /// Storage of all weight tensors in bytes ([`WeightParam::weight_bytes`]),
    /// and of the other float parameters (bias, batch-norm: 4 per channel) at 4 bytes each.
    pub fn bytes(&self) -> (usize, usize) {
        let (mut wb, mut other) = (0, 0);
        for l in &self.layers {
            match l {
                NetLayer::Linear { w, bias, .. } => {
                    wb += w.weight_bytes();
                    other += bias.as_ref().map_or(0, |b| 4 * b.elem_count());
                }
                NetLayer::Conv { w, .. } => wb += w.weight_bytes(),
                NetLayer::BatchNorm(b) => other += 16 * b.gamma.elem_count(),
                _ => {}
            }
        }
        (wb, other)
    }

    /// Number of training-time tile bits that differ from the exported tiles
    /// (0 unless a score sum rounds differently in the two summations).
    pub fn tile_bit_mismatches(&self, model: &Model) -> Result<usize> {
        let mut mism = 0;
        let exported: Vec<_> = model.layers.iter().filter_map(|l| l.weights()).collect();
        let mut i = 0;
        for l in &self.layers {
            if let NetLayer::Linear { w, .. } | NetLayer::Conv { w, .. } = l {
                if let (Some(bits), Some(e)) = (w.training_tile_bits()?, exported.get(i)) {
                    mism += bits
                        .iter()
                        .enumerate()
                        .filter(|(j, b)| e.tile.get(*j) != **b)
                        .count();
                }
                i += 1;
            }
        }
        Ok(mism)
    }

    /// The compression factor of every weighted layer, in order.
    pub fn layer_ps(&self) -> Vec<usize> {
        self.layers
            .iter()
            .filter_map(|l| match l {
                NetLayer::Linear { w, .. } | NetLayer::Conv { w, .. } => Some(w.p()),
                _ => None,
            })
            .collect()
    }

    /// Exports the trained network as a golden [`Model`] (batch-norm in
    /// inference form, tiles from the scores, alphas from the latent weights).
    pub fn export(&self, name: &str) -> Result<Model> {
        let mut layers = Vec::new();
        let mut shape = self.input_shape;
        for l in &self.layers {
            let layer = match l {
                NetLayer::Dropout(_) => continue,
                NetLayer::Linear { name, w, bias } => {
                    let dims = w.vars()[0].dims().to_vec();
                    Layer::Linear(Linear {
                        name: name.clone(),
                        in_features: dims[1],
                        out_features: dims[0],
                        weights: w.export()?,
                        bias: bias
                            .as_ref()
                            .map(|b| b.as_tensor().to_vec1::<f32>())
                            .transpose()?,
                    })
                }
                NetLayer::Conv { name, w, pad } => {
                    let dims = w.vars()[0].dims().to_vec();
                    Layer::Conv2d(Conv2d {
                        name: name.clone(),
                        in_channels: dims[1],
                        out_channels: dims[0],
                        kernel: (dims[2], dims[3]),
                        stride: 1,
                        padding: *pad,
                        weights: w.export()?,
                        bias: None,
                    })
                }
                NetLayer::BatchNorm(b) => {
                    // A shared batch-norm is exported per channel with equal values.
                    let per_channel = |t: &Tensor| -> Result<Vec<f32>> {
                        let v = t.to_vec1::<f32>()?;
                        Ok(if v.len() == b.channels {
                            v
                        } else {
                            vec![v[0]; b.channels]
                        })
                    };
                    Layer::BatchNorm(BatchNorm {
                        name: b.name.clone(),
                        gamma: per_channel(b.gamma.as_tensor())?,
                        beta: per_channel(b.beta.as_tensor())?,
                        mean: per_channel(&b.running_mean)?,
                        var: per_channel(&b.running_var)?,
                        eps: b.eps as f32,
                    })
                }
                NetLayer::Relu => Layer::Relu,
                NetLayer::Sign => Layer::Sign,
                NetLayer::QuantRelu { bits, scale } => Layer::QuantRelu {
                    bits: *bits,
                    scale: *scale,
                },
                NetLayer::MaxPool(k) => Layer::MaxPool2d {
                    kernel: *k,
                    stride: *k,
                },
                NetLayer::Flatten => Layer::Flatten,
            };
            shape = layer
                .output_shape(shape)
                .map_err(|m| TrainError::Export(format!("layer {}: {m}", layer.name())))?;
            layers.push(layer);
        }
        Ok(Model::new(name, self.input_shape, layers)?)
    }
}

impl NetLayer {
    /// A copy of a parameter-free activation layer.
    fn clone_act(&self) -> NetLayer {
        match self {
            NetLayer::Sign => NetLayer::Sign,
            NetLayer::QuantRelu { bits, scale } => NetLayer::QuantRelu {
                bits: *bits,
                scale: *scale,
            },
            _ => NetLayer::Relu,
        }
    }
}

impl BatchNormParam {
    fn forward(&mut self, x: &Tensor, train: bool) -> Result<Tensor> {
        let rank = x.rank();
        let ch = self.gamma.elem_count();
        let bshape: Vec<usize> = if rank == 4 {
            vec![1, ch, 1, 1]
        } else {
            vec![1, ch]
        };
        let (mean, var) = if train {
            let (mean, var, count) = if ch == 1 && self.channels > 1 {
                // Shared: one mean and variance over every element.
                let mean = x.mean_all()?.reshape(bshape.as_slice())?;
                let var = x.broadcast_sub(&mean)?.sqr()?.mean_all()?;
                (mean, var.reshape(bshape.as_slice())?, x.elem_count())
            } else if rank == 4 {
                let (n, _, h, w) = x.dims4()?;
                let mean = x.mean_keepdim((0, 2, 3))?;
                let var = x.broadcast_sub(&mean)?.sqr()?.mean_keepdim((0, 2, 3))?;
                (mean, var, n * h * w)
            } else {
                let n = x.dim(0)?;
                let mean = x.mean_keepdim(0)?;
                let var = x.broadcast_sub(&mean)?.sqr()?.mean_keepdim(0)?;
                (mean, var, n)
            };
            let m = self.momentum;
            let unbias = count as f64 / (count.max(2) - 1) as f64;
            self.running_mean =
                ((&self.running_mean * (1.0 - m))? + (mean.detach().flatten_all()? * m)?)?;
            self.running_var =
                ((&self.running_var * (1.0 - m))? + (var.detach().flatten_all()? * (m * unbias))?)?;
            (mean, var)
        } else {
            (
                self.running_mean.reshape(bshape.as_slice())?,
                self.running_var.reshape(bshape.as_slice())?,
            )
        };
        let xhat = x
            .broadcast_sub(&mean)?
            .broadcast_div(&(var + self.eps)?.sqrt()?)?;
        let g = self.gamma.as_tensor().reshape(bshape.as_slice())?;
        let b = self.beta.as_tensor().reshape(bshape.as_slice())?;
        Ok(xhat.broadcast_mul(&g)?.broadcast_add(&b)?)
    }
}

/// Sign activation with a straight-through estimator: the value is exactly
/// +1 if x > 0 else -1 (`xc - detach(xc)` is 0), the gradient that of
/// `clamp(x, -1, 1)` (1 inside, 0 outside, 1/2 exactly at +-1: candle splits
/// the gradient of max/min ties).
pub fn sign_ste(x: &Tensor) -> Result<Tensor> {
    let xc = x.clamp(-1f32, 1f32)?;
    let s = ((x.gt(0f32)?.to_dtype(candle_core::DType::F32)? * 2.0)? - 1.0)?;
    Ok((s + (&xc - xc.detach())?)?)
}

/// Quantized ReLU with a straight-through estimator: the value is
/// `scale * clamp(floor(x / scale + 1/2), 0, 2^bits - 1)` (the golden
/// `quant_relu`), the gradient that of `clamp(x, 0, (2^bits - 1) * scale)`.
pub fn quant_relu_ste(x: &Tensor, bits: u8, scale: f32) -> Result<Tensor> {
    let hi = ((1u32 << bits) - 1) as f32;
    let xc = x.clamp(0f32, hi * scale)?;
    let q = (((x.detach() / f64::from(scale))? + 0.5)?
        .floor()?
        .clamp(0f32, hi)?
        * f64::from(scale))?;
    Ok((q + (&xc - xc.detach())?)?)
}

/// Index of the largest logit per row (ties: lowest index, as docs/numerics.md section 6).
pub fn predictions(logits: &Tensor) -> Result<Vec<usize>> {
    let (_, c) = logits.dims2()?;
    let v = logits.flatten_all()?.to_vec1::<f32>()?;
    Ok(v.chunks(c).map(tbn_golden::float::argmax).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_quant_relu_ste_values_and_gradients() {
        let xs = [-2.0f32, -1.0, -0.3, 0.0, 0.2, 0.25, 0.7, 1.0, 1.3, 5.0];
        let x = Var::from_vec(xs.to_vec(), xs.len(), &Device::Cpu).unwrap();
        let y = sign_ste(x.as_tensor()).unwrap();
        let v = y.to_vec1::<f32>().unwrap();
        let want: Vec<f32> = xs
            .iter()
            .map(|&a| if a > 0.0 { 1.0 } else { -1.0 })
            .collect();
        assert_eq!(v, want, "exactly +-1, zero maps to -1");
        let g = y.sum_all().unwrap().backward().unwrap();
        let g = g.get(&x).unwrap().to_vec1::<f32>().unwrap();
        let want: Vec<f32> = xs
            .iter()
            .map(|&a| {
                // candle splits the gradient of max/min ties: 1/2 at the ends.
                if a.abs() < 1.0 {
                    1.0
                } else if a.abs() == 1.0 {
                    0.5
                } else {
                    0.0
                }
            })
            .collect();
        assert_eq!(g, want, "gradient of clamp(x, -1, 1)");

        let y = quant_relu_ste(x.as_tensor(), 2, 0.5).unwrap();
        let v = y.to_vec1::<f32>().unwrap();
        let want: Vec<f32> = xs
            .iter()
            .map(|&a| tbn_golden::model::quant_relu(a, 2, 0.5))
            .collect();
        assert_eq!(v, want, "equals the golden quant_relu");
        assert_eq!(v[5], 0.5, "0.25 / 0.5 + 1/2 = 1: ties round up");
        let g = y.sum_all().unwrap().backward().unwrap();
        let g = g.get(&x).unwrap().to_vec1::<f32>().unwrap();
        let want: Vec<f32> = xs
            .iter()
            .map(|&a| {
                if a > 0.0 && a < 1.5 {
                    1.0
                } else if a == 0.0 || a == 1.5 {
                    0.5
                } else {
                    0.0
                }
            })
            .collect();
        assert_eq!(g, want, "gradient of clamp(x, 0, 1.5)");
    }
}
