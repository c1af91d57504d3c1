//! Float (reference) inference, two ways: [`forward_reference`] materialises
//! every weight (obviously correct, for tests), [`forward`] computes from the
//! tile with row reuse and never materialises W. Sums are in f64.

use crate::error::{Error, Result};
use crate::kernels::{float_row_sums, PackedRows};
use crate::layout::RowGeometry;
use crate::model::{Conv2d, Layer, Model, Shape, TiledWeights};

/// Geometry of a weighted layer's tile.
pub(crate) fn geometry(w: &TiledWeights, rows: usize, m: usize) -> RowGeometry {
    RowGeometry {
        rows,
        m,
        q: w.q(),
        p: w.p,
    }
}

/// The im2col patches of a conv layer's input.
pub struct Patches<T> {
    /// One vector of `in * kh * kw` values per output position (row-major over `oh x ow`).
    pub values: Vec<Vec<T>>,
    /// Per position and lane: false in the zero padding.
    pub valid: Vec<Vec<bool>>,
    /// Output height and width.
    pub out_hw: (usize, usize),
}

/// The im2col patches of a conv layer for a CHW input of `h x w`, gathered in
/// `(in_channel, ky, kx)` order.
pub fn im2col<T: Copy + Default>(conv: &Conv2d, x: &[T], (h, w): (usize, usize)) -> Patches<T> {
    let (oh, ow) = conv.out_hw(h, w).expect("validated shape");
    let (kh, kw) = conv.kernel;
    let pad = conv.padding as isize;
    let mut patches = Vec::with_capacity(oh * ow);
    let mut valid = Vec::with_capacity(oh * ow);
    for oy in 0..oh {
        for ox in 0..ow {
            let mut p = Vec::with_capacity(conv.row_len());
            let mut v = Vec::with_capacity(conv.row_len());
            for c in 0..conv.in_channels {
                for ky in 0..kh {
                    for kx in 0..kw {
                        let iy = (oy * conv.stride + ky) as isize - pad;
                        let ix = (ox * conv.stride + kx) as isize - pad;
                        if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                            p.push(x[(c * h + iy as usize) * w + ix as usize]);
                            v.push(true);
                        } else {
                            p.push(T::default());
                            v.push(false);
                        }
                    }
                }
            }
            patches.push(p);
            valid.push(v);
        }
    }
    Patches {
        values: patches,
        valid,
        out_hw: (oh, ow),
    }
}

/// Max pooling on a CHW tensor (generic over the value type).
pub fn maxpool<T: Copy + PartialOrd>(
    x: &[T],
    (c, h, w): (usize, usize, usize),
    k: usize,
    s: usize,
) -> Vec<T> {
    let oh = (h - k) / s + 1;
    let ow = (w - k) / s + 1;
    let mut out = Vec::with_capacity(c * oh * ow);
    for ch in 0..c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best = x[(ch * h + oy * s) * w + ox * s];
                for ky in 0..k {
                    for kx in 0..k {
                        let v = x[(ch * h + oy * s + ky) * w + ox * s + kx];
                        if v > best {
                            best = v;
                        }
                    }
                }
                out.push(best);
            }
        }
    }
    out
}

/// One dense product of the distinct-row sums, expanded to every row.
fn expand_rows(
    g: &RowGeometry,
    w: &TiledWeights,
    sums: &[(f64, f64)],
    bias: Option<&Vec<f32>>,
) -> Vec<f32> {
    (0..g.rows)
        .map(|r| {
            let seg = g.segment(r);
            let (a, b) = sums[g.distinct_of(r)];
            let mut y = f64::from(w.alpha(seg.copy)) * a;
            if seg.straddles(g.m) {
                y += f64::from(w.alpha(seg.copy + 1)) * b;
            }
            if let Some(bias) = bias {
                y += f64::from(bias[r]);
            }
            y as f32
        })
        .collect()
}

fn check_input(model: &Model, x: &[f32]) -> Result<Vec<Shape>> {
    let shapes = model.validate()?;
    if x.len() != model.input_shape.numel() {
        return Err(Error::Shape(format!(
            "input has {} values, the model expects {} ({})",
            x.len(),
            model.input_shape.numel(),
            model.input_shape
        )));
    }
    if let Some(k) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite(format!("input value {k} is {}", x[k])));
    }
    Ok(shapes)
}

/// Fast float inference from the tile (row reuse, no materialised weights).
pub fn forward(model: &Model, x: &[f32]) -> Result<Vec<f32>> {
    check_input(model, x)?;
    run(model, x, fast_dense)
}

/// A weighted layer computed from the tile with row reuse.
fn fast_dense(layer: &Layer, x: &[f32], shape: Shape) -> Vec<f32> {
    match layer {
        Layer::Linear(l) => {
            let g = geometry(&l.weights, l.out_features, l.in_features);
            let rows = PackedRows::new(&l.weights.tile, &g);
            expand_rows(&g, &l.weights, &float_row_sums(&rows, x), l.bias.as_ref())
        }
        Layer::Conv2d(c) => {
            let Shape::Chw(_, h, w) = shape else {
                unreachable!("validated")
            };
            let g = geometry(&c.weights, c.out_channels, c.row_len());
            let rows = PackedRows::new(&c.weights.tile, &g);
            let Patches {
                values: patches,
                out_hw: (oh, ow),
                ..
            } = im2col(c, x, (h, w));
            let mut out = vec![0f32; c.out_channels * oh * ow];
            for (pos, patch) in patches.iter().enumerate() {
                let y = expand_rows(
                    &g,
                    &c.weights,
                    &float_row_sums(&rows, patch),
                    c.bias.as_ref(),
                );
                for (r, v) in y.into_iter().enumerate() {
                    out[r * oh * ow + pos] = v;
                }
            }
            out
        }
        _ => unreachable!("weighted layers only"),
    }
}

