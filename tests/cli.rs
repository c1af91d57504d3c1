//! End-to-end tests of the `tbn` command line (golden-model commands).

use assert_cmd::Command;
use predicates::str::contains;

fn tbn() -> Command {
    Command::cargo_bin("tbn").unwrap()
}

fn json_of(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).expect("valid JSON on stdout")
}

#[test]
fn eval_float_and_integer_json() {
    let out = tbn()
        .args(["eval", "--limit", "500", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v = json_of(&out.stdout);
    assert_eq!(v["total"], 500);
    assert!(v["accuracy"].as_f64().unwrap() > 0.9);
    let out = tbn()
        .args(["eval", "--integer", "--limit", "500", "--json"])
        .output()
        .unwrap();
    let w = json_of(&out.stdout);
    assert_eq!(w["path"], "integer");
    assert!((w["correct"].as_i64().unwrap() - v["correct"].as_i64().unwrap()).abs() <= 5);
}

#[test]
fn infer_matches_reference_logits() {
    let out = tbn()
        .args(["infer", "--index", "0", "--json"])
        .output()
        .unwrap();
    let v = json_of(&out.stdout);
    assert_eq!(v["class"], 7);
    assert!((v["logits"][7].as_f64().unwrap() - 9.33696).abs() < 1e-4);
    let out = tbn()
        .args(["infer", "--index", "0", "--integer", "--json"])
        .output()
        .unwrap();
    let w = json_of(&out.stdout);
    assert_eq!(w["class"], 7);
    assert!(
        (w["logits"][7].as_f64().unwrap() - 9.33696).abs() < 0.2,
        "{w}"
    );
}

#[test]
fn convert_roundtrip_and_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("m.tbn");
    let json = dir.path().join("m.json");
    tbn()
        .args(["convert", "data/reference/tbn_mnist_mlp_p4.json"])
        .arg(&bin)
        .assert()
        .success();
    tbn().arg("convert").arg(&bin).arg(&json).assert().success();
    let out = tbn()
        .arg("inspect")
        .arg(&json)
        .arg("--json")
        .output()
        .unwrap();
    let v = json_of(&out.stdout);
    assert_eq!(v["layers"][0]["p"], 4);
    assert_eq!(v["layers"][0]["tile_bits"], 25088);
    // Every command that takes --model takes every format.
    for m in [&bin, &json] {
        let out = tbn()
            .args(["eval", "--limit", "100", "--json", "--model"])
            .arg(m)
            .output()
            .unwrap();
        assert_eq!(json_of(&out.stdout)["total"], 100);
    }
}

/// Writes a little-endian f32 .npy file.
fn write_npy(path: &std::path::Path, shape: &[usize], data: &[f32]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in data {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn compress_npy_with_the_paper_rule() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("fc.npy");
    // 4 x 6 weights, p = 2: chunk sums decide the 12 tile bits.
    let w: Vec<f32> = (0..24)
        .map(|k| {
            if k % 5 == 0 {
                -1.0
            } else {
                0.5 + k as f32 / 100.0
            }
        })
        .collect();
    write_npy(&npy, &[4, 6], &w);
    let out = dir.path().join("c.json");
    tbn()
        .args(["compress", "--p", "2", "--min-size", "1", "--weights"])
        .arg(&npy)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let model = tbn_golden::load_model(&out).unwrap();
    let tw = model.layers[0].weights().unwrap();
    assert_eq!((tw.p, tw.q()), (2, 12));
    for j in 0..12 {
        assert_eq!(tw.tile.get(j), w[j] + w[12 + j] > 0.0, "bit {j}");
    }
    let mean0: f32 = w[..12].iter().map(|v| v.abs()).sum::<f32>() / 12.0;
    assert!((tw.alphas[0] - mean0).abs() < 1e-6);
}

#[test]
fn malformed_inputs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"format\": \"tbn-model\", \"version\": 1, \"name\": \"x\"",
    )
    .unwrap();
    tbn()
        .args(["eval", "--model"])
        .arg(&bad)
        .assert()
        .failure()
        .stderr(contains("bad.json"))
        .stderr(contains("EOF"));
    let trunc = dir.path().join("t.tbn");
    std::fs::write(&trunc, b"TBNM\x01\x00\x05").unwrap();
    tbn()
        .args(["inspect"])
        .arg(&trunc)
        .assert()
        .failure()
        .stderr(contains("truncated or corrupt"));
    let idx = dir.path().join("bad.idx");
    std::fs::write(&idx, [1u8, 2, 3, 4]).unwrap();
    tbn()
        .args(["eval", "--images"])
        .arg(&idx)
        .assert()
        .failure()
        .stderr(contains("bad IDX magic"));
    tbn()
        .args(["infer", "--index", "20000"])
        .assert()
        .failure()
        .stderr(contains("out of range"));
    tbn().args(["eval", "--act-bits", "9"]).assert().failure();
}

