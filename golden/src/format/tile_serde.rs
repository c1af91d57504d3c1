//! Serde for [`Tile`]: `{ "bits": q, "hex": "..." }` with the MSB-first hex
//! of docs/numerics.md §1.

use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};

use crate::tile::Tile;

#[derive(Serialize, Deserialize)]
struct HexTile {
    bits: usize,
    hex: String,
}

/// Serialises a tile as bits + MSB-first hex.
pub fn serialize<S: Serializer>(t: &Tile, s: S) -> Result<S::Ok, S::Error> {
    HexTile {
        bits: t.len(),
        hex: t.to_hex_msb(),
    }
    .serialize(s)
}

/// Parses a tile from bits + MSB-first hex.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tile, D::Error> {
    let h = HexTile::deserialize(d)?;
    Tile::from_hex_msb(&h.hex, h.bits).map_err(D::Error::custom)
}
