//! Firmware in the loop: `tbn cosim` runs the Cortex-M4F firmware in QEMU
//! (mps2-an386) driving the Verilated engine SPI top through tbn_driver's
//! SpiBus over the UART bridge. The reference MLP on a few images must be
//! bit-exact with golden (logits and classes, accelerator and MCU kernel);
//! a corrupted reply frame, a stalled bridge and core/driver errors must make
//! the run fail with the driver's typed error within its timeout.
//! Needs qemu-system-arm and verilator (skipped with a message without them,
//! a failure under TBN_REQUIRE_TOOLS).

use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The runs share firmware/gen-cosim/ and the firmware's target folder.
static SERIAL: Mutex<()> = Mutex::new(());

fn tools() -> bool {
    for (t, how) in [
        ("qemu-system-arm", "apt-get install qemu-system-arm"),
        ("verilator", "scripts/setup.sh"),
    ] {
        if Command::new(t).arg("--version").output().is_err() {
            tbn_hdl::testbench::skip_missing_tool(format_args!("{t} is not installed ({how})"));
            return false;
        }
    }
    true
}

fn cosim(args: &[&str]) -> (Output, Duration) {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_tbn"))
        .arg("cosim")
        .args(args)
        .output()
        .expect("running tbn cosim");
    (out, t.elapsed())
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn reference_mlp_through_firmware_and_rtl_is_bit_exact() {
    if !tools() {
        return;
    }
    let (out, _) = cosim(&["--images", "3", "--json"]);
    assert!(out.status.success(), "tbn cosim failed:\n{}", text(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(r["ok"], true);
    assert_eq!(r["total"], 3);
    assert_eq!(r["logits_match"], 3, "accelerator logits must equal golden");
    assert_eq!(r["class_match"], 3, "CLASS must equal golden");
    assert_eq!(
        r["mcu_logits_match"], 3,
        "MCU kernel logits must equal golden"
    );
    let inf = r["inferences"].as_array().unwrap();
    assert_eq!(inf.len(), 3);
    let get = |i: usize, k: &str| inf[i][k].as_u64().unwrap();
    for i in 0..3 {
        assert!(get(i, "driver_instructions") > 1000);
        assert!(get(i, "transport_instructions") > 0);
        assert!(get(i, "frames") >= 5);
        // SPI traffic and engine timing do not depend on the data
        assert_eq!(get(i, "sck_cycles"), get(0, "sck_cycles"));
        assert_eq!(get(i, "frames"), get(0, "frames"));
        // the driver's work is the same code path: within SysTick rounding
        assert!(get(i, "driver_instructions").abs_diff(get(0, "driver_instructions")) <= 4);
        assert!(get(i, "clk_cycles") > get(i, "mcu_gap_clk_cycles"));
    }
    let e2e = r["end_to_end_us"].as_f64().unwrap();
    let drv = r["driver_us"].as_f64().unwrap();
    assert!(e2e > drv && drv > 0.0, "{e2e} {drv}");
    assert!(r["mcu_alone_us"].as_f64().unwrap() > 0.0);
    assert_eq!(r["clocks"]["mcu_mhz"], 64.0);
    // the bridge's view of the driver's time (gaps between frames) and the
    // firmware's own measurement agree (the difference: the measuring code)
    let g = &r["driver_gaps"];
    let gaps: f64 = [
        "input", "ctrl", "status", "class", "logits", "tail", "other",
    ]
    .iter()
    .map(|k| g[k].as_f64().unwrap())
    .sum();
    let drv_instr = r["driver_instructions"].as_f64().unwrap();
    assert!(
        (gaps - drv_instr).abs() < 0.02 * drv_instr,
        "gaps {gaps} vs driver {drv_instr}"
    );
}

/// A failing run: not successful, in time, with `needles` in its output.
fn fails_with(args: &[&str], needles: &[&str], limit: Duration) {
    if !tools() {
        return;
    }
    let (out, took) = cosim(args);
    let t = text(&out);
    assert!(!out.status.success(), "expected a failure:\n{t}");
    assert!(took < limit, "took {took:?} (limit {limit:?}):\n{t}");
    for n in needles {
        assert!(t.contains(n), "missing {n:?} in:\n{t}");
    }
}

#[test]
fn corrupted_reply_frame_is_a_typed_driver_error() {
    fails_with(
        &[
            "--images",
            "1",
            "--inject",
            "corrupt-reply",
            "--timeout",
            "120",
        ],
        &[
            "firmware reported a driver error at infer",
            "Bus(Spi { op: Write",
            "kind: FrameFormat",
            "BadCheck",
        ],
        Duration::from_secs(180),
    );
}

#[test]
fn stalled_bridge_is_a_typed_driver_error_within_the_timeout() {
    fails_with(
        &[
            "--images",
            "1",
            "--inject",
            "stall",
            "--firmware-wait-polls",
            "2000000",
            "--timeout",
            "120",
        ],
        &[
            "firmware reported a driver error at infer",
            "Bus(Spi {",
            "Timeout { receiving: true }",
            "Stall",
        ],
        Duration::from_secs(180),
    );
}

#[test]
fn core_error_infer_without_model_is_reported() {
    fails_with(
        &[
            "--images",
            "1",
            "--inject",
            "infer-without-model",
            "--timeout",
            "120",
        ],
        &[
            "firmware reported a driver error at infer_without_model",
            "CoreError { code: 7",
        ],
        Duration::from_secs(180),
    );
}

#[test]
fn corrupted_model_image_is_refused() {
    fails_with(
        &[
            "--images",
            "1",
            "--inject",
            "corrupt-image",
            "--timeout",
            "120",
        ],
        &["firmware reported a driver error at load_model", "Image("],
        Duration::from_secs(180),
    );
}
