//! Random layers for the end-to-end tests of the emitted Verilog
//! (`core_e2e.rs` over Wishbone, `spi.rs` through the SPI bridge).

// each test file uses a part of this module
#![allow(dead_code)]

pub mod netdut;

use rand::Rng;
use tbn_golden::integer::{Activation, DenseStage};
use tbn_golden::layout::RowGeometry;
use tbn_golden::tile::Tile;
use tbn_hdl::testbench::{reference_accumulators, Job};
use tbn_hdl::Config;

/// A random valid layer with `m <= max_m` and at most `max_rows` rows
/// (`rows * m = p * q`, `m <= q <= TILE_MAX`, `m <= MAX_IN`) and its golden
/// accumulators (checked against the testbench's own reference).
pub fn random_job(
    rng: &mut impl Rng,
    cfg: &Config,
    max_m: usize,
    max_rows: usize,
) -> (Job, Vec<(i32, i32)>) {
    loop {
        let m = rng.gen_range(1..=max_m);
        let rows = rng.gen_range(1..=max_rows);
        let n = rows * m;
        let divisors: Vec<usize> = (1..=rows).filter(|p| n % p == 0).collect();
        let p = divisors[rng.gen_range(0..divisors.len())];
        let q = n / p;
        if q > cfg.tile_max || q < m || m > cfg.max_in {
            continue;
        }
        let geom = RowGeometry { rows, m, q, p };
        let abits = rng.gen_range(1..=8usize);
        let signed = abits > 1 && rng.gen_bool(0.5);
        let tile: Vec<bool> = (0..q).map(|_| rng.gen_bool(0.5)).collect();
        let x: Vec<i32> = random_activations(rng, m, abits, signed);
        let stage = DenseStage {
            name: "t".into(),
            geom,
            conv: None,
            tile: Tile::from_bools(&tile),
            alpha_q: vec![1; p],
            mult: vec![1],
            bias: vec![],
            shift: 0,
            in_bits: abits as u8,
            in_signed: signed,
            act: Activation::Logits,
            out_bits: 32,
            out_scale: 1.0,
        };
        let expected = stage.accumulators(&x);
        let job = Job {
            m,
            q,
            rows: geom.distinct_rows(),
            abits,
            signed,
            tile,
            x,
        };
        assert_eq!(
            expected,
            reference_accumulators(&job),
            "golden vs reference"
        );
        return (job, expected);
    }
}

/// Verilator lint (`tbn_hdl::rtlsim::lint_block`) of one block's emitted
/// Verilog: panics with the report unless clean.
pub fn assert_lint_clean<B: rust_hdl::prelude::Block>(b: &mut B) {
    let v = tbn_hdl::rtlsim::block_verilog(b);
    let dir = tempfile::tempdir().unwrap();
    match tbn_hdl::rtlsim::lint_block(&v, dir.path()) {
        Ok(Some(())) => {}
        Ok(None) => {
            tbn_hdl::testbench::skip_missing_tool("verilator not found on PATH");
        }
        Err(report) => panic!("{report}"),
    }
}

/// `m` random activations of `abits` bits (signed two's complement when
/// `signed`; `abits = 1` gives the bits 0/1 the lanes read as -1/+1).
pub fn random_activations(rng: &mut impl Rng, m: usize, abits: usize, signed: bool) -> Vec<i32> {
    (0..m)
        .map(|_| {
            if abits == 1 {
                rng.gen_range(0..2)
            } else if signed {
                rng.gen_range(-(1 << (abits - 1))..(1 << (abits - 1)))
            } else {
                rng.gen_range(0..(1 << abits))
            }
        })
        .collect()
}

/// yosys on `verilog` (written as `design.v`) with `synth` (e.g.
/// `synth_ice40 -dsp -top top`), then `stat`: the statistics text. Panics
/// with yosys's output when it fails.
pub fn yosys_stat(verilog: &str, synth: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("design.v"), verilog).unwrap();
    let out = std::process::Command::new("yosys")
        .current_dir(dir.path())
        .args([
            "-q",
            "-p",
            &format!("read_verilog -sv design.v; {synth}; tee -o stat.txt stat"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.path().join("stat.txt")).unwrap()
}

/// Cells of type `cell` in a [`yosys_stat`] text (its last count: the
/// design's total when yosys lists modules first; 0 if none).
pub fn cell_count(stat: &str, cell: &str) -> usize {
    stat.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(cell)).then(|| w.next()?.parse().ok())?
        })
        .next_back()
        .unwrap_or(0)
}
