//! Throughput and resident memory of the TBN kernels against a dense f32
//! matrix kernel on the same adapter, measured in the same run.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use tbn_golden::integer::{Activation, DenseStage, InputSpec, Program, Stage};
use tbn_golden::layout::RowGeometry;
use tbn_golden::model::{Layer, Linear, Model, Shape, TiledWeights};
use tbn_golden::tile::Tile;

use crate::context::Gpu;
use crate::error::Result;
use crate::float::{GpuModel, Weights};
use crate::integer::GpuProgram;
use crate::memory::{totals, LayerMemory};

/// One kernel's throughput.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Throughput {
    /// Inputs (images or vectors) run.
    pub inputs: usize,
    /// Wall time for all of them, batches uploaded, run and read back.
    pub seconds: f64,
    /// Inputs per second.
    pub per_second: f64,
}

fn timed(inputs: usize, mut f: impl FnMut() -> Result<()>) -> Result<Throughput> {
    f()?; // warm-up: first submission, shader caches
    let t = Instant::now();
    f()?;
    let seconds = t.elapsed().as_secs_f64();
    Ok(Throughput {
        inputs,
        seconds,
        per_second: inputs as f64 / seconds.max(1e-9),
    })
}

/// Resident weight memory of a network.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemoryReport {
    /// Per weighted layer.
    pub layers: Vec<LayerMemory>,
    /// Tile + alpha bytes over all layers.
    pub tbn_weight_bytes: u64,
    /// Dense f32 weight bytes over all layers (what the baseline keeps resident).
    pub dense_f32_bytes: u64,
    /// `tbn_weight_bytes / dense_f32_bytes`.
    pub fraction: f64,
}

impl MemoryReport {
    fn of(layers: &[LayerMemory]) -> Self {
        let (w, d) = totals(layers);
        MemoryReport {
            layers: layers.to_vec(),
            tbn_weight_bytes: w,
            dense_f32_bytes: d,
            fraction: w as f64 / d as f64,
        }
    }
}

/// TBN float and integer kernels against the dense f32 baseline on one model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelBench {
    /// Model name.
    pub model: String,
    /// Batch size.
    pub batch: usize,
    /// TBN float path (tile + alphas, row reuse).
    pub tbn_float: Throughput,
    /// TBN integer path (bit-planes, popcount, exact requantization).
    pub tbn_integer: Option<Throughput>,
    /// Dense f32 kernel on the materialised weights.
    pub dense_f32: Throughput,
    /// `tbn_float.per_second / dense_f32.per_second`.
    pub float_vs_dense: f64,
    /// `tbn_integer.per_second / dense_f32.per_second`.
    pub integer_vs_dense: Option<f64>,
    /// Resident weight memory.
    pub memory: MemoryReport,
}

/// Benchmarks `model` (and its integer `program`, if given) on `inputs`.
pub fn bench_model(
    gpu: &Gpu,
    model: &Model,
    program: Option<(&Program, &[Vec<i32>])>,
    inputs: &[Vec<f32>],
    batch: usize,
) -> Result<ModelBench> {
    // A batch larger than the inputs would time padding, not images.
    let batch = batch.min(inputs.len()).max(1);
    let tbn = GpuModel::new(gpu, model, batch, Weights::Tiled)?;
    let dense = GpuModel::new(gpu, model, batch, Weights::DenseF32)?;
    let tbn_float = timed(inputs.len(), || tbn.run(inputs).map(drop))?;
    let dense_f32 = timed(inputs.len(), || dense.run(inputs).map(drop))?;
    let tbn_integer = match program {
        Some((p, xs)) => {
            let gp = GpuProgram::new(gpu, p, batch)?;
            Some(timed(xs.len(), || gp.run(xs).map(drop))?)
        }
        None => None,
    };
    Ok(ModelBench {
        model: model.name.clone(),
        batch,
        float_vs_dense: tbn_float.per_second / dense_f32.per_second,
        integer_vs_dense: tbn_integer
            .as_ref()
            .map(|t| t.per_second / dense_f32.per_second),
        tbn_float,
        tbn_integer,
        dense_f32,
        memory: MemoryReport::of(tbn.memory()),
    })
}

