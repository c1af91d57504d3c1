//! `tbn-sim`: Verilator co-simulation of the Tiled Bit Networks accelerator.
//!
//! - [`verilate`]: builds a Verilated model of any Verilog at run time into a
//!   content-addressed cache and loads it through a small `extern "C"` shim;
//! - [`dut`]: a running instance ([`Dut`]): ports by name or by resolved handle,
//!   clock stepping (bulk runs inside C++), VCD waveforms (`TBN_TRACE=path`), coverage;
//! - [`bus`]: a Wishbone B4 classic master bus-functional model; [`spi`]: an SPI
//!   master driving the standalone top's SPI-to-Wishbone bridge bit by bit;
//! - [`accel`]: the accelerator at transaction level (layers, activations, jobs).
#![warn(missing_docs)]

pub mod accel;
pub mod bus;
pub mod cosim;
pub mod coverage;
pub mod dut;
pub mod error;
pub mod hw;
pub mod misuse;
pub mod network;
pub mod regress;
pub mod spi;
pub mod verilate;

pub use accel::{
    Accelerator, DriverBus, HwInfo, JobResult, LayerJob, Link, LinkKind, OwnedDriverBus,
    RegisterBus,
};
pub use bus::{BusError, WishboneMaster, WishboneNames};
pub use dut::{Dut, Port};
pub use error::{Result, SimError};
pub use verilate::{build_model, BuildOptions, Model};
