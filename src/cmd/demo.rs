//! `tbn demo`: the whole chain on built-in defaults, side by side: golden
//! float and integer paths, model bytes, Verilog, the RTL in Verilator, the
//! firmware in QEMU, and synthesis for the UP5K. Each part runs as its own
//! `tbn` subcommand (`--json`); a part whose tools are missing says how to
//! install them instead of failing the demo.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use plotters::prelude::*;
use serde_json::{json, Value};

use super::compare::latency_rows;
use super::report::{McuReport, SimReport};

/// Arguments of `tbn demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Model (default: the bundled reference model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Lanes of the accelerator.
    #[arg(long, default_value_t = 32)]
    lanes: usize,
    /// Images run through the RTL simulation.
    #[arg(long, default_value_t = 200)]
    sim_images: usize,
    /// Images run on the MCU in QEMU.
    #[arg(long, default_value_t = 100)]
    mcu_images: usize,
    /// Skip FPGA synthesis.
    #[arg(long)]
    no_synth: bool,
    /// Output folder for the Verilog, reports and plot.
    #[arg(long, default_value = "out/demo")]
    out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// Assumed MCU clock for the latency estimate (the paper's Arduino Nano 33 BLE).
const MCU_MHZ: f64 = 64.0;

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// Runs `tbn ARGS`, returning its JSON output or why it could not run.
fn tbn(args: &[String]) -> std::result::Result<Value, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    eprintln!("==> tbn {}", args.join(" "));
    let out = Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(6).collect();
        return Err(tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // The JSON object is the last thing printed (whole text, or its last line).
    serde_json::from_str(text.trim())
        .or_else(|_| {
            serde_json::from_str(
                text.lines()
                    .rev()
                    .find(|l| l.starts_with('{'))
                    .unwrap_or(""),
            )
        })
        .map_err(|e| format!("unreadable JSON from tbn {}: {e}", args.join(" ")))
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// One part of the demo: its result, or the reason it was skipped.
fn part(name: &str, needs: &[(&str, &str)], args: Vec<String>) -> Value {
    for (tool, install) in needs {
        if !on_path(tool) {
            let msg =
                format!("{tool} not found: install it with `{install}` (or run scripts/setup.sh)");
            eprintln!("==> {name}: skipped, {msg}");
            return json!({"skipped": msg});
        }
    }
    match tbn(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("==> {name}: failed:\n{e}");
            json!({"failed": e})
        }
    }
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_f64()
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "n/a".into(), |x| format!("{x:.digits$}"))
}

/// The reason a part was skipped or failed: its `error:` line, else its last line.
fn why(v: &Value) -> String {
    let text = v
        .get("skipped")
        .or_else(|| v.get("failed"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let line = text
        .lines()
        .find(|l| l.starts_with("error:"))
        .or_else(|| text.lines().last())
        .unwrap_or("");
    line.chars().take(200).collect()
}

/// Draws the latency comparison as an SVG bar chart (no fonts needed).
fn plot_latency(path: &Path, bars: &[(String, f64)]) -> Result<()> {
    let root = SVGBackend::new(path, (760, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ymax = bars.iter().map(|b| b.1).fold(1e-9, f64::max) * 1.2;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Latency per MNIST inference (microseconds)",
            ("sans-serif", 20),
        )
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((0..bars.len()).into_segmented(), 0.0..ymax)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let names: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_desc("us")
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let mut r = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), b.1),
                ],
                BLUE.mix(0.6).filled(),
            );
            r.set_margin(0, 0, 20, 20);
            r
        }))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// Runs `tbn demo`.
