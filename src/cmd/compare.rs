//! `tbn compare`: the MCU alone, the MCU + accelerator system and the GPU,
//! from the typed reports the other commands leave behind (`tbn mcu run` ->
//! firmware/gen/report.json, `tbn sim --json` -> reports/sim.json,
//! `tbn gpu bench` -> reports/gpu.json). Rows: MCU alone; MCU + accelerator
//! end to end over the report's link; accelerator compute only; GPU
//! throughput. Every estimate is labelled as one.

use std::path::PathBuf;

use anyhow::Result;

use crate::reports::{
    self, BusKind, CosimReport, EngineKind, GpuBenchReport, LatencyRow, McuReport, SimReport,
};

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
    /// MCU report of `tbn mcu run` (default firmware/gen/report.json).
    #[arg(long)]
    mcu_report: Option<PathBuf>,
    /// GPU report of `tbn gpu bench` (default reports/gpu.json).
    #[arg(long)]
    gpu_report: Option<PathBuf>,
    /// Print the rows as JSON.
    #[arg(long)]
    json: bool,
}

/// The MCU alone: instructions counted in QEMU at an assumed clock.
pub fn mcu_row(mcu: Option<&McuReport>, mcu_mhz: f64) -> LatencyRow {
    match mcu {
        Some(m) => LatencyRow {
            label: format!("MCU alone (Cortex-M4 @ {mcu_mhz} MHz)"),
            work: format!("{} instructions", m.optimized_instr_per_inference),
            us: Some(m.optimized_instr_per_inference as f64 / mcu_mhz),
            estimate: true,
            note: "estimate: instructions measured in QEMU (-icount), 1 instruction per cycle"
                .into(),
        },
        None => LatencyRow {
            label: "MCU alone".into(),
            work: "-".into(),
            us: None,
            estimate: false,
            note: "no MCU report: run `tbn mcu run`".into(),
        },
    }
}

/// The MCU + accelerator end to end, and the accelerator's compute alone.
pub fn accelerator_rows(sim: Option<&SimReport>) -> Vec<LatencyRow> {
    let Some(s) = sim else {
        return vec![LatencyRow {
            label: "MCU + accelerator".into(),
            work: "-".into(),
            us: None,
            estimate: false,
            note: "no system report: run `tbn sim --engine reference --bus spi --json`".into(),
        }];
    };
    // Times at an assumed clock are estimates even for measured cycles.
    let clock_assumed = s.clocks.fmax_source.starts_with("assumed");
    let kind = match (s.estimate, clock_assumed) {
        (true, _) => "estimate",
        (false, true) => "estimate: measured cycles at an assumed clock",
        (false, false) => "measured",
    };
    let engine = match s.engine {
        EngineKind::RtlJobs => "single-layer core RTL, one job per layer",
        EngineKind::Rtl => "whole-network engine RTL",
        EngineKind::Reference => "whole-network engine, reference model",
    };
    let link = match (s.bus, s.clocks.sck_mhz) {
        (BusKind::Spi, Some(f)) => {
            format!("SPI x{} at {f:.2} MHz", s.clocks.spi_lines.unwrap_or(1))
        }
        _ => "Wishbone".into(),
    };
    vec![
        LatencyRow {
            label: format!("MCU + accelerator, end to end ({engine}; {link})"),
            work: format!(
                "{:.0} {} link + {:.0} cycles, {} start(s)",
                s.link_cycles, s.link_unit, s.compute_cycles, s.starts_per_inference
            ),
            us: Some(s.end_to_end_us),
            estimate: s.estimate || clock_assumed,
            note: format!(
                "{kind} (fmax {:.1} MHz from {}; logits equal golden on {}/{})",
                s.clocks.fmax_mhz, s.clocks.fmax_source, s.logits_match, s.total
            ),
        },
        LatencyRow {
            label: format!("accelerator compute only ({engine}; L = {})", s.lanes),
            work: format!("{:.0} cycles", s.compute_cycles),
            us: Some(s.compute_us),
            estimate: s.estimate || clock_assumed,
            note: format!("{kind} (cycles / fmax {:.1} MHz)", s.clocks.fmax_mhz),
        },
    ]
}

