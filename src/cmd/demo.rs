//! `tbn demo`: the whole chain on built-in defaults, side by side: golden
//! float and integer paths, model bytes, Verilog, synthesis for the UP5K
//! (the engine with feature maps: the ECP5-25K), the RTL in Verilator, the
//! whole-network engine RTL over SPI and Wishbone and the firmware in QEMU.
//! Each part calls the command's library function and keeps its typed
//! report; a part whose tools are missing says how to install them instead
//! of failing the demo. The result is a [`DemoReport`] (out/demo/summary.json;
//! with `--results` also docs/results/demo.json and the README's block).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use tbn_golden::model::Layer;

use super::compare::{accelerator_rows, cosim_row, mcu_row};
use super::{cosim, eval, hdl, inspect, mcu, report, sim, synth};
use crate::reports::{self, BusKind, DemoImages, DemoReport, EngineKind, Part};

/// The parts of the demo, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum PartName {
    /// Layers and storage (`tbn inspect`).
    Inspect,
    /// Golden float path (`tbn eval`).
    Float,
    /// Golden integer path (`tbn eval --integer`).
    Integer,
    /// Verilog (`tbn hdl emit`).
    Hdl,
    /// UP5K synthesis of the single-layer core (`tbn synth`).
    Synth,
    /// Synthesis of the whole-network engine (`tbn synth --engine`): the
    /// UP5K, or the ECP5-25K with feature maps for a model with convolutions.
    SynthEngine,
    /// Single-layer core RTL in Verilator (`tbn sim`).
    Sim,
    /// Whole-network engine RTL in Verilator behind its SPI top (`tbn sim --engine rtl --bus spi`).
    Engine,
    /// Whole-network engine RTL in Verilator behind its SPI top with quad writes
    /// (`tbn sim --engine rtl --bus spi --spi-lines 4`).
    EngineQuad,
    /// Whole-network engine RTL in Verilator (`tbn sim --engine rtl --bus wishbone`).
    EngineRtl,
    /// Firmware in QEMU (`tbn mcu run`).
    Mcu,
    /// Firmware in QEMU driving the engine RTL over SPI (`tbn cosim`).
    Cosim,
}

/// Arguments of `tbn demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Model (default: the bundled reference model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Lanes of the accelerator.
    #[arg(long, default_value_t = 32, value_parser = super::common::lanes)]
    lanes: usize,
    /// Images run through the RTL simulation.
    #[arg(long, default_value_t = 200, value_parser = super::common::at_least_one)]
    sim_images: usize,
    /// Images run through the whole-network engine RTL over SPI (Verilator).
    #[arg(long, default_value_t = 500, value_parser = super::common::at_least_one)]
    engine_images: usize,
    /// Images run through the whole-network engine RTL over SPI with quad writes (Verilator).
    #[arg(long, default_value_t = 100, value_parser = super::common::at_least_one)]
    engine_quad_images: usize,
    /// Images run through the whole-network engine RTL over Wishbone (Verilator).
    #[arg(long, default_value_t = 100, value_parser = super::common::at_least_one)]
    engine_rtl_images: usize,
    /// Images the firmware classifies through the engine RTL (`tbn cosim`, 1..=256).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=256))]
    cosim_images: u32,
    /// Images run on the MCU in QEMU.
    #[arg(long, default_value_t = 100, value_parser = super::common::at_least_one)]
    mcu_images: usize,
    /// Score the golden paths on the first N test images only (default: all).
    #[arg(long, value_parser = super::common::at_least_one)]
    eval_images: Option<usize>,
    /// A short run for tests: 200 golden images, 3 RTL, 20 engine and 2 MCU
    /// images, no synthesis (explicit image flags still win).
    #[arg(long)]
    quick: bool,
    /// Parts to skip (comma separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    skip: Vec<PartName>,
    /// Skip FPGA synthesis (same as --skip synth).
    #[arg(long)]
    no_synth: bool,
    /// Output folder for the Verilog, reports and plot.
    #[arg(long, default_value = "out/demo")]
    out: PathBuf,
    /// Also write docs/results/demo.json and regenerate the README's results block.
    #[arg(long, conflicts_with = "quick")]
    results: bool,
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

