//! The error type of the golden model: every malformed input is named, never a panic.

use thiserror::Error;

/// Everything that can be wrong with a model, a program, or an input file.
#[derive(Debug, Error)]
pub enum Error {
    /// A layer's parameters are inconsistent (wrong tile length, bad alpha, ...).
    #[error("layer {layer} ({name}): {msg}")]
    Layer {
        /// Index of the layer in the model.
        layer: usize,
        /// Name of the layer.
        name: String,
        /// What is wrong.
        msg: String,
    },
    /// Shapes of consecutive layers, or of an input, do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A file is not in the format it claims (bad magic, truncated, wrong version, ...).
    #[error("{what}: {msg}")]
    Format {
        /// Which format or file.
        what: String,
        /// What is wrong.
        msg: String,
    },
    /// A computation produced a value that is not finite (an overflow of f32).
    #[error("non-finite result: {0}")]
    NonFinite(String),
    /// An unsupported combination that is otherwise well formed.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An I/O error while reading or writing `path`.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// A format error for `what` with message `msg`.
    pub fn format(what: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Format {
            what: what.into(),
            msg: msg.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// Result with the golden model's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