/// The deployed system co-simulated: the firmware in QEMU drives the engine
/// RTL over SPI (`tbn cosim`). Its MCU time is instructions counted in QEMU at
/// one instruction per cycle, so the row is an estimate, as the MCU alone's.
pub fn cosim_row(c: &CosimReport) -> LatencyRow {
    let clock = if c.clocks.fmax_source.starts_with("assumed") {
        "assumed"
    } else {
        "synthesized"
    };
    LatencyRow {
        label: format!(
            "MCU + accelerator, end to end (firmware in QEMU driving the engine RTL; SPI x1 at {:.2} MHz)",
            c.clocks.sck_mhz
        ),
        work: format!(
            "{:.0} driver instructions + {:.0} sck link + {:.0} clk cycles in all",
            c.driver_instructions, c.sck_cycles, c.clk_cycles
        ),
        us: Some(c.end_to_end_us),
        estimate: true,
        note: format!(
            "estimate: co-simulation (`tbn cosim`), driver instructions measured in QEMU at 1 per cycle \
             ({} MHz), link and engine cycles measured in Verilator at the {clock} fmax {:.1} MHz; \
             the UART transport's {:.0} instructions are not counted; logits equal golden on {}/{}",
            c.clocks.mcu_mhz, c.clocks.fmax_mhz, c.transport_instructions, c.logits_match, c.total
        ),
    }
}

/// The GPU: throughput at the benchmark's batch size (not single-image latency).
pub fn gpu_row(gpu: Option<&GpuBenchReport>) -> LatencyRow {
    match gpu {
        Some(g) => {
            let (what, t) = match &g.model.tbn_integer {
                Some(t) => ("TBN integer", t),
                None => ("TBN float", &g.model.tbn_float),
            };
            LatencyRow {
                label: format!("GPU, {what}, batch {} ({})", g.model.batch, g.device),
                work: format!("{:.0} images/s", t.per_second),
                us: (t.per_second > 0.0).then(|| 1e6 / t.per_second),
                estimate: false,
                note: "measured: wall time per image at full batches (throughput, not the latency of one image)".into(),
            }
        }
        None => LatencyRow {
            label: "GPU".into(),
            work: "-".into(),
            us: None,
            estimate: false,
            note: "no GPU report: run `tbn gpu bench`".into(),
        },
    }
}

/// Every row of the comparison.
pub fn latency_rows(
    mcu: Option<&McuReport>,
    sim: Option<&SimReport>,
    gpu: Option<&GpuBenchReport>,
    mcu_mhz: f64,
) -> Vec<LatencyRow> {
    let mut rows = vec![mcu_row(mcu, mcu_mhz)];
    rows.extend(accelerator_rows(sim));
    rows.push(gpu_row(gpu));
    rows
}

/// Runs `tbn compare`.
pub fn run(a: Args) -> Result<()> {
    anyhow::ensure!(
        a.mcu_mhz.is_finite() && a.mcu_mhz > 0.0,
        "--mcu-mhz must be a positive number of MHz, not {}",
        a.mcu_mhz
    );
    let label = a
        .model
        .as_ref()
        .map_or("reference model".to_string(), |p| p.display().to_string());
    let sim: Option<SimReport> =
        reports::read(&a.sim_report.clone().unwrap_or_else(reports::sim_path))?;
    let mcu: Option<McuReport> =
        reports::read(&a.mcu_report.clone().unwrap_or_else(reports::mcu_path))?;
    let gpu: Option<GpuBenchReport> =
        reports::read(&a.gpu_report.clone().unwrap_or_else(reports::gpu_path))?;
    let rows = latency_rows(mcu.as_ref(), sim.as_ref(), gpu.as_ref(), a.mcu_mhz);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("TBN inference latency, {label}");
    for r in rows {
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
