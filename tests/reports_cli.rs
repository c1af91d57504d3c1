//! `tbn compare`, `tbn demo` and `tbn report readme` over the typed reports
//! (tbn-reports): each reader deserializes the writer's type.

use std::path::Path;

use assert_cmd::Command;
use predicates::str::contains;
use tbn_reports::{
    BusKind, Clocks, EngineKind, FirmwareLine, HostWork, KernelInstructions, McuReport, SimReport,
};

fn tbn() -> Command {
    Command::cargo_bin("tbn").unwrap()
}

fn sim_report(engine: EngineKind) -> SimReport {
    SimReport {
        model: "tbn_mnist_mlp_p4".into(),
        engine,
        estimate: engine == EngineKind::Reference,
        basis: "test fixture".into(),
        bus: BusKind::Spi,
        lanes: 32,
        act_bits: 8,
        total: 10,
        correct: 10,
        accuracy: 1.0,
        logits_match: 10,
        predictions_match: 10,
        first_mismatch: None,
        starts_per_inference: 1.0,
        link_cycles: 7504.0,
        link_unit: "sck".into(),
        compute_cycles: 6858.0,
        ideal_cycles: 6858,
        efficiency: 1.0,
        host_work: HostWork::default(),
        clocks: Clocks {
            fmax_mhz: 49.1,
            fmax_source: "--fmax-mhz".into(),
            sck_mhz: Some(12.275),
            sck_source: Some("fmax / 4".into()),
            spi_lines: Some(1),
        },
        compute_us: 139.7,
        end_to_end_us: 733.0,
        layers: vec![],
        seconds: 0.1,
    }
}

fn mcu_report() -> McuReport {
    McuReport {
        ok: true,
        model: "tbn_mnist_mlp_p4".into(),
        images: 2,
        int_logits_match: 2,
        float_pred_match: 2,
        optimized_instr_per_inference: 58_552,
        baseline_instr_per_inference: 3_170_134,
        speedup: 54.14,
        program_bytes: 3432,
        program_bytes_integer_only: 3404,
        flash: None,
        firmware: FirmwareLine {
            ok: true,
            images: 2,
            optimized: KernelInstructions {
                instr_per_inference: 58_552,
                min: 58_000,
                max: 59_000,
            },
            ..Default::default()
        },
    }
}

/// A `tbn gpu bench --json` report (tbn_gpu::bench types), as JSON.
const GPU_REPORT: &str = r#"{
  "device": "llvmpipe (Vulkan, Cpu)",
  "model": {
    "model": "tbn_mnist_mlp_p4", "batch": 256,
    "tbn_float": {"inputs": 2048, "seconds": 0.5, "per_second": 4096.0},
    "tbn_integer": {"inputs": 2048, "seconds": 0.25, "per_second": 8192.0},
    "dense_f32": {"inputs": 2048, "seconds": 1.0, "per_second": 2048.0},
    "float_vs_dense": 2.0, "integer_vs_dense": 4.0,
    "memory": {"layers": [], "tbn_weight_bytes": 3316, "dense_f32_bytes": 406528, "fraction": 0.008}
  },
  "layer": null
}"#;

fn write(path: &Path, report: &impl serde::Serialize) {
    tbn_reports::write(path, report).unwrap();
}

