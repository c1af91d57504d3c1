//! `tbn mcu run`: quantize a model, generate the firmware's inputs (compact
//! program, test images, golden expected outputs), build the Cortex-M4
//! firmware and run it in QEMU (mps2-an386) under a timeout, then report
//! instructions per inference of the optimized and baseline kernels, flash
//! and RAM use, and whether every output matched the golden model.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};

use super::common::{float_input, load_dataset, load_model, program_for};
use crate::paths;
use crate::reports::{self, FirmwareLine, FlashUse, McuReport};

/// Arguments of `tbn mcu`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Build the firmware for a model and run it in QEMU.
    Run(RunArgs),
}

/// Arguments of `tbn mcu run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Model file (default: the bundled reference model).
    #[arg(long)]
    pub(crate) model: Option<PathBuf>,
    /// Number of MNIST test images embedded and checked (>= 1).
    #[arg(long, default_value_t = 100, value_parser = super::common::at_least_one)]
    pub(crate) images: usize,
    /// Activation bits of hidden stages (1..=8).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub(crate) act_bits: u8,
    /// Calibration images from the training subset.
    #[arg(long, default_value_t = 500, value_parser = super::common::at_least_one)]
    pub(crate) calib: usize,
    /// QEMU timeout in seconds.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs `tbn mcu`.
pub fn run(a: Args) -> Result<()> {
    match a.action {
        Action::Run(r) => {
            let report = run_on_mcu(&r)?;
            if r.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_human(&report);
            }
            ensure!(
                report.ok,
                "firmware checks failed: {}",
                serde_json::to_string(&report.firmware)?
            );
            Ok(())
        }
    }
}

/// The firmware's folder.
pub fn firmware_dir() -> PathBuf {
    paths::project_path("firmware")
}

/// Holds the firmware folder for one `tbn mcu run` until the returned file
/// is dropped (an advisory lock on firmware/target/mcu-run.lock): the
/// firmware embeds firmware/gen's inputs when it is built, so two runs at
/// once would build, run and report each other's model.
fn lock_firmware() -> Result<std::fs::File> {
    let dir = firmware_dir().join("target");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("mcu-run.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.lock()
        .with_context(|| format!("locking {}", path.display()))?;
    Ok(file)
}

/// What [`generate`] embedded in the firmware.
struct Generated {
    model: String,
    program_bytes: u64,
    program_bytes_integer_only: u64,
    images_bytes: u64,
    expected_bytes: u64,
}

/// Writes firmware/gen/{program,images,expected}.bin for `n` test images.
fn generate(model_path: Option<&Path>, n: usize, act_bits: u8, calib: usize) -> Result<Generated> {
    let model = load_model(model_path)?;
    let prog = program_for(&model, act_bits, calib)?;
    let bytes = tbn_host::convert::program_bytes(&prog, Some(&model))
        .context("encoding the program for the MCU")?;
    let int_only = tbn_host::convert::program_bytes(&prog, None)
        .context("encoding the program for the MCU")?;
    let (images, _labels) = load_dataset(None, None)?;
    ensure!(
        n > 0 && n <= images.count,
        "--images must be 1..={}",
        images.count
    );
    let n_logits = model.output_shape()?.numel();
    let in_len = model.input_shape.numel();
    ensure!(
        prog.input.bits <= 8,
        "input bits {} do not fit a byte",
        prog.input.bits
    );
    let mut img_bytes = Vec::with_capacity(n * in_len);
    let mut logits = Vec::with_capacity(n * n_logits * 8);
    let mut float_preds = Vec::with_capacity(n);
    for i in 0..n {
        let xf = float_input(&model, &images, i)?;
        let xi = prog.input.quantize(&xf);
        img_bytes.extend(xi.iter().map(|&v| v as u8));
        let out = prog.run(&xi)?;
        ensure!(
            out.len() == n_logits,
            "program gives {} logits, model {}",
            out.len(),
            n_logits
        );
        for v in out {
            logits.extend_from_slice(&v.to_le_bytes());
        }
        let f = tbn_golden::float::forward(&model, &xf)?;
        float_preds.push(tbn_golden::float::argmax(&f) as u8);
    }
    let mut expected = Vec::new();
    expected.extend_from_slice(b"TBNE");
    for v in [n as u32, n_logits as u32, in_len as u32] {
        expected.extend_from_slice(&v.to_le_bytes());
    }
    expected.extend_from_slice(&logits);
    expected.extend_from_slice(&float_preds);
    // The three inputs belong together: written as one folder, swapped in whole
    // (a previous run's report.json goes with the inputs it was made from).
    let gen = firmware_dir().join("gen");
    tbn_golden::atomic::fill_dir(&gen, |st| -> Result<()> {
        for (name, data) in [
            ("program.bin", &bytes),
            ("images.bin", &img_bytes),
            ("expected.bin", &expected),
        ] {
            std::fs::write(st.path().join(name), data)
                .with_context(|| format!("writing {}", gen.join(name).display()))?;
        }
        Ok(())
    })?;
    Ok(Generated {
        model: model.name.clone(),
        program_bytes: bytes.len() as u64,
        program_bytes_integer_only: int_only.len() as u64,
        images_bytes: img_bytes.len() as u64,
        expected_bytes: expected.len() as u64,
    })
}

/// Section sizes of an ELF from `arm-none-eabi-size -A` (None if the tool is missing).
fn section_sizes(elf: &Path) -> Option<Vec<(String, u64)>> {
    let out = Command::new("arm-none-eabi-size")
        .arg("-A")
        .arg(elf)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let name = it.next()?;
                let size = it.next()?.parse().ok()?;
                name.starts_with('.').then(|| (name.to_string(), size))
            })
            .collect(),
    )
}

