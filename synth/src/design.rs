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

/// Top module of the whole-network engine's out-of-context wrapper
/// ([`emit_engine_ooc`]).
pub const ENGINE_OOC_TOP: &str = "tbn_net_ooc";

/// Emit the whole-network engine (`tbn_hdl::net_core_verilog_mem`, top
/// `tbn_net_core`: a Wishbone slave with more ports than the UP5K package
/// has pins) for `cfg` and the memories `mem` into `dir`, inside an
/// out-of-context wrapper [`ENGINE_OOC_TOP`]`(clk, mosi, miso)`: the
/// engine's 58 input bits come from a shift register fed by `mosi`, its 34
/// output bits are registered and XOR-reduced into `miso`, so every path of
/// the engine is register to register and the board's `clk`, `mosi` and
/// `miso` pins place it (the board file's other constraints are `-nowarn`).
/// The wrapper adds 93 flip-flops and a few LUTs. Returns the sources and top.
pub fn emit_engine_ooc(
    cfg: &tbn_hdl::Config,
    mem: &tbn_hdl::netcore::NetMem,
    dir: &Path,
) -> Result<Design> {
    std::fs::create_dir_all(dir).map_err(|e| SynthError::io(dir, e))?;
    let core = tbn_hdl::net_core_verilog_mem(cfg, mem)?;
    let core_path = dir.join(format!("{}.v", tbn_hdl::NET_CORE_TOP));
    std::fs::write(&core_path, core).map_err(|e| SynthError::io(&core_path, e))?;
    let top_path = dir.join(format!("{ENGINE_OOC_TOP}.v"));
    std::fs::write(&top_path, engine_ooc_wrapper()).map_err(|e| SynthError::io(&top_path, e))?;
    let manifest = serde_json::json!({
        "generator": "tbn-hdl",
        "version": env!("CARGO_PKG_VERSION"),
        "config": cfg,
        "net_mem": mem,
        "core_top": tbn_hdl::NET_CORE_TOP,
        "top": ENGINE_OOC_TOP,
        "out_of_context": true,
    });
    let mpath = dir.join("manifest.json");
    std::fs::write(
        &mpath,
        serde_json::to_string_pretty(&manifest).expect("json"),
    )
    .map_err(|e| SynthError::io(&mpath, e))?;
    Ok(Design {
        sources: vec![core_path, top_path],
        top: ENGINE_OOC_TOP.to_string(),
        config: *cfg,
        manifest,
    })
}

/// The out-of-context wrapper around `tbn_net_core` (see [`emit_engine_ooc`]).
pub fn engine_ooc_wrapper() -> String {
    format!(
        "\
// {top}: out-of-context timing wrapper of {core} (not a usable top):
// inputs from a shift register fed by mosi, outputs registered and
// XOR-reduced into miso.
module {top}(input clk, input mosi, output reg miso);
  reg [57:0] sr;
  wire [31:0] dat_r;
  wire ack;
  wire irq;
  reg [33:0] oq;
  {core} core(
    .clk(clk), .rst(sr[0]), .wb_adr(sr[18:1]), .wb_dat_w(sr[50:19]),
    .wb_we(sr[51]), .wb_sel(sr[55:52]), .wb_stb(sr[56]), .wb_cyc(sr[57]),
    .wb_dat_r(dat_r), .wb_ack(ack), .irq(irq));
  always @(posedge clk) begin
    sr <= {{sr[56:0], mosi}};
    oq <= {{irq, ack, dat_r}};
    miso <= ^oq;
  end
endmodule
",
        top = ENGINE_OOC_TOP,
        core = tbn_hdl::NET_CORE_TOP
    )
}

/// Emit the whole-network engine's standalone top (`tbn_hdl::spi::NET_SPI_TOP`:
/// SPI slave -> Wishbone -> `tbn_net_core`, the pins of the single-layer
/// SPI top, placed by the board files) for `cfg` and the memories `mem`
/// into `dir`. Returns the sources and top.
pub fn emit_engine_spi(
    cfg: &tbn_hdl::Config,
    mem: &tbn_hdl::netcore::NetMem,
    dir: &Path,
) -> Result<Design> {
    std::fs::create_dir_all(dir).map_err(|e| SynthError::io(dir, e))?;
    let top = tbn_hdl::spi::NET_SPI_TOP;
    let path = dir.join(format!("{top}.v"));
    let text = tbn_hdl::net_spi_top_verilog_mem(cfg, mem)?;
    std::fs::write(&path, text).map_err(|e| SynthError::io(&path, e))?;
    let manifest = serde_json::json!({
        "generator": "tbn-hdl",
        "version": env!("CARGO_PKG_VERSION"),
        "config": cfg,
        "net_mem": mem,
        "top": top,
        "standalone_ports": tbn_hdl::spi::SPI_TOP_PINS,
    });
    let mpath = dir.join("manifest.json");
    std::fs::write(
        &mpath,
        serde_json::to_string_pretty(&manifest).expect("json"),
    )
    .map_err(|e| SynthError::io(&mpath, e))?;
    Ok(Design {
        sources: vec![path],
        top: top.to_string(),
        config: *cfg,
        manifest,
    })
}
