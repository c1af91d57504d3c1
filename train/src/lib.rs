//! `tbn-train`: training Tiled Bit Networks on the CPU with the paper's method.
//!
//! Every tiled layer holds real-valued scores `S` and latent weights `A` of
//! the weight's shape. The forward pass sums the scores over the `p` tile
//! copies, takes the sign (straight-through estimator) as the `q`-bit tile,
//! repeats it `p` times and scales copy `c` by `alpha_c = mean |A|` over chunk
//! `c` (see [`tiled`]). After training, [`net::Net::export`] builds a golden
//! [`tbn_golden::model::Model`] with `tbn_golden::tile::tile_from_scores` and
//! `tbn_golden::tile::alphas_from`, and [`trainer::train`] checks that the
//! golden float path classifies the test set as the trained network does.
//!
//! Tensors and automatic differentiation come from candle (CPU).
#![warn(missing_docs)]

pub mod arch;
pub mod augment;
pub mod data;
pub mod error;
pub mod net;
pub mod tiled;
pub mod trainer;

pub use arch::Arch;
pub use augment::Augment;
pub use data::Dataset;
pub use error::{Result, TrainError};
pub use net::{Act, Mode, Net, NetOptions, TilePolicy, QUANT_STEP};
pub use trainer::{train, TrainConfig, TrainReport, Trained};
