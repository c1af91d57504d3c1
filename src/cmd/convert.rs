//! `tbn convert`: between the project's JSON and compact binary formats (and
//! from the authors' reference JSON).

use std::path::PathBuf;

use anyhow::Result;

use super::common::load_model;

/// Output format.
#[derive(Clone, Copy, clap::ValueEnum)]
enum To {
    Json,
    Binary,
}

/// Arguments of `tbn convert`.
#[derive(clap::Args)]
pub struct Args {
    /// Input model (any supported format, detected from the content).
    input: PathBuf,
    /// Output file.
    output: PathBuf,
    /// Output format (default: binary for a .tbn/.bin output, else JSON).
    #[arg(long, value_enum)]
    to: Option<To>,
}

/// Runs `tbn convert`.
pub fn run(a: Args) -> Result<()> {
    let model = load_model(Some(&a.input))?;
    let ext = a.output.extension().and_then(|e| e.to_str()).unwrap_or("");
    let to = a.to.unwrap_or(if matches!(ext, "tbn" | "bin") {
        To::Binary
    } else {
        To::Json
    });
    match to {
        To::Json => tbn_golden::format::save_model_json(&model, &a.output)?,
        To::Binary => tbn_golden::format::save_model_binary(&model, &a.output)?,
    }
    let n = std::fs::metadata(&a.output)?.len();
    println!("wrote {} ({n} bytes)", a.output.display());
    Ok(())
}
