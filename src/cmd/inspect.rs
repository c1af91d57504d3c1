//! `tbn inspect`: layers, compression and storage of a model.

use std::path::{Path, PathBuf};

use anyhow::Result;
use tbn_golden::model::Layer;

use super::common::load_model;
use crate::reports::{InspectReport, LayerStorage, StorageBytes};

/// Arguments of `tbn inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// Model file (project JSON or binary, or the authors' reference JSON).
    #[arg(default_value_os_t = crate::paths::reference_model())]
    pub(crate) model: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Storage of one weighted layer in bytes: (tbn, binary, f32).
fn bytes(layer: &Layer) -> Option<(usize, usize, usize)> {
    let w = layer.weights()?;
    let n = w.p * w.q();
    let bias = match layer {
        Layer::Linear(l) => l.bias.as_ref().map_or(0, Vec::len),
        Layer::Conv2d(c) => c.bias.as_ref().map_or(0, Vec::len),
        _ => 0,
    } * 4;
    Some((
        w.q().div_ceil(8) + 4 * w.alphas.len() + bias,
        n.div_ceil(8) + 4 + bias,
        4 * n + bias,
    ))
}

/// Runs `tbn inspect`.
pub fn run(a: Args) -> Result<()> {
    let r = inspect(&a.model)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!("model {} input {:?}", r.name, r.input_shape);
    println!(
        "{:>3}  {:<10} {:<10} {:>14} {:>4} {:>9} {:>10} {:>10} {:>10}",
        "#", "kind", "name", "output", "p", "tile bits", "TBN B", "binary B", "f32 B"
    );
    let cell = |v: Option<usize>| v.map_or(String::new(), |v| v.to_string());
    for l in &r.layers {
        println!(
            "{:>3}  {:<10} {:<10} {:>14} {:>4} {:>9} {:>10} {:>10} {:>10}",
            l.index,
            l.kind,
            l.name,
            format!("{:?}", l.output_shape),
            cell(l.p),
            cell(l.tile_bits),
            cell(l.bytes.map(|b| b.tbn)),
            cell(l.bytes.map(|b| b.binary)),
            cell(l.bytes.map(|b| b.f32)),
        );
    }
    let b = r.bytes;
    println!(
        "total: TBN {} B, binary {} B ({:.2}x TBN), f32 {} B ({:.1}x TBN)",
        b.tbn,
        b.binary,
        b.binary as f64 / b.tbn as f64,
        b.f32,
        b.f32 as f64 / b.tbn as f64
    );
    Ok(())
}

/// The layers and storage of the model in `path`.
pub fn inspect(path: &Path) -> Result<InspectReport> {
    let model = load_model(Some(path))?;
    let shapes = model.validate()?;
    let mut layers = Vec::new();
    let mut total = StorageBytes::default();
    for (i, l) in model.layers.iter().enumerate() {
        let w = l.weights();
        let bytes = bytes(l).map(|(tbn, binary, f32)| StorageBytes { tbn, binary, f32 });
        if let Some(b) = bytes {
            total.tbn += b.tbn;
            total.binary += b.binary;
            total.f32 += b.f32;
        }
        layers.push(LayerStorage {
            index: i,
            kind: l.kind().to_string(),
            name: l.name().to_string(),
            output_shape: shapes[i].dims(),
            p: w.map(|w| w.p),
            tile_bits: w.map(|w| w.q()),
            weights: w.map(|w| w.p * w.q()),
            alphas: w.map(|w| w.alphas.len()),
            bytes,
        });
    }
    Ok(InspectReport {
        name: model.name.clone(),
        input_shape: model.input_shape.dims(),
        layers,
        bytes: total,
    })
}
