//! The Verilator harness against a small fixture design (sim/verilog/counter_regs.v):
//! run-time build and cache, ports of every storage width, clocking, waveforms,
//! coverage, and the Wishbone master BFM.

use std::path::PathBuf;

use tbn_sim::{build_model, BuildOptions, BusError, Dut, SimError, WishboneMaster, WishboneNames};

fn fixture() -> Vec<PathBuf> {
    vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("verilog/counter_regs.v")]
}

fn dut() -> Dut {
    let opts = BuildOptions {
        trace: false,
        ..BuildOptions::default()
    };
    let model = build_model(&fixture(), &opts).expect("build fixture");
    let mut d = model.instantiate().expect("instantiate");
    d.set_by_name("reset", 1).unwrap();
    d.tick().unwrap();
    d.set_by_name("reset", 0).unwrap();
    d
}

#[test]
fn second_build_is_a_cache_hit() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = BuildOptions {
        trace: false,
        cache_dir: Some(tmp.path().to_path_buf()),
        ..BuildOptions::default()
    };
    let first = build_model(&fixture(), &opts).unwrap();
    assert!(first.built, "a fresh cache must build");
    let t = std::time::Instant::now();
    let second = build_model(&fixture(), &opts).unwrap();
    assert!(!second.built, "the second build must come from the cache");
    assert_eq!(first.key, second.key);
    assert!(
        t.elapsed().as_secs_f64() < 5.0,
        "cache hit took {:?}",
        t.elapsed()
    );
    // Changing the source changes the key.
    let text = std::fs::read(&fixture()[0]).unwrap();
    let mut changed = text.clone();
    changed.extend_from_slice(b"\n// changed\n");
    let third =
        tbn_sim::verilate::build_model_from_text(&[("counter_regs.v".into(), changed)], &opts)
            .unwrap();
    assert!(third.built);
    assert_ne!(third.key, first.key);
}