/// One large `n x n` linear layer with compression `p`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LayerBench {
    /// Resident memory of the layer.
    pub memory: LayerMemory,
    /// Batch size.
    pub batch: usize,
    /// TBN float kernel.
    pub tbn_float: Throughput,
    /// TBN integer kernel (A = 8 unsigned inputs, logits).
    pub tbn_integer: Throughput,
    /// Dense f32 kernel.
    pub dense_f32: Throughput,
    /// `tbn_float.per_second / dense_f32.per_second`.
    pub float_vs_dense: f64,
    /// `tbn_integer.per_second / dense_f32.per_second`.
    pub integer_vs_dense: f64,
}

/// A deterministic pseudo-random bit source (a 64-bit LCG's high bits).
fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state >> 33
}

/// The integer program of one `n x n` linear layer with tile period `p`
/// (`q = n * n / p` bits in `tile`): 8-bit unsigned inputs, one multiplier
/// `mult` for every row, no bias, no shift, i64 logits out.
pub fn linear_logits_program(
    name: String,
    n: usize,
    p: usize,
    tile: Tile,
    alpha_q: Vec<u16>,
    mult: i32,
) -> Program {
    Program {
        name,
        input: InputSpec {
            bits: 8,
            signed: false,
            scale: 1.0,
            shape: vec![n],
        },
        stages: vec![Stage::Dense(DenseStage {
            name: "fc".into(),
            geom: RowGeometry {
                rows: n,
                m: n,
                q: n * n / p,
                p,
            },
            conv: None,
            tile,
            alpha_q,
            mult: vec![mult],
            bias: vec![],
            shift: 0,
            in_bits: 8,
            in_signed: false,
            act: Activation::Logits,
            out_bits: 8,
            out_scale: 1.0,
        })],
    }
}

/// Benchmarks an `n x n` layer with compression `p` on `vectors` inputs.
pub fn bench_layer(
    gpu: &Gpu,
    n: usize,
    p: usize,
    vectors: usize,
    batch: usize,
) -> Result<LayerBench> {
    let q = n * n / p;
    let mut s = 0x7b1d_u64;
    let tile = Tile::from_bools(&(0..q).map(|_| lcg(&mut s) & 1 == 1).collect::<Vec<_>>());
    let alphas: Vec<f32> = (0..p).map(|c| 0.01 * (c + 1) as f32).collect();
    let model = Model::new(
        format!("linear {n}x{n} p={p}"),
        Shape::Vector(n),
        vec![Layer::Linear(Linear {
            name: "fc".into(),
            in_features: n,
            out_features: n,
            weights: TiledWeights {
                p,
                tile: tile.clone(),
                alphas,
            },
            bias: None,
        })],
    )?;
    let alpha_q = (0..p).map(|c| (1000 * (c + 1)) as u16).collect();
    let program = linear_logits_program(model.name.clone(), n, p, tile, alpha_q, 1);
    let xi: Vec<Vec<i32>> = (0..vectors)
        .map(|_| (0..n).map(|_| (lcg(&mut s) & 255) as i32).collect())
        .collect();
    let xf: Vec<Vec<f32>> = xi
        .iter()
        .map(|x| x.iter().map(|&v| v as f32 / 255.0).collect())
        .collect();
    let m = bench_model(gpu, &model, Some((&program, &xi)), &xf, batch)?;
    let tbn_integer = m.tbn_integer.expect("program given");
    Ok(LayerBench {
        memory: m.memory.layers[0].clone(),
        batch: m.batch,
        integer_vs_dense: tbn_integer.per_second / m.dense_f32.per_second,
        float_vs_dense: m.float_vs_dense,
        tbn_float: m.tbn_float,
        tbn_integer,
        dense_f32: m.dense_f32,
    })
}
