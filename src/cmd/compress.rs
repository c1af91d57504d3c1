//! `tbn compress`: float weights (.npy/.npz/.safetensors) to a TBN model with
//! the paper's rule.

use std::path::PathBuf;

use anyhow::Result;
use tbn_golden::import::{compress, read_tensors, CompressOptions};
use tbn_golden::tile::AlphaMode;

/// Arguments of `tbn compress`.
#[derive(clap::Args)]
pub struct Args {
    /// Float weights: .npy, .npz or .safetensors (detected from the content).
    #[arg(long)]
    weights: PathBuf,
    /// Compression factor for layers of at least --min-size weights.
    #[arg(long, default_value_t = 4, value_parser = super::common::at_least_one)]
    p: usize,
    /// Smaller layers use p = 1.
    #[arg(long, default_value_t = 4096)]
    min_size: usize,
    /// Alphas per tile copy or a single one per layer.
    #[arg(long, value_enum, default_value = "per-copy")]
    alpha: Alpha,
    /// Weight tensor names in layer order, comma separated (default: natural order).
    #[arg(long, value_delimiter = ',')]
    layers: Option<Vec<String>>,
    /// Activation between layers: relu, sign or none.
    #[arg(long, default_value = "relu")]
    activation: String,
    /// Input shape, e.g. 784 or 1,28,28 (required for conv models).
    #[arg(long, value_delimiter = ',')]
    input_shape: Option<Vec<usize>>,
    /// Conv stride.
    #[arg(long, default_value_t = 1, value_parser = super::common::at_least_one)]
    stride: usize,
    /// Conv zero padding.
    #[arg(long, default_value_t = 0)]
    padding: usize,
    /// Model name.
    #[arg(long, default_value = "compressed")]
    name: String,
    /// Output model (.json, or .tbn/.bin for the binary format).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Alpha {
    PerCopy,
    Single,
}

/// Runs `tbn compress`.
pub fn run(a: Args) -> Result<()> {
    let tensors = read_tensors(&a.weights)?;
    let opt = CompressOptions {
        p: a.p,
        min_size: a.min_size,
        alpha_mode: match a.alpha {
            Alpha::PerCopy => AlphaMode::PerCopy,
            Alpha::Single => AlphaMode::Single,
        },
        layers: a.layers,
        activation: a.activation,
        input_shape: a.input_shape,
        stride: a.stride,
        padding: a.padding,
    };
    let model = compress(&tensors, &a.name, &opt)?;
    let ext = a.out.extension().and_then(|e| e.to_str()).unwrap_or("");
    if matches!(ext, "tbn" | "bin") {
        tbn_golden::format::save_model_binary(&model, &a.out)?;
    } else {
        tbn_golden::format::save_model_json(&model, &a.out)?;
    }
    for l in &model.layers {
        if let Some(w) = l.weights() {
            println!(
                "{}: p = {}, tile {} bits, {} alpha(s)",
                l.name(),
                w.p,
                w.q(),
                w.alphas.len()
            );
        }
    }
    println!("wrote {}", a.out.display());
    Ok(())
}
