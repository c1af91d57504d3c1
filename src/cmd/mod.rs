//! One module per `tbn` subcommand: each has `Args` (clap) and `run`.

pub mod clock;
pub mod common;
pub mod compare;
pub mod compress;
pub mod convert;
pub mod cosim;
pub mod coverage;
pub mod demo;
pub mod eval;
pub mod gpu;
pub mod hdl;
pub mod infer;
pub mod inspect;
pub mod mcu;
pub mod quantize;
pub mod report;
pub mod sim;
pub mod synth;
pub mod train;
pub mod verify;