pub fn run(a: Args) -> Result<()> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let model = a
        .model
        .clone()
        .unwrap_or_else(crate::paths::reference_model);
    let m = model.display().to_string();
    let lanes = a.lanes.to_string();
    let out = |p: &str| a.out.join(p).display().to_string();

    let inspect = part("inspect", &[], s(&["inspect", &m, "--json"]));
    let float = part("float", &[], s(&["eval", "--model", &m, "--json"]));
    let integer = part(
        "integer",
        &[],
        s(&["eval", "--model", &m, "--integer", "--json"]),
    );
    let hdl_dir = out("hdl");
    let hdl = {
        eprintln!("==> tbn hdl emit --lanes {lanes} --out {hdl_dir}");
        let exe = std::env::current_exe()?;
        match Command::new(exe)
            .args(["hdl", "emit", "--lanes", &lanes, "--out", &hdl_dir])
            .output()
        {
            Ok(o) if o.status.success() => json!({"out": hdl_dir}),
            Ok(o) => json!({"failed": String::from_utf8_lossy(&o.stderr).trim().to_string()}),
            Err(e) => json!({"failed": e.to_string()}),
        }
    };
    let sim = part(
        "sim",
        &[
            ("verilator", "apt-get install verilator"),
            ("g++", "apt-get install g++"),
        ],
        s(&[
            "sim",
            "--model",
            &m,
            "--lanes",
            &lanes,
            "--limit",
            &a.sim_images.to_string(),
            "--json",
        ]),
    );
    let mcu = part(
        "mcu",
        &[("qemu-system-arm", "apt-get install qemu-system-arm")],
        s(&[
            "mcu",
            "run",
            "--model",
            &m,
            "--images",
            &a.mcu_images.to_string(),
            "--json",
        ]),
    );
    let synth = if a.no_synth {
        json!({"skipped": "--no-synth"})
    } else {
        part(
            "synth",
            &[
                ("yosys", "apt-get install yosys"),
                (
                    "nextpnr-ice40",
                    "apt-get install nextpnr-ice40 fpga-icestorm",
                ),
            ],
            // Report the achieved fmax even when it misses the 48 MHz target.
            s(&[
                "synth",
                "--device",
                "up5k",
                "--lanes",
                &lanes,
                "--out",
                &out("synth-up5k"),
                "--allow-timing-fail",
                "--json",
            ]),
        )
    };

    let fmax = num(&synth, &["fmax_mhz"]);
    // The whole-network engine over SPI, at the synthesized fmax when there is one.
    let mut engine_args = s(&[
        "sim",
        "--model",
        &m,
        "--lanes",
        &lanes,
        "--engine",
        "reference",
        "--bus",
        "spi",
        "--limit",
        "500",
        "--json",
    ]);
    if let Some(f) = fmax {
        engine_args.extend(s(&["--fmax-mhz", &f.to_string()]));
    }
    let engine = part("engine", &[], engine_args);
    let engine_rep: Option<SimReport> = serde_json::from_value(engine.clone()).ok();
    let jobs_rep: Option<SimReport> = serde_json::from_value(sim.clone()).ok();
    let mcu_rep: Option<McuReport> = serde_json::from_value(mcu.clone()).ok();

    let bytes = |k: &str| num(&inspect, &["bytes", k]);
    let cycles = jobs_rep.as_ref().map(|r| r.compute_cycles);
    let resource = |key: &str| {
        synth
            .get("resources")
            .and_then(Value::as_array)
            .and_then(|rs| {
                rs.iter()
                    .find(|r| r["key"] == key)
                    .map(|r| format!("{} / {}", r["used"], r["available"]))
            })
    };
    let opt = num(&mcu, &["optimized_instr_per_inference"]);
    let base = num(&mcu, &["baseline_instr_per_inference"]);
    let mcu_us = opt.map(|i| i / MCU_MHZ);
    let base_us = base.map(|i| i / MCU_MHZ);
    let system = latency_rows(mcu_rep.as_ref(), engine_rep.as_ref(), MCU_MHZ);

    let pct = |v: &Value| num(v, &["accuracy"]).map(|x| 100.0 * x);
    let mut rows: Vec<(String, String)> = vec![
        (
            "accuracy, float path (10,000 images)".into(),
            format!("{}%", fmt_opt(pct(&float), 2)),
        ),
        (
            "accuracy, integer path, 8-bit activations".into(),
            format!("{}%", fmt_opt(pct(&integer), 2)),
        ),
        (
            format!("accuracy, RTL in Verilator ({} images)", a.sim_images),
            if let Some(r) = &jobs_rep {
                format!(
                    "{:.2}% (logits identical to golden: {} / {})",
                    100.0 * r.accuracy,
                    r.logits_match,
                    r.total
                )
            } else {
                why(&sim)
            },
        ),
        (
            format!(
                "MCU in QEMU ({} images): integer logits equal golden",
                a.mcu_images
            ),
            if mcu.get("int_logits_match").is_some() {
                format!("{} / {}", mcu["int_logits_match"], mcu["images"])
            } else {
                why(&mcu)
            },
        ),
        (
            "model bytes: f32 / binary / TBN".into(),
            format!(
                "{} / {} / {}",
                fmt_opt(bytes("f32"), 0),
                fmt_opt(bytes("binary"), 0),
                fmt_opt(bytes("tbn"), 0)
            ),
        ),
        (
            format!(
                "RTL cycles per inference, single-layer core, one job per layer (L = {})",
                a.lanes
            ),
            format!(
                "{} (efficiency vs lane-bound ideal {}; {} starts per inference)",
                fmt_opt(cycles, 0),
                fmt_opt(jobs_rep.as_ref().map(|r| r.efficiency), 3),
                fmt_opt(jobs_rep.as_ref().map(|r| r.starts_per_inference), 0)
            ),
        ),
        (
            "MCU instructions per inference: optimized / paper-style baseline".into(),
            format!(
                "{} / {} ({}x)",
                fmt_opt(opt, 0),
                fmt_opt(base, 0),
                fmt_opt(num(&mcu, &["speedup"]), 1)
            ),
        ),
        (
            format!("UP5K, L = {}: LUTs, BRAM, fmax", a.lanes),
            if synth.get("resources").is_some() {
                format!(
                    "{} LUT, {} BRAM, fmax {} MHz (48 MHz target met: {})",
                    resource("lut").unwrap_or_default(),
                    resource("bram").unwrap_or_default(),
                    fmt_opt(fmax, 1),
                    synth["timing_met"]
                )
            } else {
                why(&synth)
            },
        ),
        (
            format!(
                "latency on MCU at {MCU_MHZ} MHz, 1 instr/cycle (estimate): optimized / baseline"
            ),
            format!("{} us / {} us", fmt_opt(mcu_us, 0), fmt_opt(base_us, 0)),
        ),
    ];
    for r in &system {
        rows.push((
            format!("latency: {}", r.label),
            format!("{} us ({}; {})", fmt_opt(r.us, 1), r.work, r.note),
        ));
    }
    if engine_rep.is_none() {
        rows.push(("whole-network engine".into(), why(&engine)));
    }
    if hdl.get("failed").is_some() {
        rows.push(("Verilog".into(), why(&hdl)));
    } else {
        rows.push(("Verilog".into(), hdl_dir.clone()));
    }

    let mut bars = Vec::new();
    let sys_us = |i: usize| system.get(i).and_then(|r| r.us);
    for (n, v) in [
        ("MCU baseline", base_us),
        ("MCU alone", mcu_us),
        ("MCU+FPGA SPI (est.)", sys_us(1)),
        ("FPGA compute (est.)", sys_us(2)),
    ] {
        if let Some(v) = v {
            bars.push((n.to_string(), v));
        }
    }
    let plot = a.out.join("latency.svg");
    if !bars.is_empty() {
        plot_latency(&plot, &bars)?;
    }
    let mut md = String::from("# TBN demo report\n\n| | |\n| --- | --- |\n");
    for (k, v) in &rows {
        md += &format!("| {k} | {v} |\n");
    }
    if !bars.is_empty() {
        md += "\n![latency per inference](latency.svg)\n";
    }
    let report = a.out.join("report.md");
    tbn_golden::atomic::write_file(&report, md.as_bytes())
        .with_context(|| format!("writing {}", report.display()))?;
    let summary = json!({
        "inspect": inspect, "float": float, "integer": integer, "hdl": hdl, "sim": sim, "engine": engine,
        "mcu": mcu, "synth": synth,
        "latency_us": {
            "mcu_alone": mcu_us, "mcu_baseline": base_us,
            "mcu_plus_accelerator_spi_estimate": sys_us(1), "accelerator_compute_estimate": sys_us(2),
        },
    });
    tbn_golden::atomic::write_file(
        a.out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    if a.json {
        println!("{summary}");
    } else {
        let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(10);
        println!();
        for (k, v) in &rows {
            println!("{k:<w$}  {v}");
        }
        println!("\nreport: {} (plot: {})", report.display(), plot.display());
    }
    Ok(())
}
