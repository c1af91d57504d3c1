//! `tbn-synth`: FPGA synthesis of the TBN accelerator on open toolchains.
//!
//! The flow ([`flow::run`]) takes Verilog (normally the standalone SPI top
//! that `tbn-hdl` emits for a [`tbn_hdl::Config`], see [`design`]) through
//! yosys (`synth_ice40` / `synth_ecp5`), nextpnr (`nextpnr-ice40` /
//! `nextpnr-ecp5`, with the board pin constraints of `boards/`) and the
//! bitstream packer (`icepack` / `ecppack`), and turns nextpnr's JSON report
//! and yosys's statistics into a [`report::SynthReport`] (resources with
//! used / available / utilization, fmax per clock against the target, the
//! critical path). [`sweep`] runs it over lane counts and draws plots;
//! [`gate`] simulates the core's gate-level netlist against the golden model.
//! See docs/synthesis.md.

pub mod design;
pub mod device;
pub mod error;
pub mod flow;
pub mod gate;
pub mod latency;
pub mod plot;
pub mod report;
pub mod sweep;
pub mod tools;

pub use device::{Device, Family};
pub use error::{Result, Stage, SynthError};
pub use flow::{run, FlowSpec};
pub use report::SynthReport;
/// The generator, re-exported so that users need no separate dependency.
pub use tbn_hdl;
