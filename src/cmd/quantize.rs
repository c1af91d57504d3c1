//! `tbn quantize`: compile a float model into an integer program (JSON),
//! with activation scales calibrated on training images.

use std::path::PathBuf;

use anyhow::Result;
use tbn_golden::integer::{quantize, QuantConfig};

use super::common::{calibration, load_model};

/// Arguments of `tbn quantize`.
#[derive(clap::Args)]
pub struct Args {
    /// Model file (default: the bundled reference model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Activation bits (1..=8).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=8))]
    act_bits: u8,
    /// Calibration IDX images (default: the bundled training subset).
    #[arg(long)]
    calib_images: Option<PathBuf>,
    /// Number of calibration images.
    #[arg(long, default_value_t = 500, value_parser = super::common::at_least_one)]
    calib: usize,
    /// Output program (JSON).
    #[arg(long)]
    out: PathBuf,
}

/// Runs `tbn quantize`.
pub fn run(a: Args) -> Result<()> {
    let model = load_model(a.model.as_deref())?;
    let calib = calibration(&model, a.calib_images.as_ref(), a.calib)?;
    let program = quantize(
        &model,
        &calib,
        &QuantConfig {
            act_bits: a.act_bits,
            ..Default::default()
        },
    )?;
    tbn_golden::format::save_program(&program, &a.out)?;
    for d in program.dense_stages() {
        println!(
            "{}: A{}{} in, {:?} out ({} bits), shift {}, {} multiplier(s), alpha codes {:?}",
            d.name,
            d.in_bits,
            if d.in_signed { " signed" } else { "" },
            d.act,
            d.out_bits,
            d.shift,
            d.mult.len(),
            d.alpha_q
        );
    }
    println!("wrote {}", a.out.display());
    Ok(())
}
