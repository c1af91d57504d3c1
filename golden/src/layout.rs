//! Row geometry of a tiled layer: where each row starts in the tile, which
//! copy (alpha) it uses, whether it straddles two copies, and which rows are
//! distinct (docs/numerics.md, section 2).
//!
//! One implementation for the whole project, in the no_std driver crate
//! (`tbn_driver::geometry`) so the microcontroller and the simulation
//! harness use the same code; re-exported here under its golden-model name.

pub use tbn_driver::geometry::{distinct_rows, gcd, period, RowGeometry, Segment};
