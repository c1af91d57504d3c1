//! Cycles per inference of a model on the accelerator: measured (a JSON file
//! from the Verilator co-simulation) or the lane-bound ideal.

use crate::error::{Result, SynthError};
use serde_json::Value;
use std::path::Path;
use tbn_golden::integer::{Program, QuantConfig, Stage};

/// Where a cycle count comes from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CyclesSource {
    /// Measured by the RTL simulation (file named).
    Measured(String),
    /// The lane-bound ideal `sum over layers of positions x D x ceil(m / L) x A`.
    LaneBoundIdeal,
}

impl std::fmt::Display for CyclesSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CyclesSource::Measured(p) => write!(f, "measured ({p})"),
            CyclesSource::LaneBoundIdeal => f.write_str("lane-bound ideal"),
        }
    }
}

/// Lane-bound ideal cycles of `program` on `lanes` lanes: for every dense
/// stage, output positions (1 for linear layers) x distinct rows x
/// `ceil(m / L)` x input bits. Pipeline fill, job set-up and data transfer
/// are not included.
pub fn ideal_cycles(program: &Program, lanes: usize) -> u64 {
    program
        .stages
        .iter()
        .map(|s| match s {
            Stage::Dense(d) => {
                let positions = d
                    .conv
                    .as_ref()
                    .map(|c| (c.out_hw.0 * c.out_hw.1) as u64)
                    .unwrap_or(1);
                positions
                    * d.geom.distinct_rows() as u64
                    * d.geom.m.div_ceil(lanes) as u64
                    * u64::from(d.in_bits)
            }
            _ => 0,
        })
        .sum()
}

/// The integer program of a model file (calibrated on a constant mid-range
/// input: only the layer geometry and bit widths matter for cycle counts).
pub fn program_of_model(path: &Path) -> Result<Program> {
    let model = tbn_golden::format::load_model(path).map_err(|e| SynthError::Parse {
        what: "model".into(),
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let n = model.input_shape.numel();
    let calib = vec![vec![0.5f32; n], vec![1.0f32; n]];
    tbn_golden::integer::quantize(&model, &calib, &QuantConfig::default()).map_err(|e| {
        SynthError::Parse {
            what: "model (quantization)".into(),
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    })
}

fn number(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
}

const CYCLE_KEYS: [&str; 5] = [
    "cycles_per_inference",
    // `tbn sim --json` (src/cmd/report.rs `SimReport`).
    "compute_cycles",
    "total_cycles",
    "inference_cycles",
    "cycles",
];

fn cycles_in(obj: &serde_json::Map<String, Value>) -> Option<u64> {
    CYCLE_KEYS.iter().find_map(|k| obj.get(*k).and_then(number))
}

fn search(v: &Value, lanes: usize, inherited: Option<u64>, out: &mut Option<u64>) {
    if out.is_some() {
        return;
    }
    match v {
        Value::Object(o) => {
            let l = o
                .get("lanes")
                .and_then(number)
                .or_else(|| {
                    o.get("config")
                        .and_then(|c| c.get("lanes"))
                        .and_then(number)
                })
                .or(inherited);
            if l == Some(lanes as u64) {
                if let Some(c) = cycles_in(o) {
                    *out = Some(c);
                    return;
                }
            }
            // {"cycles": {"32": n, ...}}
            for k in CYCLE_KEYS {
                if let Some(Value::Object(m)) = o.get(k) {
                    if let Some(c) = m.get(&lanes.to_string()).and_then(number) {
                        *out = Some(c);
                        return;
                    }
                }
            }
            for (_, child) in o {
                search(child, lanes, l, out);
            }
        }
        Value::Array(a) => {
            for child in a {
                search(child, lanes, inherited, out);
            }
        }
        _ => {}
    }
}

/// Cycles per inference for `lanes` lanes from a JSON report of the RTL
/// simulation. Accepted shapes (searched recursively): an object with a
/// `lanes` field (or `config.lanes`) and one of `cycles_per_inference`,
/// `compute_cycles` (a `tbn sim --json` report), `total_cycles`, `inference_cycles`, `cycles`; or a map
/// `"cycles_per_inference": {"32": n, ...}`.
pub fn cycles_from_json(path: &Path, lanes: usize) -> Result<Option<u64>> {
    let text = std::fs::read_to_string(path).map_err(|e| SynthError::io(path, e))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| SynthError::Parse {
        what: "simulation cycles JSON".into(),
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut out = None;
    search(&v, lanes, None, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        std::fs::write(
            &p,
            r#"{"runs": [{"config": {"lanes": 16}, "total_cycles": 900}, {"lanes": 32, "cycles_per_inference": 512.0}]}"#,
        )
        .unwrap();
        assert_eq!(cycles_from_json(&p, 32).unwrap(), Some(512));
        assert_eq!(cycles_from_json(&p, 16).unwrap(), Some(900));
        assert_eq!(cycles_from_json(&p, 64).unwrap(), None);
        std::fs::write(&p, r#"{"cycles_per_inference": {"8": 77}}"#).unwrap();
        assert_eq!(cycles_from_json(&p, 8).unwrap(), Some(77));
        // A `tbn sim --json` report.
        std::fs::write(
            &p,
            r#"{"lanes": 32, "compute_cycles": 6858.0, "layers": [{"compute_cycles": 6528}]}"#,
        )
        .unwrap();
        assert_eq!(cycles_from_json(&p, 32).unwrap(), Some(6858));
    }

    #[test]
    fn reference_model_ideal_cycles() {
        let model =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/reference/tbn_mnist_mlp_p4.json");
        if !model.is_file() {
            eprintln!("skipping: {} not present", model.display());
            return;
        }
        let prog = program_of_model(&model).unwrap();
        // fc1: m=784, q=25088 -> D=32; fc2: m=128, q=1280 -> D=10; A=8 for both inputs.
        assert_eq!(ideal_cycles(&prog, 32), 32 * 25 * 8 + 10 * 4 * 8);
        assert_eq!(ideal_cycles(&prog, 64), 32 * 13 * 8 + 10 * 2 * 8);
    }
}
