//! Every report the commands write, typed: the shared ones from
//! `tbn-reports` (sim, MCU, eval, inspect), those owned by the crate that
//! computes them (synthesis, GPU benchmark, RTL regression), and the ones
//! only this tool reads (the demo's, the latency rows). Writers serialize
//! these types and readers deserialize them; nothing looks a key up by name.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use tbn_reports::*;
pub use tbn_synth::SynthReport;

use crate::paths;

// The latest reports live in reports/ of the working directory.

/// Where `tbn sim` leaves its report (read by `tbn compare`, `tbn synth --sweep`).
pub fn sim_path() -> PathBuf {
    PathBuf::from("reports/sim.json")
}

/// Where `tbn synth` leaves its latest single-configuration report (read by
/// `tbn sim` for fmax).
pub fn synth_path() -> PathBuf {
    PathBuf::from("reports/synth.json")
}

/// Where `tbn synth --engine` leaves its latest report of the whole-network
/// engine's SPI top (read by `tbn sim --engine rtl` and `tbn cosim` for fmax).
pub fn synth_engine_path() -> PathBuf {
    PathBuf::from("reports/synth-engine.json")
}

/// Where `tbn gpu bench` leaves its report (read by `tbn compare`).
pub fn gpu_path() -> PathBuf {
    PathBuf::from("reports/gpu.json")
}

/// Where `tbn mcu run` leaves its report (read by `tbn compare`).
pub fn mcu_path() -> PathBuf {
    paths::project_path("firmware").join("gen/report.json")
}

/// The demo's report committed for the README's results block.
pub fn demo_results_path() -> PathBuf {
    paths::project_path("docs/results/demo.json")
}

/// `tbn gpu eval --json`: the eval report plus the adapter and, with
/// `--compare-golden`, the disagreements with the golden model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuEvalReport {
    /// Accuracy, as `tbn eval` reports it.
    #[serde(flatten)]
    pub eval: EvalReport,
    /// The wgpu adapter.
    pub device: String,
    /// Integer path: images whose logits are not identical to golden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub golden_logits_differ: Option<usize>,
    /// Float path: images whose class differs from golden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub golden_classes_differ: Option<usize>,
    /// Float path: largest logit difference relative to the largest golden logit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub golden_max_rel_diff: Option<f64>,
}

/// `tbn gpu bench --json` (reports/gpu.json).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GpuBenchReport {
    /// The wgpu adapter.
    pub device: String,
    /// The model's throughput and resident weights.
    pub model: tbn_gpu::bench::ModelBench,
    /// The square layer on its own (absent with `--layer 0`).
    pub layer: Option<tbn_gpu::bench::LayerBench>,
}

/// `tbn verify --json`.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    /// Every layer bit-exact at every lane count.
    pub ok: bool,
    /// One report per lane count.
    pub reports: Vec<tbn_sim::regress::Report>,
}

/// Files of `tbn hdl emit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HdlFiles {
    /// Output folder.
    pub out: PathBuf,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// One latency row of `tbn compare` and the demo.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyRow {
    /// What runs.
    pub label: String,
    /// Work per inference.
    pub work: String,
    /// Microseconds per inference (None: no report).
    pub us: Option<f64>,
    /// An estimate (a model or an assumed clock), not a measurement.
    pub estimate: bool,
    /// How it was obtained, or which command produces it.
    pub note: String,
}

/// One part of the demo: its report, or why it did not run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part<T> {
    /// The part ran.
    Ok(T),
    /// A tool is missing or a flag skipped it (the reason says which).
    Skipped(String),
    /// It ran and failed (the error).
    Failed(String),
}

impl<T> Part<T> {
    /// The report, when the part ran.
    pub fn ok(&self) -> Option<&T> {
        match self {
            Part::Ok(t) => Some(t),
            _ => None,
        }
    }

    /// A part a report written before it existed does not have.
    pub fn not_run() -> Self {
        Part::Skipped("not run (older report)".into())
    }

    /// Whether it ran and failed.
    pub fn failed(&self) -> bool {
        matches!(self, Part::Failed(_))
    }

