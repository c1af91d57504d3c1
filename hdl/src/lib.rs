//! `tbn-hdl`: the Tiled Bit Network accelerator in RustHDL, and its Verilog emitter.
//!
//! The core ([`core::TbnCore`]) computes, per job, the accumulator pairs
//! `(dot_a, dot_b)` of the distinct rows of one TBN layer (docs/numerics.md
//! sections 2 and 3) from a tile held in block RAM. The programming model and
//! register map live in `tbn_driver::regmap`; see docs/hdl.md for the design.

pub mod actwrite;
pub mod control;
pub mod core;
pub mod engine;
pub mod formal;
pub mod loader;
pub mod mapunit;
pub mod mapwalk;
pub mod mem;
pub mod netcore;
pub mod nettop;
pub mod ram;
pub mod regdoc;
pub mod regfile;
pub mod reqphase;
pub mod requant;
pub mod rowwalk;
pub mod rtlsim;
pub mod seq;
pub mod spi;
pub mod startcheck;
pub mod testbench;
pub mod util;
pub mod wishbone;

use std::path::{Path, PathBuf};

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum HdlError {
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Writing an output file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// rust-hdl's structural checks rejected the design.
    #[error("design check failed: {0}")]
    Check(String),
}

/// Generator configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Config {
    /// Lanes L: 8, 16, 32, 64, 128 or 256.
    pub lanes: usize,
    /// Largest tile length q in bits (power of two, 256 ..= 2^21 - L).
    pub tile_max: usize,
    /// Largest row length m (power of two, 2 * max(L, 32) ..= 65536).
    pub max_in: usize,
    /// Largest rows per job (power of two, 2 ..= 8192).
    pub max_rows: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            lanes: 32,
            tile_max: 32768,
            max_in: 4096,
            max_rows: 1024,
        }
    }
}

/// Largest activation width supported (A).
pub const MAX_ABITS: usize = 8;
/// Name of the core's top module in the emitted Verilog.
pub const CORE_TOP: &str = "tbn_core";
/// File of the core Verilog written by [`emit`].
pub const CORE_FILE: &str = "tbn_core.v";
/// File of the standalone SPI top written by [`emit`] (needs [`CORE_FILE`]).
pub const SPI_TOP_FILE: &str = "tbn_spi_top.v";

impl Config {
    /// The recommended iCE40 UP5K configuration (docs/hdl.md): L = 32,
    /// TILE_MAX 32768 (the reference MNIST tile has 25088 bits), MAX_IN 1024
    /// (MNIST fc1 has m = 784), MAX_ROWS 256. Measured: 16 SB_RAM40_4K of 30.
    pub fn up5k() -> Self {
        Config {
            lanes: 32,
            tile_max: 32768,
            max_in: 1024,
            max_rows: 256,
        }
    }

    /// The whole-network engine's iCE40 UP5K configuration (with
    /// [`netcore::NetMem::up5k`], docs/hdl.md): [`Config::up5k`] with TILE_MAX
    /// 131,072. The engine's tile section is in the SPRAMs (1 Mbit), so
    /// TILE_MAX is not bounded by block RAM; a layer's tile of up to 131,072
    /// bits (the LFC-size MLP at p = 8) takes the wide row sequencer
    /// ([`seq::SEQ_WIDE`]).
    pub fn up5k_engine() -> Self {
        Config {
            tile_max: 131_072,
            ..Config::up5k()
        }
    }

    /// The whole-network engine with feature maps that holds the trained
    /// CNN (with [`netcore::NetMem::conv_engine`]; docs/hdl.md: synthesized
    /// for the ECP5-25K, the UP5K cannot hold it): L = 32, TILE_MAX 65,536
    /// (fc1's tile has 50,176 bits), MAX_IN 2,048 (fc1's `m = 1,568`),
    /// MAX_ROWS 256.
    pub fn conv_engine() -> Self {
        Config {
            lanes: 32,
            tile_max: 65_536,
            max_in: 2048,
            max_rows: 256,
        }
    }

    /// Memory word width `W = max(L, 32)`.
    pub fn word_bits(&self) -> usize {
        self.lanes.max(32)
    }

