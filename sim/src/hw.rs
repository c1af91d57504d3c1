//! The accelerator's Verilog (from `tbn-hdl`) as Verilated models.

use std::path::PathBuf;

use crate::accel::{Accelerator, LinkKind, RegisterBus};
use crate::error::{Result, SimError};
use crate::spi::SpiClocks;
use crate::verilate::{build_model_from_text, BuildOptions, Model};
use tbn_driver::image::format::Target;

pub use tbn_hdl::netcore::NetMem;
pub use tbn_hdl::Config;

/// A generator configuration with `lanes` lanes and the default capacities.
pub fn config_for_lanes(lanes: usize) -> Config {
    Config {
        lanes,
        ..Config::default()
    }
}

/// Builds (or fetches from the cache) the Verilated model of the core for `cfg`.
/// `opts.top` is replaced by the core's top module name.
pub fn core_model(cfg: &Config, opts: &BuildOptions) -> Result<Model> {
    let verilog = tbn_hdl::core_verilog(cfg)
        .map_err(|e| SimError::Invalid(format!("tbn-hdl cannot generate the core: {e}")))?;
    let opts = BuildOptions {
        top: tbn_hdl::CORE_TOP.to_string(),
        ..opts.clone()
    };
    build_model_from_text(
        &[(format!("tbn_core_l{}.v", cfg.lanes), verilog.into_bytes())],
        &opts,
    )
}

/// Builds the core and returns it behind the Wishbone master, reset and identified.
pub fn open_core(cfg: &Config, opts: &BuildOptions) -> Result<Accelerator> {
    let model = core_model(cfg, opts)?;
    Accelerator::new(model.instantiate()?, LinkKind::default())
}

/// Weight (tile section) memory of the whole-network engine models built
/// here by default, in 32-bit words (1 Mbit, the UP5K's four SPRAMs).
pub const NET_WEIGHT_WORDS: usize = 32_768;

/// The whole-network engine's memories of the models built here by default
/// for `cfg`: [`NET_WEIGHT_WORDS`] of weights and 8,192 constants words in
/// block RAM, 16 layers, 64 logits, V = 64, and feature maps of 32,768
/// values per region (conv and max-pool layers, model image format 2).
pub fn default_net_mem(cfg: &Config) -> NetMem {
    NetMem {
        weight_bits: NET_WEIGHT_WORDS * 32 - cfg.lanes,
        const_words: 8192,
        max_layers: 16,
        max_logits: 64,
        v_bits: 64,
        tile_single_port: false,
        fmap_values: 32_768,
    }
}

/// The whole-network engine's default configuration for `lanes`: the job
/// core's default capacities ([`config_for_lanes`]) with TILE_MAX 131,072 (as
/// `Config::up5k_engine`: the trained CNN's fc1 has a tile of 50,176 bits)
/// and [`default_net_mem`]. `tbn sim --engine rtl` builds it, and the
/// reference engine ([`reference_target`]) has its capacities.
pub fn default_engine(lanes: usize) -> (Config, NetMem) {
    let cfg = Config {
        tile_max: Config::up5k_engine().tile_max,
        ..config_for_lanes(lanes)
    };
    (cfg, default_net_mem(&cfg))
}

/// The whole-network engine's UP5K configuration (`Config::up5k_engine`
/// with `NetMem::up5k`); it has its own lane count, which `lanes` must be.
pub fn up5k_engine(lanes: usize) -> Result<(Config, NetMem)> {
    let cfg = Config::up5k_engine();
    if lanes != cfg.lanes {
        return Err(SimError::Invalid(format!(
            "the UP5K configuration is L = {}, not L = {lanes}",
            cfg.lanes
        )));
    }
    Ok((cfg, NetMem::up5k(&cfg)))
}

/// The capacities the engine's reference model (`tbn_driver::image::chip::RefChip`)
/// is given for `lanes`: those of the default engine RTL ([`default_engine`]),
/// so that an image compiled for one runs on the other.
pub fn reference_target(lanes: u32) -> Target {
    let (cfg, mem) = default_engine(lanes as usize);
    tbn_hdl::netcore::net_target_mem(&cfg, &mem)
}

