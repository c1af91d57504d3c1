//! `tbn synth`: FPGA synthesis of the accelerator (yosys + nextpnr + packer)
//! for one configuration, or a sweep over lane counts.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use tbn_synth::sweep::{self, SweepSpec};
use tbn_synth::tbn_hdl;
use tbn_synth::{design, Device, FlowSpec, SynthError, SynthReport};

use crate::{paths, reports};

/// Arguments of `tbn synth`.
#[derive(clap::Args)]
pub struct Args {
    /// Target: up5k (iCEBreaker), hx8k (iCE40-HX8K breakout), ecp5-25k or ecp5-85k (ULX3S).
    #[arg(long)]
    pub(crate) device: Device,
    /// Lanes L (8, 16, 32, 64, 128, 256); with --sweep a comma-separated list.
    #[arg(long)]
    pub(crate) lanes: Option<String>,
    /// Clock target in MHz (default: 48 for up5k, 100 otherwise).
    #[arg(long)]
    pub(crate) freq: Option<f64>,
    /// Tile memory size in bits (TILE_MAX; rounded up to a power of two).
    /// Default 32,768; 131,072 for the engine on the UP5K (its tile section
    /// is in SPRAM: `Config::up5k_engine`).
    #[arg(long, value_parser = super::common::at_least_one)]
    pub(crate) tile_bits: Option<usize>,
    /// Largest row length m (MAX_IN; rounded up to a power of two). The default
    /// covers the reference MNIST model (m = 784) and leaves block RAM for the tile.
    #[arg(long, default_value_t = 1024, value_parser = super::common::at_least_one)]
    pub(crate) max_in: usize,
    /// Largest number of distinct rows per job (MAX_ROWS; rounded up to a power of two).
    /// The default covers the reference MNIST model (32 distinct rows).
    #[arg(long, default_value_t = 256, value_parser = super::common::at_least_one)]
    pub(crate) max_rows: usize,
    /// Output folder, replaced as a whole once the run succeeded (default reports/synth/<device>-L<lanes>, or reports/synth/sweep-<device>).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Accept a result that misses the clock target (the report says so).
    #[arg(long)]
    pub(crate) allow_timing_fail: bool,
    /// Sweep over lane counts (default 8,16,32,64,128).
    #[arg(long)]
    pub(crate) sweep: bool,
    /// `tbn sim --json` reports whose measured cycles per inference fill the sweep's
    /// latency column at their lane counts (repeatable; default reports/sim.json if present).
    #[arg(long, alias = "cycles-json")]
    pub(crate) sim_report: Vec<PathBuf>,
    /// Model for the latency column of the sweep (default: the bundled reference MNIST model).
    #[arg(long)]
    pub(crate) model: Option<PathBuf>,
    /// nextpnr placer seed.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Skip bitstream packing.
    #[arg(long)]
    pub(crate) no_pack: bool,
    /// Synthesize the whole-network engine's SPI top (`tbn_net_spi_top`)
    /// instead of the single-layer core's; on the UP5K with its memory
    /// configuration (`NetMem::up5k`: tiles in SPRAM).
    #[arg(long)]
    pub(crate) engine: bool,
    /// With --engine: out of context (the engine inside a shift-register
    /// wrapper on the board's clk, mosi and miso pins; its Wishbone ports
    /// outnumber the package's pins).
    #[arg(long, requires = "engine")]
    pub(crate) ooc: bool,
    /// With --engine: feature maps of this many values per region
    /// (CFG_MAX_FMAP, a power of two up to 32,768), so that the engine runs
    /// conv and max-pool layers (model image format 2). The trained CNN
    /// needs 16,384 (its largest map has 12,544 values), with --max-in 2048
    /// and --tile-bits 65536.
    #[arg(long, requires = "engine", value_parser = super::common::at_least_one)]
    pub(crate) maps: Option<usize>,
}

