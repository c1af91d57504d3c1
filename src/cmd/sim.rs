//! `tbn sim`: a model's integer program end to end through the accelerator,
//! compared bit-exactly with the golden integer path, with honest per
//! inference system figures ([`SimReport`]): link cost, compute cycles, host
//! work, end-to-end time at the core's fmax, starts per inference.
//!
//! `--engine rtl-jobs` (default) runs the single-layer core RTL in Verilator,
//! one job per dense stage with host requantization (measured);
//! `--engine reference` runs the compiled model image (docs/model-image.md)
//! through the driver on the engine's reference model, with compute cycles
//! from the engine's ideal cycle model (an estimate until the engine RTL lands);
//! `--engine rtl` runs the same image through the driver on the Verilated
//! whole-network engine: `--bus wishbone` on its Wishbone top
//! (`tbn_net_core`), `--bus spi` on its standalone SPI top (`tbn_net_spi_top`)
//! behind a bit-level SPI master with SCK at `--sck-mhz` (default fmax) as an
//! independent clock, quad writes with `--spi-lines 4` (measured: SCK cycles
//! clocked, simulated clk cycles).
//! The report is also written to reports/sim.json (read by `tbn compare`).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use tbn_driver::bus::Bus;
use tbn_driver::driver::Tbn;
use tbn_driver::image::chip::RefChip;
use tbn_driver::image::format::{Descriptor, Op, Target};
use tbn_driver::image::Image;
use tbn_driver::link::{LinkCounter, LinkModel, SpiLink};
use tbn_golden::float::argmax;
use tbn_golden::integer::Program;
use tbn_golden::Model;
use tbn_sim::network::NetworkRunner;
use tbn_sim::{hw, Accelerator, BuildOptions, DriverBus};

use super::clock::{self, Design};
use super::common::{float_input, images_to_score, load_dataset, load_model, program_for};
use crate::reports::{self, BusKind, Clocks, EngineKind, HostWork, LayerFigures, SimReport};

/// Arguments of `tbn sim`.
#[derive(clap::Args)]
pub struct Args {
    /// Model file (default: the bundled reference model).
    #[arg(long)]
    pub(crate) model: Option<PathBuf>,
    /// IDX images (default: bundled MNIST test images).
    #[arg(long)]
    pub(crate) images: Option<PathBuf>,
    /// IDX labels (default: bundled MNIST test labels).
    #[arg(long)]
    pub(crate) labels: Option<PathBuf>,
    /// Run only the first N images (N >= 1).
    #[arg(long, default_value_t = 100, value_parser = super::common::at_least_one)]
    pub(crate) limit: usize,
    /// Lanes of the simulated core.
    #[arg(long, default_value_t = 32, value_parser = super::common::lanes)]
    pub(crate) lanes: usize,
    /// Activation bits of the integer program.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub(crate) act_bits: u8,
    /// Calibration images (from the training subset).
    #[arg(long, default_value_t = 500, value_parser = super::common::at_least_one)]
    pub(crate) calib: usize,
    /// Which accelerator runs the model.
    #[arg(long, value_enum, default_value_t = EngineKind::RtlJobs)]
    pub(crate) engine: EngineKind,
    /// Host link.
    #[arg(long, value_enum, default_value_t = BusKind::Wishbone)]
    pub(crate) bus: BusKind,
    /// SPI clock in MHz (default: fmax; the standalone top's SCK-clocked bridge supports f_sck <= f_clk).
    /// `--engine rtl` simulates the engine's SPI top at f_sck / f_clk = this / fmax; `--engine rtl-jobs` only at f_sck = f_clk.
    #[arg(long)]
    pub(crate) sck_mhz: Option<f64>,
    /// SPI data lines: 1 (standard) or 4 (quad writes, 1-4-4; reads stay on one line; simulated by `--engine rtl` and `rtl-jobs`).
    #[arg(long, default_value_t = 1, value_parser = clap::builder::ValueParser::new(spi_lines))]
    pub(crate) spi_lines: u32,
    /// Core clock in MHz for the times (default: the placed fmax of the design that runs:
    /// reports/synth.json for the single-layer core, reports/synth-engine.json for the engine).
    #[arg(long)]
    pub(crate) fmax_mhz: Option<f64>,
    /// Synthesis report to take fmax from (default: the design's, as for --fmax-mhz).
    #[arg(long)]
    pub(crate) synth_report: Option<PathBuf>,
    /// Capacities the model image is compiled and loaded for: `--engine
    /// reference` assumes them; `--engine rtl` builds the engine RTL with
    /// them (default or up5k; map is no built configuration).
    #[arg(long, value_enum, default_value_t = Capacities::Default)]
    pub(crate) capacities: Capacities,
    /// Write the compiled model image (`--engine reference`) to this file (little-endian words).
    #[arg(long)]
    pub(crate) image_out: Option<PathBuf>,
    /// Write a VCD waveform of the whole run (`--engine rtl-jobs`).
    #[arg(long)]
    pub(crate) trace: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

fn spi_lines(s: &str) -> std::result::Result<u32, String> {
    match s {
        "1" => Ok(1),
        "4" => Ok(4),
        _ => Err(format!("SPI data lines must be 1 or 4, not {s}")),
    }
}

/// The engine configuration the model image is compiled and loaded for
/// (`--engine reference`), or the engine RTL is built with (`--engine rtl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Capacities {
    /// The default engine RTL's capacities (`tbn_sim::hw::default_engine`: the job core's
    /// default ones with TILE_MAX 131,072, 32,768 weight words and feature maps).
    Default,
    /// The engine RTL's UP5K configuration (tbn-hdl `Config::up5k_engine`, `NetMem::up5k`).
    Up5k,
    /// The largest configuration the register map and the driver admit: what a larger
    /// engine than any built could hold (an assumption).
    Map,
}