/// Float inference with every weight materialised (slow, obviously correct).
pub fn forward_reference(model: &Model, x: &[f32]) -> Result<Vec<f32>> {
    check_input(model, x)?;
    run(model, x, |layer, x, shape| {
        let w = layer.weights().expect("weighted").materialize();
        match layer {
            Layer::Linear(l) => (0..l.out_features)
                .map(|r| {
                    let row = &w[r * l.in_features..(r + 1) * l.in_features];
                    let s: f64 = row
                        .iter()
                        .zip(x)
                        .map(|(a, b)| f64::from(*a) * f64::from(*b))
                        .sum();
                    (s + l.bias.as_ref().map_or(0.0, |b| f64::from(b[r]))) as f32
                })
                .collect(),
            Layer::Conv2d(c) => {
                let Shape::Chw(_, h, wd) = shape else {
                    unreachable!("validated")
                };
                let (oh, ow) = c.out_hw(h, wd).expect("validated");
                let (kh, kw) = c.kernel;
                let mut out = vec![0f32; c.out_channels * oh * ow];
                for o in 0..c.out_channels {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut s = c.bias.as_ref().map_or(0.0, |b| f64::from(b[o]));
                            for i in 0..c.in_channels {
                                for ky in 0..kh {
                                    for kx in 0..kw {
                                        let iy = (oy * c.stride + ky) as isize - c.padding as isize;
                                        let ix = (ox * c.stride + kx) as isize - c.padding as isize;
                                        if iy < 0 || ix < 0 || iy as usize >= h || ix as usize >= wd
                                        {
                                            continue;
                                        }
                                        let wv = w[((o * c.in_channels + i) * kh + ky) * kw + kx];
                                        let xv = x[(i * h + iy as usize) * wd + ix as usize];
                                        s += f64::from(wv) * f64::from(xv);
                                    }
                                }
                            }
                            out[(o * oh + oy) * ow + ox] = s as f32;
                        }
                    }
                }
                out
            }
            _ => unreachable!("weighted layers only"),
        }
    })
}

/// Fast float inference returning the output of every layer (for calibration).
pub fn forward_trace(model: &Model, x: &[f32]) -> Result<Vec<Vec<f32>>> {
    check_input(model, x)?;
    let mut trace = Vec::with_capacity(model.layers.len());
    run_traced(model, x, fast_dense, Some(&mut trace))?;
    Ok(trace)
}

/// Runs the model, delegating weighted layers to `dense`.
fn run(
    model: &Model,
    x: &[f32],
    dense: impl Fn(&Layer, &[f32], Shape) -> Vec<f32>,
) -> Result<Vec<f32>> {
    run_traced(model, x, dense, None)
}

fn run_traced(
    model: &Model,
    x: &[f32],
    dense: impl Fn(&Layer, &[f32], Shape) -> Vec<f32>,
    mut trace: Option<&mut Vec<Vec<f32>>>,
) -> Result<Vec<f32>> {
    let mut shape = model.input_shape;
    let mut x = x.to_vec();
    for (i, layer) in model.layers.iter().enumerate() {
        let out_shape = layer.output_shape(shape).map_err(Error::Shape)?;
        x = match layer {
            Layer::Linear(_) | Layer::Conv2d(_) => dense(layer, &x, shape),
            Layer::BatchNorm(b) => {
                let aff = b.affine();
                let per = x.len() / aff.len();
                x.iter()
                    .enumerate()
                    .map(|(i, v)| aff[i / per].0 * v + aff[i / per].1)
                    .collect()
            }
            Layer::Relu => x.iter().map(|v| v.max(0.0)).collect(),
            Layer::Sign => x
                .iter()
                .map(|&v| if v > 0.0 { 1.0 } else { -1.0 })
                .collect(),
            Layer::QuantRelu { bits, scale } => x
                .iter()
                .map(|&v| crate::model::quant_relu(v, *bits, *scale))
                .collect(),
            Layer::MaxPool2d { kernel, stride } => {
                let Shape::Chw(c, h, w) = shape else {
                    unreachable!("validated")
                };
                maxpool(&x, (c, h, w), *kernel, *stride)
            }
            Layer::Flatten => x,
        };
        // An overflow to inf or NaN must not pass silently: ReLU would map NaN
        // to 0 and argmax would pick class 0.
        if let Some(k) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite(format!(
                "layer {} ({}) output {k} is {} (f32 overflow: check the alphas, biases and batch-norm gains)",
                i,
                layer.name(),
                x[k]
            )));
        }
        if let Some(t) = trace.as_deref_mut() {
            t.push(x.clone());
        }
        shape = out_shape;
    }
    Ok(x)
}

/// Index of the largest value; ties go to the lowest index.
pub fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    let mut best = 0;
    for i in 1..v.len() {
        if v[i] > v[best] {
            best = i;
        }
    }
    best
}
