//! `tbn eval`: accuracy of a model on an IDX data set, float or integer path.

use std::path::PathBuf;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use tbn_golden::float::{argmax, forward};

use super::common::{float_input, images_to_score, load_dataset, load_model, program_for};
use crate::reports::{EvalPath, EvalReport};

/// Arguments of `tbn eval`.
#[derive(clap::Args)]
pub struct Args {
    /// Model file (default: the bundled reference model).
    #[arg(long)]
    pub(crate) model: Option<PathBuf>,
    /// IDX images (default: bundled MNIST test images).
    #[arg(long)]
    pub(crate) images: Option<PathBuf>,
    /// IDX labels (default: bundled MNIST test labels).
    #[arg(long)]
    pub(crate) labels: Option<PathBuf>,
    /// Use the bit-exact integer path (docs/numerics.md).
    #[arg(long)]
    pub(crate) integer: bool,
    /// Activation bits of the integer path.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub(crate) act_bits: u8,
    /// Calibration images (from the training subset) for the integer path.
    #[arg(long, default_value_t = 500, value_parser = super::common::at_least_one)]
    pub(crate) calib: usize,
    /// Evaluate only the first N images (N >= 1).
    #[arg(long, value_parser = super::common::at_least_one)]
    pub(crate) limit: Option<usize>,
    /// Print one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs `tbn eval`.
pub fn run(a: Args) -> Result<()> {
    let report = evaluate(&a)?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_line(&report);
    }
    Ok(())
}

/// One line: model, path, correct / total, accuracy.
pub fn print_line(r: &EvalReport) {
    println!(
        "{} ({} path): {}/{} correct, accuracy {:.2}%",
        r.model,
        r.path,
        r.correct,
        r.total,
        100.0 * r.accuracy
    );
}

/// Scores the model on the data set (a progress bar unless `--json`).
pub fn evaluate(a: &Args) -> Result<EvalReport> {
    let model = load_model(a.model.as_deref())?;
    let (images, labels) = load_dataset(a.images.as_deref(), a.labels.as_deref())?;
    let total = images_to_score(&model, &labels, images.count, a.limit)?;
    let program = if a.integer {
        Some(program_for(&model, a.act_bits, a.calib)?)
    } else {
        None
    };
    let runner = program.as_ref().map(|p| p.runner());
    let bar = if a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total as u64)
    };
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}").expect("template"));
    let mut correct = 0usize;
    let start = std::time::Instant::now();
    for (i, &label) in labels.iter().enumerate().take(total) {
        let x = float_input(&model, &images, i)?;
        let pred = match (&runner, &program) {
            (Some(r), Some(p)) => argmax(&r.run(&p.input.quantize(&x))?),
            _ => argmax(&forward(&model, &x)?),
        };
        correct += usize::from(pred == label as usize);
        if i % 256 == 0 {
            bar.set_position(i as u64);
            bar.set_message(format!(
                "accuracy {:.2}%",
                100.0 * correct as f64 / (i + 1) as f64
            ));
        }
    }
    bar.finish_and_clear();
    let accuracy = if total == 0 {
        0.0
    } else {
        correct as f64 / total as f64
    };
    Ok(EvalReport {
        model: model.name.clone(),
        path: if a.integer {
            EvalPath::Integer
        } else {
            EvalPath::Float
        },
        correct,
        total,
        accuracy,
        seconds: start.elapsed().as_secs_f64(),
        act_bits: a.integer.then_some(a.act_bits),
    })
}