    /// Check every value; the error names the offending one.
    pub fn validate(&self) -> Result<(), HdlError> {
        let e = |s: String| Err(HdlError::Config(s));
        if !u32::try_from(self.lanes).is_ok_and(|l| tbn_driver::regmap::LANE_CHOICES.contains(&l)) {
            return e(format!(
                "lanes = {} (must be 8, 16, 32, 64, 128 or 256)",
                self.lanes
            ));
        }
        let w = self.word_bits();
        let limit_tile = tbn_driver::regmap::MAP_TILE_BITS_LIMIT as usize;
        if !self.tile_max.is_power_of_two()
            || self.tile_max < 256.max(2 * w)
            || self.tile_max + self.lanes > limit_tile
        {
            return e(format!(
                "tile_max = {} (must be a power of two, at least {} and at most {})",
                self.tile_max,
                256.max(2 * w),
                limit_tile / 2
            ));
        }
        let limit_in = tbn_driver::regmap::MAP_MAX_IN_LIMIT as usize;
        if !self.max_in.is_power_of_two() || self.max_in < 2 * w || self.max_in > limit_in {
            return e(format!(
                "max_in = {} (must be a power of two between {} and {})",
                self.max_in,
                2 * w,
                limit_in
            ));
        }
        if self.max_in > self.tile_max {
            return e(format!(
                "max_in = {} exceeds tile_max = {} (rows longer than the tile are invalid)",
                self.max_in, self.tile_max
            ));
        }
        let limit_rows = tbn_driver::regmap::MAP_MAX_ROWS_LIMIT as usize;
        if !self.max_rows.is_power_of_two() || self.max_rows < 2 || self.max_rows > limit_rows {
            return e(format!(
                "max_rows = {} (must be a power of two between 2 and {})",
                self.max_rows, limit_rows
            ));
        }
        Ok(())
    }
}

/// Run `$body` with `$core` bound to a `$ty::<L, W, N>` built by
/// `$ty::<L, W, N>::$ctor(args)` for the configuration's lanes (`W =
/// max(L, 32)`, `N`: [`seq::seq_width`]), e.g.
/// `with_lanes!(cfg, TbnCore::new(cfg.tile_max, cfg.max_in, cfg.max_rows), c => ...)`.
macro_rules! with_lanes {
    ($cfg:expr, $ty:ident :: $ctor:ident $args:tt, $core:ident => $body:expr) => {
        if $crate::seq::seq_width($cfg.tile_max) == $crate::seq::SEQ_NARROW {
            with_lanes!(@lanes $cfg, $ty, $ctor, $args, { $crate::seq::SEQ_NARROW }, $core => $body)
        } else {
            with_lanes!(@lanes $cfg, $ty, $ctor, $args, { $crate::seq::SEQ_WIDE }, $core => $body)
        }
    };
    (@lanes $cfg:expr, $ty:ident, $ctor:ident, $args:tt, $n:tt, $core:ident => $body:expr) => {
        match $cfg.lanes {
            8 => {
                let mut $core = $ty::<8, 32, $n>::$ctor $args;
                $body
            }
            16 => {
                let mut $core = $ty::<16, 32, $n>::$ctor $args;
                $body
            }
            32 => {
                let mut $core = $ty::<32, 32, $n>::$ctor $args;
                $body
            }
            64 => {
                let mut $core = $ty::<64, 64, $n>::$ctor $args;
                $body
            }
            128 => {
                let mut $core = $ty::<128, 128, $n>::$ctor $args;
                $body
            }
            _ => {
                let mut $core = $ty::<256, 256, $n>::$ctor $args;
                $body
            }
        }
    };
}

/// Rename rust-hdl's `top` module (and its `top$...` children) to `name`.
pub fn rename_top(verilog: &str, name: &str) -> String {
    verilog
        .replace("module top(", &format!("module {name}("))
        .replace("top$", &format!("{name}$"))
}

/// Verilog of the core (top module [`CORE_TOP`]) for a validated configuration.
pub fn core_verilog(cfg: &Config) -> Result<String, HdlError> {
    cfg.validate()?;
    use crate::core::TbnCore;
    with_lanes!(cfg, TbnCore::new(cfg.tile_max, cfg.max_in, cfg.max_rows), c => {
        c.connect_all();
        check_all(&c).map_err(|e| HdlError::Check(format!("{e:?}")))?;
        Ok(waive_generated_width(&rename_top(
            &generate_verilog_unchecked(&c),
            CORE_TOP
        )))
    })
}

