//! `tbn hdl`: the accelerator's Verilog generator.

use anyhow::Context;
use std::path::PathBuf;

/// Arguments of `tbn hdl`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: HdlCommand,
}

#[derive(clap::Subcommand)]
enum HdlCommand {
    /// Write the core Verilog (Wishbone port), the register map (markdown, SVD, JSON) and a manifest.
    Emit(EmitArgs),
}

#[derive(clap::Args)]
struct EmitArgs {
    /// Lanes L (tile bits per cycle): 8, 16, 32, 64, 128 or 256.
    #[arg(long, default_value_t = 32)]
    lanes: usize,
    /// Largest tile length q in bits (power of two).
    #[arg(long, default_value_t = 32768)]
    tile_bits: usize,
    /// Largest row length m (power of two).
    #[arg(long, default_value_t = 4096)]
    max_in: usize,
    /// Largest number of rows per job (power of two).
    #[arg(long, default_value_t = 1024)]
    max_rows: usize,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

/// Run `tbn hdl`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        HdlCommand::Emit(a) => {
            let cfg = tbn_hdl::Config {
                lanes: a.lanes,
                tile_max: a.tile_bits,
                max_in: a.max_in,
                max_rows: a.max_rows,
            };
            let report = tbn_hdl::emit(&cfg, &a.out)
                .with_context(|| format!("emitting the accelerator into {}", a.out.display()))?;
            for f in &report.files {
                println!("wrote {}", f.display());
            }
            Ok(())
        }
    }
}
