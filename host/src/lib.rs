//! Host-side program conversion: the work done on a PC before anything runs
//! on the microcontroller or the accelerator.
//!
//! - [`convert`]: a golden integer program (and the float model it came
//!   from) into the compact binary program of `tbn_driver::program` that the
//!   MCU reads from flash.
//! - [`compile`]: a validated compact program into the accelerator's model
//!   image (docs/model-image.md) for one configuration.
//! - [`random`]: seeded random programs for the engine's bit-exact tests.
//! - [`mnist`]: a model quantized for the bundled MNIST data, with its test images.
//!
//! The formats and their no_std consumers (program view, image layout,
//! reference executor, driver) stay in `tbn-driver`; this crate owns the
//! producers, which need `std` and the golden model. The CLI and the driver's
//! tests use it.

#![warn(missing_docs)]

pub mod compile;
pub mod convert;
pub mod mnist;
pub mod random;
