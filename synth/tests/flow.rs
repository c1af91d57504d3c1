//! End-to-end tests of the flow on the fixtures (yosys + nextpnr-ice40 + icepack).
//! Skipped with a message when the iCE40 tools are not installed.

use std::path::PathBuf;
use tbn_synth::{flow, tools, Device, Family, FlowSpec, Stage, SynthError};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn have_ice40() -> bool {
    match tools::toolchain(Family::Ice40) {
        Ok(_) => true,
        Err(e) => {
            tbn_hdl::testbench::skip_missing_tool(format_args!("iCE40 tools missing: {e}"));
            false
        }
    }
}

#[test]
fn popcount_fixture_meets_timing_and_packs_on_up5k() {
    if !have_ice40() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut spec = FlowSpec::new(
        Device::Up5k,
        vec![fixture("popcount_spi.v")],
        "popcount_spi",
        dir.path(),
    );
    spec.params = vec![("LANES".into(), 32)];
    spec.freq_mhz = 30.0;
    let rep = flow::run(&spec).expect("flow succeeds");
    let lc = rep.resource("lc").expect("logic cells reported");
    assert!(lc.used > 50 && lc.available == 5280, "{lc:?}");
    assert!(lc.utilization > 0.0 && lc.utilization < 1.0);
    // 32 lanes: 32 leaf + 16 + 8 + 4 + 2 + 1 tree registers of widening width,
    // the shift register, previous word and accumulators: well over 150 flip-flops.
    assert!(rep.resource("ff").unwrap().used > 150);
    assert!(rep.resource("carry").unwrap().used > 0);
    assert_eq!(
        rep.resource("io").unwrap().used,
        6,
        "clk sck cs_n mosi miso irq"
    );
    assert_eq!(rep.resource("bram").unwrap().used, 0);
    assert_eq!(rep.clocks.len(), 1);
    assert_eq!(rep.clocks[0].clock, "clk");
    assert!(rep.timing_met && rep.clocks[0].achieved_mhz >= 30.0);
    let p = rep.critical_path.as_ref().expect("critical path");
    assert!(p.delay_ns > 0.0 && p.delay_ns <= 1000.0 / rep.clocks[0].achieved_mhz + 1e-6 + 0.5);
    let bit = rep.bitstream.as_ref().expect("bitstream");
    assert!(
        std::fs::metadata(bit).unwrap().len() > 100_000,
        "UP5K bitstreams are ~104 kB"
    );
    for f in [
        "report.json",
        "report.md",
        "netlist.json",
        "nextpnr.log",
        "icebreaker.pcf",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} written");
    }
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("ICESTORM_LC") && md.contains("fmax"));
}

#[test]
fn missed_clock_target_names_fmax_and_critical_path() {
    if !have_ice40() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut spec = FlowSpec::new(
        Device::Up5k,
        vec![fixture("popcount_spi.v")],
        "popcount_spi",
        dir.path(),
    );
    spec.params = vec![("LANES".into(), 16)];
    spec.freq_mhz = 400.0;
    spec.pack = false;
    let err = flow::run(&spec).expect_err("400 MHz is out of reach of an iCE40");
    let msg = err.to_string();
    match &err {
        SynthError::TimingFailed {
            achieved_mhz,
            target_mhz,
            clock,
            ..
        } => {
            assert!(*achieved_mhz < 400.0 && *achieved_mhz > 10.0);
            assert_eq!(*target_mhz, 400.0);
            assert_eq!(clock, "clk");
        }
        other => panic!("expected TimingFailed, got {other}"),
    }
    assert!(
        msg.contains("critical path") && msg.contains("target 400.00 MHz"),
        "{msg}"
    );
    assert!(
        dir.path().join("report.json").is_file(),
        "report kept for inspection"
    );

    // The same with --allow-timing-fail: a report that says timing failed.
    spec.allow_timing_fail = true;
    let rep = flow::run(&spec).expect("accepted");
    assert!(!rep.timing_met && !rep.clocks[0].met);
}

#[test]
fn overflow_names_the_exhausted_resource() {
    if !have_ice40() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = FlowSpec::new(
        Device::Up5k,
        vec![fixture("big_ram.v")],
        "big_ram",
        dir.path(),
    );
    let err = flow::run(&spec).expect_err("1 Mbit of block RAM does not fit a UP5K");
    match &err {
        SynthError::DoesNotFit {
            stage, overflows, ..
        } => {
            assert_eq!(*stage, Stage::Nextpnr);
            assert_eq!(overflows.len(), 1, "{overflows:?}");
            assert_eq!(overflows[0].resource, "ICESTORM_RAM");
            assert_eq!(overflows[0].available, 30);
            assert!(overflows[0].used > 30);
        }
        other => panic!("expected DoesNotFit, got {other}"),
    }
    assert!(err.to_string().contains("ICESTORM_RAM needs"), "{err}");
}

#[test]
fn yosys_errors_name_the_stage_and_the_problem() {
    if !have_ice40() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.v");
    std::fs::write(
        &bad,
        "module bad(input clk, output q);\n assign q = undefined_signal_xyz & ;\nendmodule\n",
    )
    .unwrap();
    let spec = FlowSpec::new(Device::Hx8k, vec![bad], "bad", &dir.path().join("out"));
    let err = flow::run(&spec).expect_err("syntax error");
    match &err {
        SynthError::StageFailed { stage, message, .. } => {
            assert_eq!(*stage, Stage::Yosys);
            assert!(message.to_lowercase().contains("error"), "{message}");
        }
        other => panic!("expected a yosys failure, got {other}"),
    }
    assert!(err.to_string().starts_with("yosys"), "{err}");
}

#[test]
fn bad_arguments_are_rejected_before_running_tools() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = FlowSpec::new(
        Device::Up5k,
        vec![fixture("popcount_spi.v")],
        "popcount_spi",
        dir.path(),
    );
    spec.freq_mhz = -3.0;
    assert!(matches!(flow::run(&spec), Err(SynthError::Invalid(_))));
    let spec = FlowSpec::new(
        Device::Up5k,
        vec![dir.path().join("missing.v")],
        "x",
        dir.path(),
    );
    let e = flow::run(&spec).unwrap_err();
    assert!(e.to_string().contains("missing.v"), "{e}");
}

#[test]
fn missing_tools_say_how_to_install_them() {
    // Point the override at a file that is not executable.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("not-a-tool");
    std::fs::write(&fake, "").unwrap();
    // Only this test reads TBN_ECPPACK.
    std::env::set_var("TBN_ECPPACK", &fake);
    let r = tools::toolchain(Family::Ecp5);
    std::env::remove_var("TBN_ECPPACK");
    match r {
        Err(SynthError::ToolMissing { hint, .. }) => {
            assert!(hint.contains("pip install") || hint.contains("apt-get"))
        }
        Err(e) => assert!(e.to_string().contains("install"), "{e}"),
        Ok(_) => panic!("a non-executable override must be rejected"),
    }
}
