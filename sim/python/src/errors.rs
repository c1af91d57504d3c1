//! Python exception types and the mapping of Rust errors onto them.
//!
//! Every Rust error becomes an exception whose message is the Rust error's
//! `Display` text followed by its `source()` chain, so nothing is lost.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use tbn_sim::SimError;

create_exception!(
    _native,
    TbnError,
    PyException,
    "Base class of every error raised by the tbnsim extension (the message is the Rust error's)."
);
create_exception!(
    _native,
    ToolError,
    TbnError,
    "An external tool (Verilator, the C++ compiler) is missing or failed."
);
create_exception!(
    _native,
    PortError,
    TbnError,
    "A port does not exist, or was used against its direction or width."
);
create_exception!(
    _native,
    BusError,
    TbnError,
    "A bus transaction failed (no ack, error response)."
);
create_exception!(
    _native,
    AcceleratorError,
    TbnError,
    "The accelerator reported an error status or behaved unexpectedly."
);
create_exception!(
    _native,
    GoldenError,
    TbnError,
    "The golden model rejected a model, program, file or input."
);

/// Adds the exception types to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("TbnError", py.get_type::<TbnError>())?;
    m.add("ToolError", py.get_type::<ToolError>())?;
    m.add("PortError", py.get_type::<PortError>())?;
    m.add("BusError", py.get_type::<BusError>())?;
    m.add("AcceleratorError", py.get_type::<AcceleratorError>())?;
    m.add("GoldenError", py.get_type::<GoldenError>())?;
    Ok(())
}

/// The error's message with its source chain (`a: b: c`).
pub fn full_message(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// Converts a simulation error into the matching Python exception.
pub fn sim_err(e: SimError) -> PyErr {
    let msg = full_message(&e);
    match e {
        SimError::ToolMissing { .. } | SimError::ToolFailed { .. } => ToolError::new_err(msg),
        SimError::NoSuchPort { .. } | SimError::PortUsage { .. } => PortError::new_err(msg),
        SimError::Bus(_) => BusError::new_err(msg),
        SimError::Accelerator(_) => AcceleratorError::new_err(msg),
        // A misaligned or out-of-map register offset is a bad argument.
        SimError::Invalid(_) | SimError::Offset(_) => pyo3::exceptions::PyValueError::new_err(msg),
        SimError::Golden(_) => GoldenError::new_err(msg),
        _ => TbnError::new_err(msg),
    }
}

/// Converts a golden-model error into `GoldenError`.
pub fn golden_err(e: tbn_golden::error::Error) -> PyErr {
    GoldenError::new_err(full_message(&e))
}

/// Converts a generator error into `TbnError`.
pub fn hdl_err(e: tbn_hdl::HdlError) -> PyErr {
    TbnError::new_err(format!("Verilog generator: {}", full_message(&e)))
}

/// Shorthand: `Result<T, SimError>` into `PyResult<T>`.
pub trait SimResultExt<T> {
    /// Maps the error with [`sim_err`].
    fn py(self) -> PyResult<T>;
}

impl<T> SimResultExt<T> for Result<T, SimError> {
    fn py(self) -> PyResult<T> {
        self.map_err(sim_err)
    }
}

/// Shorthand: golden results into `PyResult<T>`.
pub trait GoldenResultExt<T> {
    /// Maps the error with [`golden_err`].
    fn py(self) -> PyResult<T>;
}

impl<T> GoldenResultExt<T> for Result<T, tbn_golden::error::Error> {
    fn py(self) -> PyResult<T> {
        self.map_err(golden_err)
    }
}