fn build_firmware() -> Result<PathBuf> {
    let dir = firmware_dir();
    let dir = dir
        .canonicalize()
        .with_context(|| format!("firmware folder {}", dir.display()))?;
    let target = dir.join("target");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .status()
        .context("running cargo build for the firmware")?;
    ensure!(
        status.success(),
        "firmware build failed (needs: rustup target add thumbv7em-none-eabihf)"
    );
    Ok(target.join("thumbv7em-none-eabihf/release/tbn-firmware"))
}

/// Runs the ELF in QEMU under `timeout`; returns the firmware's report line and exit status.
fn run_qemu(elf: &Path, timeout: u64) -> Result<(FirmwareLine, bool)> {
    if Command::new("qemu-system-arm")
        .arg("--version")
        .output()
        .is_err()
    {
        bail!("qemu-system-arm not found: install it (Debian: apt-get install qemu-system-arm)");
    }
    let out = Command::new("timeout")
        .arg(Duration::from_secs(timeout).as_secs().to_string())
        .args([
            "qemu-system-arm",
            "-machine",
            "mps2-an386",
            "-cpu",
            "cortex-m4",
            "-nographic",
        ])
        .args([
            "-semihosting-config",
            "enable=on,target=native",
            "-icount",
            "shift=0",
            "-kernel",
        ])
        .arg(elf)
        .output()
        .context("running qemu-system-arm")?;
    if out.status.code() == Some(124) {
        bail!("QEMU did not finish within {timeout} s (killed by timeout)");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .with_context(|| {
            format!(
                "the firmware printed no JSON report (exit {:?}); output:\n{stdout}{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let v: FirmwareLine = serde_json::from_str(line)
        .with_context(|| format!("firmware report is not the expected JSON: {line}"))?;
    Ok((v, out.status.success()))
}

/// Builds the firmware for the model, runs it in QEMU and writes the report
/// to firmware/gen/report.json ([`reports::mcu_path`]).
pub fn run_on_mcu(a: &RunArgs) -> Result<McuReport> {
    let _held = lock_firmware()?;
    let gen = generate(a.model.as_deref(), a.images, a.act_bits, a.calib)?;
    let elf = build_firmware()?;
    let (fw, exit_ok) = run_qemu(&elf, a.timeout)?;
    if let Some(err) = &fw.error {
        bail!("firmware error: {err} (code {})", fw.code.unwrap_or(-1));
    }
    let opt = fw.optimized.instr_per_inference;
    let base = fw.baseline.instr_per_inference;
    let ratio = if opt > 0 {
        base as f64 / opt as f64
    } else {
        0.0
    };
    let flash = section_sizes(&elf).map(|secs| {
        let get = |n: &str| {
            secs.iter()
                .filter(|(s, _)| s == n)
                .map(|(_, v)| *v)
                .sum::<u64>()
        };
        let embedded = gen.program_bytes + gen.images_bytes + gen.expected_bytes;
        FlashUse {
            code_bytes: get(".text") + get(".vector_table"),
            rodata_bytes_excluding_embedded_data: get(".rodata").saturating_sub(embedded),
            model_bytes: gen.program_bytes,
            test_data_bytes: gen.images_bytes + gen.expected_bytes,
            ram_data_bss_bytes: get(".data") + get(".bss"),
        }
    });
    let report = McuReport {
        ok: exit_ok && fw.ok,
        model: gen.model,
        images: fw.images,
        int_logits_match: fw.int_logits_match,
        float_pred_match: fw.float_pred_match,
        optimized_instr_per_inference: opt,
        baseline_instr_per_inference: base,
        speedup: (ratio * 100.0).round() / 100.0,
        program_bytes: gen.program_bytes,
        program_bytes_integer_only: gen.program_bytes_integer_only,
        flash,
        firmware: fw,
    };
    reports::write(&reports::mcu_path(), &report)?;
    Ok(report)
}

fn print_human(r: &McuReport) {
    println!(
        "MCU: QEMU mps2-an386 (Cortex-M4F), model {}, {} images",
        r.model, r.images
    );
    println!(
        "  integer logits bit-exact vs golden : {}/{}",
        r.int_logits_match, r.images
    );
    println!(
        "  float predictions vs golden float  : {}/{}",
        r.float_pred_match, r.images
    );
    println!(
        "  optimized kernel  : {} instructions/inference",
        r.optimized_instr_per_inference
    );
    println!(
        "  baseline (float)  : {} instructions/inference",
        r.baseline_instr_per_inference
    );
    println!("  speedup           : {:.1}x", r.speedup);
    println!(
        "  model in flash    : {} bytes ({} integer-only)",
        r.program_bytes, r.program_bytes_integer_only
    );
    if let Some(f) = &r.flash {
        println!("  code in flash     : {} bytes (.text)", f.code_bytes);
        println!(
            "  RAM (.data+.bss)  : {} bytes, stack high-water {} bytes",
            f.ram_data_bss_bytes, r.firmware.stack_bytes
        );
    }
    println!(
        "  kernel buffers    : {} bytes",
        r.firmware.kernel_buffers_bytes
    );
    println!("  report            : {}", reports::mcu_path().display());
}
