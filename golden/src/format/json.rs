//! The project's JSON model format: readable, with the tile as MSB-first hex.

use serde::{Deserialize, Serialize};

use super::records::ModelRec;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::tile::Tile;

/// Value of the `format` field.
pub const JSON_FORMAT: &str = "tbn-model";
/// The JSON format version this build reads and writes.
pub const JSON_VERSION: u32 = 1;
const BIT_ORDER: &str = "tile is hex bytes; bit j of the tile is bit (7 - j mod 8) of byte j div 8 (MSB first); 1 = weight +1, 0 = weight -1; weight[k] = alpha[k div q] * tile[k mod q]";

#[derive(Serialize, Deserialize)]
struct JsonFile {
    format: String,
    version: u32,
    tile_bit_order: String,
    #[serde(flatten)]
    model: ModelRec<String>,
}

/// Serialises a model to the project's JSON.
pub fn model_to_json(m: &Model) -> Result<String> {
    m.validate()?;
    let file = JsonFile {
        format: JSON_FORMAT.into(),
        version: JSON_VERSION,
        tile_bit_order: BIT_ORDER.into(),
        model: ModelRec::from_model(m, Tile::to_hex_msb),
    };
    serde_json::to_string_pretty(&file).map_err(|e| Error::format("model JSON", e.to_string()))
}

/// Parses and validates a model in the project's JSON.
pub fn model_from_json(bytes: &[u8]) -> Result<Model> {
    let (format, version) = super::Header::parse(bytes, "model JSON")?;
    if format.as_deref() != Some(JSON_FORMAT) {
        return Err(Error::format(
            "model JSON",
            format!("format is {format:?}, expected \"{JSON_FORMAT}\""),
        ));
    }
    if version != Some(u64::from(JSON_VERSION)) {
        return Err(Error::format(
            "model JSON",
            format!(
                "version {version:?} is not supported (this build reads version {JSON_VERSION})"
            ),
        ));
    }
    let file: JsonFile =
        serde_json::from_slice(bytes).map_err(|e| Error::format("model JSON", e.to_string()))?;
    file.model
        .into_model(|hex, bits| Tile::from_hex_msb(hex, bits))
}
