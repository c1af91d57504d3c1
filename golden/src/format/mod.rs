//! Model and program files: the project's JSON and compact binary formats,
//! and import of the paper authors' reference JSON. [`load_model`] detects the
//! format from the content, never from the file name.

mod binary;
mod json;
mod records;
mod reference;
pub mod tile_serde;

use std::path::Path;

use crate::error::{Error, Result};
use crate::integer::Program;
use crate::limits::MAX_INPUT_BYTES;
use crate::model::Model;

pub use binary::{model_from_binary, model_to_binary, BINARY_MAGIC, BINARY_VERSION};
pub use json::{model_from_json, model_to_json, JSON_FORMAT, JSON_VERSION};
#[doc(hidden)]
pub use records::max_layers;
pub use reference::model_from_reference;

/// The formats [`load_model`] recognises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelFormat {
    /// The project's JSON (`"format": "tbn-model"`).
    Json,
    /// The project's compact binary (magic `TBNM`).
    Binary,
    /// The TBN authors' published JSON (`weight_rule`, `tile_hex`, ...).
    Reference,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if len > MAX_INPUT_BYTES as u64 {
        return Err(Error::format(
            path.display().to_string(),
            format!("{len} bytes is beyond the limit of {MAX_INPUT_BYTES} (docs/numerics.md §9)"),
        ));
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// The top-level fields that tell the JSON formats apart, read without
/// building the whole document (other fields are skipped, not stored).
#[derive(serde::Deserialize)]
pub(crate) struct Probe {
    #[serde(default)]
    pub format: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub weight_rule: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub tile_bit_order: Option<serde::de::IgnoredAny>,
}

/// `format` and `version` of a project JSON file (other fields skipped).
#[derive(serde::Deserialize)]
pub(crate) struct Header {
    #[serde(default)]
    pub format: Option<serde_json::Value>,
    #[serde(default)]
    pub version: Option<serde_json::Value>,
}

impl Header {
    pub(crate) fn parse(bytes: &[u8], what: &str) -> Result<(Option<String>, Option<u64>)> {
        let h: Header =
            serde_json::from_slice(bytes).map_err(|e| Error::format(what, e.to_string()))?;
        Ok((
            h.format.as_ref().and_then(|f| f.as_str()).map(String::from),
            h.version.as_ref().and_then(|v| v.as_u64()),
        ))
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::atomic::write_file(path, bytes)
}

/// Detects the format of a model file's content.
pub fn detect(bytes: &[u8]) -> Result<ModelFormat> {
    if bytes.starts_with(BINARY_MAGIC) {
        return Ok(ModelFormat::Binary);
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(Error::format(
            "model",
            "neither a TBN binary model (magic TBNM) nor a JSON object",
        ));
    }
    let v: Probe =
        serde_json::from_slice(bytes).map_err(|e| Error::format("model JSON", e.to_string()))?;
    if v.format.is_some() {
        Ok(ModelFormat::Json)
    } else if v.weight_rule.is_some() || v.tile_bit_order.is_some() {
        Ok(ModelFormat::Reference)
    } else {
        Err(Error::format(
            "model JSON",
            "has no \"format\" field (project format) and no \"weight_rule\" (reference format)",
        ))
    }
}

/// Parses a model from bytes in any supported format.
pub fn model_from_bytes(bytes: &[u8]) -> Result<Model> {
    match detect(bytes)? {
        ModelFormat::Binary => model_from_binary(bytes),
        ModelFormat::Json => model_from_json(bytes),
        ModelFormat::Reference => model_from_reference(bytes),
    }
}

/// Loads a model file in any supported format (detected from its content).
pub fn load_model(path: impl AsRef<Path>) -> Result<Model> {
    let path = path.as_ref();
    model_from_bytes(&read(path)?).map_err(|e| match e {
        Error::Format { what, msg } => Error::format(format!("{}: {what}", path.display()), msg),
        other => other,
    })
}

/// Saves a model in the project's JSON format.
pub fn save_model_json(model: &Model, path: impl AsRef<Path>) -> Result<()> {
    write(path.as_ref(), model_to_json(model)?.as_bytes())
}

/// Saves a model in the project's compact binary format.
pub fn save_model_binary(model: &Model, path: impl AsRef<Path>) -> Result<()> {
    write(path.as_ref(), &model_to_binary(model)?)
}

/// Format name of program files.
pub const PROGRAM_FORMAT: &str = "tbn-program";
/// Version of program files.
pub const PROGRAM_VERSION: u32 = 1;

#[derive(serde::Serialize, serde::Deserialize)]
struct ProgramFile {
    format: String,
    version: u32,
    #[serde(flatten)]
    program: Program,
}

/// Serialises an integer program as JSON.
pub fn program_to_json(p: &Program) -> Result<String> {
    let file = ProgramFile {
        format: PROGRAM_FORMAT.into(),
        version: PROGRAM_VERSION,
        program: p.clone(),
    };
    serde_json::to_string_pretty(&file).map_err(|e| Error::format("program", e.to_string()))
}

/// Parses an integer program from JSON and validates it.
pub fn program_from_json(bytes: &[u8]) -> Result<Program> {
    match Header::parse(bytes, "program JSON")? {
        (Some(f), Some(1)) if f == PROGRAM_FORMAT => {}
        (Some(f), ver) if f == PROGRAM_FORMAT => {
            return Err(Error::format(
                "program JSON",
                format!("unsupported version {ver:?} (this build reads 1)"),
            ))
        }
        _ => {
            return Err(Error::format(
                "program JSON",
                "missing \"format\": \"tbn-program\"",
            ))
        }
    }
    let f: ProgramFile =
        serde_json::from_slice(bytes).map_err(|e| Error::format("program JSON", e.to_string()))?;
    f.program.validate()?;
    Ok(f.program)
}

/// Loads an integer program (JSON).
pub fn load_program(path: impl AsRef<Path>) -> Result<Program> {
    program_from_json(&read(path.as_ref())?)
}

/// Saves an integer program (JSON).
pub fn save_program(p: &Program, path: impl AsRef<Path>) -> Result<()> {
    write(path.as_ref(), program_to_json(p)?.as_bytes())
}
