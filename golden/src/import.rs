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
use crate::limits::{checked_product, MAX_INPUT_BYTES, MAX_TENSOR};
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

/// Longest `.npy` header text accepted (NumPy itself refuses 10,000 bytes by default).
const MAX_NPY_HEADER: usize = 1 << 16;
/// Most arrays in one `.npz` or `.safetensors` file.
const MAX_TENSORS: usize = 4096;

/// Reads the shape of a `.npy` header before handing the bytes to `npyz`:
/// the header length is checked against the bytes present and the element
/// count against [`MAX_TENSOR`] with checked arithmetic, so a hostile header
/// cannot make the reader allocate what the file does not hold.
fn npy_precheck(bytes: &[u8]) -> std::result::Result<(usize, Vec<usize>), String> {
    let (start, len) = npy_header_span(bytes)?;
    if len > MAX_NPY_HEADER || start + len > bytes.len() {
        return Err(format!(
            ".npy header of {len} bytes, but the file holds {} after the prefix (limit {MAX_NPY_HEADER})",
            bytes.len() - start
        ));
    }
    let text = std::str::from_utf8(&bytes[start..start + len])
        .map_err(|_| ".npy header is not UTF-8".to_string())?;
    // A header of a plain f32/f64 array is `{..., 'shape': (..), }`: two
    // brackets. More only serve to make the literal parser (pest, which
    // backtracks) take exponential time: fuzzing found 60 nested braces
    // running for minutes.
    if text
        .chars()
        .filter(|c| matches!(c, '(' | '[' | '{'))
        .count()
        > 4
    {
        return Err(
            ".npy header has more than 4 brackets (only plain f32/f64 arrays are read)".into(),
        );
    }
    let dict: py_literal::Value = text
        .trim_end()
        .parse()
        .map_err(|e| format!(".npy header is not a Python literal: {e}"))?;
    let py_literal::Value::Dict(items) = dict else {
        return Err(".npy header is not a dict".into());
    };
    let shape = items
        .iter()
        .find(|(k, _)| k.as_string().is_some_and(|k| k == "shape"))
        .map(|(_, v)| v);
    let Some(py_literal::Value::Tuple(dims)) = shape else {
        return Err(".npy header has no 'shape' tuple".into());
    };
    let dims = dims
        .iter()
        .map(|d| match d {
            py_literal::Value::Integer(i) => i.to_string().parse::<usize>().ok(),
            _ => None,
        })
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| format!(".npy shape {dims:?} is not a tuple of sizes"))?;
    checked_product(&dims, MAX_TENSOR, ".npy shape").map_err(|e| e.to_string())?;
    Ok((start + len, dims))
}

/// Where the header text of a `.npy` starts and how long it says it is.
fn npy_header_span(bytes: &[u8]) -> std::result::Result<(usize, usize), String> {
    if bytes.len() < 10 || !bytes.starts_with(b"\x93NUMPY") {
        return Err("not a .npy array (magic \\x93NUMPY)".into());
    }
    match bytes[6] {
        1 => Ok((10, usize::from(u16::from_le_bytes([bytes[8], bytes[9]])))),
        2 | 3 if bytes.len() >= 12 => Ok((
            12,
            u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize,
        )),
        v => Err(format!(".npy format version {v} is not 1, 2 or 3")),
    }
}

/// Reads one `.npy` from a stream (an `.npz` member): the header first, then
/// no more data than the header's shape and dtype justify (plus one byte, to
/// tell a longer member), so a zip bomb costs no more than an honest array.
fn npy_from_reader(mut r: impl std::io::Read) -> std::result::Result<Tensor, String> {
    use std::io::Read;
    let mut buf = Vec::new();
    (&mut r)
        .take(12)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    let (start, len) = npy_header_span(&buf)?;
    if len > MAX_NPY_HEADER {
        return Err(format!(
            ".npy header of {len} bytes (limit {MAX_NPY_HEADER})"
        ));
    }
    let want = (start + len).saturating_sub(buf.len()) as u64;
    (&mut r)
        .take(want)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    let (data_start, shape) = npy_precheck(&buf)?;
    let size = match npyz::NpyFile::new(&buf[..data_start])
        .map_err(|e| e.to_string())?
        .dtype()
    {
        npyz::DType::Plain(t) => t.size_field() as usize,
        other => return Err(format!("dtype {other:?} is not f32 or f64")),
    };
    let data = shape.iter().product::<usize>().saturating_mul(size.min(8));
    let have = buf.len() - data_start;
    r.take((data + 1).saturating_sub(have) as u64)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    npy_from_bytes(&buf)
}

