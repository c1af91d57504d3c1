//! End to end: `tbn mcu run` builds the Cortex-M4 firmware with the reference
//! model and 100 MNIST test images, runs it in QEMU (mps2-an386) and reports.
//! Skipped (with a message) only when qemu-system-arm is not installed.

use std::process::Command;

/// `tbn mcu run ARGS --json`: its report, or None (after the skip message)
/// when qemu-system-arm is not installed.
fn mcu_run(args: &[&str]) -> Option<serde_json::Value> {
    if Command::new("qemu-system-arm")
        .arg("--version")
        .output()
        .is_err()
    {
        tbn_hdl::testbench::skip_missing_tool(format_args!(
            "qemu-system-arm is not installed (apt-get install qemu-system-arm)"
        ));
        return None;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tbn"))
        .args(["mcu", "run", "--json"])
        .args(args)
        .output()
        .expect("running tbn mcu run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tbn mcu run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_str(&stdout).expect("JSON report"))
}

#[test]
fn firmware_in_qemu_matches_golden_on_100_images() {
    let Some(r) = mcu_run(&["--images", "100"]) else {
        return;
    };
    assert_eq!(r["ok"], true);
    assert_eq!(r["images"], 100);
    assert_eq!(
        r["int_logits_match"], 100,
        "integer logits must be bit-exact with golden"
    );
    assert_eq!(
        r["float_pred_match"], 100,
        "baseline float predictions must equal golden float predictions"
    );
    assert_eq!(r["firmware"]["bad_programs_rejected"], true);
    assert_eq!(r["firmware"]["repeat_identical"], true);
    assert!(
        r["program_bytes"].as_u64().unwrap() <= 3584,
        "model must fit 3.5 KB"
    );
    assert_eq!(
        r["firmware"]["dsp_byte_sums_match"], true,
        "the Cortex-M4 DSP byte sums must equal the portable reference"
    );
    let speedup = r["speedup"].as_f64().unwrap();
    // Measured ~54x (docs/mcu.md); the requirement is at least 20x fewer
    // instructions per inference than the authors'-style float baseline.
    assert!(
        speedup >= 20.0,
        "optimized kernel only {speedup}x faster than the baseline (need >= 20x)"
    );
}

/// The LFC-size 2-bit MLPs at p = 16 (issue 14; batch-norm per channel and
/// uniform) on the Cortex-M4 in QEMU: integer logits equal golden, and the
/// integer program within 64 KB of flash.
#[test]
fn lfc_size_p16_mlps_in_qemu_match_golden_within_64_kb() {
    for name in ["p16_w1a2", "p16_w1a2_ubn"] {
        let model = format!(
            "{}/data/models/mlp_784_1024_1024_1024_10_{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let Some(r) = mcu_run(&["--act-bits", "2", "--images", "10", "--model", &model]) else {
            return;
        };
        assert_eq!(
            (r["ok"].as_bool(), r["int_logits_match"].as_u64()),
            (Some(true), Some(10)),
            "{name}"
        );
        let bytes = r["program_bytes_integer_only"].as_u64().unwrap();
        println!(
            "LFC-size {name}: {} instructions per inference, integer program {bytes} B",
            r["optimized_instr_per_inference"]
        );
        assert!(
            bytes <= 64 * 1024,
            "{name}: integer program {bytes} B exceeds 64 KB"
        );
    }
}

/// The shipped CNN (conv 16c3 pad 1, pool, conv 32c3, pool, fc 128, fc 10;
/// p = 4; issue 13 item 4) on the Cortex-M4 in QEMU at A = 8 and 4: integer
/// logits equal golden on 5 images each, and the firmware's RAM (static
/// .data + .bss, sized from the program, plus the measured stack) within a
/// 128 KB SRAM (measured 72,812 B; docs/mcu.md).
#[test]
fn cnn_in_qemu_matches_golden_within_128_kb_ram() {
    let model = format!(
        "{}/data/models/cnn_16c3_p2_32c3_p2_fc128_10_p4.json",
        env!("CARGO_MANIFEST_DIR")
    );
    for bits in ["8", "4"] {
        let Some(r) = mcu_run(&["--act-bits", bits, "--images", "5", "--model", &model]) else {
            return;
        };
        assert_eq!(
            (r["ok"].as_bool(), r["int_logits_match"].as_u64()),
            (Some(true), Some(5)),
            "A = {bits}"
        );
        let fw = &r["firmware"];
        let ram = fw["static_ram_bytes"].as_u64().unwrap() + fw["stack_bytes"].as_u64().unwrap();
        println!(
            "CNN, A = {bits}: {} instructions per inference (baseline {}), RAM {ram} B \
             ({} B static + {} B stack)",
            r["optimized_instr_per_inference"],
            r["baseline_instr_per_inference"],
            fw["static_ram_bytes"],
            fw["stack_bytes"]
        );
        assert!(ram <= 128 * 1024, "A = {bits}: RAM {ram} B exceeds 128 KB");
    }
}