impl Capacities {
    /// The target for `lanes` (the UP5K configuration has its own lane count).
    fn target(self, lanes: u32) -> Result<Target> {
        Ok(match self {
            Capacities::Default => hw::reference_target(lanes),
            Capacities::Up5k => {
                let (cfg, mem) = hw::up5k_engine(lanes as usize).context("--capacities up5k")?;
                tbn_hdl::netcore::net_target_mem(&cfg, &mem)
            }
            Capacities::Map => hw::map_target(lanes),
        })
    }

    fn describe(self) -> &'static str {
        match self {
            Capacities::Default => {
                "the default engine RTL's capacities (tbn_sim::hw::default_engine)"
            }
            Capacities::Up5k => "the engine's UP5K configuration",
            Capacities::Map => {
                "the register map's limits (an assumption: a configuration larger than any built)"
            }
        }
    }
}

/// fmax of the design that runs (see [`clock::fmax`]) and the link clock.
fn clocks(a: &Args) -> Result<Clocks> {
    let design = match a.engine {
        EngineKind::RtlJobs => Design::JobCore,
        EngineKind::Rtl | EngineKind::Reference => Design::Engine,
    };
    let (fmax_mhz, fmax_source) = clock::fmax(a.fmax_mhz, a.synth_report.as_deref(), design)?;
    let (sck_mhz, sck_source, spi_lines) = match a.bus {
        BusKind::Wishbone => (None, None, None),
        BusKind::Spi => {
            let (f, src) = match a.sck_mhz {
                Some(f) => (f, "--sck-mhz".to_string()),
                None => (
                    fmax_mhz,
                    "fmax (the SCK-clocked bridge supports f_sck <= f_clk)".to_string(),
                ),
            };
            if !(f.is_finite() && f > 0.0) {
                bail!("--sck-mhz must be a positive number of MHz, not {f}");
            }
            (Some(f), Some(src), Some(a.spi_lines))
        }
    };
    Ok(Clocks {
        fmax_mhz,
        fmax_source,
        sck_mhz,
        sck_source,
        spi_lines,
    })
}

fn progress(a: &Args, total: usize) -> ProgressBar {
    let bar = if a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} [{elapsed}]").expect("template"),
    );
    bar
}

