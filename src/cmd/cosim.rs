//! `tbn cosim`: firmware-in-the-loop co-simulation. The Cortex-M4F firmware
//! (firmware/src/bin/cosim.rs, QEMU mps2-an386 under `-icount`) drives the
//! whole-network engine RTL (Verilator, the standalone SPI top
//! `tbn_net_spi_top`) through `tbn_driver`'s `SpiBus`: its embedded-hal
//! `SpiDevice` sends every chip-select period as a frame over UART0 to a
//! socket, where the bridge of `tbn_sim::cosim` plays it bit by bit into the
//! RTL (the SPI master of `tbn_sim::spi`, SCK and clk independent clocks) and
//! answers with MISO.
//!
//! Steps: quantize the model, open the RTL and compile the model image for
//! the engine it reports (`tbn_host::compile`), write firmware/gen-cosim/
//! (image, compact program for the MCU kernel, images, golden logits and
//! classes), build the firmware, run QEMU with its UART on a Unix socket the
//! bridge serves, and combine the firmware's JSON line (instructions per
//! inference in the driver, the transport and the MCU kernel; logits checks)
//! with the bridge's figures (SCK cycles, clk cycles, end to end).
//! The report is written to reports/cosim.json.

use std::io::Read as _;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;
use tbn_driver::driver::Tbn;
use tbn_driver::program::{AlignedBytes, Program as Compact};
use tbn_golden::float::argmax;
use tbn_host::compile::compile;
use tbn_sim::cosim::{Bridge, BridgeClocks, BridgeOutcome, Fault};
use tbn_sim::{hw, BuildOptions, DriverBus};

use super::clock::{self, Design};
use super::common::{float_input, load_dataset, load_model, program_for};
use crate::reports::{self, CosimClocks, CosimDriverGaps, CosimInference, CosimReport};

/// QEMU's `-icount shift`: 64 ns of virtual time per instruction, so the
/// 25 MHz SysTick (40 ns) resolves single instructions.
pub const ICOUNT_SHIFT: u32 = 6;

/// Fault modes of the firmware (`gen-cosim/expected.bin`, word 4).
const FAULT_INFER_WITHOUT_MODEL: u32 = 1;
const FAULT_CORRUPT_IMAGE: u32 = 2;

/// A fault to inject (failure tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Inject {
    /// The bridge flips a bit of its reply to the 3rd SPI frame.
    CorruptReply,
    /// The bridge stops answering at the 3rd SPI frame.
    Stall,
    /// The firmware starts an INFER with no model loaded (a core error).
    InferWithoutModel,
    /// The firmware loads a copy of the image with a corrupted header word.
    CorruptImage,
}

/// Arguments of `tbn cosim`.
#[derive(clap::Args)]
pub struct Args {
    /// Model file (default: the bundled reference model).
    #[arg(long)]
    pub(crate) model: Option<PathBuf>,
    /// Number of MNIST test images classified (1..=256).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub(crate) images: u32,
    /// Activation bits of hidden stages (1..=8).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub(crate) act_bits: u8,
    /// Calibration images from the training subset.
    #[arg(long, default_value_t = 500, value_parser = super::common::at_least_one)]
    pub(crate) calib: usize,
    /// Lanes of the simulated engine.
    #[arg(long, default_value_t = 32, value_parser = super::common::lanes)]
    pub(crate) lanes: usize,
    /// MCU clock in MHz for the times.
    #[arg(long, default_value_t = 64.0)]
    pub(crate) mcu_mhz: f64,
    /// Accelerator clock in MHz (default: as `tbn sim --engine rtl`: the engine's placed fmax
    /// from reports/synth-engine.json).
    #[arg(long)]
    pub(crate) fmax_mhz: Option<f64>,
    /// Synthesis report to take fmax from (default reports/synth-engine.json).
    #[arg(long)]
    pub(crate) synth_report: Option<PathBuf>,
    /// SPI clock in MHz (default fmax; the bridge supports f_sck <= f_clk).
    #[arg(long)]
    pub(crate) sck_mhz: Option<f64>,
    /// Timeout of the whole QEMU run, seconds.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout: u64,
    /// Seconds the bridge waits for the next frame before giving up.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) bridge_timeout: u64,
    /// UART polls the firmware makes before a wait for the bridge is a timeout.
    #[arg(long, default_value_t = 20_000_000, value_parser = clap::value_parser!(u32).range(1000..))]
    pub(crate) firmware_wait_polls: u32,
    /// Play the frames back to back: the driver's MCU time does not advance
    /// the RTL's clock (the timing `tbn sim --engine rtl --bus spi` assumes).
    #[arg(long)]
    pub(crate) no_mcu_time: bool,
    /// Inject a fault (failure tests): the run must fail with the driver's typed error.
    #[arg(long, value_enum)]
    pub(crate) inject: Option<Inject>,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

impl Args {
    /// The command-line defaults (the library callers' starting point, e.g.
    /// `tbn demo`).
    pub(crate) fn defaults() -> Args {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            args: Args,
        }
        <Defaults as clap::Parser>::parse_from(["cosim"]).args
    }
}

