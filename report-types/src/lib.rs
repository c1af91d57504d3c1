//! Typed JSON reports shared by the TBN commands that write them and the
//! commands that read them: one type per report, serialized by the writer
//! and deserialized by every reader (no reader looks keys up by name).
//!
//! | report | writer | readers |
//! | --- | --- | --- |
//! | [`SimReport`] (reports/sim.json) | `tbn sim` | `tbn compare`, `tbn demo`, `tbn synth --sweep` (latency column) |
//! | [`McuReport`] (firmware/gen/report.json) | `tbn mcu run` | `tbn compare`, `tbn demo` |
//! | [`CosimReport`] (reports/cosim.json) | `tbn cosim` | - |
//! | [`EvalReport`] | `tbn eval`, `tbn gpu eval` | `tbn demo` |
//! | [`InspectReport`] | `tbn inspect` | `tbn demo` |
//!
//! Reports owned by the crate that computes them are typed there and used
//! the same way: the synthesis report (`tbn_synth::SynthReport`), the GPU
//! benchmark (`tbn_gpu::bench`) and the RTL regression (`tbn_sim::regress`).
//! The CLI's `reports` module gathers them with the demo's own report.

pub mod cosim;
pub mod eval;
pub mod file;
pub mod inspect;
pub mod mcu;
pub mod sim;

pub use cosim::{CosimClocks, CosimDriverGaps, CosimInference, CosimReport};
pub use eval::{EvalPath, EvalReport};
pub use file::{read, write, ReportError};
pub use inspect::{InspectReport, LayerStorage, StorageBytes};
pub use mcu::{FirmwareLine, FlashUse, KernelInstructions, McuReport};
pub use sim::{BusKind, Clocks, EngineKind, HostWork, LayerFigures, SimReport};
