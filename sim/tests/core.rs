//! The accelerator RTL (Verilated) against the golden model: randomized layers on
//! three lane configurations, misuse scenarios, the real firmware driver over the
//! simulated bus, and waveforms. Every randomized test prints its seeds.

use tbn_sim::{hw, misuse, regress, Accelerator, BuildOptions, DriverBus};

fn open(lanes: usize) -> Accelerator {
    open_cfg(&hw::config_for_lanes(lanes))
}

fn open_cfg(cfg: &hw::Config) -> Accelerator {
    let opts = BuildOptions {
        trace: tbn_sim::verilate::trace_env().is_some(),
        ..BuildOptions::default()
    };
    hw::open_core(cfg, &opts).unwrap_or_else(|e| panic!("core {cfg:?}: {e}"))
}

fn regression(lanes: usize, first_seed: u64, count: usize) {
    regression_cfg(&hw::config_for_lanes(lanes), first_seed, count);
}

fn regression_cfg(cfg: &hw::Config, first_seed: u64, count: usize) {
    let lanes = cfg.lanes;
    let mut acc = open_cfg(cfg);
    println!(
        "L = {lanes}: seeds {first_seed}..{}",
        first_seed + count as u64
    );
    let rep = regress::run(&mut acc, first_seed, count, |_, _| {}).unwrap();
    for m in &rep.mismatches {
        println!(
            "MISMATCH L = {lanes} {} ({} rows differ, first {:?}); reproduce: tbn verify --lanes {lanes} --seed {} --seeds 1 --trace wave.vcd{}",
            m.layer,
            m.differing,
            m.rows.first(),
            m.seed,
            m.waveform.as_deref().map(|w| format!(" (waveform {w})")).unwrap_or_default()
        );
    }
    println!(
        "L = {lanes}: {}/{} bit-exact, {} simulated cycles in {:.2} CPU s ({:.0} cycles/CPU s), job efficiency {:.3}",
        rep.passed,
        rep.layers,
        rep.sim_cycles,
        rep.cpu_seconds,
        rep.sim_cycles as f64 / rep.cpu_seconds.max(1e-9),
        rep.efficiency
    );
    assert!(
        rep.mismatches.is_empty(),
        "{} mismatches at L = {lanes}",
        rep.mismatches.len()
    );
    assert!(
        rep.per_case.iter().all(|(_, n)| *n > 0),
        "every forced case ran: {:?}",
        rep.per_case
    );
}

#[test]
fn random_layers_8_lanes() {
    regression(8, 1_000, 110);
}

#[test]
fn random_layers_32_lanes() {
    regression(32, 2_000, 110);
}

#[test]
fn random_layers_128_lanes() {
    regression(128, 3_000, 110);
}

/// TILE_MAX above 32768 selects the wide (24-bit) sequencer arithmetic
/// (`tbn_hdl::seq::seq_width`); the default configurations use the narrow one.
#[test]
fn random_layers_wide_sequencer() {
    let cfg = hw::Config {
        lanes: 16,
        tile_max: 65536,
        ..hw::Config::default()
    };
    assert_eq!(
        tbn_hdl::seq::seq_width(cfg.tile_max),
        tbn_hdl::seq::SEQ_WIDE
    );
    regression_cfg(&cfg, 4_000, 60);
}

#[test]
fn misuse_is_flagged_and_recovered_without_reset() {
    for lanes in [8, 32] {
        let mut acc = open(lanes);
        let done = misuse::run_all(&mut acc).unwrap_or_else(|e| panic!("L = {lanes}: {e}"));
        assert_eq!(done.len(), 7);
    }
}

#[test]
fn firmware_driver_runs_against_the_rtl() {
    use tbn_driver::driver::Tbn;
    let mut acc = open(32);
    let hwinfo = acc.info();
    let mut tbn = Tbn::probe(DriverBus(&mut acc)).expect("probe");
    assert_eq!(tbn.config().lanes, hwinfo.lanes);
    for seed in 500..540u64 {
        let l = regress::random_layer(seed, &hwinfo, None).unwrap();
        let job = l.job();
        let d = job.distinct_rows();
        let mut out = vec![(0, 0); d as usize];
        let stats = tbn
            .run_job(&job.tile, job.q, d, &l.x, job.abits, job.signed, &mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", l.describe()));
        assert_eq!(out, l.stage.accumulators(&l.x), "{}", l.describe());
        assert!(stats.cycles > 0);
    }
}

#[test]
fn waveform_of_a_job() {
    let dir = tempfile::tempdir().unwrap();
    let opts = BuildOptions {
        trace: true,
        ..BuildOptions::default()
    };
    let mut acc = hw::open_core(&hw::config_for_lanes(8), &opts).unwrap();
    let vcd = dir.path().join("job.vcd");
    acc.dut().trace_open(&vcd).unwrap();
    let l = regress::random_layer(10, &acc.info(), None).unwrap();
    let res = acc.run_layer(&l.job(), &l.x).unwrap();
    assert_eq!(res.acc, l.stage.accumulators(&l.x));
    acc.dut().trace_close();
    let text = std::fs::read_to_string(&vcd).unwrap();
    assert!(
        text.contains("wb_ack") && text.contains("irq"),
        "VCD names the ports"
    );
    assert!(text.len() > 10_000);
}

#[test]
fn firmware_driver_over_the_spi_bridge_bit_by_bit() {
    use tbn_driver::driver::Tbn;
    let opts = BuildOptions {
        trace: false,
        ..BuildOptions::default()
    };
    let mut acc = hw::open_spi_top(&hw::config_for_lanes(8), &opts).expect("SPI top");
    let info = acc.info();
    assert_eq!(info.lanes, 8);
    // Harness-level jobs over SPI.
    for seed in [4u64, 13, 23] {
        let l = regress::random_layer(seed, &info, None).unwrap();
        let res = acc.run_layer(&l.job(), &l.x).unwrap();
        assert_eq!(res.acc, l.stage.accumulators(&l.x), "SPI {}", l.describe());
    }
    // The real driver over the SPI bit-level model.
    let mut tbn = Tbn::probe(DriverBus(&mut acc)).expect("probe over SPI");
    let l = regress::random_layer(33, &info, None).unwrap();
    let job = l.job();
    let mut out = vec![(0, 0); job.distinct_rows() as usize];
    tbn.run_job(
        &job.tile,
        job.q,
        job.distinct_rows(),
        &l.x,
        job.abits,
        job.signed,
        &mut out,
    )
    .unwrap();
    assert_eq!(
        out,
        l.stage.accumulators(&l.x),
        "driver over SPI {}",
        l.describe()
    );
}