    /// Why there is no report (the first `error:` line or the last line, short).
    pub fn why(&self) -> String {
        let text = match self {
            Part::Ok(_) => return String::new(),
            Part::Skipped(s) => format!("skipped: {s}"),
            Part::Failed(s) => format!("failed: {s}"),
        };
        let line = text
            .lines()
            .find(|l| l.contains("error:"))
            .or_else(|| text.lines().last())
            .unwrap_or("");
        line.chars().take(200).collect()
    }
}

/// How many images each demo part ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoImages {
    /// Golden float and integer paths (None: the whole test set).
    pub eval: Option<usize>,
    /// Single-layer core RTL in Verilator.
    pub sim: usize,
    /// Whole-network engine RTL in Verilator over SPI.
    pub engine: usize,
    /// Whole-network engine RTL in Verilator over Wishbone.
    #[serde(default)]
    pub engine_rtl: usize,
    /// Whole-network engine RTL in Verilator over SPI with quad writes.
    #[serde(default)]
    pub engine_quad: usize,
    /// Firmware in QEMU.
    pub mcu: usize,
    /// Firmware in QEMU driving the engine RTL (co-simulation).
    #[serde(default)]
    pub cosim: usize,
}

/// `tbn demo` (out/demo/summary.json; docs/results/demo.json with `--results`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DemoReport {
    /// Model file.
    pub model: PathBuf,
    /// Accelerator lanes.
    pub lanes: u32,
    /// MCU clock of the MCU latency estimate, MHz.
    pub mcu_mhz: f64,
    /// Images per part.
    pub images: DemoImages,
    /// Layers and storage.
    pub inspect: Part<InspectReport>,
    /// Golden float path.
    pub float: Part<EvalReport>,
    /// Golden integer path.
    pub integer: Part<EvalReport>,
    /// Emitted Verilog.
    pub hdl: Part<HdlFiles>,
    /// Single-layer core RTL, one job per layer, Wishbone (measured).
    pub sim: Part<SimReport>,
    /// Whole-network engine RTL in Verilator behind its SPI top (measured cycles).
    pub engine: Part<SimReport>,
    /// Whole-network engine RTL in Verilator over Wishbone (measured cycles).
    #[serde(default = "Part::not_run")]
    pub engine_rtl: Part<SimReport>,
    /// Whole-network engine RTL in Verilator behind its SPI top, quad writes (measured cycles).
    #[serde(default = "Part::not_run")]
    pub engine_quad: Part<SimReport>,
    /// Firmware in QEMU.
    pub mcu: Part<McuReport>,
    /// Firmware in QEMU driving the engine RTL over SPI (`tbn cosim`).
    #[serde(default = "Part::not_run")]
    pub cosim: Part<CosimReport>,
    /// UP5K synthesis of the single-layer core's SPI top.
    pub synth: Part<SynthReport>,
    /// Synthesis of the whole-network engine's SPI top (its fmax clocks the
    /// engine's figures): the UP5K configuration, or for a model with
    /// convolutions the engine with feature maps on the ECP5-25K.
    #[serde(default = "Part::not_run")]
    pub synth_engine: Part<SynthReport>,
    /// The latency rows (MCU alone; MCU + accelerator; accelerator compute).
    pub latency: Vec<LatencyRow>,
    /// Wall-clock seconds of the demo.
    pub seconds: f64,
}

impl DemoReport {
    /// The parts that ran and failed (skipped parts are not failures).
    pub fn failed_parts(&self) -> Vec<&'static str> {
        [
            ("inspect", self.inspect.failed()),
            ("float", self.float.failed()),
            ("integer", self.integer.failed()),
            ("hdl", self.hdl.failed()),
            ("sim", self.sim.failed()),
            ("engine", self.engine.failed()),
            ("engine-rtl", self.engine_rtl.failed()),
            ("engine-quad", self.engine_quad.failed()),
            ("mcu", self.mcu.failed()),
            ("cosim", self.cosim.failed()),
            ("synth", self.synth.failed()),
            ("synth-engine", self.synth_engine.failed()),
        ]
        .into_iter()
        .filter_map(|(name, failed)| failed.then_some(name))
        .collect()
    }
}
