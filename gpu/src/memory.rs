//! Weight memory resident on the GPU, layer by layer, against the dense f32
//! weights the tile stands for.

use serde::{Deserialize, Serialize};

/// Resident weight bytes of one tiled layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerMemory {
    /// Layer name.
    pub name: String,
    /// Rows (outputs or output channels).
    pub rows: usize,
    /// Row length.
    pub m: usize,
    /// Tile copies.
    pub p: usize,
    /// Tile bits.
    pub q: usize,
    /// The tile buffer: `ceil(q / 32)` 32-bit words.
    pub tile_bytes: u64,
    /// The alpha buffer: 4 bytes per copy.
    pub alpha_bytes: u64,
    /// Other per-row parameters kept beside them (integer: multipliers and
    /// biases; float: bias and batch-norm), not weights.
    pub param_bytes: u64,
    /// The same layer's weights as dense f32: `4 * rows * m`.
    pub dense_f32_bytes: u64,
}

impl LayerMemory {
    /// Describes a layer's resident buffers.
    pub fn new(name: &str, rows: usize, m: usize, p: usize, q: usize, param_bytes: u64) -> Self {
        LayerMemory {
            name: name.to_string(),
            rows,
            m,
            p,
            q,
            tile_bytes: 4 * q.div_ceil(32).max(1) as u64,
            alpha_bytes: 4 * p as u64,
            param_bytes,
            dense_f32_bytes: 4 * (rows * m) as u64,
        }
    }

    /// Tile plus alphas: the layer's weights as they sit on the GPU.
    pub fn weight_bytes(&self) -> u64 {
        self.tile_bytes + self.alpha_bytes
    }

    /// Resident weight bytes over dense f32 bytes.
    pub fn fraction_of_dense(&self) -> f64 {
        self.weight_bytes() as f64 / self.dense_f32_bytes as f64
    }
}

/// Totals over layers: (tile + alpha bytes, dense f32 bytes).
pub fn totals(layers: &[LayerMemory]) -> (u64, u64) {
    layers.iter().fold((0, 0), |(w, d), l| {
        (w + l.weight_bytes(), d + l.dense_f32_bytes)
    })
}