/// Counts of one run's comparison with golden.
#[derive(Default)]
struct Tally {
    correct: usize,
    same_pred: usize,
    same_logits: usize,
    first_diff: Option<usize>,
}

impl Tally {
    fn add(&mut self, i: usize, label: u8, got: &[i64], golden: &[i64]) {
        let pred = argmax(got);
        self.correct += usize::from(pred == label as usize);
        self.same_pred += usize::from(pred == argmax(golden));
        if got == golden {
            self.same_logits += 1;
        } else if self.first_diff.is_none() {
            self.first_diff = Some(i);
        }
    }
}

/// Runs `tbn sim`.
pub fn run(a: Args) -> Result<()> {
    let rep = simulate(&a)?;
    if a.json {
        println!("{}", serde_json::to_string(&rep)?);
    } else {
        print_human(&rep);
        println!("  report: {}", reports::sim_path().display());
    }
    bit_exact(&rep)
}

/// An error when any image's logits differ from the golden integer path.
pub fn bit_exact(rep: &SimReport) -> Result<()> {
    if let Some(first) = rep.first_mismatch {
        bail!(
            "the accelerator path differs from the golden integer path on {} of {} images (first: image {first})",
            rep.total - rep.logits_match,
            rep.total
        );
    }
    Ok(())
}

/// Runs the model through the accelerator, writes reports/sim.json and
/// returns the report (check it with [`bit_exact`]).
pub fn simulate(a: &Args) -> Result<SimReport> {
    let model = load_model(a.model.as_deref())?;
    let (images, labels) = load_dataset(a.images.as_deref(), a.labels.as_deref())?;
    let total = images_to_score(&model, &labels, images.count, Some(a.limit))?;
    let program = program_for(&model, a.act_bits, a.calib)?;
    let clocks = clocks(a)?;
    let inputs = |i: usize| -> Result<Vec<i32>> {
        Ok(program.input.quantize(&float_input(&model, &images, i)?))
    };
    let (rep, tally) = match a.engine {
        EngineKind::RtlJobs => run_rtl_jobs(a, &model, &program, &labels[..total], inputs, clocks)?,
        EngineKind::Reference => {
            run_reference(a, &model, &program, &labels[..total], inputs, clocks)?
        }
        EngineKind::Rtl => run_rtl_engine(a, &model, &program, &labels[..total], inputs, clocks)?,
    };
    let mut rep = rep;
    rep.first_mismatch = (tally.same_logits != total).then(|| tally.first_diff.unwrap_or(0));
    reports::write(&reports::sim_path(), &rep)?;
    Ok(rep)
}

fn print_human(r: &SimReport) {
    let est = if r.estimate { " (estimate)" } else { "" };
    println!(
        "{} on {:?} (L = {}, {:?}): {}/{} correct ({:.2}%), logits identical to golden: {}/{}, predictions: {}/{}",
        r.model, r.engine, r.lanes, r.bus, r.correct, r.total, 100.0 * r.accuracy,
        r.logits_match, r.total, r.predictions_match, r.total
    );
    for l in &r.layers {
        println!(
            "  {:<8} m = {:>5} q = {:>6} D = {:>4} A = {}: {:>7} cycles (ideal {:>7})",
            l.name, l.m, l.q, l.distinct_rows, l.abits, l.compute_cycles, l.ideal_cycles
        );
    }
    println!(
        "  per inference: {} starts, link {:.0} {}, compute {:.0} cycles (ideal {}, efficiency {:.3}), host packs {:.0} words and requantizes {:.0} rows",
        r.starts_per_inference, r.link_cycles, r.link_unit, r.compute_cycles, r.ideal_cycles,
        r.efficiency, r.host_work.words_packed, r.host_work.rows_requantized
    );
    println!(
        "  at fmax {:.1} MHz ({}){}: compute {:.1} us, end to end {:.1} us{est}",
        r.clocks.fmax_mhz,
        r.clocks.fmax_source,
        r.clocks
            .sck_mhz
            .map(|f| format!(", SCK {f:.2} MHz x{}", r.clocks.spi_lines.unwrap_or(1)))
            .unwrap_or_default(),
        r.compute_us,
        r.end_to_end_us
    );
    println!("  basis: {}", r.basis);
}