/// Runs the parts in turn, each with a progress line.
struct Steps {
    skip: BTreeSet<PartName>,
    /// Parts this model cannot run, with the reason (reported as skipped, not failed).
    unsupported: BTreeMap<PartName, String>,
    done: usize,
    total: usize,
}

impl Steps {
    /// Runs one part: skipped when asked or when a tool is missing, else `f`.
    /// `spinner` shows a spinner for parts without a progress bar of their own.
    fn run<T>(
        &mut self,
        name: PartName,
        what: &str,
        needs: &[(&str, &str)],
        spinner: bool,
        f: impl FnOnce() -> Result<T>,
    ) -> Part<T> {
        self.done += 1;
        let tag = format!("[{}/{}] {what}", self.done, self.total);
        if self.skip.contains(&name) {
            eprintln!("{tag}: skipped (--skip)");
            return Part::Skipped("--skip".into());
        }
        if let Some(why) = self.unsupported.get(&name) {
            eprintln!("{tag}: skipped, {why}");
            return Part::Skipped(why.clone());
        }
        for (tool, install) in needs {
            if !on_path(tool) {
                let msg = format!(
                    "{tool} not found: install it with `{install}` (or run scripts/setup.sh)"
                );
                eprintln!("{tag}: skipped, {msg}");
                return Part::Skipped(msg);
            }
        }
        let bar = if spinner {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("template"),
            );
            b.set_message(tag.clone());
            b.enable_steady_tick(Duration::from_millis(200));
            b
        } else {
            eprintln!("{tag}");
            ProgressBar::hidden()
        };
        let start = Instant::now();
        let out = f();
        bar.finish_and_clear();
        let secs = start.elapsed().as_secs_f64();
        match out {
            Ok(t) => {
                eprintln!("{tag}: done in {secs:.1} s");
                Part::Ok(t)
            }
            Err(e) => {
                let e = format!("{e:#}");
                eprintln!("{tag}: failed after {secs:.1} s: {e}");
                Part::Failed(e)
            }
        }
    }
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
    let start = Instant::now();
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let model = a
        .model
        .clone()
        .unwrap_or_else(crate::paths::reference_model);
    let pick = |flag: usize, default: usize, quick: usize| {
        if a.quick && flag == default {
            quick
        } else {
            flag
        }
    };
    let images = DemoImages {
        eval: a.eval_images.or(a.quick.then_some(200)),
        sim: pick(a.sim_images, 200, 3),
        engine: pick(a.engine_images, 500, 20),
        engine_rtl: pick(a.engine_rtl_images, 100, 3),
        engine_quad: pick(a.engine_quad_images, 100, 3),
        mcu: pick(a.mcu_images, 100, 2),
        cosim: pick(a.cosim_images as usize, 20, 2),
    };
    let mut skip: BTreeSet<PartName> = a.skip.iter().copied().collect();
    if a.no_synth || a.quick {
        skip.insert(PartName::Synth);
        skip.insert(PartName::SynthEngine);
    }
    // The single-layer job core runs dense layers only: for a model with
    // convolutions its part is skipped with the reason (the whole-network
    // engine runs conv and max-pool layers: model image format 2).
    let mut unsupported = BTreeMap::new();
    let has_conv = super::common::load_model(Some(&model))
        .is_ok_and(|m| m.layers.iter().any(|l| matches!(l, Layer::Conv2d(_))));
    if has_conv {
        let why = "the model has convolutions; the single-layer job core runs dense layers only (the engine parts run it)";
        unsupported.insert(PartName::Sim, why.to_string());
    }
    let mut steps = Steps {
        skip,
        unsupported,
        done: 0,
        total: 12,
    };
    let lanes = a.lanes;
    let verilator = [
        ("verilator", "apt-get install verilator"),
        ("g++", "apt-get install g++"),
    ];

    let inspect = steps.run(
        PartName::Inspect,
        "model layers and storage",
        &[],
        false,
        || inspect::inspect(&model),
    );
    let eval_args = |integer: bool| eval::Args {
        model: Some(model.clone()),
        images: None,
        labels: None,
        integer,
        act_bits: 8,
        calib: 500,
        limit: images.eval,
        json: false,
    };
    let float = steps.run(PartName::Float, "golden float path", &[], false, || {
        eval::evaluate(&eval_args(false))
    });
    let integer = steps.run(PartName::Integer, "golden integer path", &[], false, || {
        eval::evaluate(&eval_args(true))
    });
    let hdl = steps.run(PartName::Hdl, "Verilog", &[], true, || {
        hdl::emit(&hdl::EmitArgs {
            lanes,
            tile_bits: 32768,
            max_in: 4096,
            max_rows: 1024,
            engine_mem: hdl::EngineMem::Bram,
            out: a.out.join("hdl"),
        })
    });
    let synth_tools = [
        ("yosys", "apt-get install yosys"),
        (
            "nextpnr-ice40",
            "apt-get install nextpnr-ice40 fpga-icestorm",
        ),
    ];
    let synth = steps.run(
        PartName::Synth,
        "UP5K synthesis of the single-layer core (yosys, nextpnr)",
        &synth_tools,
        true,
        || {
            // Report the achieved fmax even when it misses the 48 MHz target.
            synth::synthesize(&up5k_synth(lanes, false, a.out.join("synth-up5k")))
        },
    );
    // A model with convolutions needs the engine with feature maps, which
    // the UP5K cannot hold (docs/hdl.md, "The UP5K and the conv engine"):
    // its figures are clocked by that engine placed on the ECP5-25K (the
    // YoWASP tools of the project's virtualenv, which `tbn synth` finds).
    let (engine_what, engine_needs, engine_args) = if has_conv {
        (
            "ECP5-25K synthesis of the whole-network engine with feature maps (yosys, nextpnr-ecp5)",
            &[][..],
            ecp5_conv_synth(lanes, a.out.join("synth-ecp5-engine")),
        )
    } else {
        (
            "UP5K synthesis of the whole-network engine (yosys, nextpnr)",
            &synth_tools[..],
            up5k_synth(lanes, true, a.out.join("synth-up5k-engine")),
        )
    };
    let synth_engine = steps.run(
        PartName::SynthEngine,
        engine_what,
        engine_needs,
        true,
        || synth::synthesize(&engine_args),
    );
    // Each design's times use its own placed fmax: `synthesize` left the
    // reports in reports/synth.json and reports/synth-engine.json (the sim
    // reports name them as their clock's source).
    let synth_report = synth.ok().map(|_| reports::synth_path());
    let engine_synth_report = synth_engine.ok().map(|_| reports::synth_engine_path());
    let sim_args = |engine: EngineKind, bus: BusKind, limit: usize| sim::Args {
        model: Some(model.clone()),
        images: None,
        labels: None,
        limit,
        lanes,
        act_bits: 8,
        calib: 500,
        engine,
        bus,
        sck_mhz: None,
        spi_lines: 1,
        fmax_mhz: None,
        synth_report: match engine {
            EngineKind::RtlJobs => synth_report.clone(),
            EngineKind::Rtl | EngineKind::Reference => engine_synth_report.clone(),
        },
        capacities: sim::Capacities::Default,
        image_out: None,
        trace: None,
        json: false,
    };
    let sim = steps.run(
        PartName::Sim,
        "single-layer core RTL in Verilator",
        &verilator,
        false,
        || {
            sim::simulate(&sim_args(
                EngineKind::RtlJobs,
                BusKind::Wishbone,
                images.sim,
            ))
        },
    );
    let engine = steps.run(
        PartName::Engine,
        "whole-network engine RTL in Verilator (SPI top)",
        &verilator,
        false,
        || sim::simulate(&sim_args(EngineKind::Rtl, BusKind::Spi, images.engine)),
    );
    let engine_quad = steps.run(
        PartName::EngineQuad,
        "whole-network engine RTL in Verilator (SPI top, quad writes)",
        &verilator,
        false,
        || {
            sim::simulate(&sim::Args {
                spi_lines: 4,
                ..sim_args(EngineKind::Rtl, BusKind::Spi, images.engine_quad)
            })
        },
    );
    let engine_rtl = steps.run(
        PartName::EngineRtl,
        "whole-network engine RTL in Verilator (Wishbone)",
        &verilator,
        false,
        || {
            sim::simulate(&sim_args(
                EngineKind::Rtl,
                BusKind::Wishbone,
                images.engine_rtl,
            ))
        },
    );
    let mcu = steps.run(
        PartName::Mcu,
        "firmware in QEMU (Cortex-M4)",
        &[("qemu-system-arm", "apt-get install qemu-system-arm")],
        true,
        || {
            mcu::run_on_mcu(&mcu::RunArgs {
                model: Some(model.clone()),
                images: images.mcu,
                act_bits: 8,
                calib: 500,
                timeout: 120,
                json: false,
            })
        },
    );
    let cosim = steps.run(
        PartName::Cosim,
        "firmware in QEMU driving the engine RTL over SPI (co-simulation)",
        &[
            ("qemu-system-arm", "apt-get install qemu-system-arm"),
            verilator[0],
        ],
        true,
        || {
            cosim::cosimulate(&cosim::Args {
                model: Some(model.clone()),
                images: images.cosim as u32,
                lanes,
                synth_report: engine_synth_report.clone(),
                ..cosim::Args::defaults()
            })
        },
    );
    if let Some(c) = cosim.ok().filter(|c| c.logits_match < c.total) {
        eprintln!(
            "warning: co-simulation logits differ from golden on {} of {} images",
            c.total - c.logits_match,
            c.total
        );
    }
    for (name, part) in [
        ("RTL", &sim),
        ("engine", &engine),
        ("engine RTL", &engine_rtl),
        ("engine quad", &engine_quad),
    ] {
        if let Some(r) = part.ok().filter(|r| r.first_mismatch.is_some()) {
            eprintln!(
                "warning: {name} logits differ from golden on {} of {} images",
                r.total - r.logits_match,
                r.total
            );
        }
    }

    let mut latency = vec![mcu_row(mcu.ok(), MCU_MHZ)];
    if let Some(c) = cosim.ok() {
        latency.push(cosim_row(c));
    }
    for part in [&sim, &engine_rtl, &engine] {
        if let Some(r) = part.ok() {
            latency.extend(accelerator_rows(Some(r)));
        }
    }
    // (quad writes change the link only: its compute row would repeat SPI x1's)
    if let Some(r) = engine_quad.ok() {
        latency.extend(accelerator_rows(Some(r)).into_iter().take(1));
    }
    let demo = DemoReport {
        model: model.clone(),
        lanes: lanes as u32,
        mcu_mhz: MCU_MHZ,
        images,
        inspect,
        float,
        integer,
        hdl,
        sim,
        engine,
        engine_rtl,
        engine_quad,
        mcu,
        cosim,
        synth,
        synth_engine,
        latency,
        seconds: start.elapsed().as_secs_f64(),
    };

    let mut bars = Vec::new();
    if let Some(m) = demo.mcu.ok() {
        bars.push((
            "MCU baseline (est.)".to_string(),
            m.baseline_instr_per_inference as f64 / MCU_MHZ,
        ));
    }
    for r in &demo.latency {
        if let Some(us) = r.us {
            let name = if r.label.starts_with("MCU alone") {
                "MCU alone"
            } else if r.label.contains("firmware in QEMU") {
                "MCU+FPGA co-sim"
            } else if r.label.contains("single-layer") {
                "MCU+FPGA jobs"
            } else if r.label.starts_with("MCU + accelerator") {
                "MCU+FPGA engine"
            } else {
                "FPGA compute"
            };
            let est = if r.estimate { " (est.)" } else { "" };
            bars.push((format!("{name}{est}"), us));
        }
    }
    let plot = a.out.join("latency.svg");
    if !bars.is_empty() {
        plot_latency(&plot, &bars)?;
    }
    let rows = report::rows(&demo);
    let mut md = String::from("# TBN demo report\n\n");
    md += &report::markdown_table(&rows);
    if !bars.is_empty() {
        md += "\n![latency per inference](latency.svg)\n";
    }
    let report_md = a.out.join("report.md");
    tbn_golden::atomic::write_file(&report_md, md.as_bytes())
        .with_context(|| format!("writing {}", report_md.display()))?;
    let summary = a.out.join("summary.json");
    reports::write(&summary, &demo)?;
    if a.results {
        let results = reports::demo_results_path();
        reports::write(&results, &demo)?;
        let readme = crate::paths::project_path("README.md");
        report::update_readme(&readme, &demo, Path::new("docs/results/demo.json"), false)?;
        eprintln!(
            "wrote {} and the results block of {}",
            results.display(),
            readme.display()
        );
    }
    if a.json {
        println!("{}", serde_json::to_string(&demo)?);
    } else {
        let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(10);
        println!();
        for (k, v) in &rows {
            println!("{k:<w$}  {v}");
        }
        println!(
            "\nreport: {} (summary: {}, plot: {})",
            report_md.display(),
            summary.display(),
            plot.display()
        );
    }
    // The report is written either way; a part that failed fails the demo.
    let failed = demo.failed_parts();
    if !failed.is_empty() {
        bail!(
            "demo part(s) failed: {} (the reasons are in {})",
            failed.join(", "),
            report_md.display()
        );
    }
    Ok(())
}

