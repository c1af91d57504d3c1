//! `tbn-driver`: everything a microcontroller needs to run Tiled Bit Networks.
//!
//! - [`regmap`]: the accelerator's register map, the single source of truth
//!   from which the RTL's address decode, this driver, the docs, SVD and JSON
//!   are all generated.
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod regmap;
pub mod kernel;
pub mod program;
