//! Register-map documents generated from `tbn_driver::regmap`: markdown, CMSIS-SVD, JSON.

use crate::Config;
use tbn_driver::regmap::{self, Access, ResetValue};

fn reset_text(r: &regmap::Register) -> String {
    match r.reset {
        ResetValue::Value(v) => format!("0x{v:08X}"),
        ResetValue::Config => "config".into(),
    }
}

/// The register map as markdown (the tables of docs/register-map.md).
pub fn markdown() -> String {
    let mut s = String::from("## Registers\n\n| Offset | Name | Access | Reset | Description |\n| --- | --- | --- | --- | --- |\n");
    for r in regmap::REGISTERS {
        s += &format!(
            "| 0x{:02X} | {} | {} | {} | {} |\n",
            r.offset,
            r.name,
            r.access.short(),
            reset_text(r),
            r.description
        );
    }
    s += "\n### Fields\n\n| Register | Field | Bits | Access | Description |\n| --- | --- | --- | --- | --- |\n";
    for r in regmap::REGISTERS {
        for f in r.fields {
            s += &format!(
                "| {} | {} | {}:{} | {} | {} |\n",
                r.name,
                f.name,
                f.lsb + f.width - 1,
                f.lsb,
                f.access.short(),
                f.description
            );
        }
    }
    s += "\n## Memory windows\n\n| Offset | Size | Name | Access | Layout |\n| --- | --- | --- | --- | --- |\n";
    for w in regmap::WINDOWS {
        s += &format!(
            "| 0x{:05X} | 0x{:05X} | {} | {} | {} |\n",
            w.offset,
            w.size,
            w.name,
            w.access.short(),
            w.description
        );
    }
    s += "\n## Error codes (STATUS.ERROR_CODE)\n\n| Code | Name | Meaning |\n| --- | --- | --- |\n";
    for (c, d) in regmap::ERROR_CODES {
        s += &format!("| {} | {} | {} |\n", *c as u8, c.name(), d);
    }
    s
}

fn svd_access(a: Access) -> &'static str {
    match a {
        Access::ReadOnly => "read-only",
        Access::WriteOnly => "write-only",
        Access::ReadWrite | Access::ReadWriteOneToClear => "read-write",
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// CMSIS-SVD description (usable with svd2rust); configuration registers get their reset values from `cfg`.
pub fn svd(cfg: &Config) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<device schemaVersion=\"1.3\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema-instance\" xs:noNamespaceSchemaLocation=\"CMSIS-SVD.xsd\">\n  <vendor>tbn</vendor>\n  <name>TBN</name>\n  <version>1.0</version>\n  <description>Tiled Bit Network accelerator</description>\n  <addressUnitBits>8</addressUnitBits>\n  <width>32</width>\n  <size>32</size>\n  <access>read-write</access>\n  <resetValue>0x00000000</resetValue>\n  <resetMask>0xFFFFFFFF</resetMask>\n  <peripherals>\n    <peripheral>\n      <name>TBN</name>\n      <description>TBN accelerator core</description>\n      <baseAddress>0x00000000</baseAddress>\n");
    s += &format!("      <addressBlock><offset>0x0</offset><size>0x{:X}</size><usage>registers</usage></addressBlock>\n", regmap::SPAN_BYTES);
    s += "      <interrupt><name>TBN</name><value>0</value></interrupt>\n      <registers>\n";
    for r in regmap::REGISTERS {
        let reset = match r.reset {
            ResetValue::Value(v) => v,
            ResetValue::Config => match r.name {
                "CFG_LANES" => cfg.lanes as u32,
                "CFG_TILE_MAX" => cfg.tile_max as u32,
                "CFG_MAX_IN" => cfg.max_in as u32,
                "CFG_MAX_ROWS" => cfg.max_rows as u32,
                _ => crate::MAX_ABITS as u32,
            },
        };
        s += &format!(
            "        <register>\n          <name>{}</name>\n          <description>{}</description>\n          <addressOffset>0x{:X}</addressOffset>\n          <access>{}</access>\n          <resetValue>0x{:08X}</resetValue>\n",
            r.name,
            xml_escape(r.description),
            r.offset,
            svd_access(r.access),
            reset
        );
        if !r.fields.is_empty() {
            s += "          <fields>\n";
            for f in r.fields {
                let extra = if f.access == Access::ReadWriteOneToClear {
                    "<modifiedWriteValues>oneToClear</modifiedWriteValues>"
                } else {
                    ""
                };
                s += &format!(
                    "            <field><name>{}</name><description>{}</description><bitOffset>{}</bitOffset><bitWidth>{}</bitWidth><access>{}</access>{}</field>\n",
                    f.name,
                    xml_escape(f.description),
                    f.lsb,
                    f.width,
                    svd_access(f.access),
                    extra
                );
            }
            s += "          </fields>\n";
        }
        s += "        </register>\n";
    }
    for w in regmap::WINDOWS {
        let words = w.size / 4;
        s += &format!(
            "        <register>\n          <dim>{words}</dim>\n          <dimIncrement>4</dimIncrement>\n          <name>{}[%s]</name>\n          <description>{}</description>\n          <addressOffset>0x{:X}</addressOffset>\n          <access>{}</access>\n          <resetValue>0x00000000</resetValue>\n        </register>\n",
            w.name,
            xml_escape(w.description),
            w.offset,
            svd_access(w.access)
        );
    }
    s += "      </registers>\n    </peripheral>\n  </peripherals>\n</device>\n";
    s
}

/// JSON description of the register map.
pub fn json() -> String {
    let regs: Vec<_> = regmap::REGISTERS
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.name, "offset": r.offset, "access": r.access.short(),
                "reset": match r.reset { ResetValue::Value(v) => serde_json::json!(v), ResetValue::Config => serde_json::json!("config") },
                "description": r.description,
                "fields": r.fields.iter().map(|f| serde_json::json!({
                    "name": f.name, "lsb": f.lsb, "width": f.width, "access": f.access.short(), "description": f.description
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let wins: Vec<_> = regmap::WINDOWS
        .iter()
        .map(|w| serde_json::json!({"name": w.name, "offset": w.offset, "size": w.size, "access": w.access.short(), "description": w.description}))
        .collect();
    let codes: Vec<_> = regmap::ERROR_CODES
        .iter()
        .map(|(c, d)| serde_json::json!({"code": *c as u8, "name": c.name(), "description": d}))
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "magic": regmap::MAGIC, "version": regmap::VERSION, "span_bytes": regmap::SPAN_BYTES,
        "wb_addr_bits": regmap::WB_ADDR_BITS, "registers": regs, "windows": wins, "error_codes": codes,
    }))
    .expect("json")
}