/// `tbn sim --engine reference`: the model image through the driver on the
/// engine's reference model; the typed report that `tbn compare` reads.
#[test]
fn sim_reference_engine_system_figures_and_compare() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("ref.img");
    let out = tbn()
        .current_dir(dir.path())
        .args([
            "sim",
            "--engine",
            "reference",
            "--bus",
            "spi",
            "--limit",
            "30",
        ])
        .args([
            "--fmax-mhz",
            "48",
            "--sck-mhz",
            "12",
            "--json",
            "--image-out",
        ])
        .arg(&image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out.stdout);
    assert_eq!(v["total"], 30);
    assert_eq!(v["logits_match"], 30);
    assert_eq!(v["starts_per_inference"], 1.0);
    assert_eq!(v["estimate"], true);
    assert_eq!(v["link_unit"], "sck");
    // 196 input words in 4 frames, INFER, 4 polls, CLASS, 10 logits.
    assert_eq!(v["link_cycles"], 7504.0);
    assert_eq!(v["compute_cycles"], 6858.0);
    assert_eq!(v["host_work"]["rows_requantized"], 0.0);
    let e2e = v["end_to_end_us"].as_f64().unwrap();
    let want = (7504.0 - 3.0 * 72.0) / 12.0 + 6858.0 / 48.0;
    assert!((e2e - want).abs() < 1e-6, "{e2e} vs {want}");
    let bytes = std::fs::read(&image).unwrap();
    assert_eq!(&bytes[..4], b"TBNM");
    // The report left in reports/sim.json is read back by `tbn compare`.
    let report = dir.path().join("reports/sim.json");
    assert!(report.is_file());
    let out = tbn()
        .args(["compare", "--sim-report"])
        .arg(&report)
        .args(["--mcu-report"])
        .arg(dir.path().join("missing.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("MCU + accelerator, end to end (whole-network engine, reference model; SPI x1 at 12.00 MHz)"),
        "{text}"
    );
    assert!(text.contains("accelerator compute only"), "{text}");
    assert!(text.contains("estimate"), "{text}");
    assert!(text.contains("no MCU report"), "{text}");
    // A report of another shape is a clear error, not a silent blank.
    std::fs::write(&report, b"{\"cycles_per_inference\": 5}").unwrap();
    tbn()
        .args(["compare", "--sim-report"])
        .arg(&report)
        .assert()
        .failure()
        .stderr(contains("not the expected report"));
}

fn idx_file(path: &std::path::Path, dims: &[u32], data: &[u8]) {
    let mut v = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    std::fs::write(path, v).unwrap();
}

/// Issue 17: `eval` refuses `--limit 0` and labels the model has no class for.
#[test]
fn eval_refuses_limit_zero_and_foreign_labels() {
    tbn()
        .args(["eval", "--limit", "0"])
        .assert()
        .failure()
        .stderr(contains("'0' for '--limit"))
        .stderr(contains("at least 1"));
    let dir = tempfile::tempdir().unwrap();
    let (im, lb) = (dir.path().join("i.idx"), dir.path().join("l.idx"));
    idx_file(&im, &[3, 28, 28], &[0; 3 * 784]);
    idx_file(&lb, &[3], &[1, 12, 3]);
    tbn()
        .args(["eval", "--images"])
        .arg(&im)
        .arg("--labels")
        .arg(&lb)
        .assert()
        .failure()
        .stderr(contains("label 12 of image 1"));
}

