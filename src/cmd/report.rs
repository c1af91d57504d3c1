//! Typed reports shared by the commands that write them and those that read
//! them (`tbn sim` writes [`SimReport`]; `tbn compare` and `tbn demo` read it,
//! and the subset of the MCU and synthesis reports they need).

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Which accelerator produced the figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// The single-layer core in Verilator, one job per dense stage, host
    /// requantization between jobs (measured RTL).
    RtlJobs,
    /// The whole-network engine RTL in Verilator: the model image through
    /// the driver (`load_model` once, one INFER per image), measured.
    Rtl,
    /// The whole-network engine's reference model (`tbn_driver::image`):
    /// the model image through the driver, compute cycles from the ideal
    /// cycle model (an estimate until the engine RTL exists).
    Reference,
}

/// The host link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BusKind {
    /// The core's Wishbone slave on the host's bus (costs in core clock cycles).
    Wishbone,
    /// The SPI bridge of the standalone top (costs in SCK cycles).
    Spi,
}

/// What the host computes per inference besides moving words.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostWork {
    /// Words the host packs (bit-planes, tile images or input bytes).
    pub words_packed: f64,
    /// Rows the host requantizes (0 when the engine requantizes on chip).
    pub rows_requantized: f64,
}

/// Clocks the time figures use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Clocks {
    /// Core clock, MHz.
    pub fmax_mhz: f64,
    /// Where `fmax_mhz` comes from.
    pub fmax_source: String,
    /// SPI clock, MHz (SPI only).
    pub sck_mhz: Option<f64>,
    /// Where `sck_mhz` comes from.
    pub sck_source: Option<String>,
    /// SPI data lines (SPI only).
    pub spi_lines: Option<u32>,
}

/// Figures of one dense layer, per inference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerFigures {
    /// Layer name.
    pub name: String,
    /// Row length.
    pub m: u32,
    /// Tile length.
    pub q: u32,
    /// Rows.
    pub rows: u32,
    /// Distinct rows computed.
    pub distinct_rows: u32,
    /// Input activation bits.
    pub abits: u8,
    /// Compute cycles.
    pub compute_cycles: u64,
    /// Ideal cycles of the engine's cycle model (`D ceil(m/L) A + rows`; for
    /// RTL jobs the job's `D ceil(m/L) A`).
    pub ideal_cycles: u64,
}

/// `tbn sim --json`: a model through the accelerator, per inference figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimReport {
    /// Model name.
    pub model: String,
    /// Which accelerator.
    pub engine: EngineKind,
    /// True when any figure is an estimate (a model, not a measured RTL run).
    pub estimate: bool,
    /// How the figures were obtained.
    pub basis: String,
    /// The host link.
    pub bus: BusKind,
    /// Lanes.
    pub lanes: u32,
    /// Activation bits.
    pub act_bits: u8,
    /// Images run.
    pub total: usize,
    /// Correct predictions.
    pub correct: usize,
    /// `correct / total`.
    pub accuracy: f64,
    /// Images whose logits equal the golden integer path's.
    pub logits_match: usize,
    /// Images whose predicted class equals golden's.
    pub predictions_match: usize,
    /// Core starts (START or INFER) per inference.
    pub starts_per_inference: f64,
    /// Link cost per inference ([`SimReport::link_unit`]).
    pub link_cycles: f64,
    /// "sck" (SPI) or "clk" (Wishbone).
    pub link_unit: String,
    /// Core compute cycles per inference.
    pub compute_cycles: f64,
    /// Ideal compute cycles per inference.
    pub ideal_cycles: u64,
    /// `ideal_cycles / compute_cycles`.
    pub efficiency: f64,
    /// Host work per inference.
    pub host_work: HostWork,
    /// Clocks used for the times.
    pub clocks: Clocks,
    /// Compute only: `compute_cycles / fmax`, microseconds.
    pub compute_us: f64,
    /// End to end per inference (link + compute, see `basis`), microseconds.
    pub end_to_end_us: f64,
    /// Per layer.
    pub layers: Vec<LayerFigures>,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

/// `tbn mcu run --json` (also kept in firmware/gen/report.json for `tbn compare`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct McuReport {
    /// Every firmware check passed.
    pub ok: bool,
    /// Model name.
    pub model: String,
    /// Images run.
    pub images: u64,
    /// Images whose integer logits equal golden.
    pub int_logits_match: u64,
    /// Images whose float prediction equals golden float.
    pub float_pred_match: u64,
    /// Instructions per inference of the optimized kernel (QEMU -icount).
    pub optimized_instr_per_inference: u64,
    /// Instructions per inference of the paper-style baseline.
    pub baseline_instr_per_inference: u64,
    /// Baseline over optimized.
    pub speedup: f64,
    /// Bytes of the compact program in flash.
    pub program_bytes: u64,
    /// Bytes of the integer-only compact program.
    pub program_bytes_integer_only: u64,
    /// Flash and RAM use (null when the ELF sections could not be read).
    pub flash: serde_json::Value,
    /// The firmware's own report line.
    pub firmware: serde_json::Value,
}

/// The fields of a synthesis report (reports/synth.json) that the comparison reads.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SynthFigures {
    /// fmax of the worst clock, MHz.
    pub fmax_mhz: Option<f64>,
    /// Every clock met its target.
    #[serde(default)]
    pub timing_met: bool,
}

/// Reads a typed JSON report; `Ok(None)` when the file does not exist.
pub fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .with_context(|| format!("{} is not the expected report", path.display()))
}

/// Writes `bytes` to `path` atomically (`tbn_golden::atomic`), creating its folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    tbn_golden::atomic::write_file(path, bytes)
        .with_context(|| format!("writing {}", path.display()))
}
