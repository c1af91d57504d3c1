//! `tbn inspect --json`: a model's layers and storage.

use serde::{Deserialize, Serialize};

/// Bytes of weights stored three ways.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageBytes {
    /// Tiled Bit Network: one tile, its alphas, the bias.
    pub tbn: usize,
    /// Binary network: one bit per weight, one alpha, the bias.
    pub binary: usize,
    /// Dense f32 weights and bias.
    pub f32: usize,
}

/// One layer of the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerStorage {
    /// Position in the model.
    pub index: usize,
    /// Layer kind (`linear`, `conv2d`, `relu`, ...).
    pub kind: String,
    /// Layer name.
    pub name: String,
    /// Output shape.
    pub output_shape: Vec<usize>,
    /// Compression p (weighted layers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<usize>,
    /// Tile length q in bits (weighted layers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tile_bits: Option<usize>,
    /// Weights represented (weighted layers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<usize>,
    /// Number of alphas (weighted layers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alphas: Option<usize>,
    /// Storage (weighted layers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<StorageBytes>,
}

/// A model's layers and its storage in total.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InspectReport {
    /// Model name.
    pub name: String,
    /// Input shape.
    pub input_shape: Vec<usize>,
    /// Every layer.
    pub layers: Vec<LayerStorage>,
    /// Storage of all weighted layers.
    pub bytes: StorageBytes,
}
