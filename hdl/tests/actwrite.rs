//! The activation writer and input packer (`tbn_hdl::actwrite`): its Rust
//! model against its Verilog under Icarus cycle by cycle on random stages
//! (one value per cycle with bubbles, any length, 1..8 planes) and random
//! host input words (two values per cycle, bad bytes for every input
//! width); then the written plane words against the bit-planes of the
//! values (tbn_golden's `Planes::pack` layout: bit `k mod 32` of word
//! `k div 32` of plane `b` is bit `b` of value `k`), and the range errors
//! against `byte_in_range`.

mod common;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::Block;
use std::collections::HashMap;
use tbn_hdl::actwrite::{byte_in_range, ActWriter, WriterIn};
use tbn_hdl::rtlsim::{block_verilog, lockstep, run_model};
use tbn_hdl::testbench::have_tool;

fn seed() -> u64 {
    std::env::var("TBN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0013)
}

fn vec_of(i: &WriterIn) -> Vec<u128> {
    vec![
        i.clear as u128,
        i.planes as u128,
        i.count as u128,
        i.y as u128,
        i.last as u128,
        i.pk_we as u128,
        i.pk_data as u128,
        i.in_bits as u128,
        i.in_signed as u128,
    ]
}

/// One stage of the stimulus: its values and where its cycles start.
struct Stage {
    values: Vec<u8>,
    planes: u8,
    start: usize,
    end: usize,
    /// Packer words (for range checks): (cycle of pk_we, bad).
    words: Vec<(usize, bool)>,
}

fn build(rng: &mut impl Rng, nstages: usize) -> (Vec<WriterIn>, Vec<Stage>) {
    let mut cyc: Vec<WriterIn> = Vec::new();
    let mut stages = Vec::new();
    for s in 0..nstages {
        let packer = s % 3 == 2;
        let planes = rng.gen_range(1..=8u8);
        let (in_bits, in_signed) = (rng.gen_range(1..=8u8), rng.gen_bool(0.5));
        let base = WriterIn {
            planes,
            in_bits,
            in_signed,
            ..Default::default()
        };
        let start = cyc.len();
        cyc.push(WriterIn {
            clear: true,
            ..base
        });
        let mut values = Vec::new();
        let mut words = Vec::new();
        if packer {
            let nwords = rng.gen_range(1..=40);
            for _ in 0..nwords {
                let bytes: [u8; 4] = std::array::from_fn(|_| {
                    if rng.gen_bool(0.9) {
                        // a valid value of the input width
                        let v: u8 = rng.gen();
                        if in_bits >= 8 {
                            v
                        } else if in_signed && in_bits > 1 {
                            (((v as i8) << (8 - in_bits)) >> (8 - in_bits)) as u8
                        } else {
                            v & ((1u8 << in_bits) - 1)
                        }
                    } else {
                        rng.gen()
                    }
                });
                let bad = bytes.iter().any(|&b| !byte_in_range(b, in_bits, in_signed));
                words.push((cyc.len(), bad));
                values.extend_from_slice(&bytes);
                cyc.push(WriterIn {
                    pk_we: true,
                    pk_data: u32::from_le_bytes(bytes),
                    ..base
                });
                cyc.push(base);
                for _ in 0..rng.gen_range(0..3) {
                    cyc.push(base);
                }
            }
        } else {
            let n = rng.gen_range(1..=150);
            for k in 0..n {
                while rng.gen_bool(0.15) {
                    cyc.push(base);
                }
                let y: u8 = rng.gen();
                values.push(y);
                cyc.push(WriterIn {
                    count: 1,
                    y: u16::from_le_bytes([y, y]),
                    last: k + 1 == n,
                    ..base
                });
            }
        }
        // the end of the host's input: a flush (`last` without values)
        if packer {
            cyc.push(WriterIn { last: true, ..base });
        }
        for _ in 0..12 {
            cyc.push(base);
        }
        stages.push(Stage {
            values,
            planes,
            start,
            end: cyc.len(),
            words,
        });
    }
    (cyc, stages)
}

#[test]
fn writer_verilog_matches_model_and_planes_match_values() {
    let seed = seed();
    println!("seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (cyc, stages) = build(&mut rng, 12);
    let stim: Vec<Vec<u128>> = cyc.iter().map(vec_of).collect();
    let out = if have_tool("iverilog") {
        let mut b = ActWriter::default();
        let v = block_verilog(&mut b);
        let mut b = ActWriter::default();
        b.connect_all();
        let dir = tempfile::tempdir().unwrap();
        lockstep(&mut b, &v, "top", &stim, 0, dir.path()).unwrap_or_else(|e| panic!("{e}"))
    } else {
        tbn_hdl::testbench::skip_missing_tool("iverilog not found on PATH (the Verilog part)");
        let mut b = ActWriter::default();
        b.connect_all();
        run_model(&mut b, &stim).unwrap()
    };
    // outputs: we, addr, data, busy, range_err
    for st in &stages {
        let mut mem: HashMap<u16, u32> = HashMap::new();
        let mut errs = Vec::new();
        for (c, o) in out.iter().enumerate().take(st.end).skip(st.start) {
            if o[0] == 1 {
                mem.insert(o[1] as u16, o[2] as u32);
            }
            if o[4] == 1 {
                errs.push(c);
            }
        }
        assert_eq!(out[st.end - 1][3], 0, "writer idle at the end of the stage");
        // complete groups (and, for value-path stages, the last partial one)
        let full = st.values.len().div_ceil(32);
        for g in 0..full {
            for p in 0..8u16 {
                let w = mem.get(&((p << 11) | g as u16)).copied();
                if p >= u16::from(st.planes) {
                    assert_eq!(w, None, "plane {p} beyond {} written", st.planes);
                    continue;
                }
                let w = w.unwrap_or_else(|| {
                    panic!(
                        "seed {seed}: plane {p} word {g} not written ({} values, {} planes, packer {}, written {:?})",
                        st.values.len(),
                        st.planes,
                        !st.words.is_empty(),
                        mem.keys().collect::<Vec<_>>()
                    )
                });
                for i in 0..32 {
                    let k = 32 * g + i;
                    if k < st.values.len() {
                        assert_eq!(
                            (w >> i) & 1,
                            u32::from((st.values[k] >> p) & 1),
                            "seed {seed}: value {k} plane {p}"
                        );
                    }
                }
            }
        }
        assert!(mem.keys().all(|a| usize::from(a & 0x7FF) < full));
        // a range error one cycle after each bad word
        let want: Vec<usize> = st
            .words
            .iter()
            .filter(|(_, bad)| *bad)
            .map(|(c, _)| c + 1)
            .collect();
        assert_eq!(errs, want, "seed {seed}: range errors");
    }
}

#[test]
fn verilator_lint_clean() {
    common::assert_lint_clean(&mut ActWriter::default());
}
