//! Import of float weights from `.npy`, `.npz` or `.safetensors`, compressed
//! into a TBN model with the paper's rule (`tbn compress`).
//!
//! Weighted layers are the 2-D (linear, `out x in`) and 4-D (conv2d,
//! `out x in x kh x kw`) tensors, taken in the order given (or the natural
//! order of their names). The tile is built from the float weights as scores
//! and the alphas from their magnitudes.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::model::{Conv2d, Layer, Linear, Model, Shape, TiledWeights};
use crate::tile::{alphas_from, tile_from_scores, AlphaMode};

/// A named float tensor.
#[derive(Clone, Debug)]
pub struct Tensor {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

fn fmt_err(path: &Path, msg: impl ToString) -> Error {
    Error::format(path.display().to_string(), msg.to_string())
}

fn npy_tensor<R: std::io::Read>(npy: npyz::NpyFile<R>, path: &Path, name: &str) -> Result<Tensor> {
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let data: Vec<f32> = match npy.dtype() {
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Float && t.size_field() == 8 => {
            npy.into_vec::<f64>()
                .map_err(|e| fmt_err(path, format!("{name}: {e}")))?
                .into_iter()
                .map(|v| v as f32)
                .collect()
        }
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Float && t.size_field() == 4 => {
            npy.into_vec::<f32>()
                .map_err(|e| fmt_err(path, format!("{name}: {e}")))?
        }
        other => {
            return Err(fmt_err(
                path,
                format!("{name}: dtype {other:?} is not f32 or f64"),
            ))
        }
    };
    Ok(Tensor { shape, data })
}

/// Reads every tensor of a `.npy` (named after the file), `.npz` or
/// `.safetensors` file, detected from the content.
pub fn read_tensors(path: impl AsRef<Path>) -> Result<BTreeMap<String, Tensor>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut out = BTreeMap::new();
    if bytes.starts_with(b"\x93NUMPY") {
        let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| fmt_err(path, e))?;
        let name = path
            .file_stem()
            .map_or("weight".into(), |s| s.to_string_lossy().into_owned());
        out.insert(name.clone(), npy_tensor(npy, path, &name)?);
    } else if bytes.starts_with(b"PK") {
        let mut npz = npyz::npz::NpzArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| fmt_err(path, e))?;
        let names: Vec<String> = npz.array_names().map(String::from).collect();
        for name in names {
            let npy = npz
                .by_name(&name)
                .map_err(|e| fmt_err(path, e))?
                .ok_or_else(|| fmt_err(path, format!("array {name} vanished")))?;
            out.insert(name.clone(), npy_tensor(npy, path, &name)?);
        }
    } else {
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| fmt_err(path, format!("not .npy, .npz or safetensors: {e}")))?;
        for (name, view) in st.tensors() {
            let data: Vec<f32> = match view.dtype() {
                safetensors::Dtype::F32 => view
                    .data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().expect("4")))
                    .collect(),
                safetensors::Dtype::F64 => view
                    .data()
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8")) as f32)
                    .collect(),
                other => {
                    return Err(fmt_err(
                        path,
                        format!("{name}: dtype {other:?} is not F32 or F64"),
                    ))
                }
            };
            out.insert(
                name,
                Tensor {
                    shape: view.shape().to_vec(),
                    data,
                },
            );
        }
    }
    if out.is_empty() {
        return Err(fmt_err(path, "holds no tensors"));
    }
    Ok(out)
}

/// Options of [`compress`].
#[derive(Clone, Debug)]
pub struct CompressOptions {
    /// Compression factor for layers at or above `min_size` weights.
    pub p: usize,
    /// Layers with fewer weights use p = 1 (plain binary + alpha).
    pub min_size: usize,
    /// Alpha per tile copy or single.
    pub alpha_mode: AlphaMode,
    /// Weight tensor names in layer order (default: every 2-D/4-D tensor in
    /// natural name order).
    pub layers: Option<Vec<String>>,
    /// Activation inserted between layers ("relu", "sign" or "none").
    pub activation: String,
    /// Input shape (default: `[in]` of the first linear layer; required for conv).
    pub input_shape: Option<Vec<usize>>,
    /// Conv stride and padding.
    pub stride: usize,
    /// Conv zero padding.
    pub padding: usize,
}

