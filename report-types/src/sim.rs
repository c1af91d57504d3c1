//! `tbn sim --json` (reports/sim.json): a model through the accelerator,
//! per-inference system figures.

use serde::{Deserialize, Serialize};

/// Which accelerator produced the figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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
    /// The first image whose logits differ from golden (None: all identical).
    #[serde(default)]
    pub first_mismatch: Option<usize>,
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
