//! Error type of the co-simulation harness.

use std::path::PathBuf;

/// Everything that can go wrong while building, loading or driving a Verilated model.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A required external tool (Verilator, g++) is not installed or not on `PATH`.
    #[error("`{tool}` was not found on PATH ({source}); install it with: {hint}")]
    ToolMissing {
        /// The program that was looked for.
        tool: String,
        /// How to install it.
        hint: String,
        /// The error from spawning it.
        #[source]
        source: std::io::Error,
    },
    /// An external tool ran but failed; `output` is what it printed.
    #[error("`{tool}` failed ({status}) while {what}:\n{output}")]
    ToolFailed {
        /// The program that failed (`verilator`, `g++`, ...).
        tool: String,
        /// What it was doing (which file it compiled, ...).
        what: String,
        /// Its exit status, as text.
        status: String,
        /// Its standard error and output (trimmed to a readable length).
        output: String,
    },
    /// The Verilated model does not have the shape the harness expects.
    #[error("unexpected Verilator output: {0}")]
    Generated(String),
    /// A file-system operation failed.
    #[error("{what} `{}`: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Loading the compiled model (`dlopen`) or one of its symbols failed.
    #[error("cannot load Verilated model `{}`: {source}", path.display())]
    Load {
        /// The shared object.
        path: PathBuf,
        /// The loader's error.
        #[source]
        source: libloading::Error,
    },
    /// The model has no port of this name.
    #[error("the model has no port named `{name}` (ports: {available})")]
    NoSuchPort {
        /// The name asked for.
        name: String,
        /// Comma-separated list of existing ports.
        available: String,
    },
    /// A port was used in a way its direction or width does not allow.
    #[error("port `{name}`: {problem}")]
    PortUsage {
        /// The port.
        name: String,
        /// What was wrong.
        problem: String,
    },
    /// The C++ side could not create the model or open a file.
    #[error("Verilated model: {0}")]
    Model(String),
    /// A waveform was requested from a model built without tracing support.
    #[error("this model was built without tracing; build it with `BuildOptions::trace = true` (or set TBN_TRACE before building)")]
    TracingNotBuilt,
    /// Coverage was requested from a model built without coverage support.
    #[error(
        "this model was built without coverage; build it with `BuildOptions::coverage = true`"
    )]
    CoverageNotBuilt,
    /// A bus transaction failed (timeout, error response, protocol problem).
    #[error(transparent)]
    Bus(#[from] crate::bus::BusError),
    /// A register access at a misaligned byte offset or outside the register
    /// map's span (the core decodes only the low address bits, so it would
    /// alias another register instead of failing).
    #[error(transparent)]
    Offset(tbn_driver::bus::BusError),
    /// The accelerator reported or behaved in an unexpected way.
    #[error("accelerator: {0}")]
    Accelerator(String),
    /// Invalid input to the harness (layer shapes, options).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// An error from the golden model.
    #[error("golden model: {0}")]
    Golden(String),
}

/// Result alias used across the crate.
pub type Result<T, E = SimError> = std::result::Result<T, E>;

impl SimError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SimError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
