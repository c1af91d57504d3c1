//! `tbn eval --json` (and `tbn gpu eval --json`, which adds the adapter).

use serde::{Deserialize, Serialize};

/// Which golden path scored the images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvalPath {
    /// The float forward pass.
    Float,
    /// The bit-exact integer program (docs/numerics.md).
    Integer,
}

impl std::fmt::Display for EvalPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EvalPath::Float => "float",
            EvalPath::Integer => "integer",
        })
    }
}

/// Accuracy of a model on a data set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Model name.
    pub model: String,
    /// Float or integer path.
    pub path: EvalPath,
    /// Correctly classified images.
    pub correct: usize,
    /// Images evaluated.
    pub total: usize,
    /// `correct / total`.
    pub accuracy: f64,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Activation bits of the integer path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act_bits: Option<u8>,
}
