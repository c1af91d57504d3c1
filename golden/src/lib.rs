//! `tbn-golden`: the golden model of Tiled Bit Networks.
//!
//! Everything else in the project (RTL, simulation, MCU kernel) is judged
//! against this crate. It holds the model format ([`format`]), tile
//! construction ([`tile`]), float inference ([`float`]), the bit-exact integer
//! program ([`integer`], specified in docs/numerics.md), fast bit-packed CPU
//! kernels ([`kernels`]), IDX data loading ([`idx`]) and float-weight import
//! ([`import`]).
#![warn(missing_docs)]

pub mod atomic;
pub mod error;
pub mod float;
pub mod format;
pub mod idx;
pub mod import;
pub mod integer;
pub mod kernels;
pub mod layout;
pub mod limits;
pub mod model;
pub mod test_policy;
pub mod tile;

pub use error::{Error, Result};
pub use format::load_model;
pub use model::Model;