/// Converts a Fortran-order (column-major) array of `shape` to row-major.
fn fortran_to_c(data: &[f32], shape: &[usize]) -> Vec<f32> {
    let n = data.len();
    let mut out = Vec::with_capacity(n);
    for c in 0..n {
        // Multi-index of C position c (last index fastest), then its Fortran position.
        let (mut rest, mut f, mut stride) = (c, 0, 1);
        let mut idx = vec![0; shape.len()];
        for (k, &d) in shape.iter().enumerate().rev() {
            idx[k] = rest % d;
            rest /= d;
        }
        for (k, &d) in shape.iter().enumerate() {
            f += idx[k] * stride;
            stride *= d;
        }
        out.push(data[f]);
    }
    out
}

/// Parses one `.npy` array (f32 or f64; C or Fortran order) into a row-major tensor.
pub fn npy_from_bytes(bytes: &[u8]) -> std::result::Result<Tensor, String> {
    let (data_start, shape) = npy_precheck(bytes)?;
    let npy = npyz::NpyFile::new(bytes).map_err(|e| e.to_string())?;
    let size = match npy.dtype() {
        npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Float => t.size_field() as usize,
        other => return Err(format!("dtype {other:?} is not f32 or f64")),
    };
    let n: usize = shape.iter().product();
    let held = bytes.len() - data_start;
    if (size != 4 && size != 8) || n.checked_mul(size) != Some(held) {
        return Err(format!(
            "{n} values of {size} bytes, but the file holds {held} data bytes"
        ));
    }
    let fortran = npy.order() == npyz::Order::Fortran;
    let data: Vec<f32> = if size == 8 {
        npy.into_vec::<f64>()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|v| v as f32)
            .collect()
    } else {
        npy.into_vec::<f32>().map_err(|e| e.to_string())?
    };
    let data = if fortran && shape.len() > 1 {
        fortran_to_c(&data, &shape)
    } else {
        data
    };
    Ok(Tensor { shape, data })
}

/// Reads every `.npy` array of an `.npz` (zip) archive, each decompressed
/// only up to what an array within the limits can need.
fn npz_from_bytes(bytes: &[u8]) -> std::result::Result<BTreeMap<String, Tensor>, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| e.to_string())?;
    if zip.len() > MAX_TENSORS {
        return Err(format!("{} arrays (limit {MAX_TENSORS})", zip.len()));
    }
    let mut out = BTreeMap::new();
    let mut total = 0usize;
    for i in 0..zip.len() {
        let f = zip.by_index(i).map_err(|e| e.to_string())?;
        let name = f
            .name()
            .strip_suffix(".npy")
            .unwrap_or(f.name())
            .to_string();
        let t = npy_from_reader(f).map_err(|e| format!("{name}: {e}"))?;
        total += t.data.len();
        if total > MAX_INPUT_BYTES / 4 {
            return Err(format!(
                "the arrays hold more than {} values together (docs/numerics.md §9)",
                MAX_INPUT_BYTES / 4
            ));
        }
        out.insert(name, t);
    }
    Ok(out)
}

fn safetensors_from_bytes(bytes: &[u8]) -> std::result::Result<BTreeMap<String, Tensor>, String> {
    let st = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not .npy, .npz or safetensors: {e}"))?;
    if st.len() > MAX_TENSORS {
        return Err(format!("{} tensors (limit {MAX_TENSORS})", st.len()));
    }
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let shape = view.shape().to_vec();
        let n = checked_product(&shape, MAX_TENSOR, &name).map_err(|e| e.to_string())?;
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
            other => return Err(format!("{name}: dtype {other:?} is not F32 or F64")),
        };
        if data.len() != n {
            return Err(format!("{name}: shape {shape:?} but {} values", data.len()));
        }
        out.insert(name, Tensor { shape, data });
    }
    Ok(out)
}

/// Parses every tensor of a `.npy` (named `stem`), `.npz` or `.safetensors`
/// file's content, detected from the content.
pub fn tensors_from_bytes(
    bytes: &[u8],
    stem: &str,
) -> std::result::Result<BTreeMap<String, Tensor>, String> {
    let out = if bytes.starts_with(b"\x93NUMPY") {
        BTreeMap::from([(stem.to_string(), npy_from_bytes(bytes)?)])
    } else if bytes.starts_with(b"PK") {
        npz_from_bytes(bytes)?
    } else {
        safetensors_from_bytes(bytes)?
    };
    if out.is_empty() {
        return Err("holds no tensors".into());
    }
    Ok(out)
}

/// Reads every tensor of a `.npy` (named after the file), `.npz` or
/// `.safetensors` file, detected from the content.
pub fn read_tensors(path: impl AsRef<Path>) -> Result<BTreeMap<String, Tensor>> {
    let path = path.as_ref();
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if len > MAX_INPUT_BYTES as u64 {
        return Err(fmt_err(
            path,
            format!("{len} bytes is beyond the limit of {MAX_INPUT_BYTES} (docs/numerics.md §9)"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let stem = path
        .file_stem()
        .map_or("weight".into(), |s| s.to_string_lossy().into_owned());
    tensors_from_bytes(&bytes, &stem).map_err(|e| fmt_err(path, e))
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
