//! The float model on the GPU (f32), following `tbn_golden::float::forward`:
//! per weighted layer `dot_rows` (segment sums of the D distinct rows read from
//! the tile) and `expand_rows` (each row from its distinct row with its copy's
//! alpha, then bias, batch-norm and activation). The same network can run
//! as the dense f32 baseline: every row from a materialised W.

use tbn_golden::layout::RowGeometry;
use tbn_golden::model::{Layer, Model};

use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::geometry::{dense_params, pool_params, Chw, DenseGeom, Im2col};
use crate::kernels::{act, Entry};
use crate::memory::LayerMemory;
use crate::net::{for_batches, words_buffer, Net, NetBuilder, StageWeights};

/// How the weights of the float network are held on the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weights {
    /// One tile + alphas per layer; distinct rows computed once (the TBN kernel).
    Tiled,
    /// The dense f32 baseline: the materialised `rows x m` matrix, every row computed.
    DenseF32,
}

/// A float model laid out on the GPU for batches of a fixed size.
pub struct GpuModel<'g> {
    gpu: &'g Gpu,
    net: Net,
}

fn float_words(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

impl<'g> GpuModel<'g> {
    /// Lays `model` out on `gpu`. Weighted layers may be followed by a
    /// batch-norm and then a ReLU or sign; max pooling and flatten stand alone.
    pub fn new(gpu: &'g Gpu, model: &Model, batch: usize, weights: Weights) -> Result<Self> {
        model.validate()?;
        let mut shape = Chw::of_dims(&model.input_shape.dims());
        let mut b = NetBuilder::new(gpu, batch, shape.len())?;
        let layers = &model.layers;
        let mut i = 0;
        while i < layers.len() {
            match &layers[i] {
                Layer::Flatten => shape = Chw::of_dims(&[shape.len()]),
                Layer::MaxPool2d { kernel, stride } => {
                    let (params, out) = pool_params(shape, *kernel, *stride)?;
                    let n = u64::from(b.batch) * out.len() as u64;
                    b.push(params, None, vec![(Entry::FloatMaxPool, n)], 0, 0)?;
                    shape = out;
                }
                layer @ (Layer::Linear(_) | Layer::Conv2d(_)) => {
                    let mut bn = None;
                    let mut activation = act::NONE;
                    if let Some(Layer::BatchNorm(n)) = layers.get(i + 1) {
                        bn = Some(n.affine());
                        i += 1;
                    }
                    match layers.get(i + 1) {
                        Some(Layer::Relu) => {
                            activation = act::RELU;
                            i += 1;
                        }
                        Some(Layer::Sign) => {
                            activation = act::SIGN;
                            i += 1;
                        }
                        Some(Layer::QuantRelu { bits, .. }) => {
                            return Err(GpuError::Unsupported(format!(
                                "layer {} (quant_relu, {bits} bits): the GPU float path has no \
                                 quantized ReLU; use the integer path (--integer), which runs it \
                                 exactly as a {bits}-bit relu stage",
                                i + 1
                            )))
                        }
                        _ => {}
                    }
                    shape = dense_layer(&mut b, layer, bn, activation, shape, weights)?;
                }
                other => {
                    return Err(GpuError::Unsupported(format!(
                        "layer {i} ({}) must follow a linear or conv2d layer",
                        other.kind()
                    )))
                }
            }
            i += 1;
        }
        Ok(GpuModel {
            gpu,
            net: b.finish(shape.len() as u64)?,
        })
    }

    /// Batch size the model was laid out for.
    pub fn batch(&self) -> usize {
        self.net.batch
    }

    /// Resident weight memory per weighted layer (for the dense baseline the
    /// tile fields describe the TBN layer; the GPU holds `dense_f32_bytes`).
    pub fn memory(&self) -> &[LayerMemory] {
        &self.net.memory
    }

    /// Runs every input (batched internally); returns each one's outputs.
    pub fn run(&self, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        let n_in = self.net.in_words;
        for (k, x) in inputs.iter().enumerate() {
            if x.len() != n_in {
                return Err(GpuError::Input(format!(
                    "input {k} has {} values, the model expects {n_in}",
                    x.len()
                )));
            }
        }
        let batch = self.net.batch;
        let mut out = Vec::with_capacity(inputs.len());
        for_batches(inputs.len(), batch, |start, k| {
            let mut words = vec![0u32; batch * n_in];
            for (i, x) in inputs[start..start + k].iter().enumerate() {
                words[i * n_in..(i + 1) * n_in].copy_from_slice(&float_words(x));
            }
            let y = self.net.run(self.gpu, &words)?;
            let per = self.net.out_words;
            out.extend((0..k).map(|i| {
                y[i * per..(i + 1) * per]
                    .iter()
                    .map(|&w| f32::from_bits(w))
                    .collect()
            }));
            Ok(())
        })?;
        Ok(out)
    }
}

fn dense_layer(
    b: &mut NetBuilder,
    layer: &Layer,
    bn: Option<Vec<(f32, f32)>>,
    activation: u32,
    input: Chw,
    weights: Weights,
) -> Result<Chw> {
    let (rows, m) = layer.rows_and_len().expect("weighted layer");
    let w = layer.weights().expect("weighted layer");
    let (bias, conv) = match layer {
        Layer::Linear(l) => (l.bias.clone(), None),
        Layer::Conv2d(c) => {
            let (oh, ow) = c
                .out_hw(input.h, input.w)
                .ok_or_else(|| GpuError::Unsupported(format!("conv {} has no output", c.name)))?;
            (
                c.bias.clone(),
                Some(Im2col {
                    in_c: c.in_channels,
                    kernel: c.kernel,
                    out_hw: (oh, ow),
                    stride: c.stride,
                    pad: c.padding,
                }),
            )
        }
        _ => unreachable!("weighted layer"),
    };
    let g = RowGeometry {
        rows,
        m,
        q: w.q(),
        p: w.p,
    };
    // The dense baseline is the same pipeline with one "copy" holding every
    // row (q = rows * m, alpha 1, every row distinct).
    let (q, p, d, period, tile, alphas, entry) = match weights {
        Weights::Tiled => (
            g.q,
            g.p,
            g.distinct_rows(),
            g.period(),
            w.tile.words32(),
            w.alphas_per_copy(),
            Entry::FloatDot,
        ),
        Weights::DenseF32 => (
            rows * m,
            1,
            rows,
            rows,
            float_words(&w.materialize()),
            vec![1.0],
            Entry::FloatDenseDot,
        ),
    };
    let geom = DenseGeom {
        rows,
        m,
        q,
        p,
        d,
        period,
    };
    let (mut params, positions, out) = dense_params(geom, conv, input)?;
    if weights == Weights::DenseF32 {
        params.tile_words = u32::try_from(tile.len())
            .map_err(|_| GpuError::Unsupported("dense weights exceed 32-bit indexing".into()))?;
        let bytes = 4 * tile.len() as u64;
        if bytes > b.gpu().max_binding() {
            return Err(GpuError::Unsupported(format!(
                "dense f32 weights of {bytes} bytes exceed the adapter's binding limit"
            )));
        }
    }
    params.act = activation;
    params.has_bias = u32::from(bias.is_some());
    params.has_bn = u32::from(bn.is_some());
    let gpu = b.gpu();
    let bias_words = float_words(&bias.unwrap_or_default());
    let bn_words: Vec<u32> = bn
        .unwrap_or_default()
        .iter()
        .flat_map(|&(g, o)| [g.to_bits(), o.to_bits()])
        .collect();
    let stage = StageWeights {
        tile: words_buffer(gpu, "tile", &tile),
        alphas: words_buffer(gpu, "alphas", &float_words(&alphas)),
        extra7: words_buffer(gpu, "bias", &bias_words),
        extra8: words_buffer(gpu, "batch-norm", &bn_words),
    };
    b.memory.push(LayerMemory::new(
        layer.name(),
        rows,
        m,
        g.p,
        g.q,
        4 * (bias_words.len() + bn_words.len()) as u64,
    ));
    let bt = u64::from(b.batch);
    let items = positions as u64;
    b.push(
        params,
        Some(stage),
        vec![
            (entry, bt * items * d as u64),
            (Entry::FloatExpand, bt * items * rows as u64),
        ],
        0,
        items * 2 * d as u64,
    )?;
    Ok(out)
}