/// Natural order: digits compared by value ("fc2" < "fc10").
fn natural_key(s: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut num: Option<u64> = None;
    for ch in s.chars() {
        if let Some(d) = ch.to_digit(10) {
            num = Some(num.unwrap_or(0).saturating_mul(10) + u64::from(d));
        } else {
            if let Some(n) = num.take() {
                out.push((std::mem::take(&mut text), n));
            }
            text.push(ch);
        }
    }
    out.push((text, num.unwrap_or(0)));
    out
}

/// Compresses float tensors into a TBN model (tile from sign of chunk sums,
/// alphas from mean |W|).
pub fn compress(
    tensors: &BTreeMap<String, Tensor>,
    name: &str,
    opt: &CompressOptions,
) -> Result<Model> {
    let names: Vec<String> = match &opt.layers {
        Some(l) => l.clone(),
        None => {
            let mut n: Vec<String> = tensors
                .iter()
                .filter(|(k, t)| (t.shape.len() == 2 || t.shape.len() == 4) && !k.ends_with("bias"))
                .map(|(k, _)| k.clone())
                .collect();
            n.sort_by_key(|k| natural_key(k));
            n
        }
    };
    if names.is_empty() {
        return Err(Error::Shape(
            "no 2-D or 4-D weight tensors to compress".into(),
        ));
    }
    let mut layers = Vec::new();
    for (i, wname) in names.iter().enumerate() {
        let t = tensors
            .get(wname)
            .ok_or_else(|| Error::Shape(format!("no tensor named {wname:?}")))?;
        let n = t.data.len();
        let p = if n >= opt.min_size { opt.p } else { 1 };
        let tile = tile_from_scores(&t.data, p).map_err(|e| Error::Layer {
            layer: i,
            name: wname.clone(),
            msg: e.to_string(),
        })?;
        let weights = TiledWeights {
            p,
            tile,
            alphas: alphas_from(&t.data, p, opt.alpha_mode)?,
        };
        let bias_name = wname.strip_suffix("weight").map(|s| format!("{s}bias"));
        let bias = bias_name
            .and_then(|b| tensors.get(&b))
            .map(|b| b.data.clone());
        let lname = wname.strip_suffix(".weight").unwrap_or(wname).to_string();
        match *t.shape.as_slice() {
            [out, inp] => {
                if matches!(
                    layers.last(),
                    Some(Layer::Conv2d(_)) | Some(Layer::Relu) | Some(Layer::Sign)
                ) && layers.iter().any(|l| matches!(l, Layer::Conv2d(_)))
                {
                    layers.push(Layer::Flatten);
                }
                layers.push(Layer::Linear(Linear {
                    name: lname,
                    in_features: inp,
                    out_features: out,
                    weights,
                    bias,
                }))
            }
            [out, inp, kh, kw] => layers.push(Layer::Conv2d(Conv2d {
                name: lname,
                in_channels: inp,
                out_channels: out,
                kernel: (kh, kw),
                stride: opt.stride,
                padding: opt.padding,
                weights,
                bias,
            })),
            _ => {
                return Err(Error::Shape(format!(
                    "{wname}: shape {:?} is not 2-D or 4-D",
                    t.shape
                )))
            }
        }
        if i + 1 < names.len() {
            match opt.activation.as_str() {
                "relu" => layers.push(Layer::Relu),
                "sign" => layers.push(Layer::Sign),
                "none" => {}
                other => {
                    return Err(Error::Unsupported(format!(
                        "activation {other:?} (use relu, sign or none)"
                    )))
                }
            }
        }
    }
    let input_shape = match &opt.input_shape {
        Some(d) => Shape::from_dims(d)?,
        None => match &layers[0] {
            Layer::Linear(l) => Shape::Vector(l.in_features),
            _ => {
                return Err(Error::Shape(
                    "a conv model needs --input-shape C,H,W".into(),
                ))
            }
        },
    };
    Model::new(name, input_shape, layers)
}
