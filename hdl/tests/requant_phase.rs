//! The requantization phase of one layer (`tbn_hdl::reqphase::ReqPhase`:
//! row walker, requantization unit and activation writer wired together):
//! its rust-hdl model against its Verilog under Icarus cycle by cycle, with
//! the memories' answers to the walker's reads (pairs, alpha codes of the
//! copy and the next copy, the row's multiplier and bias where the unit
//! asks for them; docs/model-image.md section 4: rounding folded into the
//! bias, no shift for sign and logits) presented where the phase reads them
//! (the read addresses, with the layer's alpha and record bases and uniform
//! records, are checked too). The written planes are checked
//! against the bits of the golden stage outputs, the logits against the
//! golden `v`: the reference MLP on MNIST images (and its input bytes through
//! the packer path) and random stages (straddles, every kind and width).
//! The phase's cycles are printed against the ideal (one cycle per row).

mod common;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::Block;
use std::collections::HashMap;
use tbn_golden::integer::{self, Activation, DenseStage};
use tbn_golden::layout::RowGeometry;
use tbn_golden::tile::Tile;
use tbn_hdl::reqphase::ReqPhase;
use tbn_hdl::requant::{kind, REQUANT_BIAS_DELAY, REQUANT_MULT_DELAY};
use tbn_hdl::rtlsim::{block_verilog, lockstep, run_model};
use tbn_hdl::testbench::have_tool;