fn parse_lanes(s: &str) -> Result<Vec<usize>> {
    s.split(',')
        .map(|t| match t.trim().parse::<usize>() {
            Ok(0) => bail!("--lanes: 0 lanes (give 8, 16, 32, 64, 128 or 256)"),
            r => r.with_context(|| format!("--lanes: '{t}' is not a number")),
        })
        .collect()
}

fn pow2(name: &str, v: usize) -> usize {
    let p = v.max(1).next_power_of_two();
    if p != v {
        eprintln!("note: {name} {v} rounded up to {p} (the generator needs a power of two)");
    }
    p
}

/// The capacities of the flags (lanes set per point).
fn base_config(a: &Args) -> tbn_hdl::Config {
    tbn_hdl::Config {
        lanes: 32,
        tile_max: pow2(
            "--tile-bits",
            a.tile_bits
                .unwrap_or(if a.engine && a.device == tbn_synth::Device::Up5k {
                    tbn_hdl::Config::up5k_engine().tile_max
                } else {
                    32768
                }),
        ),
        max_in: pow2("--max-in", a.max_in),
        max_rows: pow2("--max-rows", a.max_rows),
    }
}

/// Runs `tbn synth`.
pub fn run(a: Args) -> Result<()> {
    if a.sweep && a.engine {
        bail!("--sweep sweeps the single-layer core; --engine takes one --lanes value");
    }
    if a.sweep {
        let freq = a.freq.unwrap_or_else(|| a.device.default_freq_mhz());
        let base = base_config(&a);
        let lanes = match &a.lanes {
            Some(s) => parse_lanes(s)?,
            None => vec![8, 16, 32, 64, 128],
        };
        let out = a
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("reports/synth/sweep-{}", a.device.name())));
        let model = a.model.clone().unwrap_or_else(paths::reference_model);
        let program = if model.is_file() {
            Some(tbn_synth::latency::program_of_model(&model)?)
        } else {
            eprintln!("note: {} not found: no latency column", model.display());
            None
        };
        let mut sim_reports = a.sim_report.clone();
        if sim_reports.is_empty() && reports::sim_path().is_file() {
            sim_reports.push(reports::sim_path());
        }
        // Built in a staging folder and moved into `out` only when complete.
        let res = tbn_golden::atomic::fill_dir_keep_failed(&out, |st| -> Result<_> {
            let spec = SweepSpec {
                device: a.device,
                lanes,
                freq_mhz: freq,
                base,
                out_dir: st.path().to_path_buf(),
                program,
                sim_reports,
                seed: Some(a.seed),
            };
            let mut res = sweep::run(&spec, |i, n, l| {
                eprintln!("[{}/{}] {} L = {l} ...", i + 1, n, spec.device.name())
            })?;
            for f in &mut res.files {
                *f = st.final_path(f);
            }
            // sweep.json lists the files: with their final paths.
            tbn_golden::atomic::write_file(
                st.path().join("sweep.json"),
                serde_json::to_string_pretty(&res)?.as_bytes(),
            )?;
            Ok(res)
        })?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&res)?);
        } else {
            print!("{}", res.markdown());
            println!();
            for f in &res.files {
                println!("wrote {}", f.display());
            }
        }
        return Ok(());
    }

    let rep = synthesize(&a)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        print!("{}", rep.table());
        println!("report: {}", out_dir(&a)?.join("report.md").display());
    }
    Ok(())
}

fn single_lanes(a: &Args) -> Result<usize> {
    match &a.lanes {
        Some(s) => {
            let v = parse_lanes(s)?;
            if v.len() != 1 {
                bail!("--lanes takes one value without --sweep (got {})", v.len());
            }
            Ok(v[0])
        }
        None => bail!("--lanes is required (e.g. --lanes 32)"),
    }
}