/// `tbn synth` of the whole-network engine with feature maps for the
/// ECP5-25K at `lanes` (the capacities of `Config::conv_engine` and
/// `NetMem::conv_engine`, which hold the trained CNN; 80 MHz, seed 1), into
/// `out`; the achieved fmax is reported even when it misses the target.
fn ecp5_conv_synth(lanes: usize, out: PathBuf) -> synth::Args {
    let cfg = tbn_synth::tbn_hdl::Config::conv_engine();
    synth::Args {
        device: tbn_synth::Device::Ecp5_25k,
        freq: Some(80.0),
        tile_bits: Some(cfg.tile_max),
        max_in: cfg.max_in,
        max_rows: cfg.max_rows,
        maps: Some(tbn_synth::tbn_hdl::netcore::NetMem::CONV_ENGINE_MAPS as usize),
        ..up5k_synth(lanes, true, out)
    }
}

/// `tbn synth` for the UP5K at `lanes` (the UP5K capacities, seed 1), the
/// single-layer core or (`engine`) the whole-network engine's SPI top, into
/// `out`; the achieved fmax is reported even when it misses the target.
fn up5k_synth(lanes: usize, engine: bool, out: PathBuf) -> synth::Args {
    synth::Args {
        device: tbn_synth::Device::Up5k,
        lanes: Some(lanes.to_string()),
        freq: None,
        tile_bits: None,
        max_in: 1024,
        max_rows: 256,
        out: Some(out),
        json: false,
        allow_timing_fail: true,
        sweep: false,
        sim_report: vec![],
        model: None,
        seed: 1,
        no_pack: false,
        engine,
        ooc: false,
        maps: None,
    }
}
