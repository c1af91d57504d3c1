//! `tbn compare`: the MCU alone against the MCU + accelerator system, from the
//! typed reports the other commands leave behind (`tbn mcu run` ->
//! reports/mcu.json, `tbn sim --json` -> reports/sim.json, synthesis ->
//! reports/synth.json). Three latency rows: MCU alone; MCU + accelerator end to
//! end over the report's link; accelerator compute only. Every estimate is
//! labelled as one.

use std::path::PathBuf;

use anyhow::Result;

use super::mcu::report_path;
use super::report::{self, BusKind, McuReport, SimReport};
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
    /// System report of `tbn sim --json` (default reports/sim.json).
    #[arg(long)]
    sim_report: Option<PathBuf>,
    /// MCU report of `tbn mcu run` (default reports/mcu.json).
    #[arg(long)]
    mcu_report: Option<PathBuf>,
}

/// One latency row: label, work, microseconds, how it was obtained.
pub struct Row {
    /// What runs.
    pub label: String,
    /// Work per inference.
    pub work: String,
    /// Latency per inference, microseconds.
    pub us: Option<f64>,
    /// Measured or estimated, and from what.
    pub note: String,
}

/// The three system rows (MCU alone; MCU + accelerator end to end; accelerator
/// compute only) from the typed reports.
pub fn latency_rows(mcu: Option<&McuReport>, sim: Option<&SimReport>, mcu_mhz: f64) -> Vec<Row> {
    let mut rows = vec![match mcu {
        Some(m) => Row {
            label: format!("MCU alone (Cortex-M4 @ {mcu_mhz} MHz)"),
            work: format!("{:.0} instructions", m.optimized_instr_per_inference),
            us: Some(m.optimized_instr_per_inference as f64 / mcu_mhz),
            note: "estimate: instructions measured in QEMU (-icount), 1 instruction per cycle"
                .into(),
        },
        None => Row {
            label: "MCU alone".into(),
            work: "-".into(),
            us: None,
            note: "no MCU report: run `tbn mcu run`".into(),
        },
    }];
    match sim {
        Some(s) => {
            let kind = if s.estimate { "estimate" } else { "measured" };
            let link = match (s.bus, s.clocks.sck_mhz) {
                (BusKind::Spi, Some(f)) => format!(
                    "SPI x{} at {f:.2} MHz",
                    s.clocks.spi_lines.unwrap_or(1)
                ),
                _ => "Wishbone".into(),
            };
            rows.push(Row {
                label: format!("MCU + accelerator, end to end ({link})"),
                work: format!(
                    "{:.0} {} link + {:.0} cycles, {} start(s)",
                    s.link_cycles, s.link_unit, s.compute_cycles, s.starts_per_inference
                ),
                us: Some(s.end_to_end_us),
                note: format!(
                    "{kind} ({:?}, fmax {:.1} MHz from {}; logits equal golden on {}/{})",
                    s.engine, s.clocks.fmax_mhz, s.clocks.fmax_source, s.logits_match, s.total
                ),
            });
            rows.push(Row {
                label: format!("accelerator compute only (L = {})", s.lanes),
                work: format!("{:.0} cycles", s.compute_cycles),
                us: Some(s.compute_us),
                note: format!("{kind} (cycles / fmax {:.1} MHz)", s.clocks.fmax_mhz),
            });
        }
        None => rows.push(Row {
            label: "MCU + accelerator".into(),
            work: "-".into(),
            us: None,
            note: "no system report: run `tbn sim --engine reference --bus spi --json > reports/sim.json`".into(),
        }),
    }
    rows
}

/// Runs `tbn compare`.
pub fn run(a: Args) -> Result<()> {
    let label = a
        .model
        .as_ref()
        .map_or("reference model".to_string(), |p| p.display().to_string());
    let sim_path = a
        .sim_report
        .clone()
        .unwrap_or_else(|| paths::project_path("reports/sim.json"));
    let mcu_path = a.mcu_report.clone().unwrap_or_else(report_path);
    let sim: Option<SimReport> = report::read(&sim_path)?;
    let mcu: Option<McuReport> = report::read(&mcu_path)?;
    println!("TBN inference latency, {label}");
    for r in latency_rows(mcu.as_ref(), sim.as_ref(), a.mcu_mhz) {
        println!(
            "{:<52} {:>34} {:>12}  {}",
            r.label,
            r.work,
            r.us.map_or("-".into(), |u| format!("{u:.1} us")),
            r.note
        );
    }
    Ok(())
}