/// The largest capacities the register map and the driver admit for `lanes`
/// (the driver's probe also bounds CFG_TILE_MAX and CFG_MAX_ROWS by the job
/// core's TILE and OUT windows): what a larger engine than any built could
/// hold (an assumption).
pub fn map_target(lanes: u32) -> Target {
    let t = Target::map_limits(lanes);
    Target {
        tile_max: t
            .tile_max
            .min(tbn_driver::regmap::MAP_TILE_BITS_LIMIT - lanes),
        max_d: t.max_d.min(tbn_driver::regmap::MAP_MAX_ROWS_LIMIT),
        ..t
    }
}

/// Builds (or fetches from the cache) the Verilated whole-network engine
/// (`tbn_hdl::net_core_verilog_mem`, top `tbn_net_core`) for `cfg` with the
/// memories `mem` (e.g. [`default_net_mem`], or `NetMem::up5k` with
/// `Config::up5k_engine`).
pub fn net_core_model(cfg: &Config, mem: &NetMem, opts: &BuildOptions) -> Result<Model> {
    let verilog = tbn_hdl::net_core_verilog_mem(cfg, mem)
        .map_err(|e| SimError::Invalid(format!("tbn-hdl cannot generate the engine: {e}")))?;
    let opts = BuildOptions {
        top: tbn_hdl::NET_CORE_TOP.to_string(),
        ..opts.clone()
    };
    build_model_from_text(
        &[(
            format!("tbn_net_core_l{}.v", cfg.lanes),
            verilog.into_bytes(),
        )],
        &opts,
    )
}

/// Builds the whole-network engine (with `mem`) and returns it behind the
/// Wishbone master, reset and identified.
pub fn open_net_core(cfg: &Config, mem: &NetMem, opts: &BuildOptions) -> Result<Accelerator> {
    let model = net_core_model(cfg, mem, opts)?;
    Accelerator::new(model.instantiate()?, LinkKind::default())
}

