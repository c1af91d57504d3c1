//! The integer program on the GPU, bit-exact with `tbn_golden::integer`:
//! per dense stage `pack_planes` (bit-planes), `dot_rows` (accumulator pairs of the D
//! distinct rows, popcounts) and `requantize` (every row, exact 64-bit
//! fixed point); max pooling between stages.

use tbn_golden::integer::{value_range, Activation, DenseStage, Program, Stage};

use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::geometry::{dense_params, pool_params, Chw, DenseGeom, Im2col};
use crate::kernels::{act, Entry};
use crate::memory::LayerMemory;
use crate::net::{for_batches, words_buffer, Net, NetBuilder, StageWeights};

/// An integer program laid out on the GPU for batches of a fixed size.
pub struct GpuProgram<'g> {
    gpu: &'g Gpu,
    net: Net,
    input_range: (i64, i64),
    logits: bool,
}

fn dense_stage(b: &mut NetBuilder, d: &DenseStage, input: Chw) -> Result<Chw> {
    let g = &d.geom;
    // |dot| <= m * 2^A must fit the kernels' i32 accumulators.
    if (g.m as u64) << d.in_bits >= 1 << 31 {
        return Err(GpuError::Unsupported(format!(
            "stage {}: row length {} at {} bits overflows the i32 accumulators",
            d.name, g.m, d.in_bits
        )));
    }
    let conv = d.conv.map(|c| Im2col {
        in_c: c.in_channels,
        kernel: c.kernel,
        out_hw: c.out_hw,
        stride: c.stride,
        pad: c.padding,
    });
    let geom = DenseGeom {
        rows: g.rows,
        m: g.m,
        q: g.q,
        p: g.p,
        d: g.distinct_rows(),
        period: g.period(),
    };
    let (mut params, positions, out) = dense_params(geom, conv, input)?;
    let (lo, hi) = value_range(d.out_bits, d.act == Activation::Signed);
    params.bits = u32::from(d.in_bits);
    params.signed_in = u32::from(d.in_signed);
    params.act = match d.act {
        Activation::Relu => act::RELU,
        Activation::Sign => act::SIGN,
        Activation::Signed => act::NONE,
        Activation::Logits => act::LOGITS,
    };
    params.out_lo = lo as i32;
    params.out_hi = hi as i32;
    params.shift = d.shift;
    params.per_row_mult = u32::from(d.mult.len() > 1);
    params.has_bias = u32::from(!d.bias.is_empty());
    if d.act == Activation::Logits {
        params.out_len *= 2;
    }
    let gpu = b.gpu();
    let alpha: Vec<u32> = d.alpha_q.iter().map(|&a| u32::from(a)).collect();
    let mult: Vec<u32> = d.mult.iter().map(|&m| m as u32).collect();
    let bias: Vec<u32> = d
        .bias
        .iter()
        .flat_map(|&v| [v as u32, (v >> 32) as u32])
        .collect();
    let weights = StageWeights {
        tile: words_buffer(gpu, "tile", &d.tile.words32()),
        alphas: words_buffer(gpu, "alpha codes", &alpha),
        extra7: words_buffer(gpu, "multipliers", &mult),
        extra8: words_buffer(gpu, "biases", &bias),
    };
    b.memory.push(LayerMemory::new(
        &d.name,
        g.rows,
        g.m,
        g.p,
        g.q,
        4 * (mult.len() + bias.len()) as u64,
    ));
    let items = positions as u64;
    let wpr = u64::from(params.wpr);
    let planes = items * (u64::from(params.bits) + 1) * wpr;
    let acc = items * 2 * g.distinct_rows() as u64;
    let bt = u64::from(b.batch);
    b.push(
        params,
        Some(weights),
        vec![
            (Entry::IntPack, bt * items * wpr),
            (Entry::IntDot, bt * items * g.distinct_rows() as u64),
            (Entry::IntRequant, bt * items * g.rows as u64),
        ],
        planes,
        acc,
    )?;
    Ok(out)
}

impl<'g> GpuProgram<'g> {
    /// Lays `program` out on `gpu` for batches of `batch` inputs.
    pub fn new(gpu: &'g Gpu, program: &Program, batch: usize) -> Result<Self> {
        program.validate()?;
        let mut shape = Chw::of_dims(&program.input.shape);
        let mut b = NetBuilder::new(gpu, batch, shape.len())?;
        let mut logits = false;
        for (i, stage) in program.stages.iter().enumerate() {
            if logits {
                return Err(GpuError::Unsupported(format!(
                    "stage {i} follows the logits stage"
                )));
            }
            match stage {
                Stage::Dense(d) => {
                    shape = dense_stage(&mut b, d, shape)?;
                    logits = d.act == Activation::Logits;
                }
                Stage::MaxPool { kernel, stride, .. } => {
                    let (params, out) = pool_params(shape, *kernel, *stride)?;
                    let n = u64::from(b.batch) * out.len() as u64;
                    b.push(params, None, vec![(Entry::IntMaxPool, n)], 0, 0)?;
                    shape = out;
                }
                Stage::Flatten => shape = Chw::of_dims(&[shape.len()]),
            }
        }
        let out_words = shape.len() as u64 * if logits { 2 } else { 1 };
        Ok(GpuProgram {
            gpu,
            net: b.finish(out_words)?,
            input_range: value_range(program.input.bits, program.input.signed),
            logits,
        })
    }

    /// Batch size the program was laid out for.
    pub fn batch(&self) -> usize {
        self.net.batch
    }

    /// Resident weight memory per dense stage.
    pub fn memory(&self) -> &[LayerMemory] {
        &self.net.memory
    }

    /// Runs every input (any count; batched internally); returns each one's
    /// final outputs (the logits `v_r` for a program ending in logits).
    pub fn run(&self, inputs: &[Vec<i32>]) -> Result<Vec<Vec<i64>>> {
        let n_in = self.net.in_words;
        let (lo, hi) = self.input_range;
        for (k, x) in inputs.iter().enumerate() {
            if x.len() != n_in {
                return Err(GpuError::Input(format!(
                    "input {k} has {} values, the program expects {n_in}",
                    x.len()
                )));
            }
            if let Some((i, v)) = x
                .iter()
                .enumerate()
                .find(|(_, &v)| i64::from(v) < lo || i64::from(v) > hi)
            {
                return Err(GpuError::Input(format!(
                    "input {k}: value {v} at {i} is outside [{lo}, {hi}]"
                )));
            }
        }
        let mut out = Vec::with_capacity(inputs.len());
        let batch = self.net.batch;
        for_batches(inputs.len(), batch, |start, k| {
            let mut words = vec![0u32; batch * n_in];
            for (i, x) in inputs[start..start + k].iter().enumerate() {
                for (w, &v) in words[i * n_in..].iter_mut().zip(x) {
                    *w = v as u32;
                }
            }
            let y = self.net.run(self.gpu, &words)?;
            let per = self.net.out_words;
            for i in 0..k {
                let img = &y[i * per..(i + 1) * per];
                out.push(if self.logits {
                    img.chunks(2)
                        .map(|p| (u64::from(p[0]) | (u64::from(p[1]) << 32)) as i64)
                        .collect()
                } else {
                    img.iter().map(|&v| i64::from(v as i32)).collect()
                });
            }
            Ok(())
        })?;
        Ok(out)
    }
}
