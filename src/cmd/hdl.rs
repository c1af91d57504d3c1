//! `tbn hdl`: the accelerator's Verilog generator.

use anyhow::Context;
use std::path::PathBuf;

use crate::reports::HdlFiles;

/// Arguments of `tbn hdl`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: HdlCommand,
}

#[derive(clap::Subcommand)]
enum HdlCommand {
    /// Write the single-layer core Verilog (tbn_core.v, Wishbone port), its standalone SPI top
    /// (tbn_spi_top.v, compile it together with tbn_core.v), the whole-network engine behind its
    /// Wishbone slave (tbn_net_core.v) and behind the SPI bridge (tbn_net_spi_top.v), the
    /// register map (markdown, SVD, JSON) and manifest.json.
    Emit(EmitArgs),
    /// Write the register-map page (docs/register-map.md) generated from the driver's register map.
    Regmap(RegmapArgs),
}

#[derive(clap::Args)]
pub(crate) struct EmitArgs {
    /// Lanes L (tile bits per cycle): 8, 16, 32, 64, 128 or 256.
    #[arg(long, default_value_t = 32, value_parser = super::common::lanes)]
    pub(crate) lanes: usize,
    /// Largest tile length q in bits (TILE_MAX, power of two).
    #[arg(long, default_value_t = 32768, value_parser = super::common::at_least_one)]
    pub(crate) tile_bits: usize,
    /// Largest row length m (MAX_IN, power of two).
    #[arg(long, default_value_t = 4096, value_parser = super::common::at_least_one)]
    pub(crate) max_in: usize,
    /// Largest number of rows per job (MAX_ROWS, power of two).
    #[arg(long, default_value_t = 1024, value_parser = super::common::at_least_one)]
    pub(crate) max_rows: usize,
    /// Memories of the whole-network engine: `bram` (block RAM, a tile
    /// section of TILE_MAX bits) or `up5k` (the tile section in the iCE40
    /// UP5K's four SPRAMs, 1 Mbit; constants, logits and V sized for the UP5K).
    #[arg(long, value_enum, default_value_t = EngineMem::Bram)]
    pub(crate) engine_mem: EngineMem,
    /// Output folder, replaced as a whole once the run succeeded.
    #[arg(long)]
    pub(crate) out: PathBuf,
}

/// Memories of the whole-network engine (`tbn_hdl::netcore::NetMem`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EngineMem {
    /// Block RAM (`NetMem::new(cfg, TILE_MAX)`).
    Bram,
    /// The UP5K configuration (`NetMem::up5k`).
    Up5k,
}

#[derive(clap::Args)]
struct RegmapArgs {
    /// Output file (standard output if absent).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Run `tbn hdl`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        HdlCommand::Emit(a) => {
            for f in &emit(&a)?.files {
                println!("wrote {}", f.display());
            }
            Ok(())
        }
        HdlCommand::Regmap(a) => {
            let page = tbn_hdl::regdoc::page();
            match a.out {
                Some(path) => {
                    tbn_golden::atomic::write_file(&path, page.as_bytes())
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!("wrote {}", path.display());
                }
                None => print!("{page}"),
            }
            Ok(())
        }
    }
}

/// Writes the core Verilog, the SPI top, the register map and the manifest
/// into `a.out` (generated in a staging folder, moved in when complete).
pub(crate) fn emit(a: &EmitArgs) -> anyhow::Result<HdlFiles> {
    let cfg = tbn_hdl::Config {
        lanes: a.lanes,
        tile_max: a.tile_bits,
        max_in: a.max_in,
        max_rows: a.max_rows,
    };
    let files = tbn_golden::atomic::fill_dir(&a.out, |s| -> anyhow::Result<_> {
        let mem = match a.engine_mem {
            EngineMem::Bram => tbn_hdl::netcore::NetMem::new(&cfg, cfg.tile_max),
            EngineMem::Up5k => tbn_hdl::netcore::NetMem::up5k(&cfg),
        };
        let report = tbn_hdl::emit_with(&cfg, &mem, s.path())?;
        Ok(report
            .files
            .iter()
            .map(|f| s.final_path(f))
            .collect::<Vec<_>>())
    })
    .with_context(|| format!("emitting the accelerator into {}", a.out.display()))?;
    Ok(HdlFiles {
        out: a.out.clone(),
        files,
    })
}
