//! `tbn`: the command-line tool over the whole Tiled Bit Networks chain.

mod cmd;
mod paths;
mod reports;

use clap::{Parser, Subcommand};

/// Tiled Bit Networks from model to silicon.
#[derive(Parser)]
#[command(name = "tbn", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole chain on built-in defaults, side by side (the main job).
    Demo(cmd::demo::Args),
    /// Show a model's layers, compression and storage.
    Inspect(cmd::inspect::Args),
    /// Accuracy of a model on an IDX data set (float or integer path).
    Eval(cmd::eval::Args),
    /// Output vector (logits) of one image.
    Infer(cmd::infer::Args),
    /// Compress float weights (.npy/.npz/.safetensors) into a TBN model.
    Compress(cmd::compress::Args),
    /// Compile a float model into an integer program from calibration images.
    Quantize(cmd::quantize::Args),
    /// Convert between the JSON and binary formats.
    Convert(cmd::convert::Args),
    /// Run the model on a Cortex-M4 in QEMU (optimized vs baseline kernel).
    Mcu(cmd::mcu::Args),
    /// Compare the MCU alone, the MCU + accelerator and the GPU (from the reports).
    Compare(cmd::compare::Args),
    /// Generated documents: the README's results block from the demo's report.
    Report(cmd::report::Args),
    /// FPGA synthesis (yosys + nextpnr): resources, fmax, bitstream; or a lane sweep.
    Synth(cmd::synth::Args),
    /// Train a Tiled Bit Network (or binary / f32 baseline) on IDX data and save it.
    Train(cmd::train::Args),
    /// The accelerator: emit Verilog, register map and manifest.
    Hdl(cmd::hdl::Args),
    /// Randomized regression of the accelerator RTL (Verilator) against the golden model.
    Verify(cmd::verify::Args),
    /// A model end to end through the accelerator RTL (Verilator): accuracy, cycles.
    Sim(cmd::sim::Args),
    /// Firmware-in-the-loop: the Cortex-M firmware (QEMU) drives the engine RTL (Verilator) over SPI.
    Cosim(cmd::cosim::Args),
    /// Line and toggle coverage of the accelerator RTL under the regression.
    Coverage(cmd::coverage::Args),
    /// The TBN kernels on a GPU (wgpu): accuracy and benchmark.
    Gpu(cmd::gpu::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => cmd::demo::run(a),
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Infer(a) => cmd::infer::run(a),
        Command::Compress(a) => cmd::compress::run(a),
        Command::Quantize(a) => cmd::quantize::run(a),
        Command::Convert(a) => cmd::convert::run(a),
        Command::Mcu(a) => cmd::mcu::run(a),
        Command::Compare(a) => cmd::compare::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Synth(a) => cmd::synth::run(a),
        Command::Train(a) => cmd::train::run(a),
        Command::Hdl(a) => cmd::hdl::run(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Sim(a) => cmd::sim::run(a),
        Command::Cosim(a) => cmd::cosim::run(a),
        Command::Coverage(a) => cmd::coverage::run(a),
        Command::Gpu(a) => cmd::gpu::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