/// Builds (Verilator) and opens the `--lanes` core on the `--bus`, with
/// tracing compiled in when `--trace` or the trace environment asks for it.
fn open_accelerator(a: &Args) -> Result<Accelerator> {
    let opts = BuildOptions {
        trace: a.trace.is_some() || tbn_sim::verilate::trace_env().is_some(),
        ..BuildOptions::default()
    };
    let (cfg, mem) = rtl_config(a)?;
    match (a.engine, a.bus) {
        // the whole-network engine RTL (tbn_net_core)
        (EngineKind::Rtl, BusKind::Wishbone) => hw::open_net_core(&cfg, &mem, &opts),
        // the engine's standalone SPI top (tbn_net_spi_top) at f_sck / f_clk
        // = --sck-mhz / fmax (default 1), independent clocks
        (EngineKind::Rtl, BusKind::Spi) => {
            let c = clocks(a)?;
            let ratio = c.sck_mhz.unwrap_or(c.fmax_mhz) / c.fmax_mhz;
            if ratio > tbn_hdl::spi::MAX_SCK_PER_CLK + 1e-9 {
                bail!(
                    "--sck-mhz {:.2} is above fmax {:.2} MHz: the SPI bridge supports f_sck <= {} f_clk",
                    c.sck_mhz.unwrap_or(0.0),
                    c.fmax_mhz,
                    tbn_hdl::spi::MAX_SCK_PER_CLK
                );
            }
            hw::open_net_spi_top_at(
                &cfg,
                &mem,
                &opts,
                tbn_sim::spi::SpiClocks::ratio(ratio, hw::SPI_PHASE_SEED),
            )
        }
        (_, BusKind::Wishbone) => hw::open_core(&cfg, &opts),
        (_, BusKind::Spi) => hw::open_spi_top(&cfg, &opts),
    }
    .with_context(|| format!("building the {}-lane core ({:?})", a.lanes, a.bus))
}

/// The RTL configuration `--engine rtl` builds for `--capacities`: the
/// `--lanes` default one, or the engine's UP5K configuration (L = 32).
fn rtl_config(a: &Args) -> Result<(hw::Config, hw::NetMem)> {
    match (a.engine, a.capacities) {
        (EngineKind::Rtl, Capacities::Default) => Ok(hw::default_engine(a.lanes)),
        (_, Capacities::Default) => {
            let cfg = hw::config_for_lanes(a.lanes);
            Ok((cfg, hw::default_net_mem(&cfg)))
        }
        (EngineKind::Rtl, Capacities::Up5k) => {
            Ok(hw::up5k_engine(a.lanes).context("--capacities up5k")?)
        }
        (EngineKind::Rtl, Capacities::Map) => {
            bail!("--capacities map is no built configuration: use it with --engine reference")
        }
        (_, c) => bail!("--capacities {c:?} applies to --engine reference and --engine rtl"),
    }
}

