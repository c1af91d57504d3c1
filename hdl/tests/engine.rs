//! The engine (`tbn_hdl::engine`): its Rust model and its emitted Verilog run
//! in lockstep under Icarus on the same per-cycle stimulus (identical outputs
//! in every cycle), and the model's outputs are checked against plain
//! references: popcounts with `count_ones`, direct dot products, the funnel
//! shift at every offset, the flush.

mod common;
#[path = "common/lockstep.rs"]
mod lockstep;

use lockstep::{bits, icarus_or_skip, run_lockstep};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_hdl::engine::{engine_latency, Engine};
use tbn_hdl::rtlsim::Lockstep;

/// One engine issue with its memory words.
#[derive(Clone, Copy, Debug, Default)]
struct EIssue {
    valid: bool,
    bit_off: usize,
    abit: usize,
    nvalid: usize,
    segb: usize,
    plane: usize,
    neg: bool,
    xnor: bool,
    first: bool,
    last: bool,
    row: usize,
    lo: u128,
    hi: u128,
    act: u128,
    flush: bool,
}

/// Stimulus: issue fields in cycle t, its memory words in cycle t+1.
fn engine_stimulus(issues: &[EIssue]) -> Vec<Vec<u128>> {
    let mut out = Vec::new();
    for t in 0..issues.len() + 1 {
        let cur = issues.get(t).copied().unwrap_or_default();
        let prev = if t > 0 {
            issues[t - 1]
        } else {
            EIssue::default()
        };
        out.push(vec![
            cur.flush as u128,
            cur.valid as u128,
            cur.bit_off as u128,
            (cur.abit & 0xFF) as u128,
            cur.nvalid as u128,
            cur.segb as u128,
            cur.plane as u128,
            cur.neg as u128,
            cur.xnor as u128,
            cur.first as u128,
            cur.last as u128,
            cur.row as u128,
            prev.lo,
            prev.hi,
            prev.act,
        ]);
    }
    out
}

/// Plain reference of one issue's weighted contribution (popcounts with count_ones).
fn issue_ref(l: usize, w: usize, is: &EIssue) -> (i64, i64) {
    let off = is.bit_off % w;
    // window: L bits of {hi, lo} from off
    let win = if off == 0 {
        bits(is.lo, l)
    } else {
        let lo_part = is.lo >> off;
        let hi_part = if w >= 128 {
            is.hi << (128 - off)
        } else {
            is.hi << (w - off)
        };
        bits(lo_part | if off + l > w { hi_part } else { 0 }, l)
    };
    let slice = (is.abit % w) / l;
    let act = bits(is.act >> (slice * l), l);
    let lanes = |lo: usize, hi: usize| -> u128 {
        let hi = hi.min(l);
        if lo >= hi {
            0
        } else {
            bits(u128::MAX, hi) & !bits(u128::MAX, lo)
        }
    };
    let va = lanes(0, is.nvalid.min(is.segb));
    let vb = lanes(is.segb, is.nvalid);
    let dot = |v: u128| -> i64 {
        if is.xnor {
            2 * (!(win ^ act) & v).count_ones() as i64 - v.count_ones() as i64
        } else {
            2 * (win & act & v).count_ones() as i64 - (act & v).count_ones() as i64
        }
    };
    let wgt = |d: i64| -> i64 {
        let t = d << is.plane;
        if is.neg {
            -t
        } else {
            t
        }
    };
    (wgt(dot(va)), wgt(dot(vb)))
}

/// Rows written by the engine: (cycle, row, dot_a, dot_b) from the model's outputs.
fn engine_writes(out: &[Vec<u128>]) -> Vec<(usize, usize, i32, i32)> {
    out.iter()
        .enumerate()
        .filter(|(_, o)| o[0] == 1)
        .map(|(c, o)| (c, o[1] as usize, o[2] as u32 as i32, o[3] as u32 as i32))
        .collect()
}