fn seed() -> u64 {
    std::env::var("TBN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0015)
}

/// Result of one phase: the writer's plane words, the logits (`v` by row)
/// and the cycles from START to the last output (the writer's last plane
/// write, or the last logit).
struct Phase {
    planes: HashMap<u16, u32>,
    logits: Vec<i64>,
    cycles: usize,
}

/// Input indices of `ReqPhase`'s lockstep vector.
mod port {
    pub const START: usize = 0;
    pub const PAIR_A: usize = 12;
    pub const PAIR_B: usize = 13;
    pub const ALPHA_A: usize = 14;
    pub const ALPHA_B: usize = 15;
    pub const MULT: usize = 16;
    pub const BIAS: usize = 17;
    pub const PK_WE: usize = 18;
    pub const PK_DATA: usize = 19;
    pub const IN_BITS: usize = 20;
    pub const IN_FLUSH: usize = 22;
    pub const WR_CLEAR: usize = 23;
}

/// Runs stimulus `stim` through the phase (Verilog in lockstep with the
/// model when Icarus is installed); returns the per-cycle outputs.
fn run_block(stim: &[Vec<u128>]) -> Vec<Vec<u128>> {
    let mk = || ReqPhase::<18>::new(19, 52);
    if have_tool("iverilog") {
        let mut b = mk();
        let v = block_verilog(&mut b);
        let mut b = mk();
        b.connect_all();
        let dir = tempfile::tempdir().unwrap();
        lockstep(&mut b, &v, "top", stim, 0, dir.path()).unwrap_or_else(|e| panic!("{e}"))
    } else {
        tbn_hdl::testbench::skip_missing_tool("iverilog not found on PATH (the Verilog part)");
        let mut b = mk();
        b.connect_all();
        run_model(&mut b, stim).unwrap()
    }
}

/// Collects the plane writes and logits of the outputs
/// (pair_addr, alpha_addr, mult_addr, bias_addr, act_we, act_addr, act_data,
/// range_err, logit_valid, logit_row, logit_v, logit_y, busy, act_sel).
fn collect(out: &[Vec<u128>], rows: usize) -> Phase {
    let mut planes = HashMap::new();
    let mut logits = vec![0i64; rows];
    let mut last = 0;
    for (t, o) in out.iter().enumerate() {
        if o[4] == 1 {
            // byte-lane write (the writer writes half-words)
            let mask = (0..4)
                .filter(|b| (o[13] >> b) & 1 == 1)
                .fold(0u32, |m, b| m | (0xFF << (8 * b)));
            let w: &mut u32 = planes.entry(o[5] as u16).or_insert(0);
            *w = (*w & !mask) | (o[6] as u32 & mask);
            last = t;
        }
        if o[8] == 1 {
            logits[o[9] as usize] = o[10] as u64 as i64;
            last = last.max(t);
        }
    }
    Phase {
        planes,
        logits,
        cycles: last + 1,
    }
}

/// One phase of a batch: its stage, accumulator pairs, expected outputs
/// and its cycles in the batch's stimulus.
struct Case {
    d: DenseStage,
    acc: Vec<(i32, i32)>,
    want: Vec<i64>,
    what: String,
    at: usize,
    len: usize,
}

/// The walker's first row comes this many cycles after START; the memories
/// answer a cycle after the read, when the row enters the unit.
const FIRST_ROW: usize = 2;

/// The layer's alpha and record bases of case `k` (a few values, one near
/// the address wrap).
fn bases(k: usize) -> (usize, usize) {
    ([0, 7, 1000, 65530][k % 4], [0, 300, 65535, 12][k % 4])
}

/// Whether every row of `d` uses one record (one multiplier, no biases).
fn uniform(d: &DenseStage) -> bool {
    d.mult.len() == 1 && d.bias.is_empty()
}

/// The stimulus of the requantization phase of `d` on the pairs `acc`
/// (bases of case `k`).
fn segment(d: &DenseStage, acc: &[(i32, i32)], k: usize) -> Vec<Vec<u128>> {
    let g = &d.geom;
    let (shift, half) = match d.act {
        Activation::Relu | Activation::Signed if d.shift > 0 => {
            (d.shift as u8, 1i64 << (d.shift - 1))
        }
        _ => (0, 0),
    };
    let kind_code = match d.act {
        Activation::Relu => kind::RELU,
        Activation::Signed => kind::SIGNED,
        Activation::Sign => kind::SIGN,
        Activation::Logits => kind::LOGITS,
    };
    let n = g.rows + 40;
    let (abase, rbase) = bases(k);
    let base = vec![
        0,
        0,
        g.m as u128,
        (g.q - g.m) as u128,
        g.rows as u128,
        g.period() as u128,
        abase as u128,
        rbase as u128,
        u128::from(uniform(d)),
        shift as u128,
        kind_code as u128,
        d.out_bits as u128,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        // the gather port (g_sel, g_valid, g_y, g_last, g_planes): unused
        0,
        0,
        0,
        0,
        0,
    ];
    let mut stim = vec![base; n];
    stim[0][port::START] = 1;
    // row r is read in cycle FIRST_ROW + r; the memories answer in the next
    // cycle, the multiplier and bias REQUANT_MULT_DELAY and
    // REQUANT_BIAS_DELAY cycles later
    for r in 0..g.rows {
        let s = g.segment(r);
        let (da, db) = acc[g.distinct_of(r)];
        let t = FIRST_ROW + 1 + r;
        stim[t][port::PAIR_A] = da as u32 as u128;
        stim[t][port::PAIR_B] = db as u32 as u128;
        stim[t][port::ALPHA_A] = d.alpha_q[s.copy] as u128;
        // the memory returns the next code whatever the row; the phase
        // uses it only for straddling rows
        stim[t][port::ALPHA_B] = d.alpha_q.get(s.copy + 1).copied().unwrap_or(0x7FFF) as u128;
        stim[t + REQUANT_MULT_DELAY][port::MULT] = d.mult_of(r) as i16 as u16 as u128;
        stim[t + REQUANT_BIAS_DELAY][port::BIAS] = (d.bias_of(r) + half) as u64 as u128;
    }
    stim
}

/// Runs the cases back to back in one simulation and checks each.
fn run_cases(cases: &mut [Case]) -> Vec<usize> {
    let mut stim = Vec::new();
    for (k, c) in cases.iter_mut().enumerate() {
        let seg = segment(&c.d, &c.acc, k);
        c.at = stim.len();
        c.len = seg.len();
        stim.extend(seg);
    }
    let out = run_block(&stim);
    let mut cycles = Vec::new();
    for (k, c) in cases.iter().enumerate() {
        let (g, o) = (&c.d.geom, &out[c.at..c.at + c.len]);
        let (abase, rbase) = bases(k);
        let rec = |r: usize| {
            if uniform(&c.d) {
                rbase
            } else {
                (rbase + r) % 65536
            }
        };
        for r in 0..g.rows {
            let t = FIRST_ROW + r;
            assert_eq!(
                o[t][0] as usize,
                g.distinct_of(r),
                "{}: pair read of row {r}",
                c.what
            );
            assert_eq!(
                o[t][1] as usize,
                (abase + g.segment(r).copy) % 65536,
                "{}: alpha read of row {r}",
                c.what
            );
            assert_eq!(
                o[t + REQUANT_MULT_DELAY][2] as usize,
                rec(r),
                "{}: multiplier read of row {r}",
                c.what
            );
            assert_eq!(
                o[t + REQUANT_BIAS_DELAY][3] as usize,
                rec(r),
                "{}: bias read of row {r}",
                c.what
            );
        }
        assert_eq!(o[c.len - 1][12], 0, "{}: idle after the phase", c.what);
        let ph = collect(o, g.rows);
        check(&c.d, &c.want, &ph, &c.what);
        cycles.push(ph.cycles);
    }
    cycles
}

/// Checks a phase's outputs against the golden stage outputs `want`.
fn check(d: &DenseStage, want: &[i64], ph: &Phase, what: &str) {
    if d.act == Activation::Logits {
        assert_eq!(ph.logits, want, "{what}: logits");
        return;
    }
    for (r, &y) in want.iter().enumerate() {
        for b in 0..d.out_bits as usize {
            let word = ph.planes.get(&(((b as u16) << 11) | (r / 32) as u16));
            let bit = word.map(|w| (w >> (r % 32)) & 1);
            assert_eq!(
                bit,
                Some(((y >> b) & 1) as u32),
                "{what}: row {r} (value {y}) plane {b}"
            );
        }
    }
}

#[test]
fn reference_mlp_requant_phases_match_golden() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let (prog, test) =
        tbn_host::mnist::program_and_test_images(root, "data/reference/tbn_mnist_mlp_p4.json")
            .unwrap();
    let runner = prog.runner();
    let mut cases = Vec::new();
    for i in 0..10 {
        let x = integer::mnist_input(test.image(i));
        let outs = runner.run_stages(&x).unwrap();
        let mut cur: Vec<i32> = x.clone();
        for (k, (stage, out)) in prog.stages.iter().zip(&outs).enumerate() {
            if let integer::Stage::Dense(d) = stage {
                cases.push(Case {
                    d: d.clone(),
                    acc: d.accumulators(&cur),
                    want: out.clone(),
                    what: format!("image {i} stage {k} ({})", d.name),
                    at: 0,
                    len: 0,
                });
            }
            cur = out.iter().map(|&v| v as i32).collect();
        }
    }
    let cycles = run_cases(&mut cases);
    for (c, n) in cases.iter().zip(&cycles).take(2) {
        println!(
            "{}: {} rows requantized in {n} cycles from START to the last output (ideal {})",
            c.what, c.d.geom.rows, c.d.geom.rows
        );
    }
    // the packer path: the image's bytes as bus words become its bit-planes
    let x = test.image(0);
    let mut stim = Vec::new();
    let mut base = segment(&cases[0].d, &cases[0].acc, 0)[1].clone();
    base[port::IN_BITS] = 8;
    let mut clear = base.clone();
    clear[port::WR_CLEAR] = 1;
    stim.push(clear);
    for w in x.chunks(4) {
        let mut v = base.clone();
        v[port::PK_WE] = 1;
        v[port::PK_DATA] = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as u128;
        stim.push(v);
        stim.push(base.clone());
    }
    let mut flush = base.clone();
    flush[port::IN_FLUSH] = 1;
    stim.push(flush);
    stim.extend(std::iter::repeat_n(base, 12));
    let out = run_block(&stim);
    let ph = collect(&out, 1);
    for (k, &px) in x.iter().enumerate() {
        for b in 0..8 {
            let w = ph.planes.get(&(((b as u16) << 11) | (k / 32) as u16));
            assert_eq!(
                w.map(|w| (w >> (k % 32)) & 1),
                Some(u32::from((px >> b) & 1)),
                "pixel {k} plane {b}"
            );
        }
    }
    assert!(
        out.iter().all(|o| o[7] == 0),
        "no range error for 8-bit pixels"
    );
}