/// Issue 17: a count of 0 is a usage error (exit 2, naming the flag), never a
/// run that does nothing and exits 0.
#[test]
fn zero_counts_are_usage_errors() {
    let cases: &[&[&str]] = &[
        &["eval", "--calib", "0"],
        &["infer", "--calib", "0"],
        &["quantize", "--calib", "0"],
        &["compress", "--weights", "w.npy", "--p", "0"],
        &["compress", "--weights", "w.npy", "--stride", "0"],
        &["verify", "--seeds", "0"],
        &["verify", "--lanes", "32,0"],
        &["sim", "--lanes", "0"],
        &["sim", "--calib", "0"],
        &["coverage", "--seeds", "0"],
        &["coverage", "--lanes", "0"],
        &["coverage", "--images", "0"],
        &["hdl", "emit", "--out", "x", "--lanes", "0"],
        &["hdl", "emit", "--out", "x", "--tile-bits", "0"],
        &["hdl", "emit", "--out", "x", "--max-in", "0"],
        &["hdl", "emit", "--out", "x", "--max-rows", "0"],
        &["synth", "--max-rows", "0"],
        &["synth", "--tile-bits", "0"],
        &["synth", "--engine", "--maps", "0"],
        &["train", "--epochs", "0"],
        &["train", "--batch", "0"],
        &["train", "--p", "0"],
        &["train", "--threads", "0"],
        &["mcu", "run", "--images", "0"],
        &["mcu", "run", "--calib", "0"],
        &["mcu", "run", "--timeout", "0"],
        &["gpu", "eval", "--batch", "0"],
        &["gpu", "bench", "--images", "0"],
        &["gpu", "bench", "--layer-vectors", "0"],
    ];
    for args in cases {
        let flag = args[args.len() - 2];
        tbn()
            .args(*args)
            .assert()
            .code(2)
            .stderr(contains(format!("for '{flag}")));
    }
    // --lanes of synth is a list parsed after clap: still an error before any work.
    tbn()
        .args(["synth", "--device", "up5k", "--lanes", "0"])
        .assert()
        .failure()
        .stderr(contains("0 lanes"));
}

/// `tbn synth --maps`: only with `--engine`; a region size the engine cannot
/// be built with is named before any synthesis.
#[test]
fn synth_maps_flag_checks() {
    tbn()
        .args(["synth", "--device", "up5k", "--maps", "16384"])
        .assert()
        .code(2)
        .stderr(contains("--engine"));
    for bad in ["1000", "65536", "99999999999"] {
        tbn()
            .args([
                "synth",
                "--device",
                "ecp5-25k",
                "--lanes",
                "32",
                "--engine",
                "--maps",
                bad,
                "--out",
                "/nonexistent/x",
            ])
            .assert()
            .failure()
            .stderr(contains("fmap_values"));
    }
}

/// Lane counts the core cannot be generated with are usage errors up front
/// (not a demo that runs its other parts and exits 0).
#[test]
fn unsupported_lane_counts_are_usage_errors() {
    let cases: &[&[&str]] = &[
        &["demo", "--quick", "--lanes", "12"],
        &["sim", "--lanes", "48"],
        &["verify", "--lanes", "8,12"],
        &["coverage", "--lanes", "512"],
        &["hdl", "emit", "--out", "x", "--lanes", "4"],
    ];
    for args in cases {
        tbn()
            .args(*args)
            .assert()
            .code(2)
            .stderr(contains("must be one of [8, 16, 32, 64, 128, 256]"));
    }
}