#[test]
fn compare_shows_mcu_accelerator_and_gpu_rows_from_typed_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (sim, mcu, gpu) = (
        dir.path().join("sim.json"),
        dir.path().join("mcu.json"),
        dir.path().join("gpu.json"),
    );
    write(&sim, &sim_report(EngineKind::Reference));
    write(&mcu, &mcu_report());
    std::fs::write(&gpu, GPU_REPORT).unwrap();
    let out = tbn()
        .args(["compare", "--sim-report"])
        .arg(&sim)
        .arg("--mcu-report")
        .arg(&mcu)
        .arg("--gpu-report")
        .arg(&gpu)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // MCU: 58,552 instructions at 64 MHz, an estimate.
    assert!(text.contains("MCU alone (Cortex-M4 @ 64 MHz)"), "{text}");
    assert!(text.contains("914.9 us"), "{text}");
    // The accelerator rows come from compute_cycles / end_to_end_us (the key
    // `tbn compare` once looked for, cycles_per_inference, never existed).
    assert!(text.contains("6858 cycles"), "{text}");
    assert!(
        text.contains("733.0 us") && text.contains("139.7 us"),
        "{text}"
    );
    assert!(text.contains("SPI x1 at 12.28 MHz"), "{text}");
    // GPU: 8192 images/s of the integer kernel.
    assert!(text.contains("GPU, TBN integer, batch 256"), "{text}");
    assert!(text.contains("122.1 us"), "{text}");

    let out = tbn()
        .args(["compare", "--json", "--sim-report"])
        .arg(&sim)
        .arg("--mcu-report")
        .arg(&mcu)
        .arg("--gpu-report")
        .arg(&gpu)
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    // Every row says whether it is an estimate: MCU (assumed clock) and the
    // engine's reference model are; the GPU measurement is not.
    let est: Vec<bool> = rows.iter().map(|r| r["estimate"] == true).collect();
    assert_eq!(est, [true, true, true, false]);
    assert!(rows[0]["note"].as_str().unwrap().starts_with("estimate"));
}

#[test]
fn compare_names_missing_and_foreign_reports() {
    let dir = tempfile::tempdir().unwrap();
    let none = dir.path().join("none.json");
    let out = tbn()
        .args(["compare", "--sim-report"])
        .arg(&none)
        .arg("--mcu-report")
        .arg(&none)
        .arg("--gpu-report")
        .arg(&none)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for want in ["no MCU report", "no system report", "no GPU report"] {
        assert!(text.contains(want), "{want}: {text}");
    }
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, br#"{"optimized_instr_per_inference": 5}"#).unwrap();
    tbn()
        .args(["compare", "--mcu-report"])
        .arg(&bad)
        .assert()
        .failure()
        .stderr(contains("not the expected report (McuReport)"))
        .stderr(contains("missing field"));
}