/// One inference as the firmware reports it.
#[derive(Debug, Deserialize)]
struct FwInference {
    class: u32,
    golden_class: u32,
    logits_match: bool,
    driver_instructions: u64,
    transport_instructions: u64,
    frames: u64,
    mcu_instructions: u64,
    mcu_logits_match: bool,
}

/// The firmware's JSON line.
#[derive(Debug, Deserialize)]
struct FwLine {
    ok: bool,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_debug: Option<String>,
    #[serde(default)]
    transport_error: Option<String>,
    #[serde(default)]
    images: usize,
    #[serde(default)]
    logits_match: usize,
    #[serde(default)]
    class_match: usize,
    #[serde(default)]
    mcu_logits_match: usize,
    #[serde(default)]
    load_model_instructions: u64,
    #[serde(default)]
    load_model_transport_instructions: u64,
    #[serde(default)]
    image_words: u64,
    #[serde(default)]
    inferences: Vec<FwInference>,
}

/// Runs `tbn cosim`.
pub fn run(a: Args) -> Result<()> {
    let rep = cosimulate(&a)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rep)?);
    } else {
        print_human(&rep);
    }
    ensure!(
        rep.ok,
        "co-simulation: {} of {} images identical to golden through firmware + RTL ({} classes, MCU kernel {})",
        rep.logits_match,
        rep.total,
        rep.class_match,
        rep.mcu_logits_match
    );
    Ok(())
}

/// The firmware's folder.
fn firmware_dir() -> Result<PathBuf> {
    let dir = crate::paths::project_path("firmware");
    dir.canonicalize()
        .with_context(|| format!("firmware folder {}", dir.display()))
}

fn build_firmware(dir: &Path) -> Result<PathBuf> {
    let target = dir.join("target");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "--quiet",
            "--features",
            "cosim",
            "--bin",
            "tbn-cosim",
        ])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .context("running cargo build for the co-simulation firmware")?;
    ensure!(
        out.status.success(),
        "co-simulation firmware build failed (needs: rustup target add thumbv7em-none-eabihf):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(target.join("thumbv7em-none-eabihf/release/tbn-cosim"))
}

