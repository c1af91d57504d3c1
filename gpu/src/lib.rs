//! `tbn-gpu`: Tiled Bit Network inference on the GPU (wgpu, WGSL compute).
//!
//! Each layer keeps only its tile and alphas resident (`q/8 + 4p` bytes, see
//! [`memory`]) and never materialises W: the kernels compute the D distinct
//! rows once and expand them with each copy's alpha (docs/gpu.md).
//! [`GpuProgram`] runs the integer program bit-exactly with
//! `tbn_golden::integer` (popcounts via `countOneBits`, exact 64-bit
//! requantization on 32-bit pairs); [`GpuModel`] runs the float model, and
//! as [`Weights::DenseF32`] the dense f32 baseline on the same adapter.
#![warn(missing_docs)]

pub mod bench;
mod context;
pub mod error;
mod float;
mod geometry;
mod integer;
mod kernels;
pub mod memory;
mod net;

pub use context::Gpu;
pub use error::{GpuError, Result};
pub use float::{GpuModel, Weights};
pub use integer::GpuProgram;
pub use memory::LayerMemory;