#[test]
fn random_stage_requant_phases_match_golden() {
    let seed = seed();
    println!("seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut straddles = 0;
    let mut cases = Vec::new();
    for case in 0..100 {
        let geom = loop {
            let rows = rng.gen_range(1..=120);
            let m = rng.gen_range(1..=300);
            let p = rng.gen_range(1..=8.min(rows));
            if (rows * m) % p == 0 {
                break RowGeometry {
                    rows,
                    m,
                    q: rows * m / p,
                    p,
                };
            }
        };
        straddles += usize::from(geom.has_straddles());
        let act = [
            Activation::Relu,
            Activation::Signed,
            Activation::Sign,
            Activation::Logits,
        ][case % 4];
        let in_bits = rng.gen_range(1..=8u8);
        let in_signed = in_bits > 1 && rng.gen_bool(0.5);
        let mut tile = Tile::zeros(geom.q);
        for j in 0..geom.q {
            tile.set(j, rng.gen_bool(0.5));
        }
        let d = DenseStage {
            name: format!("random{case}"),
            geom,
            conv: None,
            tile,
            alpha_q: (0..geom.p).map(|_| rng.gen_range(0..=32767)).collect(),
            mult: (0..if rng.gen_bool(0.5) { 1 } else { geom.rows })
                .map(|_| rng.gen_range(-32767..=32767))
                .collect(),
            bias: if rng.gen_bool(0.5) {
                vec![]
            } else {
                (0..geom.rows)
                    .map(|_| rng.gen_range(-(1i64 << 40)..(1i64 << 40)))
                    .collect()
            },
            shift: rng.gen_range(0..=40),
            in_bits,
            in_signed,
            act,
            out_bits: if act == Activation::Sign {
                1
            } else {
                rng.gen_range(1..=8)
            },
            out_scale: 1.0,
        };
        d.validate().unwrap();
        let (lo, hi) = integer::value_range(in_bits, in_signed);
        let x: Vec<i32> = (0..geom.m).map(|_| rng.gen_range(lo..=hi) as i32).collect();
        let acc = d.accumulators(&x);
        let want = d.requantize(&acc);
        cases.push(Case {
            what: format!("seed {seed} case {case} {geom:?} {act:?}"),
            d,
            acc,
            want,
            at: 0,
            len: 0,
        });
    }
    assert!(straddles > 10, "straddling geometries covered");
    let cycles = run_cases(&mut cases);
    for (c, n) in cases.iter().zip(cycles) {
        // one row per cycle: the phase ends a fixed pipeline depth after its rows
        assert!(n <= c.d.geom.rows + 32, "{}: {n} cycles", c.what);
    }
}

#[test]
fn verilator_lint_clean() {
    common::assert_lint_clean(&mut ReqPhase::<18>::new(19, 52));
}
