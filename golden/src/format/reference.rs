//! Import of the TBN authors' published model JSON
//! (data/reference/tbn_mnist_mlp_p4.json): linear layers with `compression`,
//! `tile_bits`, `alphas`, `activation` and an MSB-first `tile_hex`.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::model::{Layer, Linear, Model, Shape, TiledWeights};
use crate::tile::Tile;

#[derive(Deserialize)]
struct RefFile {
    #[serde(deserialize_with = "super::records::max_layers")]
    layers: Vec<RefLayer>,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct RefLayer {
    name: String,
    kind: String,
    in_features: usize,
    out_features: usize,
    compression: usize,
    tile_bits: usize,
    alphas: Vec<f32>,
    #[serde(default)]
    activation: Option<String>,
    tile_hex: String,
    #[serde(default)]
    bias: Option<Vec<f32>>,
}

/// Parses the authors' reference JSON into a validated model.
pub fn model_from_reference(bytes: &[u8]) -> Result<Model> {
    let what = "reference model JSON";
    let f: RefFile =
        serde_json::from_slice(bytes).map_err(|e| Error::format(what, e.to_string()))?;
    let Some(first) = f.layers.first() else {
        return Err(Error::format(what, "no layers"));
    };
    let input = Shape::Vector(first.in_features);
    let mut layers = Vec::new();
    for (i, l) in f.layers.into_iter().enumerate() {
        if l.kind != "linear" {
            return Err(Error::format(
                what,
                format!("layer {i} ({}): kind {:?} is not supported", l.name, l.kind),
            ));
        }
        let tile = Tile::from_hex_msb(&l.tile_hex, l.tile_bits).map_err(|e| Error::Layer {
            layer: i,
            name: l.name.clone(),
            msg: e.to_string(),
        })?;
        layers.push(Layer::Linear(Linear {
            name: l.name.clone(),
            in_features: l.in_features,
            out_features: l.out_features,
            weights: TiledWeights {
                p: l.compression,
                tile,
                alphas: l.alphas,
            },
            bias: l.bias,
        }));
        match l.activation.as_deref() {
            None | Some("none") => {}
            Some("relu") => layers.push(Layer::Relu),
            Some("sign") => layers.push(Layer::Sign),
            Some(other) => {
                return Err(Error::format(
                    what,
                    format!(
                        "layer {i} ({}): activation {other:?} is not supported",
                        l.name
                    ),
                ))
            }
        }
    }
    let name = if f.description.to_lowercase().contains("mnist") {
        "tbn_mnist_mlp_p4"
    } else {
        "reference"
    };
    Model::new(name, input, layers)
}
