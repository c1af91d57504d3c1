//! `tbn gpu`: the TBN kernels on a GPU through wgpu (docs/gpu.md).

use std::path::PathBuf;

use anyhow::{Context, Result};
use tbn_golden::float::{argmax, forward};
use tbn_golden::integer::mnist_input;
use tbn_gpu::bench::{bench_layer, bench_model};
use tbn_gpu::{Gpu, GpuModel, GpuProgram, Weights};

use super::common::{load_dataset, load_model, program_for};
use super::eval;
use crate::reports::{self, EvalPath, EvalReport, GpuBenchReport, GpuEvalReport};

/// Arguments of `tbn gpu`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Accuracy on the GPU (same options and JSON keys as `tbn eval`, plus the adapter).
    Eval(EvalArgs),
    /// Images per second and resident weight memory against a dense f32 kernel on the same adapter.
    Bench(BenchArgs),
}

#[derive(clap::Args)]
struct EvalArgs {
    #[command(flatten)]
    eval: eval::Args,
    /// Images per GPU batch.
    #[arg(long, default_value_t = 256, value_parser = super::common::at_least_one)]
    batch: usize,
    /// Also run the golden model on the CPU and count disagreements
    /// (integer: logits not identical; float: class differs).
    #[arg(long)]
    compare_golden: bool,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Model file (default: the bundled reference model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Test images to time per kernel.
    #[arg(long, default_value_t = 2048, value_parser = super::common::at_least_one)]
    images: usize,
    /// Images per GPU batch.
    #[arg(long, default_value_t = 256, value_parser = super::common::at_least_one)]
    batch: usize,
    /// Side of the square layer benchmarked on its own (0: skip).
    #[arg(long, default_value_t = 4096)]
    layer: usize,
    /// Compression of that layer.
    #[arg(long, default_value_t = 4, value_parser = super::common::at_least_one)]
    layer_p: usize,
    /// Input vectors timed on that layer.
    #[arg(long, default_value_t = 64, value_parser = super::common::at_least_one)]
    layer_vectors: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `tbn gpu`.
pub fn run(a: Args) -> Result<()> {
    let gpu = Gpu::new()?;
    match a.command {
        Command::Eval(e) => eval_on(&gpu, e),
        Command::Bench(b) => bench_on(&gpu, b),
    }
}

fn eval_on(gpu: &Gpu, a: EvalArgs) -> Result<()> {
    let e = &a.eval;
    let model = load_model(e.model.as_deref())?;
    let (images, labels) = load_dataset(e.images.as_deref(), e.labels.as_deref())?;
    let total = e.limit.map_or(images.count, |l| l.min(images.count));
    anyhow::ensure!(
        images.rows * images.cols == model.input_shape.numel(),
        "images have {} pixels, the model expects {} inputs",
        images.rows * images.cols,
        model.input_shape.numel()
    );
    // Seconds on the GPU path (lay-out, upload, run, read back), not the
    // golden comparison.
    // No larger than the images (a padded batch is wasted work); 0 stays an error.
    let batch = a.batch.min(total.max(1));
    let start = std::time::Instant::now();
    let seconds;
    let (mut logits_differ, mut classes_differ, mut max_rel) = (None, None, None);
    let classes: Vec<usize> = if e.integer {
        let program = program_for(&model, e.act_bits, e.calib)?;
        let xs: Vec<Vec<i32>> = (0..total).map(|i| mnist_input(images.image(i))).collect();
        let ys = GpuProgram::new(gpu, &program, batch)?.run(&xs)?;
        seconds = start.elapsed().as_secs_f64();
        if a.compare_golden {
            let runner = program.runner();
            let mut differ = 0;
            for (x, y) in xs.iter().zip(&ys) {
                differ += usize::from(runner.run(x)? != *y);
            }
            logits_differ = Some(differ);
        }
        ys.iter().map(|y| argmax(y)).collect()
    } else {
        let xs: Vec<Vec<f32>> = (0..total).map(|i| images.image_f32(i)).collect();
        let ys = GpuModel::new(gpu, &model, batch, Weights::Tiled)?.run(&xs)?;
        seconds = start.elapsed().as_secs_f64();
        if a.compare_golden {
            let (mut differ, mut worst) = (0, 0f64);
            for (x, y) in xs.iter().zip(&ys) {
                let g = forward(&model, x)?;
                differ += usize::from(argmax(&g) != argmax(y));
                let scale = g.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
                for (a, b) in y.iter().zip(&g) {
                    worst = worst.max(f64::from((a - b).abs() / scale));
                }
            }
            classes_differ = Some(differ);
            max_rel = Some(worst);
        }
        ys.iter().map(|y| argmax(y)).collect()
    };
    let correct = classes
        .iter()
        .zip(&labels)
        .filter(|(c, l)| **c == **l as usize)
        .count();
    let report = GpuEvalReport {
        eval: EvalReport {
            model: model.name.clone(),
            path: if e.integer {
                EvalPath::Integer
            } else {
                EvalPath::Float
            },
            correct,
            total,
            accuracy: if total == 0 {
                0.0
            } else {
                correct as f64 / total as f64
            },
            seconds,
            act_bits: e.integer.then_some(e.act_bits),
        },
        device: gpu.describe(),
        golden_logits_differ: logits_differ,
        golden_classes_differ: classes_differ,
        golden_max_rel_diff: max_rel,
    };
    if e.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        eval::print_line(&report.eval);
        println!("  device: {}", report.device);
        for (k, v) in [
            ("golden_logits_differ", report.golden_logits_differ),
            ("golden_classes_differ", report.golden_classes_differ),
        ] {
            if let Some(v) = v {
                println!("  {k}: {v}");
            }
        }
        if let Some(v) = report.golden_max_rel_diff {
            println!("  golden_max_rel_diff: {v}");
        }
    }
    Ok(())
}

fn bench_on(gpu: &Gpu, a: BenchArgs) -> Result<()> {
    let model = load_model(a.model.as_deref())?;
    let (images, _) = load_dataset(None, None)?;
    let n = a.images.min(images.count);
    anyhow::ensure!(n > 0, "--images must be at least 1");
    let xf: Vec<Vec<f32>> = (0..n).map(|i| images.image_f32(i)).collect();
    let xi: Vec<Vec<i32>> = (0..n).map(|i| mnist_input(images.image(i))).collect();
    let program = program_for(&model, 8, 500)?;
    let m = bench_model(gpu, &model, Some((&program, &xi)), &xf, a.batch)
        .context("benchmarking the model")?;
    let layer = if a.layer > 0 {
        Some(
            bench_layer(gpu, a.layer, a.layer_p, a.layer_vectors, a.batch.min(64))
                .context("benchmarking the square layer")?,
        )
    } else {
        None
    };
    let report = GpuBenchReport {
        device: gpu.describe(),
        model: m,
        layer,
    };
    // The latest benchmark, where `tbn compare` looks for it.
    reports::write(&reports::gpu_path(), &report)?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let (m, layer) = (&report.model, &report.layer);
    println!("adapter: {}", gpu.describe());
    println!("model {} (batch {}):", m.model, m.batch);
    let line = |what: &str, t: &tbn_gpu::bench::Throughput| {
        println!("  {what:<24} {:>12.1} images/s", t.per_second)
    };
    line("TBN float (tile)", &m.tbn_float);
    if let Some(t) = &m.tbn_integer {
        line("TBN integer (popcount)", t);
    }
    line("dense f32 baseline", &m.dense_f32);
    println!(
        "  ratio vs dense f32: float {:.2}x, integer {}",
        m.float_vs_dense,
        m.integer_vs_dense
            .map_or("-".into(), |r| format!("{r:.2}x"))
    );
    println!(
        "  weights resident: {} B (tile + alphas) vs {} B dense f32 (1/{:.1})",
        m.memory.tbn_weight_bytes,
        m.memory.dense_f32_bytes,
        1.0 / m.memory.fraction
    );
    for l in &m.memory.layers {
        println!(
            "    {:<8} {}x{} p={}: tile {} B + alphas {} B vs {} B",
            l.name, l.rows, l.m, l.p, l.tile_bytes, l.alpha_bytes, l.dense_f32_bytes
        );
    }
    if let Some(l) = &layer {
        let mem = &l.memory;
        println!(
            "layer {}x{} p={} (batch {}): tile {} B + alphas {} B vs {} B dense f32 (1/{:.3})",
            mem.rows,
            mem.m,
            mem.p,
            l.batch,
            mem.tile_bytes,
            mem.alpha_bytes,
            mem.dense_f32_bytes,
            1.0 / mem.fraction_of_dense()
        );
        println!(
            "  vectors/s: TBN float {:.1}, TBN integer {:.1}, dense f32 {:.1} (ratios {:.2}x, {:.2}x)",
            l.tbn_float.per_second,
            l.tbn_integer.per_second,
            l.dense_f32.per_second,
            l.float_vs_dense,
            l.integer_vs_dense
        );
    }
    Ok(())
}
