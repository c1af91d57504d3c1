//! The accelerator model image (docs/model-image.md): its word layout
//! ([`format`], no_std, shared with the RTL and the driver) and, with the
//! `std` feature, the compiler from a [`crate::program::Program`] to an image
//! and the independent reference executor of images.

pub mod format;
