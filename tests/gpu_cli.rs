//! `tbn gpu eval` and `tbn gpu bench` end to end (skipped without an adapter
//! unless CI=true, like the tbn-gpu tests).

use assert_cmd::Command;

fn tbn() -> Command {
    Command::cargo_bin("tbn").unwrap()
}

/// Runs `tbn args`; None (after printing SKIP) when there is no GPU adapter
/// outside CI.
fn run_json(args: &[&str]) -> Option<serde_json::Value> {
    let out = tbn().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("no GPU adapter") {
        tbn_golden::test_policy::skip_missing_tool(stderr);
        return None;
    }
    assert!(out.status.success(), "tbn {args:?}: {stderr}");
    Some(serde_json::from_slice(&out.stdout).expect("JSON on stdout"))
}

#[test]
fn gpu_eval_has_the_eval_keys_and_agrees_with_golden() {
    let Some(f) = run_json(&[
        "gpu",
        "eval",
        "--limit",
        "200",
        "--compare-golden",
        "--json",
    ]) else {
        return;
    };
    let cpu = run_json(&["eval", "--limit", "200", "--json"]).unwrap();
    for key in cpu.as_object().unwrap().keys() {
        assert!(f.get(key).is_some(), "missing key {key}: {f}");
    }
    assert_eq!(f["correct"], cpu["correct"]);
    assert_eq!(f["golden_classes_differ"], 0);
    let i = run_json(&[
        "gpu",
        "eval",
        "--integer",
        "--limit",
        "200",
        "--compare-golden",
        "--json",
    ])
    .unwrap();
    assert_eq!(i["path"], "integer");
    assert_eq!(i["act_bits"], 8);
    assert_eq!(i["golden_logits_differ"], 0);
}

#[test]
fn gpu_bench_reports_throughput_memory_and_ratio() {
    let Some(b) = run_json(&[
        "gpu",
        "bench",
        "--images",
        "64",
        "--batch",
        "32",
        "--layer",
        "512",
        "--layer-vectors",
        "8",
        "--json",
    ]) else {
        return;
    };
    let m = &b["model"];
    assert!(m["tbn_float"]["per_second"].as_f64().unwrap() > 0.0);
    assert!(m["dense_f32"]["per_second"].as_f64().unwrap() > 0.0);
    assert!(m["float_vs_dense"].as_f64().unwrap() > 0.0);
    // Reference MLP: fc1 tile 25,088 bits + fc2 1,280 bits, 5 alphas.
    assert_eq!(m["memory"]["tbn_weight_bytes"], 3136 + 160 + 20);
    assert_eq!(m["memory"]["dense_f32_bytes"], 4 * (128 * 784 + 10 * 128));
    let l = &b["layer"]["memory"];
    assert_eq!(l["tile_bytes"], 512 * 512 / 4 / 8);
}
