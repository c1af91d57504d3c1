//! Verilog of the accelerator for a configuration, from `tbn-hdl`.

use crate::error::{Result, Stage, SynthError};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Generated Verilog ready for the flow.
#[derive(Clone, Debug)]
pub struct Design {
    /// Verilog files.
    pub sources: Vec<PathBuf>,
    /// Top module.
    pub top: String,
    /// The configuration.
    pub config: tbn_hdl::Config,
    /// The generator's manifest.
    pub manifest: Value,
}

/// Ports the board constraint files assign.
pub const STANDALONE_PORTS: [&str; 6] = ["clk", "sck", "cs_n", "mosi", "miso", "irq"];

fn manifest_str(m: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| m.get(*k).and_then(Value::as_str).map(str::to_string))
}

/// Emit the standalone top (SPI-to-Wishbone bridge around the core) for
/// `cfg` into `dir` with `tbn_hdl::emit` and return its sources and top module.
pub fn emit_standalone(cfg: &tbn_hdl::Config, dir: &Path) -> Result<Design> {
    let rep = tbn_hdl::emit(cfg, dir)?;
    let mpath = dir.join("manifest.json");
    let text = std::fs::read_to_string(&mpath).map_err(|e| SynthError::io(&mpath, e))?;
    let manifest: Value = serde_json::from_str(&text).map_err(|e| SynthError::Parse {
        what: "tbn-hdl manifest".into(),
        path: mpath.clone(),
        message: e.to_string(),
    })?;
    let top = manifest_str(&manifest, &["standalone_top", "spi_top", "top"]).ok_or_else(|| {
        SynthError::StageFailed {
            stage: Stage::Hdl,
            message:
                "tbn-hdl did not emit a standalone top (no 'standalone_top' in manifest.json): \
                      the SPI-to-Wishbone bridge top is needed for a board with few pins"
                    .into(),
            log: mpath.clone(),
        }
    })?;
    let mut sources: Vec<PathBuf> = rep
        .files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "v" || e == "sv"))
        .cloned()
        .collect();
    // A standalone file that already contains the core must not be read twice.
    if let Some(file) = manifest_str(&manifest, &["standalone_file", "standalone_verilog"]) {
        let standalone = dir.join(file);
        let contains_core = std::fs::read_to_string(&standalone)
            .map(|t| t.contains(&format!("module {}(", tbn_hdl::CORE_TOP)))
            .unwrap_or(false);
        if contains_core {
            sources = vec![standalone];
        }
    }
    Ok(Design {
        sources,
        top,
        config: *cfg,
        manifest,
    })
}