/// The path of the Verilog file the model was built from (inside the cache entry).
pub fn model_sources(model: &Model) -> Vec<PathBuf> {
    std::fs::read_dir(model.dir.join("src"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// Builds (or fetches from the cache) the standalone top (SPI bridge + core) for `cfg`.
pub fn spi_top_model(cfg: &Config, opts: &BuildOptions) -> Result<Model> {
    let gen = |e: tbn_hdl::HdlError| {
        SimError::Invalid(format!("tbn-hdl cannot generate the SPI top: {e}"))
    };
    let core = tbn_hdl::core_verilog(cfg).map_err(gen)?;
    let top = tbn_hdl::spi_top_verilog(cfg).map_err(gen)?;
    let opts = BuildOptions {
        top: tbn_hdl::spi::SPI_TOP.to_string(),
        ..opts.clone()
    };
    build_model_from_text(
        &[
            (format!("tbn_core_l{}.v", cfg.lanes), core.into_bytes()),
            (format!("tbn_spi_top_l{}.v", cfg.lanes), top.into_bytes()),
        ],
        &opts,
    )
}

/// Seed of the SPI master's random frame phases in [`open_spi_top`].
pub const SPI_PHASE_SEED: u64 = 0x5c4_0001;

/// Builds the standalone top and returns it behind the bit-level SPI master,
/// after the power-on reset, identified. SCK runs at the system clock's rate
/// (`f_sck = f_clk`, the bridge's fastest supported ratio with margin), as an
/// independent clock with a random phase at each frame ([`SPI_PHASE_SEED`]).
pub fn open_spi_top(cfg: &Config, opts: &BuildOptions) -> Result<Accelerator> {
    open_spi_top_at(cfg, opts, Some(SpiClocks::ratio(1.0, SPI_PHASE_SEED)))
}

/// [`open_spi_top`] with the SPI master's clocks chosen: `None` puts SCK
/// edges on system clock edges at `f_clk / 4`.
pub fn open_spi_top_at(
    cfg: &Config,
    opts: &BuildOptions,
    clocks: Option<SpiClocks>,
) -> Result<Accelerator> {
    let model = spi_top_model(cfg, opts)?;
    open_spi_model(&model, clocks)
}

/// A standalone top's model behind the SPI master: past the power-on reset,
/// identified at `clocks`.
fn open_spi_model(model: &Model, clocks: Option<SpiClocks>) -> Result<Accelerator> {
    let mut dut = model.instantiate()?;
    dut.tick_n(tbn_hdl::spi::POR_CYCLES as u64 + 4)?;
    let names = crate::spi::SpiNames::with_prefix("");
    let mut acc = Accelerator::new_spi(dut, names, 2)?;
    if let crate::Link::Spi(s) = acc.link() {
        s.clocks = clocks;
    }
    // identify again at the chosen clocks
    let magic = acc.read32(tbn_driver::regmap::ID_MAGIC)?;
    if magic != tbn_driver::regmap::MAGIC {
        return Err(SimError::Accelerator(format!(
            "ID_MAGIC over SPI reads {magic:#010x} with {clocks:?}"
        )));
    }
    Ok(acc)
}

/// Builds (or fetches from the cache) the whole-network engine's standalone
/// SPI top (`tbn_hdl::net_spi_top_verilog_mem`, top `tbn_net_spi_top`:
/// power-on reset, SPI bridge, engine with the memories `mem`) for `cfg`.
pub fn net_spi_top_model(cfg: &Config, mem: &NetMem, opts: &BuildOptions) -> Result<Model> {
    let verilog = tbn_hdl::net_spi_top_verilog_mem(cfg, mem).map_err(|e| {
        SimError::Invalid(format!("tbn-hdl cannot generate the engine's SPI top: {e}"))
    })?;
    let opts = BuildOptions {
        top: tbn_hdl::spi::NET_SPI_TOP.to_string(),
        ..opts.clone()
    };
    build_model_from_text(
        &[(
            format!("tbn_net_spi_top_l{}.v", cfg.lanes),
            verilog.into_bytes(),
        )],
        &opts,
    )
}

/// Builds the engine's standalone SPI top and returns it behind the
/// bit-level SPI master, after the power-on reset, identified: SCK at
/// `f_sck = f_clk` as an independent clock with a random phase at each frame
/// ([`SPI_PHASE_SEED`]), bursts of at most the driver's
/// `tbn_driver::bus::SPI_MAX_BURST_WORDS` words per frame (as its `SpiBus`
/// frames them), single-line writes.
pub fn open_net_spi_top(cfg: &Config, opts: &BuildOptions) -> Result<Accelerator> {
    open_net_spi_top_at(
        cfg,
        &default_net_mem(cfg),
        opts,
        SpiClocks::ratio(1.0, SPI_PHASE_SEED),
    )
}

/// [`open_net_spi_top`] with the memories `mem` at other clocks (`f_sck /
/// f_clk` at most `tbn_hdl::spi::MAX_SCK_PER_CLK`; a faster SCK is refused,
/// it is outside the bridge's timing).
pub fn open_net_spi_top_at(
    cfg: &Config,
    mem: &NetMem,
    opts: &BuildOptions,
    clocks: SpiClocks,
) -> Result<Accelerator> {
    let r = clocks.sck_per_clk();
    if !(r > 0.0 && r <= tbn_hdl::spi::MAX_SCK_PER_CLK + 1e-9) {
        return Err(SimError::Invalid(format!(
            "f_sck / f_clk = {r:.4}: the SPI bridge supports at most {}",
            tbn_hdl::spi::MAX_SCK_PER_CLK
        )));
    }
    let model = net_spi_top_model(cfg, mem, opts)?;
    let mut acc = open_spi_model(&model, Some(clocks))?;
    if let crate::Link::Spi(s) = acc.link() {
        s.max_burst_words = tbn_driver::bus::SPI_MAX_BURST_WORDS;
    }
    Ok(acc)
}