fn run_rtl_jobs(
    a: &Args,
    model: &Model,
    program: &Program,
    labels: &[u8],
    input: impl Fn(usize) -> Result<Vec<i32>>,
    clocks: Clocks,
) -> Result<(SimReport, Tally)> {
    if a.bus == BusKind::Spi && a.sck_mhz.is_some() {
        bail!("--engine rtl-jobs --bus spi simulates the standalone top at SCK = f_clk (independent clocks); --sck-mhz applies to --engine reference and --engine rtl");
    }
    let total = labels.len();
    let mut acc = open_accelerator(a)?;
    if let tbn_sim::Link::Spi(s) = acc.link() {
        // --spi-lines 4: the bridge's quad writes (reads stay on one line)
        s.quad_writes = a.spi_lines == 4;
    }
    if let Some(t) = &a.trace {
        acc.dut().trace_open(t)?;
    }
    let mut runner = NetworkRunner::new(program, &acc)?;
    let bar = progress(a, total);
    let mut tally = Tally::default();
    let start = std::time::Instant::now();
    let c0 = acc.dut().cycles();
    let s0 = spi_state(&mut acc).map_or(0, |(s, _)| s);
    let j0 = acc.jobs();
    for (i, &label) in labels.iter().enumerate() {
        let x = input(i)?;
        let golden = program.run(&x)?;
        let rtl = runner.run(&mut acc, &x)?;
        tally.add(i, label, &rtl, &golden);
        bar.set_position(i as u64 + 1);
    }
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let n = total.max(1) as f64;
    let sim_cycles = (acc.dut().cycles() - c0) as f64 / n;
    let lanes = acc.info().lanes;
    let compute: f64 = runner
        .stats
        .iter()
        .map(|s| s.total_job_cycles as f64)
        .sum::<f64>()
        / n;
    let ideal: u64 = runner.stats.iter().map(|s| s.ideal_cycles).sum();
    let words_packed: u64 = runner
        .stats
        .iter()
        .map(|s| {
            u64::from((s.q + lanes).div_ceil(32)) + u64::from(s.abits) * u64::from(s.m.div_ceil(32))
        })
        .sum();
    let rows: u64 = runner.stats.iter().map(|s| u64::from(s.rows)).sum();
    let layers = runner
        .stats
        .iter()
        .map(|s| LayerFigures {
            name: s.name.clone(),
            m: s.m,
            q: s.q,
            rows: s.rows,
            distinct_rows: s.distinct_rows,
            abits: s.abits,
            compute_cycles: s.total_job_cycles / total.max(1) as u64,
            ideal_cycles: s.ideal_cycles,
        })
        .collect();
    let f = clocks.fmax_mhz;
    // Over SPI: the SCK cycles the simulated master clocked, at its ratio.
    let spi = spi_state(&mut acc);
    let (link_cycles, link_unit) = match (a.bus, spi) {
        (BusKind::Spi, Some((s1, _))) => ((s1 - s0) as f64 / n, "sck"),
        _ => (sim_cycles - compute, "clk"),
    };
    let mut clocks = clocks;
    if let Some((_, ratio)) = spi {
        clocks.sck_mhz = Some(f * ratio);
        clocks.sck_source = Some(format!(
            "the simulated SPI master: f_sck = {ratio:.3} f_clk, independent clocks"
        ));
    }
    let rep = SimReport {
        model: model.name.clone(),
        engine: EngineKind::RtlJobs,
        estimate: false,
        basis: format!(
            "Verilator run of the single-layer core RTL over {}: one job per dense stage; \
             link = simulated cycles outside jobs (tile, bit-planes, registers, polls, read-back); \
             end to end = simulated cycles / fmax, excluding the host's requantization and packing",
            match a.bus {
                BusKind::Wishbone => "Wishbone",
                BusKind::Spi => "the standalone SPI top",
            }
        ),
        bus: a.bus,
        lanes,
        act_bits: a.act_bits,
        total,
        correct: tally.correct,
        accuracy: tally.correct as f64 / n,
        logits_match: tally.same_logits,
        first_mismatch: None,
        predictions_match: tally.same_pred,
        starts_per_inference: (acc.jobs() - j0) as f64 / n,
        link_cycles,
        link_unit: link_unit.into(),
        compute_cycles: compute,
        ideal_cycles: ideal,
        efficiency: if compute > 0.0 {
            ideal as f64 / compute
        } else {
            0.0
        },
        host_work: HostWork {
            words_packed: words_packed as f64,
            rows_requantized: rows as f64,
        },
        compute_us: compute / f,
        end_to_end_us: sim_cycles / f,
        clocks,
        layers,
        seconds,
    };
    Ok((rep, tally))
}

/// The program as a model image for `target` (also written to `--image-out`).
fn compile_image(a: &Args, program: &Program, target: &Target) -> Result<Image> {
    let image = tbn_host::compile::program_image(program, target)?;
    if let Some(p) = &a.image_out {
        write_image(p, &image.to_le_bytes())?;
    }
    Ok(image)
}

