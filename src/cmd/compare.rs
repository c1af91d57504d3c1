//! `tbn compare`: the MCU kernel against the accelerator, from the reports the
//! other commands leave behind (`tbn mcu run`, `tbn sim`, synthesis).

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::Value;

use super::mcu::report_path;
use crate::paths;

/// Arguments of `tbn compare`.
#[derive(clap::Args)]
pub struct Args {
    /// Model file (only used to label the table; reports must be produced for it first).
    #[arg(long)]
    model: Option<PathBuf>,
    /// MCU clock for the latency estimate, MHz.
    #[arg(long, default_value_t = 64.0)]
    mcu_mhz: f64,
    /// Accelerator cycles report (JSON with `cycles_per_inference`), default reports/sim.json.
    #[arg(long)]
    sim_report: Option<PathBuf>,
    /// Synthesis report (JSON with `fmax_mhz`), default reports/synth.json.
    #[arg(long)]
    synth_report: Option<PathBuf>,
}

fn read_json(path: &PathBuf) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Runs `tbn compare`.
pub fn run(a: Args) -> Result<()> {
    let label = a
        .model
        .as_ref()
        .map_or("reference model".to_string(), |p| p.display().to_string());
    println!("TBN inference, {label}");
    println!("{:<34} {:>16} {:>18}", "", "work/inference", "latency");
    match read_json(&report_path()) {
        Some(r) => {
            let opt = r["optimized_instr_per_inference"]
                .as_f64()
                .context("MCU report lacks instructions")?;
            let base = r["baseline_instr_per_inference"].as_f64().unwrap_or(0.0);
            let us = |i: f64| i / a.mcu_mhz;
            println!(
                "{:<34} {:>12.0} ins {:>12.1} us (est.)",
                format!("MCU optimized kernel (M4 @{} MHz)", a.mcu_mhz),
                opt,
                us(opt)
            );
            println!(
                "{:<34} {:>12.0} ins {:>12.1} us (est.)",
                "MCU baseline float kernel",
                base,
                us(base)
            );
            println!("  (latency assumes 1 instruction per cycle; instructions measured in QEMU with -icount)");
        }
        None => println!(
            "MCU: no report at {} -- run `tbn mcu run` first",
            report_path().display()
        ),
    }
    let sim = a
        .sim_report
        .clone()
        .unwrap_or_else(|| paths::project_path("reports/sim.json"));
    let synth = a
        .synth_report
        .clone()
        .unwrap_or_else(|| paths::project_path("reports/synth.json"));
    let fmax = read_json(&synth).and_then(|v| v["fmax_mhz"].as_f64());
    match read_json(&sim).and_then(|v| v["cycles_per_inference"].as_f64()) {
        Some(c) => match fmax {
            Some(f) => println!("{:<34} {:>12.0} cyc {:>12.1} us (at fmax {f:.1} MHz)", "accelerator (Verilator)", c, c / f),
            None => println!(
                "{:<34} {:>12.0} cyc {:>18}  (no synthesis report at {}: run the synthesis flow for fmax)",
                "accelerator (Verilator)",
                c,
                "-",
                synth.display()
            ),
        },
        None => println!("accelerator: no cycle report at {} -- run `tbn sim` (Verilator) first", sim.display()),
    }
    Ok(())
}
