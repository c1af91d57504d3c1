//! `tbn sim`: a model's integer program end to end through the accelerator RTL
//! (Verilator), compared bit-exactly with the golden integer path.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tbn_golden::float::argmax;
use tbn_sim::network::NetworkRunner;
use tbn_sim::{hw, BuildOptions};

use super::common::{float_input, images_to_score, load_dataset, load_model, program_for};

/// Arguments of `tbn sim`.
#[derive(clap::Args)]
pub struct Args {
    /// Model file (default: the bundled reference model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// IDX images (default: bundled MNIST test images).
    #[arg(long)]
    images: Option<PathBuf>,
    /// IDX labels (default: bundled MNIST test labels).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Run only the first N images (N >= 1).
    #[arg(long, default_value_t = 100, value_parser = super::common::at_least_one)]
    limit: usize,
    /// Lanes of the simulated core.
    #[arg(long, default_value_t = 32)]
    lanes: usize,
    /// Activation bits of the integer program.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=8))]
    act_bits: u8,
    /// Calibration images (from the training subset).
    #[arg(long, default_value_t = 500)]
    calib: usize,
    /// Write a VCD waveform of the whole run.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `tbn sim`.
pub fn run(a: Args) -> Result<()> {
    let model = load_model(a.model.as_deref())?;
    let (images, labels) = load_dataset(a.images.as_deref(), a.labels.as_deref())?;
    let total = images_to_score(&model, &labels, images.count, Some(a.limit))?;
    let program = program_for(&model, a.act_bits, a.calib)?;
    let cfg = hw::config_for_lanes(a.lanes);
    let opts = BuildOptions {
        trace: a.trace.is_some() || tbn_sim::verilate::trace_env().is_some(),
        ..BuildOptions::default()
    };
    let mut acc = hw::open_core(&cfg, &opts)
        .with_context(|| format!("building the {}-lane core", a.lanes))?;
    if let Some(t) = &a.trace {
        acc.dut().trace_open(t)?;
    }
    let mut runner = NetworkRunner::new(&program, &acc)?;
    let bar = if a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} [{elapsed}]").expect("template"),
    );
    let (mut correct, mut same_pred, mut same_logits) = (0usize, 0usize, 0usize);
    let mut first_diff: Option<usize> = None;
    let start = std::time::Instant::now();
    let c0 = acc.dut().cycles();
    for (i, &label) in labels.iter().enumerate().take(total) {
        let x = program.input.quantize(&float_input(&model, &images, i)?);
        let golden = program.run(&x)?;
        let rtl = runner.run(&mut acc, &x)?;
        let pred = argmax(&rtl);
        correct += usize::from(pred == label as usize);
        same_pred += usize::from(pred == argmax(&golden));
        if rtl == golden {
            same_logits += 1;
        } else if first_diff.is_none() {
            first_diff = Some(i);
        }
        bar.set_position(i as u64 + 1);
        if i % 16 == 0 {
            bar.set_message(format!(
                "accuracy {:.2}%",
                100.0 * correct as f64 / (i + 1) as f64
            ));
        }
    }
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let sim_cycles = acc.dut().cycles() - c0;
    let lanes = acc.info().lanes;
    let job_cycles: u64 = runner.stats.iter().map(|s| s.job_cycles).sum();
    let ideal: u64 = runner.stats.iter().map(|s| s.ideal_cycles).sum();
    let n = total.max(1) as f64;
    let layers: Vec<_> = runner
        .stats
        .iter()
        .map(|s| {
            json!({
                "name": s.name, "m": s.m, "q": s.q, "rows": s.rows, "distinct_rows": s.distinct_rows,
                "abits": s.abits, "job_cycles": s.job_cycles, "ideal_cycles": s.ideal_cycles,
                "efficiency": s.efficiency(),
                "sim_cycles_per_inference": s.total_sim_cycles as f64 / n,
            })
        })
        .collect();
    let accuracy = correct as f64 / n;
    let out = json!({
        "model": model.name, "lanes": lanes, "images": total, "act_bits": a.act_bits,
        "correct": correct, "accuracy": accuracy,
        "golden_identical_predictions": same_pred, "golden_identical_logits": same_logits,
        "layers": layers,
        "job_cycles_per_inference": job_cycles, "ideal_cycles_per_inference": ideal,
        "efficiency": if job_cycles == 0 { 0.0 } else { ideal as f64 / job_cycles as f64 },
        "sim_cycles_per_inference_with_bus": sim_cycles as f64 / n,
        "sim_cycles": sim_cycles, "seconds": seconds,
        "sim_cycles_per_second": sim_cycles as f64 / seconds.max(1e-9),
    });
    if a.json {
        println!("{out}");
    } else {
        println!(
            "{} on the {lanes}-lane RTL: {correct}/{total} correct ({:.2}%), predictions identical to golden: {same_pred}/{total}, logits identical: {same_logits}/{total}",
            model.name,
            100.0 * accuracy
        );
        for s in &runner.stats {
            println!(
                "  {:<8} m = {:>5} q = {:>6} D = {:>4} A = {}: {:>7} cycles (ideal {:>7}, efficiency {:.3})",
                s.name, s.m, s.q, s.distinct_rows, s.abits, s.job_cycles, s.ideal_cycles, s.efficiency()
            );
        }
        println!(
            "  per inference: {job_cycles} job cycles (ideal {ideal}), {:.0} simulated cycles with bus transfers; {:.0} simulated cycles/s",
            sim_cycles as f64 / n,
            sim_cycles as f64 / seconds.max(1e-9)
        );
    }
    if same_logits != total {
        bail!(
            "the RTL path differs from the golden integer path on {} of {total} images (first: image {})",
            total - same_logits,
            first_diff.unwrap_or(0)
        );
    }
    Ok(())
}
