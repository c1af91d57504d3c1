//! The compact binary model format: `TBNM`, a little-endian u16 version, then
//! the model record encoded with postcard (tile as raw bytes, LSB first:
//! bit j is bit j mod 8 of byte j div 8). Parseable by a `no_std` + `alloc`
//! postcard reader.

use super::records::ModelRec;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::tile::Tile;

/// Magic bytes at the start of a binary model.
pub const BINARY_MAGIC: &[u8; 4] = b"TBNM";
/// The binary format version this build reads and writes.
pub const BINARY_VERSION: u16 = 1;

fn tile_bytes(t: &Tile) -> Vec<u8> {
    let n = t.len().div_ceil(8);
    t.words()
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .take(n)
        .collect()
}

fn tile_from_bytes(b: &[u8], bits: usize) -> Result<Tile> {
    if b.len() != bits.div_ceil(8) {
        return Err(Error::format(
            "tile",
            format!("{} bytes for a tile of {bits} bits", b.len()),
        ));
    }
    let mut words = vec![0u64; bits.div_ceil(64)];
    for (i, &byte) in b.iter().enumerate() {
        words[i / 8] |= u64::from(byte) << (8 * (i % 8));
    }
    if !bits.is_multiple_of(8) && b.last().is_some_and(|&l| l >> (bits % 8) != 0) {
        return Err(Error::format("tile", "padding bits past the tile are set"));
    }
    Tile::from_words(bits, words)
}

/// Encodes a model in the compact binary format.
pub fn model_to_binary(m: &Model) -> Result<Vec<u8>> {
    m.validate()?;
    let mut out = BINARY_MAGIC.to_vec();
    out.extend_from_slice(&BINARY_VERSION.to_le_bytes());
    let rec = ModelRec::from_model(m, tile_bytes);
    postcard::to_extend(&rec, out).map_err(|e| Error::format("binary model", e.to_string()))
}

/// Decodes and validates a model in the compact binary format.
pub fn model_from_binary(bytes: &[u8]) -> Result<Model> {
    let what = "binary model";
    if bytes.len() < 6 || &bytes[..4] != BINARY_MAGIC {
        return Err(Error::format(
            what,
            "bad magic (expected TBNM) or file shorter than its header",
        ));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != BINARY_VERSION {
        return Err(Error::format(
            what,
            format!(
                "version {version} is not supported (this build reads version {BINARY_VERSION})"
            ),
        ));
    }
    let (rec, rest): (ModelRec<Vec<u8>>, &[u8]) =
        postcard::take_from_bytes(&bytes[6..]).map_err(|e| match e {
            // postcard drops the message of a custom error: the only one our
            // records raise is the layer-count limit.
            postcard::Error::SerdeDeCustom => Error::format(
                what,
                "more than 1024 layers, or a corrupt payload (docs/numerics.md §9)",
            ),
            e => Error::format(what, format!("truncated or corrupt payload: {e}")),
        })?;
    if !rest.is_empty() {
        return Err(Error::format(
            what,
            format!("{} trailing bytes after the model", rest.len()),
        ));
    }
    rec.into_model(|b, bits| tile_from_bytes(b, bits))
}