/// Builds the co-simulation, runs it and returns its report (also written
/// to reports/cosim.json). Errors: a tool missing, a build failing, the
/// firmware reporting a driver error, a timeout.
pub fn cosimulate(a: &Args) -> Result<CosimReport> {
    ensure!(
        a.mcu_mhz.is_finite() && a.mcu_mhz > 0.0,
        "--mcu-mhz must be a positive number of MHz"
    );
    if Command::new("qemu-system-arm")
        .arg("--version")
        .output()
        .is_err()
    {
        bail!("qemu-system-arm not found: install it (Debian: apt-get install qemu-system-arm)");
    }
    let (fmax_mhz, fmax_source) =
        clock::fmax(a.fmax_mhz, a.synth_report.as_deref(), Design::Engine)?;
    let (sck_mhz, sck_source) = match a.sck_mhz {
        Some(f) => (f, "--sck-mhz".to_string()),
        None => (
            fmax_mhz,
            "fmax (the SCK-clocked bridge supports f_sck <= f_clk), as tbn sim --engine rtl --bus spi"
                .to_string(),
        ),
    };
    ensure!(
        sck_mhz.is_finite() && sck_mhz > 0.0,
        "--sck-mhz must be a positive number of MHz"
    );
    let ratio = sck_mhz / fmax_mhz;
    ensure!(
        ratio <= tbn_hdl::spi::MAX_SCK_PER_CLK + 1e-9,
        "--sck-mhz {sck_mhz:.2} is above fmax {fmax_mhz:.2} MHz: the SPI bridge supports f_sck <= {} f_clk",
        tbn_hdl::spi::MAX_SCK_PER_CLK
    );

    // The model, its integer program, the images and the golden outputs.
    let model = load_model(a.model.as_deref())?;
    let program = program_for(&model, a.act_bits, a.calib)?;
    let (images, _labels) = load_dataset(None, None)?;
    let n = a.images as usize;
    ensure!(
        n <= images.count,
        "--images must be at most {}",
        images.count
    );
    ensure!(
        program.input.bits <= 8,
        "input bits {} do not fit a byte",
        program.input.bits
    );

    // The RTL, and the image compiled for the engine it reports.
    let (cfg, mem) = hw::default_engine(a.lanes);
    let clocks = tbn_sim::spi::SpiClocks::ratio(ratio, hw::SPI_PHASE_SEED);
    let mut acc = hw::open_net_spi_top_at(&cfg, &mem, &BuildOptions::default(), clocks)
        .with_context(|| format!("building the {}-lane engine SPI top", a.lanes))?;
    let target = {
        let mut tbn = Tbn::probe(DriverBus(&mut acc)).context("probing the engine RTL")?;
        tbn.engine_target()
            .context("the engine RTL reports no whole-network engine")?
    };
    let compact_bytes =
        tbn_host::convert::program_bytes(&program, None).context("encoding the integer program")?;
    let aligned = AlignedBytes::new(&compact_bytes);
    let compact = Compact::parse(aligned.as_bytes()).context("parsing the integer program")?;
    let image = compile(&compact, &target).context("compiling the model image")?;

    let in_len = model.input_shape.numel();
    let mut img_bytes = Vec::with_capacity(n * in_len);
    let mut logits = Vec::new();
    let mut classes = Vec::with_capacity(n);
    let mut n_logits = 0usize;
    for i in 0..n {
        let xf = float_input(&model, &images, i)?;
        let xi = program.input.quantize(&xf);
        img_bytes.extend(xi.iter().map(|&v| v as u8));
        let out = program.run(&xi)?;
        n_logits = out.len();
        classes.push(argmax(&out) as u8);
        for v in out {
            logits.extend_from_slice(&v.to_le_bytes());
        }
    }
    let faults = match a.inject {
        Some(Inject::InferWithoutModel) => FAULT_INFER_WITHOUT_MODEL,
        Some(Inject::CorruptImage) => FAULT_CORRUPT_IMAGE,
        _ => 0,
    };
    let mut expected = Vec::new();
    expected.extend_from_slice(b"TBNC");
    for v in [
        n as u32,
        n_logits as u32,
        in_len as u32,
        faults,
        a.firmware_wait_polls,
    ] {
        expected.extend_from_slice(&v.to_le_bytes());
    }
    expected.extend_from_slice(&logits);
    expected.extend_from_slice(&classes);

    let fw = firmware_dir()?;
    let gen = fw.join("gen-cosim");
    tbn_golden::atomic::fill_dir(&gen, |st| -> Result<()> {
        for (name, data) in [
            ("image.bin", &image.to_le_bytes()),
            ("program.bin", &compact_bytes),
            ("images.bin", &img_bytes),
            ("expected.bin", &expected),
        ] {
            std::fs::write(st.path().join(name), data)
                .with_context(|| format!("writing {}", gen.join(name).display()))?;
        }
        Ok(())
    })?;
    let elf = build_firmware(&fw)?;

    // The bridge and QEMU.
    let mut bridge = Bridge::new(
        acc,
        BridgeClocks {
            mcu_hz: a.mcu_mhz * 1e6,
            clk_hz: fmax_mhz * 1e6,
        },
    )?;
    bridge.mcu_time = !a.no_mcu_time;
    bridge.fault = match a.inject {
        Some(Inject::CorruptReply) => Some(Fault::CorruptReply(2)),
        Some(Inject::Stall) => Some(Fault::Stall(2)),
        _ => None,
    };
    let start = Instant::now();
    let (fw_line, outcome, exit_ok) = run_qemu(&elf, &mut bridge, a)?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(err) = &fw_line.error {
        bail!(
            "firmware reported a driver error at {}: {err} [{}]{}{}",
            fw_line.stage.as_deref().unwrap_or("?"),
            fw_line.error_debug.as_deref().unwrap_or("-"),
            fw_line
                .transport_error
                .as_deref()
                .map(|t| format!(" (transport: {t})"))
                .unwrap_or_default(),
            match outcome.fault_injected {
                Some(f) => format!(" after the injected fault {f:?}"),
                None => String::new(),
            }
        );
    }
    ensure!(
        fw_line.inferences.len() == fw_line.images && outcome.inferences.len() == fw_line.images,
        "the firmware reported {} inferences of {} images, the bridge saw {}",
        fw_line.inferences.len(),
        fw_line.images,
        outcome.inferences.len()
    );

    let f = fmax_mhz;
    let inferences: Vec<CosimInference> = fw_line
        .inferences
        .iter()
        .zip(&outcome.inferences)
        .enumerate()
        .map(|(i, (w, h))| CosimInference {
            index: i,
            class: w.class,
            golden_class: w.golden_class,
            logits_match: w.logits_match,
            driver_instructions: w.driver_instructions,
            transport_instructions: w.transport_instructions,
            frames: w.frames,
            spi_bytes: h.spi_bytes,
            sck_cycles: h.sck_cycles,
            clk_cycles: h.clk_cycles,
            mcu_gap_clk_cycles: h.mcu_gap_clk_cycles,
            end_to_end_us: h.clk_cycles as f64 / f,
            mcu_instructions: w.mcu_instructions,
            mcu_logits_match: w.mcu_logits_match,
        })
        .collect();
    let frames_agree = inferences
        .iter()
        .zip(&outcome.inferences)
        .all(|(c, h)| c.frames == h.frames);
    ensure!(
        frames_agree,
        "the firmware and the bridge count different SPI frames per inference"
    );
    let cnt = inferences.len().max(1) as f64;
    let mean = |g: &dyn Fn(&CosimInference) -> f64| inferences.iter().map(g).sum::<f64>() / cnt;
    let mcu_instr = mean(&|r| r.mcu_instructions as f64);
    let hmean = |g: &dyn Fn(&tbn_sim::cosim::DriverGaps) -> u64| {
        outcome
            .inferences
            .iter()
            .map(|h| g(&h.driver_gaps) as f64)
            .sum::<f64>()
            / cnt
    };
    let driver_gaps = CosimDriverGaps {
        input: hmean(&|g| g.input),
        ctrl: hmean(&|g| g.ctrl),
        status: hmean(&|g| g.status),
        class: hmean(&|g| g.class),
        logits: hmean(&|g| g.logits),
        tail: hmean(&|g| g.tail),
        other: hmean(&|g| g.other),
    };
    let rep = CosimReport {
        ok: exit_ok
            && fw_line.ok
            && fw_line.logits_match == n
            && fw_line.class_match == n
            && fw_line.mcu_logits_match == n,
        model: model.name.clone(),
        lanes: a.lanes as u32,
        total: fw_line.images,
        logits_match: fw_line.logits_match,
        class_match: fw_line.class_match,
        mcu_logits_match: fw_line.mcu_logits_match,
        end_to_end_us: mean(&|r| r.end_to_end_us),
        driver_us: mean(&|r| r.mcu_gap_clk_cycles as f64 / f),
        mcu_alone_us: mcu_instr / a.mcu_mhz,
        driver_instructions: mean(&|r| r.driver_instructions as f64),
        driver_gaps,
        transport_instructions: mean(&|r| r.transport_instructions as f64),
        sck_cycles: mean(&|r| r.sck_cycles as f64),
        clk_cycles: mean(&|r| r.clk_cycles as f64),
        frames: mean(&|r| r.frames as f64),
        mcu_instructions: mcu_instr,
        load_model_instructions: fw_line.load_model_instructions,
        load_model_transport_instructions: fw_line.load_model_transport_instructions,
        image_words: fw_line.image_words,
        clocks: CosimClocks {
            mcu_mhz: a.mcu_mhz,
            fmax_mhz,
            fmax_source,
            sck_mhz: fmax_mhz * clocks.sck_per_clk(),
            sck_source: format!(
                "{sck_source}; simulated f_sck = {:.4} f_clk, independent clocks, random phase per frame",
                clocks.sck_per_clk()
            ),
            mcu_time: !a.no_mcu_time,
            icount_shift: ICOUNT_SHIFT,
        },
        inferences,
        basis: format!(
            "firmware-in-the-loop: the Cortex-M4F firmware in QEMU mps2-an386 (-icount shift={ICOUNT_SHIFT}) runs \
             tbn_driver (Tbn::probe, load_model once, infer per image) over SpiBus on an embedded-hal SpiDevice whose \
             frames go over UART0 to the host bridge (tbn_sim::cosim), played bit by bit into the Verilated \
             {}-lane tbn_net_spi_top; instructions from SysTick (calibrated); the driver's instructions between frames \
             advance the RTL's clock at the MCU clock before each frame; end to end = accelerator clk cycles from the \
             inference's first to last frame plus the driver's tail, / fmax (driver at {} MHz, SPI at SCK, engine at \
             fmax; the UART transport's own instructions are reported apart and not in it); MCU alone = the MCU \
             kernel's instructions / MCU clock (one instruction per cycle assumed)",
            a.lanes, a.mcu_mhz
        ),
        seconds,
    };
    reports::write(&cosim_path(), &rep)?;
    Ok(rep)
}