/// Child blocks of the core and of the whole-network engine whose module
/// bodies are written by hand in this crate (`Verilog::Custom`: memories,
/// lanes, requantization unit, activation writer): they stay under
/// Verilator's WIDTH check.
const HAND_WRITTEN: [&str; 19] = [
    "$tile", "$act", "$out", "$engine", "$act_in", "$act_a", "$act_b", "$alpha", "$desc", "$lcyc",
    "$logits", "$pairs", "$rec_b0", "$rec_b1", "$rec_m", "$rq$rq", "$rq$wr", "$bank0", "$bank1",
];

/// Verilator metacomments around each module (docs/hdl.md, "Lint"): WIDTH
/// off in the modules rust-hdl generates (its literals and constants are 32
/// bits wide whatever the operand), on in the hand-written ones;
/// UNUSEDSIGNAL off in the hand-written ones only (their ports have the
/// fixed widths of the core's address buses, and their pipelines carry a
/// few fields the Rust model keeps for its own checks), on in the generated
/// ones; both on at the end. The files build under Verilator's default flags
/// (cocotb's) with no warning.
pub fn waive_generated_width(verilog: &str) -> String {
    let mut out = String::with_capacity(verilog.len() + 4096);
    for line in verilog.lines() {
        if let Some(rest) = line.strip_prefix("module ") {
            let name = rest.split('(').next().unwrap_or("").trim();
            let hand = HAND_WRITTEN.iter().any(|h| name.ends_with(h));
            out.push_str(if hand {
                "/* verilator lint_on WIDTH */\n/* verilator lint_off UNUSEDSIGNAL */\n"
            } else {
                "/* verilator lint_off WIDTH */\n/* verilator lint_on UNUSEDSIGNAL */\n"
            });
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("/* verilator lint_on WIDTH */\n/* verilator lint_on UNUSEDSIGNAL */\n");
    out
}

/// Signals of the engine (`NetCore`'s generated module) that it declares
/// but uses only in part: the loader's header sizes and input format (the
/// engine reads them from the descriptor memory instead), the row
/// sequencer's `done` pulse (the network sequencer waits for its `busy` to
/// fall and for the descriptor re-read), the low bits of `tile_addr` that
/// address a word, and the feature-map unit's walker `busy` and `done` (the
/// unit follows the elements it consumes). Their declarations are wrapped in UNUSEDSIGNAL
/// metacomments (docs/hdl.md, "Lint").
const ENGINE_PARTLY_USED: [&str; 7] = [
    "loader$hdr_num_in;",
    "loader$hdr_num_out;",
    "loader$hdr_in_fmt;",
    "seq$done;",
    "tile_addr;",
    "walker$busy;",
    "walker$done;",
];

/// [`ENGINE_PARTLY_USED`]'s declarations in `verilog` wrapped in metacomments.
fn waive_engine_unused(verilog: &str) -> String {
    let mut out = String::with_capacity(verilog.len() + 1024);
    for line in verilog.lines() {
        let t = line.trim_start();
        let decl = (t.starts_with("wire ") || t.starts_with("reg "))
            && ENGINE_PARTLY_USED
                .iter()
                .any(|n| t.ends_with(&format!(" {n}")));
        if decl {
            out.push_str("    /* verilator lint_off UNUSEDSIGNAL */\n");
            out.push_str(line);
            out.push_str("\n    /* verilator lint_on UNUSEDSIGNAL */\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The modules of a Verilog text as `(name, text)` in order (text from
/// `module` to its `endmodule` line). Only for rust-hdl's output format.
pub fn split_modules(verilog: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut cur: Option<(String, String)> = None;
    for line in verilog.lines() {
        if cur.is_none() {
            if let Some(rest) = line.strip_prefix("module ") {
                let name = rest.split('(').next().unwrap_or("").trim().to_string();
                cur = Some((name, String::new()));
            }
        }
        if let Some((_, text)) = cur.as_mut() {
            text.push_str(line);
            text.push('\n');
            if line.trim_start().starts_with("endmodule") {
                out.push(cur.take().expect("module"));
            }
        }
    }
    out
}

/// Verilog of the standalone top [`spi::SPI_TOP`] and its SPI bridge for a
/// validated configuration. It instantiates the module [`CORE_TOP`], which is
/// not included: compile it together with [`core_verilog`] (`tbn_core.v`).
pub fn spi_top_verilog(cfg: &Config) -> Result<String, HdlError> {
    cfg.validate()?;
    use crate::spi::{TbnSpiTop, SPI_TOP};
    let full = with_lanes!(cfg, TbnSpiTop::new(cfg.tile_max, cfg.max_in, cfg.max_rows), t => {
        t.connect_all();
        check_all(&t).map_err(|e| HdlError::Check(format!("{e:?}")))?;
        generate_verilog_unchecked(&t)
    });
    // the core instance `top$core` becomes the module `tbn_core` of tbn_core.v;
    // the bridge's address bit 17 (the engine's IMAGE window) has no use in
    // this top, whose map ends below it (docs/hdl.md, "Lint")
    let unused_bit = "    wire  [17:0] bridge$wb_adr;\n";
    if !full.contains(unused_bit) {
        return Err(HdlError::Check(
            "the SPI top's bridge address declaration changed (lint waiver)".into(),
        ));
    }
    let renamed = full
        .replace(
            unused_bit,
            "    /* verilator lint_off UNUSEDSIGNAL */\n    wire  [17:0] bridge$wb_adr;\n    /* verilator lint_on UNUSEDSIGNAL */\n",
        )
        .replace("top$core", CORE_TOP)
        .replace("module top(", &format!("module {SPI_TOP}("))
        .replace("endmodule // top\n", &format!("endmodule // {SPI_TOP}\n"))
        .replace("top$", &format!("{SPI_TOP}$"));
    let core_prefix = format!("{CORE_TOP}$");
    let mut text = format!(
        "// {SPI_TOP}: standalone top (SPI mode-0 slave -> Wishbone master -> {CORE_TOP}).\n\
         // Generated by tbn-hdl {}; needs {CORE_TOP}.v (module {CORE_TOP}) of the same configuration:\n\
         // lanes {} tile_max {} max_in {} max_rows {}.\n",
        env!("CARGO_PKG_VERSION"),
        cfg.lanes,
        cfg.tile_max,
        cfg.max_in,
        cfg.max_rows
    );
    for (name, body) in split_modules(&renamed) {
        if name == CORE_TOP || name.starts_with(&core_prefix) {
            continue;
        }
        text.push('\n');
        text.push_str(&body);
    }
    Ok(waive_generated_width(&text))
}

use rust_hdl::prelude::{check_all, generate_verilog_unchecked, Block};

/// What [`emit`] wrote.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EmitReport {
    /// The configuration.
    pub config: Config,
    /// Files written.
    pub files: Vec<PathBuf>,
}

fn write(path: &Path, text: &str, files: &mut Vec<PathBuf>) -> Result<(), HdlError> {
    std::fs::write(path, text).map_err(|source| HdlError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    files.push(path.to_path_buf());
    Ok(())
}

/// File of the whole-network engine's Wishbone top written by [`emit`] (module [`NET_CORE_TOP`]).
pub const NET_CORE_FILE: &str = "tbn_net_core.v";
/// File of the whole-network engine's standalone SPI top written by [`emit`]
/// (module [`spi::NET_SPI_TOP`], self-contained).
pub const NET_SPI_TOP_FILE: &str = "tbn_net_spi_top.v";

/// [`emit_with`] with the default engine memories (`NetMem::new(cfg, cfg.tile_max)`: block RAM).
pub fn emit(cfg: &Config, out_dir: &Path) -> Result<EmitReport, HdlError> {
    emit_with(cfg, &netcore::NetMem::new(cfg, cfg.tile_max), out_dir)
}

/// Write the single-layer core Verilog ([`CORE_FILE`]), its standalone SPI
/// top ([`SPI_TOP_FILE`], compiled together with the core), the
/// whole-network engine with the memories `net_mem` behind its Wishbone slave
/// ([`NET_CORE_FILE`]) and behind the SPI bridge ([`NET_SPI_TOP_FILE`]),
/// the register map (markdown, SVD, JSON) and `manifest.json` into `out_dir`.
pub fn emit_with(
    cfg: &Config,
    net_mem: &netcore::NetMem,
    out_dir: &Path,
) -> Result<EmitReport, HdlError> {
    cfg.validate()?;
    net_mem.validate(cfg)?;
    std::fs::create_dir_all(out_dir).map_err(|source| HdlError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    write(&out_dir.join(CORE_FILE), &core_verilog(cfg)?, &mut files)?;
    write(
        &out_dir.join(SPI_TOP_FILE),
        &spi_top_verilog(cfg)?,
        &mut files,
    )?;
    write(
        &out_dir.join(NET_CORE_FILE),
        &net_core_verilog_mem(cfg, net_mem)?,
        &mut files,
    )?;
    write(
        &out_dir.join(NET_SPI_TOP_FILE),
        &net_spi_top_verilog_mem(cfg, net_mem)?,
        &mut files,
    )?;
    write(
        &out_dir.join("register-map.md"),
        &regdoc::page(),
        &mut files,
    )?;
    write(&out_dir.join("tbn.svd"), &regdoc::svd(cfg), &mut files)?;
    write(
        &out_dir.join("register-map.json"),
        &regdoc::json(),
        &mut files,
    )?;
    let t = netcore::net_target_mem(cfg, net_mem);
    let manifest = serde_json::json!({
        "generator": "tbn-hdl",
        "version": env!("CARGO_PKG_VERSION"),
        "register_map_version": tbn_driver::regmap::VERSION,
        "config": cfg,
        "max_abits": MAX_ABITS,
        "word_bits": cfg.word_bits(),
        "core_top": CORE_TOP,
        "core_file": CORE_FILE,
        "standalone_top": spi::SPI_TOP,
        "standalone_file": SPI_TOP_FILE,
        "standalone_sources": [CORE_FILE, SPI_TOP_FILE],
        "standalone_ports": ["clk", "sck", "cs_n", "mosi", "qd_in[2:0]", "miso", "miso_oe", "irq"],
        "spi": {
            "mode": 0,
            "bit_order": "msb_first",
            "cmd_write": spi::CMD_WRITE,
            "cmd_read": spi::CMD_READ,
            "cmd_qwrite": spi::CMD_QWRITE,
            "address_bytes": tbn_driver::regmap::SPI_ADDR_BYTES,
            "read_dummy_bytes": spi::READ_DUMMY_BYTES,
            "min_clock_ratio": spi::MIN_CLOCK_RATIO,
            "max_sck_per_clk": spi::MAX_SCK_PER_CLK,
            "sck_clocked": true,
            "power_on_reset_cycles": spi::POR_CYCLES,
        },
        "core_ports": ["clk", "rst", "wb_adr[16:0]", "wb_dat_w[31:0]", "wb_dat_r[31:0]", "wb_we", "wb_sel[3:0]", "wb_stb", "wb_cyc", "wb_ack", "irq"],
        "pipeline_latency": engine::engine_latency(cfg.lanes),
        "engine": {
            "core_top": NET_CORE_TOP,
            "core_file": NET_CORE_FILE,
            "core_ports": ["clk", "rst", "wb_adr[17:0]", "wb_dat_w[31:0]", "wb_dat_r[31:0]", "wb_we", "wb_sel[3:0]", "wb_stb", "wb_cyc", "wb_ack", "irq"],
            "standalone_top": spi::NET_SPI_TOP,
            "standalone_file": NET_SPI_TOP_FILE,
            "standalone_sources": [NET_SPI_TOP_FILE],
            "memories": net_mem,
            "capacities": {
                "weight_words": t.weight_words,
                "const_words": t.const_words,
                "max_layers": t.max_layers,
                "max_in": t.max_in,
                "tile_max": t.tile_max,
                "max_d": t.max_d,
                "max_out": t.max_out,
                "max_abits": t.max_abits,
                "max_logits": t.max_logits,
                "v_bits": t.v_bits,
            },
        },
    });
    write(
        &out_dir.join("manifest.json"),
        &serde_json::to_string_pretty(&manifest).expect("json"),
        &mut files,
    )?;
    Ok(EmitReport {
        config: *cfg,
        files,
    })
}

/// Name of the whole-network engine's top module ([`nettop::NetTop`]).
pub const NET_CORE_TOP: &str = "tbn_net_core";

/// Verilog of the whole-network engine behind its Wishbone slave (top
/// [`NET_CORE_TOP`], ports `clk`, `rst`, `wb_adr[17:0]`, `wb_dat_w`,
/// `wb_dat_r`, `wb_we`, `wb_sel`, `wb_stb`, `wb_cyc`, `wb_ack`, `irq`) for a
/// validated configuration and a weight memory of `weight_bits` bits (see
/// [`netcore::net_target`]). Not yet written by [`emit`].
pub fn net_core_verilog(cfg: &Config, weight_bits: usize) -> Result<String, HdlError> {
    net_core_verilog_mem(cfg, &netcore::NetMem::new(cfg, weight_bits))
}

/// [`net_core_verilog`] with the memories `mem` (e.g.
/// [`netcore::NetMem::up5k`]: the tile section in the UP5K's SPRAM).
pub fn net_core_verilog_mem(cfg: &Config, mem: &netcore::NetMem) -> Result<String, HdlError> {
    cfg.validate()?;
    mem.validate(cfg)?;
    use crate::nettop::NetTop;
    with_lanes!(cfg, NetTop::with_mem(cfg, mem), c => {
        c.connect_all();
        check_all(&c).map_err(|e| HdlError::Check(format!("{e:?}")))?;
        Ok(waive_engine_unused(&waive_generated_width(&rename_top(
            &generate_verilog_unchecked(&c),
            NET_CORE_TOP,
        ))))
    })
}

/// Verilog of the whole-network engine's standalone top [`spi::NET_SPI_TOP`]
/// ([`spi::TbnNetSpiTop`]: power-on reset, SPI bridge and the engine of
/// [`net_core_verilog`], in one file with every module it needs) for a
/// validated configuration and a weight memory of `weight_bits` bits. Its
/// ports are those of `tbn_spi_top` ([`spi::SPI_TOP_PINS`]: `clk`, `sck`,
/// `cs_n`, `mosi`, `qd_in[2:0]`, `miso`, `miso_oe`, `irq`), so the same
/// board files apply. Not yet written by [`emit`].
pub fn net_spi_top_verilog(cfg: &Config, weight_bits: usize) -> Result<String, HdlError> {
    net_spi_top_verilog_mem(cfg, &netcore::NetMem::new(cfg, weight_bits))
}

/// [`net_spi_top_verilog`] with the engine memories `mem` (e.g.
/// [`netcore::NetMem::up5k`]: the tile section in the UP5K's SPRAM).
pub fn net_spi_top_verilog_mem(cfg: &Config, mem: &netcore::NetMem) -> Result<String, HdlError> {
    cfg.validate()?;
    mem.validate(cfg)?;
    use crate::spi::{TbnNetSpiTop, NET_SPI_TOP};
    let full = with_lanes!(cfg, TbnNetSpiTop::with_mem(cfg, mem), t => {
        t.connect_all();
        check_all(&t).map_err(|e| HdlError::Check(format!("{e:?}")))?;
        generate_verilog_unchecked(&t)
    });
    let text = format!(
        "// {NET_SPI_TOP}: standalone top of the whole-network engine \
         (SPI mode-0 slave -> Wishbone master -> {NET_CORE_TOP}).\n\
         // Generated by tbn-hdl {}; lanes {} tile_max {} max_in {} max_rows {}, weight memory {} bits{}.\n\n{}",
        env!("CARGO_PKG_VERSION"),
        cfg.lanes,
        cfg.tile_max,
        cfg.max_in,
        cfg.max_rows,
        mem.weight_bits.max(cfg.tile_max),
        if mem.tile_single_port {
            " (single-port: SPRAM)"
        } else {
            ""
        },
        rename_top(&full, NET_SPI_TOP)
    );
    Ok(waive_engine_unused(&waive_generated_width(&text)))
}
