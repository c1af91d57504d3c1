//! `tbnsim-py`: the Python extension module `tbnsim._native` (pyo3).
//!
//! It exposes, with Python exceptions carrying the Rust error messages:
//! - [`dut::PyDut`] / [`dut::Signal`]: a Verilated model (the accelerator core for a
//!   configuration, or any Verilog file) with ports by name, clock stepping in bulk,
//!   waveforms and coverage;
//! - [`accel::PyAccelerator`]: the accelerator at transaction level (layers, jobs,
//!   whole integer programs) over the Wishbone bus model of `tbn-sim`;
//! - [`engine::PyEngine`]: the whole-network engine RTL behind the firmware
//!   driver (model image loaded once, one INFER per input);
//! - [`golden`]: the golden model (tiles, stages, programs, float and integer inference,
//!   IDX loaders).
//!
//! The pure-Python package `tbnsim` (folder `python/` of the repository) wraps these
//! with NumPy conversions and a cocotb-style coroutine scheduler.
#![warn(missing_docs)]

pub mod accel;
pub mod dut;
pub mod engine;
pub mod errors;
pub mod golden;
pub mod value;

use pyo3::prelude::*;

/// The extension module `tbnsim._native`.
#[pymodule]
#[pyo3(name = "_native")]
fn tbnsim_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<dut::PyDut>()?;
    m.add_class::<dut::Signal>()?;
    m.add_class::<accel::PyAccelerator>()?;
    m.add_class::<engine::PyEngine>()?;
    golden::register(m)?;
    accel::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