/// The SPI master's SCK cycles so far and its ratio f_sck / f_clk (None: not SPI).
fn spi_state(acc: &mut tbn_sim::Accelerator) -> Option<(u64, f64)> {
    match acc.link() {
        tbn_sim::Link::Spi(s) => Some((
            s.sck_cycles,
            s.clocks
                .map_or(1.0 / (2 * s.half_period.max(1)) as f64, |c| c.sck_per_clk()),
        )),
        _ => None,
    }
}

fn link_model(a: &Args) -> LinkModel {
    match a.bus {
        BusKind::Wishbone => LinkModel::Wishbone,
        BusKind::Spi => LinkModel::Spi(SpiLink {
            lines: a.spi_lines,
            ..SpiLink::default()
        }),
    }
}

/// One INFER per image through the driver, its logits tallied against the
/// golden program's; returns the tally and the wall-clock seconds.
fn infer_all<B: Bus>(
    a: &Args,
    tbn: &mut Tbn<B>,
    program: &Program,
    labels: &[u8],
    input: impl Fn(usize) -> Result<Vec<i32>>,
    n_out: usize,
) -> Result<(Tally, f64)> {
    let runner = program.runner();
    let bar = progress(a, labels.len());
    let mut tally = Tally::default();
    let mut logits = vec![0i64; n_out];
    let start = std::time::Instant::now();
    for (i, &label) in labels.iter().enumerate() {
        let x = input(i)?;
        let golden = runner.run(&x)?;
        tbn.infer(&x, &mut logits)
            .with_context(|| format!("image {i}"))?;
        tally.add(i, label, &logits, &golden);
        bar.set_position(i as u64 + 1);
    }
    bar.finish_and_clear();
    Ok((tally, start.elapsed().as_secs_f64()))
}

/// The report's figures of layer `l` of a model image.
fn layer_figures(l: usize, d: &Descriptor, compute_cycles: u64, ideal_cycles: u64) -> LayerFigures {
    LayerFigures {
        name: match d.geom.op {
            Op::Dense => format!("layer{l}"),
            Op::Conv => format!("layer{l} (conv {}x{})", d.geom.kh, d.geom.kw),
            Op::MaxPool => format!("layer{l} (max-pool {}/{})", d.geom.kh, d.geom.stride),
        },
        m: d.m,
        q: d.q,
        rows: d.rows,
        distinct_rows: d.d,
        abits: d.in_bits as u8,
        compute_cycles,
        ideal_cycles,
    }
}

