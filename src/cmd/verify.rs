//! `tbn verify`: randomized regression of the accelerator RTL (Verilator) against
//! the golden model, bit-exact.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use tbn_sim::{hw, regress, BuildOptions};

use crate::reports::VerifyReport;

/// Arguments of `tbn verify`.
#[derive(clap::Args)]
pub struct Args {
    /// Number of random layers per lane configuration.
    #[arg(long, default_value_t = 300, value_parser = super::common::at_least_one)]
    seeds: usize,
    /// First seed (layer i uses seed FIRST + i; a failure names its seed).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Lane counts to verify (comma separated), e.g. 8,32,128.
    #[arg(long, value_delimiter = ',', default_value = "32", value_parser = super::common::lanes)]
    lanes: Vec<usize>,
    /// Write a VCD waveform of the run to this file (one file per lane count).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `tbn verify`.
pub fn run(a: Args) -> Result<()> {
    let mut reports = Vec::new();
    let mut failed = false;
    for &lanes in &a.lanes {
        let cfg = hw::config_for_lanes(lanes);
        let opts = BuildOptions {
            trace: a.trace.is_some() || tbn_sim::verilate::trace_env().is_some(),
            ..BuildOptions::default()
        };
        let bar = if a.json {
            ProgressBar::hidden()
        } else {
            ProgressBar::new_spinner()
        };
        bar.set_message(format!("L = {lanes}: building the Verilated core"));
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        let mut acc = hw::open_core(&cfg, &opts)
            .with_context(|| format!("building the {lanes}-lane core"))?;
        bar.disable_steady_tick();
        if let Some(path) = &a.trace {
            let path = if a.lanes.len() > 1 {
                path.with_extension(format!("l{lanes}.vcd"))
            } else {
                path.clone()
            };
            acc.dut().trace_open(&path)?;
        }
        bar.set_length(a.seeds as u64);
        bar.set_position(0);
        bar.set_style(
            ProgressStyle::with_template("L = {prefix:>3} {bar:40} {pos}/{len} {msg} [{elapsed}]")
                .expect("template"),
        );
        bar.set_prefix(lanes.to_string());
        let mut bad = 0usize;
        let report = regress::run(&mut acc, a.seed, a.seeds, |done, o| {
            bad += usize::from(!o.ok);
            bar.set_position(done as u64);
            if done % 8 == 0 || !o.ok {
                bar.set_message(format!("{bad} mismatches"));
            }
        })?;
        acc.dut().trace_close();
        bar.finish_and_clear();
        for m in &report.mismatches {
            failed = true;
            eprintln!(
                "MISMATCH (L = {lanes}) {}: {} differing rows, first {:?}{}\n  reproduce: tbn verify --lanes {lanes} --seed {} --seeds 1 --trace wave.vcd",
                m.layer,
                m.differing,
                m.rows.first(),
                m.waveform
                    .as_deref()
                    .map(|w| format!("; waveform {w}"))
                    .unwrap_or_default(),
                m.seed
            );
        }
        if !a.json {
            println!(
                "L = {lanes}: {}/{} random layers bit-exact vs golden (seeds {}..{}), {:.2} s, {:.0} simulated cycles/s, job efficiency {:.3}",
                report.passed,
                report.layers,
                a.seed,
                a.seed + a.seeds as u64,
                report.seconds,
                report.sim_cycles as f64 / report.seconds.max(1e-9),
                report.efficiency
            );
        }
        reports.push(report);
    }
    if a.json {
        let report = VerifyReport {
            ok: !failed,
            reports,
        };
        println!("{}", serde_json::to_string(&report)?);
    }
    if failed {
        bail!("the RTL disagrees with the golden model (see the seeds above)");
    }
    Ok(())
}
