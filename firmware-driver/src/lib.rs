//! `tbn-driver`: everything a microcontroller needs to run Tiled Bit Networks.
//!
//! - [`regmap`]: the accelerator's register map, the single source of truth
//!   from which the RTL's address decode, this driver, the docs, SVD and JSON
//!   are all generated.
//! - [`bus`]: the [`bus::Bus`] trait (32-bit register access) with MMIO and
//!   SPI (embedded-hal 1.0, SPI-to-Wishbone bridge) implementations.
//! - [`image`]: the accelerator model image (format, compiler, reference
//!   executor) of the whole-network engine.
//! - [`link`]: the SPI link cost model and a counting bus wrapper.
//! - [`driver`]: [`driver::Tbn`], the accelerator driver (probe, jobs,
//!   whole programs with host-side requantization).
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod bus;
pub mod driver;
pub mod geometry;
pub mod image;
pub mod kernel;
pub mod link;
pub mod program;
pub mod regmap;