fn out_dir(a: &Args) -> Result<PathBuf> {
    let lanes = single_lanes(a)?;
    let what = if a.ooc {
        "-engine-ooc"
    } else if a.engine {
        "-engine"
    } else {
        ""
    };
    Ok(a.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!("reports/synth/{}-L{lanes}{what}", a.device.name()))
    }))
}

/// The engine's memories: the UP5K configuration (tiles in SPRAM) on the
/// UP5K, else the defaults with a weight memory of TILE_MAX bits; feature
/// maps with `--maps`.
fn engine_mem(a: &Args, cfg: &tbn_hdl::Config) -> tbn_hdl::netcore::NetMem {
    let mem = match a.device {
        tbn_synth::Device::Up5k => tbn_hdl::netcore::NetMem::up5k(cfg),
        _ => tbn_hdl::netcore::NetMem::new(cfg, cfg.tile_max),
    };
    // (a count beyond u32 is refused by `NetMem::validate` as out of range)
    mem.with_maps(a.maps.map_or(0, |r| u32::try_from(r).unwrap_or(u32::MAX)))
}

/// Synthesizes one configuration (the standalone SPI top) into its folder,
/// writes reports/synth.json (reports/synth-engine.json for the engine's SPI
/// top) and returns the report.
pub fn synthesize(a: &Args) -> Result<SynthReport> {
    let freq = a.freq.unwrap_or_else(|| a.device.default_freq_mhz());
    let lanes = single_lanes(a)?;
    let cfg = tbn_hdl::Config {
        lanes,
        ..base_config(a)
    };
    let out = out_dir(a)?;
    cfg.validate()?;
    let mem = engine_mem(a, &cfg);
    if a.engine {
        mem.validate(&cfg)?;
    }
    eprintln!(
        "synthesising {} L = {lanes}, TILE_MAX = {} for {} at {freq} MHz (seed {}) into {}",
        if a.ooc {
            "the whole-network engine (out of context)"
        } else if a.engine {
            "the whole-network engine's SPI top"
        } else {
            "the single-layer core"
        },
        cfg.tile_max,
        a.device,
        a.seed,
        out.display()
    );
    // Built in a staging folder and moved into `out` only when complete; a
    // failed run keeps its staging folder (the error names its logs).
    let rep = tbn_golden::atomic::fill_dir_keep_failed(&out, |st| -> Result<_> {
        let d = if a.ooc {
            design::emit_engine_ooc(&cfg, &mem, &st.path().join("rtl"))?
        } else if a.engine {
            design::emit_engine_spi(&cfg, &mem, &st.path().join("rtl"))?
        } else {
            design::emit_standalone(&cfg, &st.path().join("rtl"))?
        };
        let mut spec = FlowSpec::new(a.device, d.sources.clone(), &d.top, st.path());
        spec.freq_mhz = freq;
        spec.allow_timing_fail = a.allow_timing_fail;
        spec.seed = Some(a.seed);
        spec.pack = !a.no_pack;
        spec.config = Some(if a.engine {
            serde_json::json!({ "config": cfg, "net_mem": mem, "out_of_context": a.ooc })
        } else {
            serde_json::to_value(cfg)?
        });
        let mut rep = match tbn_synth::run(&spec) {
            Ok(r) => r,
            Err(e @ SynthError::TimingFailed { .. }) => {
                if let SynthError::TimingFailed { report, .. } = &e {
                    eprint!("{}", report.table());
                }
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        rep.bitstream = rep.bitstream.map(|b| st.final_path(&b));
        tbn_synth::flow::write_report(&rep, st.path())?;
        Ok(rep)
    })?;
    // The latest result of each SPI top, where `tbn sim`, `tbn cosim` and
    // `tbn compare` look for its fmax (an out-of-context run is no top).
    if a.engine && !a.ooc {
        reports::write(&reports::synth_engine_path(), &rep)?;
    } else if !a.engine {
        reports::write(&reports::synth_path(), &rep)?;
    }
    Ok(rep)
}