/// `tbn demo --quick`: every part through the library functions, a typed
/// summary; MCU and synthesis skipped to keep it short (their commands have
/// their own tests).
#[test]
fn demo_quick_writes_a_typed_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("demo");
    let out = tbn()
        .current_dir(dir.path())
        .args(["demo", "--quick", "--skip", "mcu", "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("[12/12]"), "{err}");
    let summary = std::fs::read(out_dir.join("summary.json")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&summary).unwrap();
    assert_eq!(v["images"]["eval"], 200);
    assert_eq!(v["float"]["ok"]["total"], 200);
    assert!(v["float"]["ok"]["accuracy"].as_f64().unwrap() > 0.9);
    assert_eq!(v["integer"]["ok"]["path"], "integer");
    assert_eq!(v["inspect"]["ok"]["bytes"]["tbn"], 3316);
    assert_eq!(v["mcu"]["skipped"], "--skip");
    assert_eq!(v["synth"]["skipped"], "--skip");
    assert_eq!(v["synth_engine"]["skipped"], "--skip");
    match v["engine"].get("ok") {
        Some(spi) => {
            assert_eq!(spi["logits_match"], 20);
            assert_eq!(spi["bus"], "spi");
            assert_eq!(spi["estimate"], false);
        }
        None => assert!(v["engine"]["skipped"]
            .as_str()
            .unwrap()
            .contains("not found")),
    }
    // The RTL part runs when Verilator is installed, else says how to install it.
    match v["sim"].get("ok") {
        Some(sim) => assert_eq!(sim["logits_match"], 3),
        None => assert!(v["sim"]["skipped"].as_str().unwrap().contains("not found")),
    }
    match v["engine_rtl"].get("ok") {
        Some(rtl) => {
            assert_eq!(rtl["logits_match"], 3);
            assert_eq!(rtl["starts_per_inference"].as_f64(), Some(1.0));
        }
        None => assert!(v["engine_rtl"]["skipped"]
            .as_str()
            .unwrap()
            .contains("not found")),
    }
    match v["engine_quad"].get("ok") {
        Some(quad) => {
            assert_eq!(quad["logits_match"], 3);
            assert_eq!(quad["clocks"]["spi_lines"], 4);
        }
        None => assert!(v["engine_quad"]["skipped"]
            .as_str()
            .unwrap()
            .contains("not found")),
    }
    // The co-simulation (firmware in QEMU + engine RTL) when QEMU and Verilator are installed.
    match v["cosim"].get("ok") {
        Some(c) => {
            assert_eq!(c["logits_match"], 2);
            assert_eq!(c["total"], 2);
        }
        None => assert!(v["cosim"]["skipped"]
            .as_str()
            .unwrap()
            .contains("not found")),
    }
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(md.contains("model bytes: f32 / binary / TBN | 406,528 / 12,712 / 3,316"));
    assert!(md.contains("(estimate)"), "{md}");
    // --results writes the committed report: not from a quick run.
    tbn()
        .args(["demo", "--quick", "--results"])
        .assert()
        .failure()
        .stderr(contains("cannot be used with"));
}

/// A model with convolutions: the single-layer job core's part is skipped
/// with the reason (not a failure), the engine parts and the co-simulation
/// run it (model image format 2) with logits identical to golden; a part
/// that fails makes the demo fail after it wrote its report.
#[test]
fn demo_skips_what_the_model_cannot_run_and_fails_on_a_failed_part() {
    let dir = tempfile::tempdir().unwrap();
    let cnn = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/models/cnn_16c3_p2_32c3_p2_fc128_10_p4.json");
    let out_dir = dir.path().join("demo-cnn");
    let out = tbn()
        .current_dir(dir.path())
        .args(["demo", "--quick", "--skip", "mcu", "--model"])
        .arg(&cnn)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("summary.json")).unwrap()).unwrap();
    let why = v["sim"]["skipped"].as_str().unwrap_or_default();
    assert!(why.contains("convolutions"), "sim: {v}");
    for part in ["engine", "engine_rtl", "engine_quad", "cosim"] {
        let ok = &v[part]["ok"];
        assert!(ok["total"].as_u64().unwrap_or(0) > 0, "{part}: {v}");
        assert_eq!(ok["logits_match"], ok["total"], "{part}: {v}");
    }
    assert!(v["integer"]["ok"]["accuracy"].as_f64().unwrap() > 0.9);

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, b"{ not a model").unwrap();
    let out_dir = dir.path().join("demo-bad");
    tbn()
        .current_dir(dir.path())
        .args([
            "demo",
            "--quick",
            "--skip",
            "mcu,sim,engine,cosim",
            "--model",
        ])
        .arg(&bad)
        .arg("--out")
        .arg(&out_dir)
        .assert()
        .failure()
        .stderr(contains("demo part(s) failed: inspect, float, integer"));
    assert!(out_dir.join("report.md").is_file());
}

/// The README's results block is what `tbn report readme` generates from the
/// committed docs/results/demo.json.
#[test]
fn readme_results_block_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    tbn()
        .current_dir(root)
        .args(["report", "readme", "--check"])
        .assert()
        .success()
        .stdout(contains("up to date"));
    // A stale copy fails --check and is rewritten without it.
    let dir = tempfile::tempdir().unwrap();
    let readme = dir.path().join("README.md");
    std::fs::write(
        &readme,
        "# x\n<!-- DEMO-RESULTS:BEGIN -->\nold\n<!-- DEMO-RESULTS:END -->\ntail\n",
    )
    .unwrap();
    let from = root.join("docs/results/demo.json");
    tbn()
        .args(["report", "readme", "--check", "--readme"])
        .arg(&readme)
        .arg("--from")
        .arg(&from)
        .assert()
        .failure()
        .stderr(contains("stale"));
    tbn()
        .args(["report", "readme", "--readme"])
        .arg(&readme)
        .arg("--from")
        .arg(&from)
        .assert()
        .success();
    let text = std::fs::read_to_string(&readme).unwrap();
    assert!(text.starts_with("# x\n<!-- DEMO-RESULTS:BEGIN -->\n<!-- Generated"));
    assert!(
        text.ends_with("<!-- DEMO-RESULTS:END -->\ntail\n"),
        "{text}"
    );
    assert!(!text.contains("\nold\n"));
    // No markers: a clear error.
    std::fs::write(&readme, "# x\n").unwrap();
    tbn()
        .args(["report", "readme", "--readme"])
        .arg(&readme)
        .arg("--from")
        .arg(&from)
        .assert()
        .failure()
        .stderr(contains("has no <!-- DEMO-RESULTS:BEGIN -->"));
}
