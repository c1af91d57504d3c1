//! `tbn inspect`: layers, compression and storage of a model.

use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;
use tbn_golden::model::Layer;

use super::common::load_model;

/// Arguments of `tbn inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// Model file (project JSON or binary, or the authors' reference JSON).
    #[arg(default_value_os_t = crate::paths::reference_model())]
    model: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
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
    let model = load_model(Some(&a.model))?;
    let shapes = model.validate()?;
    let mut rows = Vec::new();
    let (mut tbn, mut bin, mut f32b) = (0, 0, 0);
    for (i, l) in model.layers.iter().enumerate() {
        let mut r = json!({"index": i, "kind": l.kind(), "name": l.name(), "output_shape": shapes[i].dims()});
        if let (Some(w), Some((t, b, f))) = (l.weights(), bytes(l)) {
            tbn += t;
            bin += b;
            f32b += f;
            r["p"] = json!(w.p);
            r["tile_bits"] = json!(w.q());
            r["weights"] = json!(w.p * w.q());
            r["alphas"] = json!(w.alphas.len());
            r["bytes"] = json!({"tbn": t, "binary": b, "f32": f});
        }
        rows.push(r);
    }
    if a.json {
        let out = json!({
            "name": model.name, "input_shape": model.input_shape.dims(), "layers": rows,
            "bytes": {"tbn": tbn, "binary": bin, "f32": f32b},
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("model {} input {}", model.name, model.input_shape);
    println!(
        "{:>3}  {:<10} {:<10} {:>14} {:>4} {:>9} {:>10} {:>10} {:>10}",
        "#", "kind", "name", "output", "p", "tile bits", "TBN B", "binary B", "f32 B"
    );
    for (i, l) in model.layers.iter().enumerate() {
        let (p, q) = l.weights().map_or((String::new(), String::new()), |w| {
            (w.p.to_string(), w.q().to_string())
        });
        let (t, b, f) = bytes(l).map_or(
            (String::new(), String::new(), String::new()),
            |(t, b, f)| (t.to_string(), b.to_string(), f.to_string()),
        );
        println!(
            "{i:>3}  {:<10} {:<10} {:>14} {p:>4} {q:>9} {t:>10} {b:>10} {f:>10}",
            l.kind(),
            l.name(),
            shapes[i].to_string()
        );
    }
    println!(
        "total: TBN {tbn} B, binary {bin} B ({:.2}x TBN), f32 {f32b} B ({:.1}x TBN)",
        bin as f64 / tbn as f64,
        f32b as f64 / tbn as f64
    );
    Ok(())
}
