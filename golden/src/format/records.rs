//! Serde records of layers shared by the JSON and binary formats; only the
//! tile's representation differs (`T`: hex string or raw bytes).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::MAX_LAYERS;
use crate::model::{BatchNorm, Conv2d, Layer, Linear, Model, Shape, TiledWeights};
use crate::tile::Tile;

/// A weighted layer's tiled weights with tile representation `T`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub(crate) struct WeightsRec<T> {
    pub p: usize,
    pub tile_bits: usize,
    pub tile: T,
    pub alphas: Vec<f32>,
    #[serde(default)]
    pub bias: Option<Vec<f32>>,
}

/// One layer record (externally tagged, no flattening: postcard can encode it).
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum LayerRec<T> {
    Linear {
        name: String,
        in_features: usize,
        out_features: usize,
        weights: WeightsRec<T>,
    },
    Conv2d {
        name: String,
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        stride: usize,
        padding: usize,
        weights: WeightsRec<T>,
    },
    Batchnorm {
        name: String,
        gamma: Vec<f32>,
        beta: Vec<f32>,
        mean: Vec<f32>,
        var: Vec<f32>,
        eps: f32,
    },
    Relu,
    Sign,
    Maxpool2d {
        kernel: usize,
        stride: usize,
    },
    Flatten,
    /// Appended last: earlier variant indices (the binary format's tags) are unchanged.
    QuantRelu {
        bits: u8,
        scale: f32,
    },
}

/// A model record.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct ModelRec<T> {
    pub name: String,
    pub input_shape: Vec<usize>,
    #[serde(deserialize_with = "max_layers")]
    pub layers: Vec<LayerRec<T>>,
}

/// Deserializes a list of at most [`MAX_LAYERS`] elements, failing as soon as
/// the input holds more (a file of a million one-byte layers is refused
/// before it costs a million layers of memory).
pub fn max_layers<'de, D, E>(d: D) -> std::result::Result<Vec<E>, D::Error>
where
    D: serde::Deserializer<'de>,
    E: Deserialize<'de>,
{
    struct Bounded<E>(std::marker::PhantomData<E>);
    impl<'de, E: Deserialize<'de>> serde::de::Visitor<'de> for Bounded<E> {
        type Value = Vec<E>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a list of at most {MAX_LAYERS} layers")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Vec<E>, A::Error> {
            let mut out = Vec::new();
            while let Some(e) = seq.next_element()? {
                if out.len() == MAX_LAYERS {
                    return Err(serde::de::Error::custom(format!(
                        "more than {MAX_LAYERS} layers (the limit of docs/numerics.md §9)"
                    )));
                }
                out.push(e);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Bounded(std::marker::PhantomData))
}

fn weights_rec<T>(
    w: &TiledWeights,
    bias: &Option<Vec<f32>>,
    enc: &impl Fn(&Tile) -> T,
) -> WeightsRec<T> {
    WeightsRec {
        p: w.p,
        tile_bits: w.q(),
        tile: enc(&w.tile),
        alphas: w.alphas.clone(),
        bias: bias.clone(),
    }
}

fn weights_of<T>(
    i: usize,
    name: &str,
    w: WeightsRec<T>,
    dec: &impl Fn(&T, usize) -> Result<Tile>,
) -> Result<(TiledWeights, Option<Vec<f32>>)> {
    let tile = dec(&w.tile, w.tile_bits).map_err(|e| Error::Layer {
        layer: i,
        name: name.to_string(),
        msg: e.to_string(),
    })?;
    Ok((
        TiledWeights {
            p: w.p,
            tile,
            alphas: w.alphas,
        },
        w.bias,
    ))
}

impl<T> ModelRec<T> {
    /// The record of a model.
    pub fn from_model(m: &Model, enc: impl Fn(&Tile) -> T) -> Self {
        let layers = m
            .layers
            .iter()
            .map(|l| match l {
                Layer::Linear(l) => LayerRec::Linear {
                    name: l.name.clone(),
                    in_features: l.in_features,
                    out_features: l.out_features,
                    weights: weights_rec(&l.weights, &l.bias, &enc),
                },
                Layer::Conv2d(c) => LayerRec::Conv2d {
                    name: c.name.clone(),
                    in_channels: c.in_channels,
                    out_channels: c.out_channels,
                    kernel: c.kernel,
                    stride: c.stride,
                    padding: c.padding,
                    weights: weights_rec(&c.weights, &c.bias, &enc),
                },
                Layer::BatchNorm(b) => LayerRec::Batchnorm {
                    name: b.name.clone(),
                    gamma: b.gamma.clone(),
                    beta: b.beta.clone(),
                    mean: b.mean.clone(),
                    var: b.var.clone(),
                    eps: b.eps,
                },
                Layer::Relu => LayerRec::Relu,
                Layer::Sign => LayerRec::Sign,
                Layer::MaxPool2d { kernel, stride } => LayerRec::Maxpool2d {
                    kernel: *kernel,
                    stride: *stride,
                },
                Layer::Flatten => LayerRec::Flatten,
                Layer::QuantRelu { bits, scale } => LayerRec::QuantRelu {
                    bits: *bits,
                    scale: *scale,
                },
            })
            .collect();
        ModelRec {
            name: m.name.clone(),
            input_shape: m.input_shape.dims(),
            layers,
        }
    }

    /// The validated model of a record.
    pub fn into_model(self, dec: impl Fn(&T, usize) -> Result<Tile>) -> Result<Model> {
        let mut layers = Vec::with_capacity(self.layers.len());
        for (i, l) in self.layers.into_iter().enumerate() {
            layers.push(match l {
                LayerRec::Linear {
                    name,
                    in_features,
                    out_features,
                    weights,
                } => {
                    let (weights, bias) = weights_of(i, &name, weights, &dec)?;
                    Layer::Linear(Linear {
                        name,
                        in_features,
                        out_features,
                        weights,
                        bias,
                    })
                }
                LayerRec::Conv2d {
                    name,
                    in_channels,
                    out_channels,
                    kernel,
                    stride,
                    padding,
                    weights,
                } => {
                    let (weights, bias) = weights_of(i, &name, weights, &dec)?;
                    Layer::Conv2d(Conv2d {
                        name,
                        in_channels,
                        out_channels,
                        kernel,
                        stride,
                        padding,
                        weights,
                        bias,
                    })
                }
                LayerRec::Batchnorm {
                    name,
                    gamma,
                    beta,
                    mean,
                    var,
                    eps,
                } => Layer::BatchNorm(BatchNorm {
                    name,
                    gamma,
                    beta,
                    mean,
                    var,
                    eps,
                }),
                LayerRec::Relu => Layer::Relu,
                LayerRec::Sign => Layer::Sign,
                LayerRec::Maxpool2d { kernel, stride } => Layer::MaxPool2d { kernel, stride },
                LayerRec::Flatten => Layer::Flatten,
                LayerRec::QuantRelu { bits, scale } => Layer::QuantRelu { bits, scale },
            });
        }
        Model::new(self.name, Shape::from_dims(&self.input_shape)?, layers)
    }
}
