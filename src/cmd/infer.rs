//! `tbn infer`: the output vector (logits) of one image.

use std::path::PathBuf;

use anyhow::{ensure, Result};
use serde_json::json;
use tbn_golden::float::{argmax, forward};

use super::common::{float_input, load_model, program_for};

/// Arguments of `tbn infer`.
#[derive(clap::Args)]
pub struct Args {
    /// Model file (default: the bundled reference model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// IDX images (default: bundled MNIST test images).
    #[arg(long)]
    images: Option<PathBuf>,
    /// Index of the image.
    #[arg(long, default_value_t = 0)]
    index: usize,
    /// Use the bit-exact integer path.
    #[arg(long)]
    integer: bool,
    /// Activation bits of the integer path.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=8))]
    act_bits: u8,
    /// Calibration images for the integer path.
    #[arg(long, default_value_t = 500, value_parser = super::common::at_least_one)]
    calib: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `tbn infer`.
pub fn run(a: Args) -> Result<()> {
    let model = load_model(a.model.as_deref())?;
    let path = a.images.unwrap_or_else(crate::paths::test_images);
    let images = tbn_golden::idx::read_images(&path)?;
    ensure!(
        a.index < images.count,
        "image index {} is out of range: {} holds {} images",
        a.index,
        path.display(),
        images.count
    );
    let x = float_input(&model, &images, a.index)?;
    let out = if a.integer {
        let program = program_for(&model, a.act_bits, a.calib)?;
        let v = program.run(&program.input.quantize(&x))?;
        let scale = program
            .dense_stages()
            .last()
            .map_or(1.0, |d| f64::from(d.out_scale));
        let logits: Vec<f64> = v.iter().map(|&x| x as f64 * scale).collect();
        json!({"index": a.index, "path": "integer", "raw": v, "scale": scale, "logits": logits, "class": argmax(&v)})
    } else {
        let y = forward(&model, &x)?;
        json!({"index": a.index, "path": "float", "logits": y, "class": argmax(&y)})
    };
    if a.json {
        println!("{out}");
    } else {
        println!(
            "image {} ({}): class {} logits {}",
            a.index, out["path"], out["class"], out["logits"]
        );
    }
    Ok(())
}