/// Expected rows of an issue list (rows accumulate from `first` to `last`;
/// issues flushed in flight are handled by the caller).
fn engine_expected(l: usize, w: usize, issues: &[EIssue]) -> Vec<(usize, i32, i32)> {
    let mut out = Vec::new();
    let (mut a, mut b) = (0i64, 0i64);
    for is in issues.iter().filter(|i| i.valid) {
        let (da, db) = issue_ref(l, w, is);
        if is.first {
            a = 0;
            b = 0;
        }
        a += da;
        b += db;
        if is.last {
            out.push((is.row, a as i32, b as i32));
        }
    }
    out
}

fn rand_word(rng: &mut impl Rng, w: usize) -> u128 {
    bits(
        ((rng.gen::<u64>() as u128) << 64) | rng.gen::<u64>() as u128,
        w,
    )
}

fn run_engine<const L: usize, const W: usize>(issues: &[EIssue]) -> Vec<(usize, usize, i32, i32)>
where
    Engine<L, W>: Lockstep,
{
    let stim = engine_stimulus(issues);
    let out = run_lockstep(Engine::<L, W>::default, &stim, 0);
    engine_writes(&out)
}

/// Random issues: rows of random lengths with bubbles, numbered
/// consecutively (the sequencer's order, which the engine's row counter
/// relies on); now and then the pipeline drains and the numbering restarts
/// at a random row (a new job).
fn random_issues(rng: &mut impl Rng, l: usize, w: usize, n: usize) -> Vec<EIssue> {
    let mut v = Vec::new();
    let mut first = true;
    let mut row = rng.gen_range(0..8192);
    for i in 0..n {
        if first && rng.gen_bool(0.05) {
            // a new job: drain, then a new numbering
            v.extend((0..engine_latency(l) - 1 + rng.gen_range(0..3)).map(|_| EIssue::default()));
            row = rng.gen_range(0..8192);
        }
        let last = rng.gen_bool(0.3) || i + 1 == n;
        let valid = rng.gen_bool(0.85);
        let is = EIssue {
            valid,
            bit_off: rng.gen_range(0..256),
            abit: rng.gen_range(0..256),
            nvalid: rng.gen_range(0..=l + 2),
            segb: if rng.gen_bool(0.5) {
                l
            } else {
                rng.gen_range(0..=l)
            },
            plane: rng.gen_range(0..8),
            neg: rng.gen_bool(0.3),
            xnor: rng.gen_bool(0.4),
            first,
            last,
            row,
            lo: rand_word(rng, w),
            hi: rand_word(rng, w),
            act: rand_word(rng, w),
            flush: false,
        };
        if valid {
            first = last;
            if last {
                row = (row + 1) % 8192;
            }
        }
        v.push(is);
    }
    v.extend((0..engine_latency(l) + 2).map(|_| EIssue::default()));
    v
}