#[test]
fn ports_of_every_width() {
    let mut d = dut();
    let widths: Vec<(String, u32)> = d
        .ports()
        .iter()
        .map(|p| (p.name.clone(), p.width))
        .collect();
    assert!(widths.contains(&("wide_in".into(), 100)));
    assert!(widths.contains(&("q_in".into(), 40)));
    assert!(widths.contains(&("wb_adr".into(), 8)));
    // 40-bit combinational path.
    let q_in = d.input("q_in").unwrap();
    let q_out = d.port("q_out").unwrap();
    d.set(q_in, 0x12_3456_789a);
    d.eval();
    assert_eq!(d.get(q_out), !0x12_3456_789au64 & ((1 << 40) - 1));
    // Values are masked to the port width.
    d.set(q_in, u64::MAX);
    d.eval();
    assert_eq!(d.get(q_out), 0);
    // 100-bit registered path with carries across words.
    let wi = d.input("wide_in").unwrap();
    let wo = d.port("wide_out").unwrap();
    d.set_words(wi, &[u32::MAX, u32::MAX, u32::MAX, 0x7]);
    d.tick().unwrap();
    assert_eq!(d.get_words(wo), vec![0, 0, 0, 0x8]);
    d.set_words(wi, &[u32::MAX; 4]);
    d.tick().unwrap();
    assert_eq!(d.get_words(wo), vec![0, 0, 0, 0], "wraps at 100 bits");
    // Errors name the problem.
    match d.port("nonexistent") {
        Err(SimError::NoSuchPort { name, available }) => {
            assert_eq!(name, "nonexistent");
            assert!(available.contains("wb_cyc"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(d.input("count"), Err(SimError::PortUsage { .. })));
    assert!(matches!(
        d.set_clock("limit"),
        Err(SimError::PortUsage { .. })
    ));
}

#[test]
fn clocking_and_bulk_runs() {
    let mut d = dut();
    let en = d.input("enable").unwrap();
    let limit = d.input("limit").unwrap();
    let count = d.port("count").unwrap();
    let done = d.port("done").unwrap();
    d.set(limit, 1_000_000);
    d.set(en, 1);
    d.tick_n(10).unwrap();
    assert_eq!(d.get(count), 10);
    let ran = d.run_until(done, 1, 10_000_000).unwrap();
    assert_eq!(ran, 1_000_000 - 10);
    assert_eq!(d.get(count), 1_000_000);
    // A condition that never comes true stops after `max` cycles.
    d.set(limit, 0xffff_ffff);
    let ran = d.run_until(done, 1, 500).unwrap();
    assert_eq!(ran, 500);
    assert_eq!(d.get(count), 1_000_500);
    assert_eq!(
        d.time(),
        2 * d.cycles(),
        "two half-cycle time steps per cycle"
    );
}

#[test]
fn instances_are_independent() {
    let mut a = dut();
    let mut b = dut();
    a.set_by_name("limit", 100).unwrap();
    b.set_by_name("limit", 100).unwrap();
    a.set_by_name("enable", 1).unwrap();
    a.tick_n(7).unwrap();
    b.tick_n(3).unwrap();
    assert_eq!(a.get_by_name("count").unwrap(), 7);
    assert_eq!(b.get_by_name("count").unwrap(), 0);
}

#[test]
fn wishbone_master() {
    let mut d = dut();
    let names = WishboneNames::with_prefix(&d, "wb_");
    assert!(names.sel.is_some() && names.err.is_some() && names.rty.is_none());
    let mut wb = WishboneMaster::new(&mut d, &names).unwrap();
    for a in 0..4 {
        wb.write(&mut d, a, 0x1111_1111 * (a + 1)).unwrap();
    }
    for a in 0..4 {
        assert_eq!(wb.read(&mut d, a).unwrap(), 0x1111_1111 * (a + 1));
    }
    wb.write_sel(&mut d, 2, 0xaabb_ccdd, 0b0101).unwrap();
    assert_eq!(wb.read(&mut d, 2).unwrap(), 0x33bb_33dd);
    // Registered ack: each transaction takes two cycles here.
    let c0 = d.cycles();
    wb.read(&mut d, 1).unwrap();
    assert_eq!(d.cycles() - c0, 2);
    // Error response and timeout are typed, and the bus recovers after both.
    match wb.read(&mut d, 9) {
        Err(SimError::Bus(BusError::ErrorResponse {
            kind: "read",
            addr: 9,
        })) => {}
        other => panic!("unexpected {other:?}"),
    }
    wb.timeout = 50;
    match wb.write(&mut d, 0xff, 1) {
        Err(SimError::Bus(BusError::Timeout {
            kind: "write",
            addr: 0xff,
            cycles: 50,
        })) => {}
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(wb.read(&mut d, 3).unwrap(), 0x4444_4444);
}

#[test]
fn waveform_and_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let opts = BuildOptions {
        trace: true,
        coverage: true,
        ..BuildOptions::default()
    };
    let model = build_model(&fixture(), &opts).unwrap();
    assert!(model.has_trace() && model.has_coverage());
    let mut d = model.instantiate().unwrap();
    let vcd = dir.path().join("sub/wave.vcd");
    d.trace_open(&vcd).unwrap();
    d.set_by_name("reset", 1).unwrap();
    d.tick().unwrap();
    d.set_by_name("reset", 0).unwrap();
    d.set_by_name("enable", 1).unwrap();
    d.set_by_name("limit", 5).unwrap();
    d.tick_n(20).unwrap();
    d.trace_close();
    let text = std::fs::read_to_string(&vcd).unwrap();
    assert!(
        text.contains("$var") && text.contains("count"),
        "VCD header"
    );
    assert!(text.contains("#40"), "VCD has 21 cycles of time steps");
    let cov = dir.path().join("coverage.dat");
    d.coverage_write(&cov).unwrap();
    let summary = tbn_sim::coverage::Summary::from_file(&cov).unwrap();
    let line = summary.kind("line").expect("line points");
    assert!(line.total > 0 && line.covered > 0 && line.covered <= line.total);
    let toggle = summary.kind("toggle").expect("toggle points");
    assert!(toggle.total > 0);
    // A model without tracing says so.
    let plain = dut();
    let mut plain = plain;
    assert!(matches!(
        plain.trace_open(&vcd),
        Err(SimError::TracingNotBuilt)
    ));
    assert!(matches!(
        plain.coverage_write(&cov),
        Err(SimError::CoverageNotBuilt)
    ));
}

#[test]
fn verilator_errors_name_the_tool_and_show_its_message() {
    let opts = BuildOptions {
        trace: false,
        ..BuildOptions::default()
    };
    let bad = b"module top(input wire clock, output wire y);\n assign y = undeclared_signal;\nendmodule\n".to_vec();
    let err =
        tbn_sim::verilate::build_model_from_text(&[("bad.v".into(), bad)], &opts).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("`verilator` failed"), "{msg}");
    assert!(msg.contains("undeclared_signal"), "{msg}");
}

#[test]
fn speed_of_the_fixture() {
    let mut d = dut();
    d.set_by_name("limit", u32::MAX as u64).unwrap();
    d.set_by_name("enable", 1).unwrap();
    let t = std::time::Instant::now();
    d.tick_n(2_000_000).unwrap();
    let rate = 2e6 / t.elapsed().as_secs_f64();
    println!("fixture: {rate:.0} cycles/s");
    assert_eq!(d.get_by_name("count").unwrap(), 2_000_001 - 1);
}
