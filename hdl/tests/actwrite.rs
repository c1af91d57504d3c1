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

/// The writer's outputs for `stim`: its Verilog in lockstep with the model
/// (Icarus), or the model alone where iverilog is missing (reported).
fn run_writer(stim: &[Vec<u128>]) -> Vec<Vec<u128>> {
    if have_tool("iverilog") {
        let mut b = ActWriter::default();
        let v = block_verilog(&mut b);
        let mut b = ActWriter::default();
        b.connect_all();
        let dir = tempfile::tempdir().unwrap();
        lockstep(&mut b, &v, "top", stim, 0, dir.path()).unwrap_or_else(|e| panic!("{e}"))
    } else {
        tbn_hdl::testbench::skip_missing_tool("iverilog not found on PATH (the Verilog part)");
        let mut b = ActWriter::default();
        b.connect_all();
        run_model(&mut b, stim).unwrap()
    }
}

#[test]
fn writer_verilog_matches_model_and_planes_match_values() {
    let seed = seed();
    println!("seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (cyc, stages) = build(&mut rng, 12);
    let stim: Vec<Vec<u128>> = cyc.iter().map(vec_of).collect();
    let out = run_writer(&stim);
    // outputs: we, addr, data, busy, range_err, sel
    for st in &stages {
        let mut mem: HashMap<u16, u32> = HashMap::new();
        let mut errs = Vec::new();
        for (c, o) in out.iter().enumerate().take(st.end).skip(st.start) {
            if o[0] == 1 {
                // byte-lane write: sel (output 5) picks the bytes of data
                let mask = (0..4)
                    .filter(|b| (o[5] >> b) & 1 == 1)
                    .fold(0u32, |m, b| m | (0xFF << (8 * b)));
                assert!(mask != 0, "a write without byte lanes");
                let w = mem.entry(o[1] as u16).or_insert(0);
                *w = (*w & !mask) | (o[2] as u32 & mask);
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

/// Stage ends around the half and group boundaries, one value per cycle
/// (the requantizer's rate) and packer words (two per cycle, then the
/// flush): the Verilog in lockstep with the model, the planes against the
/// values, and the end of the writes as with whole-group bursts: `1 +
/// planes` cycles after the last value (the burst of the group's lanes
/// 0..15 suspended within the last one when it is still running), or, for a
/// last value in lanes 0..15 of a group while the previous group's burst
/// runs, one cycle after that burst (`2 + planes` after its lane 31).
#[test]
fn writer_half_and_group_boundaries() {
    let mut cyc: Vec<WriterIn> = Vec::new();
    // (start, values, planes, cycle of each value)
    let mut stages: Vec<(usize, Vec<u8>, u8, Vec<usize>)> = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    let lens = [
        1usize, 15, 16, 17, 18, 20, 23, 24, 25, 31, 32, 33, 34, 40, 41, 47, 48, 49, 64, 65,
    ];
    for (s, &len) in lens.iter().enumerate() {
        for planes in [8u8, 3] {
            let base = WriterIn {
                planes,
                in_bits: 8,
                ..Default::default()
            };
            let start = cyc.len();
            cyc.push(WriterIn {
                clear: true,
                ..base
            });
            let mut values = Vec::new();
            let mut at = Vec::new();
            if s % 2 == 0 {
                for k in 0..len {
                    let y: u8 = rng.gen();
                    values.push(y);
                    at.push(cyc.len());
                    cyc.push(WriterIn {
                        count: 1,
                        y: u16::from_le_bytes([y, y]),
                        last: k + 1 == len,
                        ..base
                    });
                }
            } else {
                // packer words back to back, then the flush
                for _ in 0..len.div_ceil(4) {
                    let bytes: [u8; 4] = rng.gen();
                    values.extend_from_slice(&bytes);
                    at.extend([cyc.len(), cyc.len(), cyc.len() + 1, cyc.len() + 1]);
                    cyc.push(WriterIn {
                        pk_we: true,
                        pk_data: u32::from_le_bytes(bytes),
                        ..base
                    });
                    cyc.push(base);
                }
                at.push(cyc.len());
                cyc.push(WriterIn { last: true, ..base });
            }
            for _ in 0..2 * planes as usize + 4 {
                cyc.push(base);
            }
            stages.push((start, values, planes, at));
        }
    }
    let stim: Vec<Vec<u128>> = cyc.iter().map(vec_of).collect();
    let out = run_writer(&stim);
    let mut merged = 0;
    for (idx, (start, values, planes, at)) in stages.iter().enumerate() {
        let end = stages.get(idx + 1).map_or(out.len(), |s| s.0);
        let mut mem: HashMap<u16, u32> = HashMap::new();
        let mut last_write = 0;
        for (c, o) in out.iter().enumerate().take(end).skip(*start) {
            if o[0] == 1 {
                let mask = (0..4)
                    .filter(|b| (o[5] >> b) & 1 == 1)
                    .fold(0u32, |m, b| m | (0xFF << (8 * b)));
                if mask == u32::MAX {
                    merged += 1;
                }
                let w = mem.entry(o[1] as u16).or_insert(0);
                *w = (*w & !mask) | (o[2] as u32 & mask);
                last_write = c;
            }
        }
        assert_eq!(out[end - 1][3], 0, "stage {idx}: writer idle at the end");
        for (k, &y) in values.iter().enumerate() {
            for p in 0..*planes as u16 {
                let w = mem[&((p << 11) | (k / 32) as u16)];
                assert_eq!(
                    (w >> (k % 32)) & 1,
                    u32::from((y >> p) & 1),
                    "stage {idx}: value {k} plane {p}"
                );
            }
        }
        // the end of the writes
        let pl = *planes as usize;
        let last_in = *at.last().unwrap();
        let n = values.len();
        let packer = idx % 4 >= 2;
        // lane of the stage's last value (or, for the flush, of the next lane)
        let last_lane = if packer { n % 32 } else { (n - 1) % 32 };
        let want = if last_lane < 16 && n > 32 && (last_lane > 0 || !packer) {
            // the previous group's burst (lane 31 in at[32g - 1]) may still run
            let g = (n - 1) / 32;
            let prev = at[32 * g - 1];
            (last_in + 1 + pl).max(prev + 2 + 2 * pl)
        } else if packer && n % 32 == 0 {
            // the flush finds no pending lane: the last group's burst
            at[n - 1] + 1 + pl
        } else {
            last_in + 1 + pl
        };
        assert_eq!(
            last_write, want,
            "stage {idx}: {n} values, {pl} planes, packer {packer}"
        );
    }
    assert!(merged > 0, "no suspended burst resumed within a later one");
}
