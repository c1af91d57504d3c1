//! Golden integer program (+ the float model it came from) -> the compact
//! binary program of `tbn_driver::program` that the microcontroller reads
//! from flash.

use tbn_driver::program::{
    encode, Activation, ConvGeom, DenseSpec, EncodeError, FloatSpec, ProgramSpec, RowGeometry,
    Shape, StageSpec, ValueCode,
};
use tbn_golden::integer::{self, Program, Stage};
use tbn_golden::model::{Layer, Model};

/// Float parameters of one weighted layer: alphas per copy, gain and offset
/// per row (bias and a following batch-norm folded).
struct FloatParams {
    alphas: Vec<f32>,
    gains: Vec<f32>,
    offsets: Vec<f32>,
}

fn float_params(model: &Model) -> Vec<FloatParams> {
    let mut out = Vec::new();
    for (i, layer) in model.layers.iter().enumerate() {
        let (Some(w), Some((rows, _))) = (layer.weights(), layer.rows_and_len()) else {
            continue;
        };
        let bias = match layer {
            Layer::Linear(l) => l.bias.clone(),
            Layer::Conv2d(c) => c.bias.clone(),
            _ => None,
        }
        .unwrap_or_else(|| vec![0.0; rows]);
        let (mut gains, mut offsets) = (vec![1.0f32; rows], bias);
        if let Some(Layer::BatchNorm(bn)) = model.layers.get(i + 1) {
            for (r, (g, o)) in bn.affine().into_iter().enumerate().take(rows) {
                gains[r] = g;
                offsets[r] = g * offsets[r] + o;
            }
        }
        out.push(FloatParams {
            alphas: w.alphas_per_copy(),
            gains,
            offsets,
        });
    }
    out
}

fn field(stage: usize, what: String) -> EncodeError {
    EncodeError::Field { stage, what }
}

/// Encodes `prog` (compiled from `model`, whose float parameters are added
/// for the float baseline; `None` stores the integer program only).
pub fn program_bytes(prog: &Program, model: Option<&Model>) -> Result<Vec<u8>, EncodeError> {
    let shape = match prog.input.shape[..] {
        [n] => Shape { c: n, h: 1, w: 1 },
        [c, h, w] => Shape { c, h, w },
        _ => {
            return Err(field(
                usize::MAX,
                format!(
                    "input shape {:?} must have 1 or 3 dimensions",
                    prog.input.shape
                ),
            ))
        }
    };
    let floats = model.map(float_params);
    let dense_count = prog.dense_stages().count();
    if let Some(f) = &floats {
        if f.len() != dense_count {
            return Err(field(
                usize::MAX,
                format!(
                    "model has {} weighted layers, program {dense_count} dense stages",
                    f.len()
                ),
            ));
        }
    }
    // Owned tile words per dense stage (the spec borrows them).
    let tiles: Vec<Vec<u32>> = prog.dense_stages().map(|d| d.tile.words32()).collect();
    let mut stages = Vec::with_capacity(prog.stages.len());
    let mut k = 0;
    for (i, st) in prog.stages.iter().enumerate() {
        stages.push(match st {
            Stage::Dense(d) => {
                let fp = floats.as_ref().map(|f| &f[k]);
                if let Some(fp) = fp {
                    if fp.alphas.len() != d.geom.p || fp.gains.len() != d.geom.rows {
                        return Err(field(
                            i,
                            format!("float layer {k} does not match dense stage {}", d.name),
                        ));
                    }
                }
                let spec = DenseSpec {
                    geom: RowGeometry {
                        rows: d.geom.rows,
                        m: d.geom.m,
                        q: d.geom.q,
                        p: d.geom.p,
                    },
                    conv: d.conv.map(|c| ConvGeom {
                        in_c: c.in_channels,
                        in_h: c.in_hw.0,
                        in_w: c.in_hw.1,
                        kh: c.kernel.0,
                        kw: c.kernel.1,
                        stride: c.stride,
                        pad: c.padding,
                    }),
                    input: ValueCode {
                        bits: d.in_bits,
                        signed: d.in_signed,
                    },
                    act: match d.act {
                        integer::Activation::Relu => Activation::Relu,
                        integer::Activation::Sign => Activation::Sign,
                        integer::Activation::Signed => Activation::Signed,
                        integer::Activation::Logits => Activation::Logits,
                    },
                    out_bits: d.out_bits,
                    shift: d.shift,
                    alpha_q: &d.alpha_q,
                    mult: &d.mult,
                    bias: &d.bias,
                    tile: &tiles[k],
                    float: fp.map(|f| FloatSpec {
                        alphas: &f.alphas,
                        gains: &f.gains,
                        offsets: &f.offsets,
                    }),
                };
                k += 1;
                StageSpec::Dense(spec)
            }
            Stage::MaxPool { kernel, stride, .. } => StageSpec::MaxPool {
                kernel: *kernel,
                stride: *stride,
            },
            Stage::Flatten => StageSpec::Flatten,
        });
    }
    encode(&ProgramSpec {
        input_shape: shape,
        input: ValueCode {
            bits: prog.input.bits,
            signed: prog.input.signed,
        },
        input_scale: prog.input.scale,
        stages: &stages,
    })
}