/// Issue 17: alphas of 3e38 overflow f32: an error, not `null` logits and class 0.
#[test]
fn infer_refuses_non_finite_logits() {
    use tbn_golden::model::{Layer, Linear, Model, Shape, TiledWeights};
    let m = Model::new(
        "huge",
        Shape::Vector(784),
        vec![Layer::Linear(Linear {
            name: "fc".into(),
            in_features: 784,
            out_features: 10,
            weights: TiledWeights {
                p: 1,
                tile: tbn_golden::tile::Tile::zeros(7840),
                alphas: vec![3e38],
            },
            bias: None,
        })],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    tbn_golden::format::save_model_json(&m, &path).unwrap();
    tbn()
        .args(["infer", "--index", "1", "--model"])
        .arg(&path)
        .assert()
        .failure()
        .stderr(contains("non-finite"));
}

/// Issue 17: overflowing sizes are refused by `inspect` and `convert`, and a
/// failed `convert` leaves the old output whole and no temporary file.
#[test]
fn overflowing_model_and_failed_convert() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("big.json");
    let layer = r#"{"linear": {"name": "fc", "in_features": 4294967296, "out_features": 4294967296, "weights": {"p": 1, "tile_bits": 0, "tile": "", "alphas": [1.0]}}}"#;
    std::fs::write(
        &bad,
        format!(
            r#"{{"format": "tbn-model", "version": 1, "tile_bit_order": "", "name": "x", "input_shape": [4294967296], "layers": [{layer}]}}"#
        ),
    )
    .unwrap();
    tbn()
        .arg("inspect")
        .arg(&bad)
        .assert()
        .failure()
        .stderr(contains("more than"));
    tbn()
        .arg("convert")
        .arg(&bad)
        .arg(dir.path().join("out.tbn"))
        .assert()
        .failure()
        .stderr(contains("more than"));
    let out = dir.path().join("out.json");
    tbn()
        .arg("convert")
        .arg(crate_path("data/reference/tbn_mnist_mlp_p4.json"))
        .arg(&out)
        .assert()
        .success();
    let before = std::fs::read(&out).unwrap();
    // The output's folder is a file: the write fails before anything is replaced.
    tbn()
        .arg("convert")
        .arg(crate_path("data/reference/tbn_mnist_mlp_p4.json"))
        .arg(out.join("x.tbn"))
        .assert()
        .failure();
    assert_eq!(std::fs::read(&out).unwrap(), before);
    let n = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(n, 2, "only big.json and out.json");
}