/// The model image through the driver on the Verilated engine (Wishbone core
/// or the standalone SPI top): one INFER per image, cycles from the core's
/// CYCLES and LAYER_CYCLES registers, link counted from the driver's
/// accesses, end to end from the simulated clock.
fn run_rtl_engine(
    a: &Args,
    model: &Model,
    program: &Program,
    labels: &[u8],
    input: impl Fn(usize) -> Result<Vec<i32>>,
    clocks: Clocks,
) -> Result<(SimReport, Tally)> {
    let total = labels.len();
    let mut acc = open_accelerator(a)?;
    if let tbn_sim::Link::Spi(s) = acc.link() {
        // --spi-lines 4: the bridge's quad writes (reads stay on one line)
        s.quad_writes = a.spi_lines == 4;
    }
    let half = spi_state(&mut acc).map(|(_, r)| r);
    let link = match (a.bus, half) {
        (BusKind::Spi, Some(_)) => link_model(a),
        _ => LinkModel::Wishbone,
    };
    let mut tbn =
        Tbn::probe(LinkCounter::new(DriverBus(&mut acc), link)).context("probing the core")?;
    let target = tbn.engine_target().context(
        "this core has no whole-network engine yet (issue 12's engine RTL); \
         use --engine reference for the reference model",
    )?;
    let image = compile_image(a, program, &target)?;
    tbn.load_model(image.words())
        .context("loading the model image into the RTL")?;
    let nl = image.header().num_layers as usize;
    let n_out = image.header().num_out as usize;
    let count0 = tbn.job_count()?;
    tbn.bus().tally = Default::default();
    let c0 = tbn.bus().inner().0.dut().cycles();
    let s0 = spi_state(&mut *tbn.bus().inner().0).map_or(0, |(s, _)| s);
    let (tally, seconds) = infer_all(a, &mut tbn, program, labels, input, n_out)?;
    let sim_cycles = (tbn.bus().inner().0.dut().cycles() - c0) as f64;
    let s1 = spi_state(&mut *tbn.bus().inner().0).map_or(0, |(s, _)| s);
    let link_tally = tbn.bus().tally;
    // The engine's timing does not depend on the data: the counters of the
    // last inference, read after the timed loop, stand for every inference.
    let compute = f64::from(tbn.cycles()?);
    let mut layer_buf = vec![0u32; nl];
    tbn.layer_cycles(&mut layer_buf)?;
    let starts = tbn.job_count()?.wrapping_sub(count0);
    let n = total.max(1) as f64;
    // Over SPI: the SCK cycles the simulated master clocked (measured); the
    // driver's cost model (tbn_driver::link) is quoted in the basis.
    let modeled_link = link_tally.cost as f64 / n;
    let link_cycles = match half {
        Some(_) => (s1 - s0) as f64 / n,
        None => modeled_link,
    };
    let f = clocks.fmax_mhz;
    let mut clocks = clocks;
    if let Some(r) = half {
        clocks.sck_mhz = Some(f * r);
        clocks.sck_source = Some(format!(
            "the simulated SPI master: f_sck = {r:.4} f_clk, independent clocks, random phase per frame"
        ));
    }
    let mut ideal = 0u64;
    let layers = (0..nl)
        .map(|l| {
            let d = image.descriptor(l).expect("descriptor");
            ideal += u64::from(d.ideal_cycles);
            layer_figures(l, &d, u64::from(layer_buf[l]), u64::from(d.ideal_cycles))
        })
        .collect();
    let rep = SimReport {
        model: model.name.clone(),
        engine: EngineKind::Rtl,
        estimate: false,
        basis: match half {
            None => "Verilator run of the whole-network engine RTL (tbn_net_core) over Wishbone: load_model once, \
                     one INFER per image through tbn_driver; compute = the CYCLES register (last inference); link = the \
                     driver's accesses under the cost model of tbn_driver::link; end to end = simulated cycles per \
                     inference / fmax"
                .into(),
            Some(_) => format!(
                "Verilator run of the whole-network engine's standalone SPI top (tbn_net_spi_top: SPI bridge + engine \
                 RTL), bit-level SPI master with SCK and clk as independent clocks: load_model once, one INFER per \
                 image through tbn_driver ({} writes, single-line reads, at most {} words per frame as the driver's \
                 SpiBus); compute = the CYCLES register (last inference); link = SCK cycles clocked per inference \
                 (input, INFER, STATUS polls, CLASS, logits; the driver's link cost model predicts {modeled_link:.0}); \
                 end to end = simulated clk cycles per inference (frames, gaps between frames, compute) / fmax",
                if a.spi_lines == 4 { "quad (QWRITE)" } else { "single-line" },
                tbn_driver::bus::SPI_MAX_BURST_WORDS
            ),
        },
        bus: a.bus,
        lanes: a.lanes as u32,
        act_bits: a.act_bits,
        total,
        correct: tally.correct,
        accuracy: tally.correct as f64 / n,
        logits_match: tally.same_logits,
        first_mismatch: None,
        predictions_match: tally.same_pred,
        starts_per_inference: f64::from(starts) / n,
        link_cycles,
        link_unit: if half.is_some() { "sck" } else { "clk" }.into(),
        compute_cycles: compute,
        ideal_cycles: ideal,
        efficiency: if compute > 0.0 { ideal as f64 / compute } else { 0.0 },
        host_work: HostWork {
            words_packed: f64::from(tbn_driver::regmap::input_words(
                image.header().num_in,
            )),
            rows_requantized: 0.0,
        },
        compute_us: compute / f,
        end_to_end_us: sim_cycles / n / f,
        clocks,
        layers,
        seconds,
    };
    Ok((rep, tally))
}

