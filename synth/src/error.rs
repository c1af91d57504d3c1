//! The error type of the synthesis flow.

use crate::device::Device;
use crate::report::SynthReport;
use std::fmt;
use std::path::PathBuf;

/// A stage of the flow, named in error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Verilog generation by `tbn-hdl`.
    Hdl,
    /// Synthesis (yosys).
    Yosys,
    /// Placement and routing (nextpnr).
    Nextpnr,
    /// Bitstream packing (icepack or ecppack).
    Pack,
    /// Gate-level simulation (iverilog / vvp).
    GateSim,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Hdl => "hdl (Verilog generation)",
            Stage::Yosys => "yosys (synthesis)",
            Stage::Nextpnr => "nextpnr (place and route)",
            Stage::Pack => "bitstream packing",
            Stage::GateSim => "gate-level simulation",
        })
    }
}

/// One resource whose demand exceeds the device.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Overflow {
    /// nextpnr's cell type (e.g. `ICESTORM_LC`, `ICESTORM_RAM`, `TRELLIS_COMB`).
    pub resource: String,
    /// Cells the design needs.
    pub used: u64,
    /// Cells the device has.
    pub available: u64,
}

impl fmt::Display for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} needs {} of {} ({:.0}%)",
            self.resource,
            self.used,
            self.available,
            100.0 * self.used as f64 / self.available.max(1) as f64
        )
    }
}

fn join_overflows(o: &[Overflow]) -> String {
    if o.is_empty() {
        return "no resource count above the device limit was found in the log".into();
    }
    o.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Everything that can go wrong in the flow.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// An external tool is not installed.
    #[error("{tool} not found (looked for: {searched}); install it with: {hint}")]
    ToolMissing {
        /// The tool.
        tool: String,
        /// Where it was looked for.
        searched: String,
        /// How to install it.
        hint: String,
    },
    /// A tool could not be started.
    #[error("{stage}: cannot run {tool}: {source}")]
    Spawn {
        /// The stage.
        stage: Stage,
        /// The program.
        tool: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A tool failed (non-zero exit status).
    #[error("{stage} failed: {message} (full log: {log})")]
    StageFailed {
        /// The stage.
        stage: Stage,
        /// The first error lines of the tool's output.
        message: String,
        /// The tool's log file.
        log: PathBuf,
    },
    /// The design needs more of some resource than the device has.
    #[error("{stage}: the design does not fit the {device}: {} (full log: {log})", join_overflows(.overflows))]
    DoesNotFit {
        /// The stage that found out (yosys for I/O counts, nextpnr otherwise).
        stage: Stage,
        /// The device.
        device: Device,
        /// Resources above the limit.
        overflows: Vec<Overflow>,
        /// The log.
        log: PathBuf,
    },
    /// Placement and routing succeeded but the clock target was missed.
    #[error(
        "timing not met on the {}: clock '{}' reaches {:.2} MHz, target {:.2} MHz; critical path: {} \
         (report: {}; pass --allow-timing-fail to accept the result)",
        .report.device, .clock, .achieved_mhz, .target_mhz, .critical_path, .report_path.display()
    )]
    TimingFailed {
        /// The worst clock.
        clock: String,
        /// Its fmax.
        achieved_mhz: f64,
        /// The target.
        target_mhz: f64,
        /// One-line summary of the critical path.
        critical_path: String,
        /// The full report (also written to the output folder).
        report: Box<SynthReport>,
        /// Where the report was written.
        report_path: PathBuf,
    },
    /// A tool's output could not be parsed.
    #[error("cannot parse {what} ({path}): {message}")]
    Parse {
        /// What was parsed.
        what: String,
        /// The file.
        path: PathBuf,
        /// The problem.
        message: String,
    },
    /// A file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The generator rejected the configuration or failed.
    #[error("hdl (Verilog generation): {0}")]
    Hdl(tbn_hdl::HdlError),
    /// A gate-level simulation produced results that differ from the golden model.
    #[error("gate-level simulation mismatch: {0}")]
    GateMismatch(String),
    /// A plot could not be drawn.
    #[error("cannot draw plot {path}: {message}")]
    Plot {
        /// The file.
        path: PathBuf,
        /// The problem.
        message: String,
    },
    /// Invalid arguments.
    #[error("invalid argument: {0}")]
    Invalid(String),
}

// Not `#[from]`: that would also make the generator's error the `source`, and
// error chains (anyhow's `{:#}`) would print its message twice.
impl From<tbn_hdl::HdlError> for SynthError {
    fn from(e: tbn_hdl::HdlError) -> Self {
        SynthError::Hdl(e)
    }
}

impl SynthError {
    /// Helper for I/O errors.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SynthError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, SynthError>;
