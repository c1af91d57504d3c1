//! One module per `tbn` subcommand: each has `Args` (clap) and `run`.

pub mod common;
pub mod compare;
pub mod compress;
pub mod convert;
pub mod eval;
pub mod infer;
pub mod inspect;
pub mod mcu;
pub mod quantize;
pub mod synth;