fn run_reference(
    a: &Args,
    model: &Model,
    program: &Program,
    labels: &[u8],
    input: impl Fn(usize) -> Result<Vec<i32>>,
    clocks: Clocks,
) -> Result<(SimReport, Tally)> {
    let total = labels.len();
    let lanes = a.lanes as u32;
    let target = a.capacities.target(lanes)?;
    let image = compile_image(a, program, &target)
        .with_context(|| format!("for {}", a.capacities.describe()))?;
    let link = link_model(a);
    let mut tbn = Tbn::probe(LinkCounter::new(RefChip::new(target), link))
        .context("probing the engine's reference model")?;
    tbn.load_model(image.words())
        .context("loading the model image")?;
    let engine = tbn
        .bus()
        .inner()
        .model()
        .cloned()
        .context("the reference model has no model after load_model")?;
    let cm = engine.cycle_model();
    let n_out = tbn.model().map_or(0, |m| m.num_out as usize);
    tbn.bus().tally = Default::default();
    let count0 = tbn.job_count()?;
    tbn.bus().tally = Default::default();
    let (tally, seconds) = infer_all(a, &mut tbn, program, labels, input, n_out)?;
    let link_tally = tbn.bus().tally;
    let starts = tbn.job_count()?.wrapping_sub(count0);
    let n = total.max(1) as f64;
    let link_cycles = link_tally.cost as f64 / n;
    let polls = link_tally.status_polls as f64 / n;
    // Every STATUS poll but the last overlaps the computation.
    let overlapped = (polls - 1.0).max(0.0) * link.read_cost(1) as f64;
    let compute = cm.total() as f64;
    let f = clocks.fmax_mhz;
    let f_link = clocks.sck_mhz.unwrap_or(f);
    let layers = engine
        .layers()
        .iter()
        .zip(&cm.per_layer)
        .enumerate()
        .map(|(l, (d, &c))| layer_figures(l, d, c, c))
        .collect();
    let rep = SimReport {
        model: model.name.clone(),
        engine: EngineKind::Reference,
        estimate: true,
        basis: format!(
            "estimate: the model image through tbn_driver (load_model once, one INFER per image) on the engine's \
             reference model (tbn_driver::image::chip) with {}, logits compared with golden; link = the driver's accesses \
             under the {} cost model of tbn_driver::link; compute = the engine's ideal cycle model \
             (per dense layer D ceil(m/L) A_in + rows, per conv layer positions D ceil(m/L) A_in, per max-pool \
             layer outputs k^2), not an RTL measurement; end to end = (link - \
             overlapped polls) / f_link + compute / fmax",
            a.capacities.describe(),
            match a.bus {
                BusKind::Wishbone => "Wishbone",
                BusKind::Spi => "SPI",
            }
        ),
        bus: a.bus,
        lanes,
        act_bits: a.act_bits,
        total,
        correct: tally.correct,
        accuracy: tally.correct as f64 / n,
        logits_match: tally.same_logits,
        first_mismatch: None,
        predictions_match: tally.same_pred,
        starts_per_inference: f64::from(starts) / n,
        link_cycles,
        link_unit: match a.bus {
            BusKind::Wishbone => "clk",
            BusKind::Spi => "sck",
        }
        .into(),
        compute_cycles: compute,
        ideal_cycles: cm.total(),
        efficiency: 1.0,
        host_work: HostWork {
            words_packed: f64::from(tbn_driver::regmap::input_words(
                tbn.model().map_or(0, |m| m.num_in),
            )),
            rows_requantized: 0.0,
        },
        compute_us: compute / f,
        end_to_end_us: (link_cycles - overlapped) / f_link + compute / f,
        clocks,
        layers,
        seconds,
    };
    Ok((rep, tally))
}

/// Writes the compiled model image atomically, creating its folder.
fn write_image(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    tbn_golden::atomic::write_file(path, bytes)
        .with_context(|| format!("writing {}", path.display()))
}
