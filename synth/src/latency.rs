//! Cycles per inference of a model on the accelerator: measured (the
//! `tbn sim --json` report of the Verilator co-simulation) or the lane-bound
//! ideal.

use crate::error::{Result, SynthError};
use std::path::Path;
use tbn_golden::integer::{Program, QuantConfig, Stage};
use tbn_reports::SimReport;

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

/// Cycles per inference for `lanes` lanes measured by the RTL simulation: the
/// `compute_cycles` of a `tbn sim --json` report ([`SimReport`], the type
/// `tbn sim` writes) run at that lane count; `None` when the report is for
/// another lane count.
pub fn cycles_from_sim_report(path: &Path, lanes: usize) -> Result<Option<u64>> {
    let report: SimReport = tbn_reports::read(path)
        .map_err(|e| SynthError::Parse {
            what: "simulation report".into(),
            path: path.to_path_buf(),
            message: e.to_string(),
        })?
        .ok_or_else(|| SynthError::io(path, std::io::ErrorKind::NotFound.into()))?;
    Ok((report.lanes as usize == lanes).then(|| report.compute_cycles.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim_report(lanes: u32, compute_cycles: f64) -> SimReport {
        use tbn_reports::{BusKind, Clocks, EngineKind, HostWork};
        SimReport {
            model: "m".into(),
            engine: EngineKind::RtlJobs,
            estimate: false,
            basis: "test".into(),
            bus: BusKind::Wishbone,
            lanes,
            act_bits: 8,
            total: 1,
            correct: 1,
            accuracy: 1.0,
            logits_match: 1,
            predictions_match: 1,
            first_mismatch: None,
            starts_per_inference: 2.0,
            link_cycles: 10.0,
            link_unit: "clk".into(),
            compute_cycles,
            ideal_cycles: 6000,
            efficiency: 0.9,
            host_work: HostWork::default(),
            clocks: Clocks {
                fmax_mhz: 48.0,
                fmax_source: "test".into(),
                sck_mhz: None,
                sck_source: None,
                spi_lines: None,
            },
            compute_us: 1.0,
            end_to_end_us: 2.0,
            layers: vec![],
            seconds: 0.1,
        }
    }

    #[test]
    fn measured_cycles_come_from_the_typed_sim_report() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sim.json");
        tbn_reports::write(&p, &sim_report(32, 6857.6)).unwrap();
        assert_eq!(cycles_from_sim_report(&p, 32).unwrap(), Some(6858));
        assert_eq!(cycles_from_sim_report(&p, 64).unwrap(), None);
        // Another shape (the key `tbn sim` never wrote) is an error naming the file.
        std::fs::write(&p, r#"{"lanes": 32, "cycles_per_inference": 512}"#).unwrap();
        let e = cycles_from_sim_report(&p, 32).unwrap_err().to_string();
        assert!(e.contains("sim.json") && e.contains("SimReport"), "{e}");
        assert!(cycles_from_sim_report(&dir.path().join("none.json"), 32).is_err());
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