fn crate_path(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Issue 17: an output folder is replaced as a whole, and only when the run
/// succeeded: an error after the output folder was started leaves the previous
/// one exactly as it was; the current directory is never an output folder.
#[test]
fn output_folders_are_swapped_in_whole() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("rtl");
    tbn()
        .args(["hdl", "emit", "--lanes", "8", "--out"])
        .arg(&out)
        .assert()
        .success();
    let core = std::fs::read(out.join("tbn_core.v")).unwrap();
    std::fs::write(out.join("note.txt"), "kept until a run succeeds").unwrap();
    // 7 lanes is refused by the generator, inside the run.
    tbn()
        .args(["hdl", "emit", "--lanes", "7", "--out"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("lanes"));
    assert_eq!(std::fs::read(out.join("tbn_core.v")).unwrap(), core);
    assert!(out.join("note.txt").is_file());
    let names = |p: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names(d.path()), ["rtl"], "no staging folder left");
    tbn()
        .args(["hdl", "emit", "--lanes", "16", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert!(
        !out.join("note.txt").exists(),
        "the new folder replaced the old"
    );
    assert_ne!(std::fs::read(out.join("tbn_core.v")).unwrap(), core);
    for here in [".", ".."] {
        tbn()
            .current_dir(&out)
            .args(["hdl", "emit", "--out", here])
            .assert()
            .failure()
            .stderr(contains("current directory"));
    }
    assert!(out.join("tbn_core.v").is_file());
}

/// docs/numerics.md §3: `tbn quantize --act-bits 1` on a ReLU model is refused
/// with an error naming the stage and the fix, and writes no program.
#[test]
fn quantize_relu_to_one_bit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    tbn()
        .args(["quantize", "--act-bits", "1", "--calib", "20", "--out"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("fc1"))
        .stderr(contains("cannot produce 1-bit activations"))
        .stderr(contains("--act-bits 2"))
        .stderr(contains("--act sign"));
    assert!(!out.exists());
    tbn()
        .args(["eval", "--integer", "--act-bits", "1", "--limit", "10"])
        .assert()
        .failure()
        .stderr(contains("cannot produce 1-bit activations"));
    // A 1-bit ReLU is not trainable either.
    tbn()
        .args(["train", "--act", "relu", "--act-bits", "1", "--out"])
        .arg(dir.path().join("m.json"))
        .assert()
        .failure()
        .stderr(contains("--act sign"));
}

/// The shipped W1A1 (sign) and W1A2 (2-bit ReLU) MLPs: `tbn quantize` compiles
/// them at any --act-bits to 1-bit sign / 2-bit stages, and the integer path
/// classifies the first 1,000 test images within 0.5 points of the float path.
#[test]
fn shipped_w1a1_and_w1a2_models_quantize_and_match_float() {
    let dir = tempfile::tempdir().unwrap();
    for (name, kind, bits) in [("w1a1", "Sign", 1), ("w1a2", "Relu", 2)] {
        let model = format!("data/models/mlp_784_256_256_10_p4_{name}.json");
        let prog = dir.path().join(format!("{name}.json"));
        tbn()
            .args([
                "quantize",
                "--act-bits",
                "1",
                "--calib",
                "50",
                "--model",
                &model,
                "--out",
            ])
            .arg(&prog)
            .assert()
            .success()
            .stdout(contains(format!("fc1: A8 in, {kind} out ({bits} bits)")))
            .stdout(contains(format!(
                "fc2: A{bits} in, {kind} out ({bits} bits)"
            )));
        let eval = |integer: bool| {
            let mut c = tbn();
            c.args(["eval", "--model", &model, "--limit", "1000", "--json"]);
            if integer {
                c.arg("--integer");
            }
            json_of(&c.output().unwrap().stdout)["correct"]
                .as_i64()
                .unwrap()
        };
        let (f, i) = (eval(false), eval(true));
        println!("{name}: float {f} / 1000, integer {i} / 1000");
        assert!(f >= 900, "{name}: float {f} / 1000");
        assert!((f - i).abs() <= 5, "{name}: float {f}, integer {i}");
    }
}

/// `tbn hdl emit` writes the whole-network engine too: its Wishbone top and
/// its self-contained SPI top, with the engine's memories and capacities in
/// the manifest (`--engine-mem up5k`: the tile section in SPRAM, V = 52).
#[test]
fn hdl_emit_writes_the_engine_tops() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("rtl");
    tbn()
        .args([
            "hdl",
            "emit",
            "--lanes",
            "32",
            "--max-in",
            "1024",
            "--max-rows",
            "256",
            "--engine-mem",
            "up5k",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("tbn_net_spi_top.v"));
    let core = std::fs::read_to_string(out.join("tbn_net_core.v")).unwrap();
    assert!(core.contains("module tbn_net_core("));
    let top = std::fs::read_to_string(out.join("tbn_net_spi_top.v")).unwrap();
    assert!(top.contains("module tbn_net_spi_top("));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let e = &m["engine"];
    assert_eq!(e["standalone_top"], "tbn_net_spi_top");
    assert_eq!(e["memories"]["tile_single_port"], true);
    assert_eq!(e["capacities"]["v_bits"], 52);
    assert_eq!(e["capacities"]["weight_words"], 32768);
    tbn()
        .args(["hdl", "emit", "--engine-mem", "sram", "--out"])
        .arg(d.path().join("x"))
        .assert()
        .failure()
        .stderr(contains("engine-mem"));
}

/// `tbn sim --engine reference --capacities`: the LFC-size MLP with per-row
/// records is refused by the engine's UP5K configuration with the capacity
/// named, and runs bit-exact at the register map's limits (an estimate
/// labelled as one); the one with a uniform batch-norm runs on the UP5K's.
#[test]
fn sim_reference_capacities_up5k_and_map() {
    let per_row = crate_path("data/models/mlp_784_1024_1024_1024_10_p8_w1a2.json");
    let uniform = crate_path("data/models/mlp_784_1024_1024_1024_10_p8_w1a2_ubn.json");
    let run = |capacities: &str, model: &std::path::Path| {
        tbn()
            .args(["sim", "--engine", "reference", "--capacities", capacities])
            .args([
                "--act-bits",
                "2",
                "--limit",
                "20",
                "--fmax-mhz",
                "48",
                "--json",
            ])
            .arg("--model")
            .arg(model)
            .output()
            .unwrap()
    };
    let out = run("up5k", &per_row);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("engine's UP5K configuration")
            && err.contains("the image needs 12356 for constants memory words (CFG_CONST_WORDS), the configuration allows 1024"),
        "{err}"
    );
    assert_eq!(err.matches("the image needs").count(), 1, "{err}");
    for (capacities, model, basis) in [
        ("map", &per_row, "register map's limits"),
        ("up5k", &uniform, "engine's UP5K configuration"),
    ] {
        let v = sim_report_all_match(&run(capacities, model), 20);
        assert_eq!(v["compute_cycles"].as_f64(), Some(45706.0));
        assert_eq!(v["estimate"], true);
        assert!(v["basis"].as_str().unwrap().contains(basis), "{v}");
    }
}

/// Issue 13 item 5: `tbn sim --engine reference` runs the trained CNN (model
/// image format 2) with the same report keys as for dense models and the
/// cycle model's 383,050 cycles at L = 32; the UP5K configuration (no
/// feature maps yet) refuses it, naming CFG_MAX_FMAP.
#[test]
fn sim_reference_runs_the_cnn() {
    let cnn = crate_path("data/models/cnn_16c3_p2_32c3_p2_fc128_10_p4.json");
    let run = |capacities: &str| {
        tbn()
            .args(["sim", "--engine", "reference", "--capacities", capacities])
            .args([
                "--limit",
                "10",
                "--fmax-mhz",
                "48",
                "--bus",
                "spi",
                "--json",
            ])
            .arg("--model")
            .arg(&cnn)
            .output()
            .unwrap()
    };
    let v = sim_report_all_match(&run("default"), 10);
    assert_eq!(v["compute_cycles"].as_f64(), Some(383_050.0));
    assert_eq!(v["starts_per_inference"], 1.0);
    assert_eq!(v["layers"].as_array().map(Vec::len), Some(6));
    assert!(
        v["layers"][0]["name"]
            .as_str()
            .unwrap()
            .contains("conv 3x3"),
        "{v}"
    );
    let out = run("up5k");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("feature-map values (CFG_MAX_FMAP), the configuration allows 0"),
        "{err}"
    );
}

