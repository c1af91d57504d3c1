//! The error type of the trainer: every bad argument or file is named.

use thiserror::Error;

/// Everything that can go wrong while building, training or exporting a network.
#[derive(Debug, Error)]
pub enum TrainError {
    /// The architecture string could not be parsed or does not fit the data.
    #[error("architecture {spec:?}: {msg}")]
    Arch {
        /// The architecture string as given.
        spec: String,
        /// What is wrong with it.
        msg: String,
    },
    /// A training option is out of range (learning rate, batch size, p, ...).
    #[error("invalid option: {0}")]
    Config(String),
    /// The data set is unusable (empty, label out of range, image size mismatch, ...).
    #[error("data: {0}")]
    Data(String),
    /// The network cannot be exported as a Tiled Bit Network model.
    #[error("export: {0}")]
    Export(String),
    /// The exported model does not compute what the trained network computes.
    #[error("export check failed: {0}")]
    Mismatch(String),
    /// Training diverged (loss became NaN or infinite).
    #[error("training diverged at epoch {epoch}, step {step}: loss = {loss}")]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// Step within the epoch.
        step: usize,
        /// The offending loss value.
        loss: f32,
    },
    /// An error of the tensor library.
    #[error("tensor computation: {0}")]
    Candle(#[from] candle_core::Error),
    /// An error of the golden model (file I/O, format, validation).
    #[error(transparent)]
    Golden(#[from] tbn_golden::Error),
}

/// Result with [`TrainError`].
pub type Result<T> = std::result::Result<T, TrainError>;