fn engine_random<const L: usize, const W: usize>(seed: u64)
where
    Engine<L, W>: Lockstep,
{
    println!("seed = {seed}, L = {L}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let issues = random_issues(&mut rng, L, W, 400);
    let got = run_engine::<L, W>(&issues);
    let want = engine_expected(L, W, &issues);
    assert_eq!(
        got.iter().map(|g| (g.1, g.2, g.3)).collect::<Vec<_>>(),
        want,
        "L = {L}, seed {seed}"
    );
    // latency: the last issue of the first row reaches out_we engine_latency cycles later
    let first_last = issues.iter().position(|i| i.valid && i.last).unwrap();
    assert_eq!(got[0].0, first_last + engine_latency(L), "latency");
}

#[test]
fn engine_random_issues_rust_vs_verilog_vs_popcount() {
    if !icarus_or_skip() {
        return;
    }
    engine_random::<8, 32>(81);
    engine_random::<32, 32>(321);
    engine_random::<128, 128>(1281);
}

/// Single-issue rows over random vectors: the adder tree against count_ones.
#[test]
fn engine_popcount_tree_vs_count_ones() {
    if !icarus_or_skip() {
        return;
    }
    let seed = 4242;
    println!("seed = {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mk = |rng: &mut ChaCha8Rng, l: usize, w: usize, xnor: bool| EIssue {
        valid: true,
        bit_off: 0,
        abit: 0,
        nvalid: l,
        segb: l,
        plane: 0,
        xnor,
        first: true,
        last: true,
        lo: rand_word(rng, w),
        act: rand_word(rng, w),
        ..Default::default()
    };
    let mut issues: Vec<EIssue> = (0..200).map(|i| mk(&mut rng, 64, 64, i % 2 == 0)).collect();
    issues.extend((0..engine_latency(64) + 2).map(|_| EIssue::default()));
    let got = run_engine::<64, 64>(&issues);
    assert_eq!(got.len(), 200);
    for (g, is) in got.iter().zip(&issues) {
        let (t, x) = (is.lo, is.act);
        let want = if is.xnor {
            2 * (!(t ^ x) & bits(u128::MAX, 64)).count_ones() as i32 - 64
        } else {
            2 * (t & x).count_ones() as i32 - x.count_ones() as i32
        };
        assert_eq!(g.2, want, "t {t:#x} x {x:#x} xnor {}", is.xnor);
        assert_eq!(g.3, 0);
    }
}

/// The funnel shift at every offset of the window start.
fn funnel_every_offset<const L: usize, const W: usize>(seed: u64)
where
    Engine<L, W>: Lockstep,
{
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut issues: Vec<EIssue> = (0..W)
        .map(|off| EIssue {
            valid: true,
            bit_off: off + W * rng.gen_range(0..(256 / W).max(1)),
            nvalid: L,
            segb: L,
            xnor: true,
            first: true,
            last: true,
            lo: rand_word(&mut rng, W),
            hi: rand_word(&mut rng, W),
            act: bits(u128::MAX, W),
            row: off,
            ..Default::default()
        })
        .collect();
    issues.extend((0..engine_latency(L) + 2).map(|_| EIssue::default()));
    let got = run_engine::<L, W>(&issues);
    assert_eq!(got.len(), W);
    for (g, is) in got.iter().zip(&issues) {
        let off = is.bit_off % W;
        // window bit i = bit off+i of the 2W-bit {hi, lo}
        let mut ones = 0;
        for i in 0..L {
            let p = off + i;
            let bit = if p < W {
                (is.lo >> p) & 1
            } else {
                (is.hi >> (p - W)) & 1
            };
            ones += bit as i32;
        }
        assert_eq!(g.2, 2 * ones - L as i32, "L {L} offset {off}");
    }
}

#[test]
fn engine_funnel_shift_every_offset() {
    if !icarus_or_skip() {
        return;
    }
    println!("seed = 7");
    funnel_every_offset::<8, 32>(7);
    funnel_every_offset::<32, 32>(7);
    funnel_every_offset::<64, 64>(7);
}

/// Whole dot products over several chunks and A bit-planes (A = 1..8,
/// signed and unsigned), accumulated by the engine, against sum t_k x_k.
#[test]
fn engine_accumulator_all_widths() {
    if !icarus_or_skip() {
        return;
    }
    const L: usize = 8;
    const W: usize = 32;
    let seed = 99;
    println!("seed = {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut issues = Vec::new();
    let mut want = Vec::new();
    let mut row = 0;
    for abits in 1..=8usize {
        for signed in [false, true] {
            if abits == 1 && signed {
                continue;
            }
            for _ in 0..3 {
                let m = rng.gen_range(1..=3 * L);
                let t: Vec<bool> = (0..m).map(|_| rng.gen_bool(0.5)).collect();
                let x: Vec<i32> = common::random_activations(&mut rng, m, abits, signed);
                let dot: i64 = (0..m)
                    .map(|k| {
                        let tv = if t[k] { 1 } else { -1 };
                        let xv = if abits == 1 {
                            2 * x[k] as i64 - 1
                        } else {
                            x[k] as i64
                        };
                        tv * xv
                    })
                    .sum();
                want.push((row, dot as i32, 0));
                let chunks = m.div_ceil(L);
                for c in 0..chunks {
                    for b in 0..abits {
                        let mut lo = 0u128;
                        let mut act = 0u128;
                        for i in 0..L {
                            let k = c * L + i;
                            if k < m {
                                lo |= (t[k] as u128) << i;
                                act |= ((((x[k] >> b) & 1) as u128) << i) << L;
                            }
                        }
                        // garbage in the lanes beyond m and in the other act slices
                        let junk = rand_word(&mut rng, W);
                        let mask_hi = !bits(u128::MAX, (m - c * L).min(L));
                        issues.push(EIssue {
                            valid: true,
                            bit_off: 0,
                            abit: L + c * W,
                            nvalid: (m - c * L).min(L),
                            segb: L,
                            plane: b,
                            neg: signed && b + 1 == abits,
                            xnor: abits == 1,
                            first: c == 0 && b == 0,
                            last: c + 1 == chunks && b + 1 == abits,
                            row,
                            lo: lo
                                | (junk & mask_hi & bits(u128::MAX, L))
                                | (junk & !bits(u128::MAX, L)),
                            hi: rand_word(&mut rng, W),
                            act: act
                                | (junk & !bits(u128::MAX, 2 * L) & bits(u128::MAX, W))
                                | (junk & bits(u128::MAX, L)),
                            ..Default::default()
                        });
                    }
                }
                row += 1;
            }
        }
    }
    issues.extend((0..engine_latency(L) + 2).map(|_| EIssue::default()));
    let got = run_engine::<L, W>(&issues);
    assert_eq!(
        got.iter().map(|g| (g.1, g.2, g.3)).collect::<Vec<_>>(),
        want
    );
}

/// A flush drops every issue in flight: no write of the interrupted row.
#[test]
fn engine_flush_drops_in_flight() {
    if !icarus_or_skip() {
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut issues = random_issues(&mut rng, 8, 32, 40);
    // make every issue a one-issue row, then flush in the middle
    for (i, is) in issues.iter_mut().enumerate() {
        is.first = true;
        is.last = true;
        is.valid = i < 40;
        is.row = i;
    }
    issues[20].flush = true;
    let got = run_engine::<8, 32>(&issues);
    let rows: Vec<usize> = got.iter().map(|g| g.1).collect();
    // rows issued before the flush but not yet written, and the flush cycle's own issue, vanish
    let lat = engine_latency(8);
    let expect: Vec<usize> = (0..40).filter(|&r| r + lat <= 20 || r > 20).collect();
    assert_eq!(rows, expect);
}

/// The segment split at every boundary `segb` in `0..=L + 1` (and every
/// valid count around it), one-issue rows over random words: `dot_a` and
/// `dot_b` against the reference (segment a is the prefix sum of the tree's
/// blocks below `segb`, segment b the total minus a).
fn segment_every_boundary<const L: usize, const W: usize>(seed: u64)
where
    Engine<L, W>: Lockstep,
{
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut issues = Vec::new();
    for segb in 0..=L + 1 {
        for nvalid in [
            segb.saturating_sub(1),
            segb,
            segb + 1,
            rng.gen_range(0..=L),
            L,
        ] {
            issues.push(EIssue {
                valid: true,
                bit_off: rng.gen_range(0..256),
                abit: rng.gen_range(0..256),
                nvalid,
                segb,
                plane: rng.gen_range(0..8),
                neg: rng.gen_bool(0.3),
                xnor: rng.gen_bool(0.5),
                first: true,
                last: true,
                row: issues.len(),
                lo: rand_word(&mut rng, W),
                hi: rand_word(&mut rng, W),
                act: rand_word(&mut rng, W),
                flush: false,
            });
        }
    }
    let n = issues.len();
    issues.extend((0..engine_latency(L) + 2).map(|_| EIssue::default()));
    let got = run_engine::<L, W>(&issues);
    let want = engine_expected(L, W, &issues);
    assert_eq!(got.len(), n);
    assert_eq!(
        got.iter().map(|g| (g.1, g.2, g.3)).collect::<Vec<_>>(),
        want,
        "L = {L}, seed {seed}"
    );
}

#[test]
fn engine_segment_split_every_boundary() {
    if !icarus_or_skip() {
        return;
    }
    println!("seed = 11");
    segment_every_boundary::<8, 32>(11);
    segment_every_boundary::<32, 32>(11);
    segment_every_boundary::<64, 64>(11);
}