/// `tbn sim --engine rtl --capacities up5k`: the engine RTL built in its UP5K
/// configuration (Verilator; TILE_MAX 131,072, the tile section in
/// single-port SPRAM-style banks) runs the LFC-size MLP over the SPI top,
/// measured; `--capacities map` is no built configuration and is refused.
#[test]
fn sim_rtl_engine_up5k_capacities_run_the_lfc_size_mlp() {
    let model = crate_path("data/models/mlp_784_1024_1024_1024_10_p16_w1a2_ubn.json");
    let run = |capacities: &str| {
        tbn()
            .args([
                "sim",
                "--engine",
                "rtl",
                "--bus",
                "spi",
                "--capacities",
                capacities,
            ])
            .args([
                "--act-bits",
                "2",
                "--limit",
                "3",
                "--fmax-mhz",
                "43.4",
                "--json",
            ])
            .arg("--model")
            .arg(&model)
            .output()
            .unwrap()
    };
    let v = sim_report_all_match(&run("up5k"), 3);
    assert_eq!(v["estimate"], false);
    assert_eq!(v["starts_per_inference"], 1.0);
    assert_eq!(v["compute_cycles"].as_f64(), Some(24921.0));
    let out = run("map");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no built configuration"));
}

/// The `tbn sim --json` report of a successful run whose `n` images all had
/// logits equal to golden.
fn sim_report_all_match(out: &std::process::Output, n: u64) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_of(&out.stdout);
    assert_eq!(
        (v["total"].as_u64(), v["logits_match"].as_u64()),
        (Some(n), Some(n))
    );
    v
}
