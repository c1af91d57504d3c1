//! OUT reads 0 before any job, without X in 4-state simulation (issue 17,
//! RTL bug (d)): over Wishbone and over SPI, including the bridge's read
//! look-ahead past the last word clocked out, under Icarus.

use tbn_driver::regmap;
use tbn_hdl::spi::read_frame;
use tbn_hdl::testbench::{
    have_tool, run_icarus, run_spi_steps, skip_missing_tool, BusOp, SpiStep, SpiTiming,
};
use tbn_hdl::{core_verilog, spi_top_verilog, Config};

fn cfg() -> Config {
    Config {
        lanes: 8,
        tile_max: 256,
        max_in: 64,
        max_rows: 8,
    }
}

fn icarus_or_skip() -> bool {
    if have_tool("iverilog") {
        return true;
    }
    skip_missing_tool("iverilog not found on PATH (apt-get install iverilog)");
    false
}

#[test]
fn out_reads_zero_before_any_job_over_wishbone() {
    if !icarus_or_skip() {
        return;
    }
    let c = cfg();
    let words = 2 * c.max_rows as u32;
    // every word of the rows, and the first words past MAX_ROWS
    let ops: Vec<BusOp> = (0..words + 2)
        .map(|w| BusOp::Read(regmap::OUT_BASE + 4 * w))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let got = run_icarus(&core_verilog(&c).unwrap(), &ops, dir.path())
        .unwrap_or_else(|e| panic!("OUT before any job: {e}"));
    assert_eq!(got, vec![0; ops.len()]);
}

#[test]
fn out_reads_zero_before_any_job_over_spi() {
    if !icarus_or_skip() {
        return;
    }
    let c = cfg();
    let last = regmap::out_offset(c.max_rows as u32 - 1, true);
    // a burst over all rows, and a one-word read of the last row whose
    // look-ahead fetches the words after it; every MISO bit is reported
    let steps = vec![
        SpiStep::Frame {
            mosi: read_frame(regmap::OUT_BASE, 2 * c.max_rows),
            report_from: 0,
        },
        SpiStep::Frame {
            mosi: read_frame(last, 1),
            report_from: 0,
        },
        SpiStep::Frame {
            mosi: read_frame(last, 3),
            report_from: 0,
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let raw = run_spi_steps(
        &core_verilog(&c).unwrap(),
        &spi_top_verilog(&c).unwrap(),
        &steps,
        &SpiTiming::default(),
        dir.path(),
    )
    .unwrap_or_else(|e| panic!("OUT before any job over SPI: {e}"));
    assert!(!raw.is_empty());
    assert!(raw.iter().all(|&b| b == 0), "{raw:?}");
}