/// Where `tbn cosim` leaves its report.
pub fn cosim_path() -> PathBuf {
    PathBuf::from("reports/cosim.json")
}

/// A private folder for the UART socket, removed on drop.
struct SockDir(PathBuf);

impl SockDir {
    fn new() -> Result<SockDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let p = std::env::temp_dir().join(format!("tbn-cosim-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(SockDir(p))
    }
}

impl Drop for SockDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs QEMU with UART0 on a Unix socket served by the bridge; returns the
/// firmware's JSON line, what the bridge saw and whether QEMU exited 0.
fn run_qemu(elf: &Path, bridge: &mut Bridge, a: &Args) -> Result<(FwLine, BridgeOutcome, bool)> {
    let dir = SockDir::new()?;
    let sock = dir.0.join("uart0.sock");
    let listener = UnixListener::bind(&sock)
        .with_context(|| format!("binding the UART socket {}", sock.display()))?;
    listener.set_nonblocking(true)?;
    let mut child = Command::new("timeout")
        .args(["-s", "KILL", &a.timeout.to_string()])
        .args([
            "qemu-system-arm",
            "-machine",
            "mps2-an386",
            "-cpu",
            "cortex-m4",
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
        ])
        .arg(format!("unix:{}", sock.display()))
        .args([
            "-semihosting-config",
            "enable=on,target=native",
            "-icount",
            &format!("shift={ICOUNT_SHIFT}"),
            "-kernel",
        ])
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running qemu-system-arm")?;
    let deadline = Instant::now() + Duration::from_secs(a.bridge_timeout);
    let accepted = loop {
        match listener.accept() {
            Ok((s, _)) => break Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(st) = child.try_wait()? {
                    break Err(anyhow::anyhow!(
                        "QEMU exited ({st}) before connecting its UART to the bridge"
                    ));
                }
                if Instant::now() > deadline {
                    break Err(anyhow::anyhow!(
                        "QEMU did not connect its UART within {} s",
                        a.bridge_timeout
                    ));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => break Err(e.into()),
        }
    };
    let served = accepted.and_then(|mut s| {
        s.set_nonblocking(false)?;
        s.set_read_timeout(Some(Duration::from_secs(a.bridge_timeout)))?;
        s.set_write_timeout(Some(Duration::from_secs(a.bridge_timeout)))?;
        bridge.serve(&mut s).map_err(anyhow::Error::from)
    });
    if served.is_err() {
        // `timeout` passes SIGTERM on to QEMU (a SIGKILL would orphan it)
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
    }
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut stdout);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().context("waiting for QEMU")?;
    let outcome = served.context("the co-simulation bridge failed")?;
    if status.code() == Some(137) || status.code() == Some(124) {
        bail!(
            "QEMU did not finish within {} s (killed by timeout); bridge: {} frames{}",
            a.timeout,
            outcome.frames,
            match outcome.fault_injected {
                Some(f) => format!(", injected fault {f:?}"),
                None => String::new(),
            }
        );
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .with_context(|| {
            format!(
                "the firmware printed no JSON report (exit {:?}); output:\n{stdout}{stderr}",
                status.code()
            )
        })?;
    let v: FwLine = serde_json::from_str(line)
        .with_context(|| format!("firmware report is not the expected JSON: {line}"))?;
    Ok((v, outcome, status.success()))
}

fn print_human(r: &CosimReport) {
    println!(
        "co-simulation: firmware (QEMU mps2-an386) + engine RTL ({} lanes, SPI top), model {}, {} images",
        r.lanes, r.model, r.total
    );
    println!(
        "  accelerator logits identical to golden: {}/{}, classes {}/{}; MCU kernel logits {}/{}",
        r.logits_match, r.total, r.class_match, r.total, r.mcu_logits_match, r.total
    );
    println!(
        "  per inference: driver {:.0} instructions, transport {:.0} (apart), {:.1} frames, {:.0} SCK cycles, {:.0} clk cycles",
        r.driver_instructions, r.transport_instructions, r.frames, r.sck_cycles, r.clk_cycles
    );
    println!(
        "  at MCU {:.0} MHz, fmax {:.1} MHz, SCK {:.2} MHz: end to end {:.1} us (of which driver {:.1} us){}; MCU alone {:.1} us ({:.0} instructions)",
        r.clocks.mcu_mhz, r.clocks.fmax_mhz, r.clocks.sck_mhz, r.end_to_end_us,
        r.driver_us,
        if r.clocks.mcu_time { "" } else { " [--no-mcu-time: frames back to back]" },
        r.mcu_alone_us, r.mcu_instructions
    );
    let g = &r.driver_gaps;
    println!(
        "  driver instructions before: input writes {:.0}, CTRL {:.0}, STATUS polls {:.0}, CLASS {:.0}, logits {:.0}; after the last frame {:.0}",
        g.input, g.ctrl, g.status, g.class, g.logits, g.tail
    );
    println!("  fmax: {}", r.clocks.fmax_source);
    println!("  report: {}", cosim_path().display());
}
