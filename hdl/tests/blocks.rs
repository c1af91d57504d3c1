//! Per-block unit tests. Every block runs twice on the same per-cycle
//! stimulus: its Rust `update()` in rust-hdl's simulator and its emitted
//! Verilog under Icarus (`tbn_hdl::rtlsim::lockstep` requires identical
//! outputs in every cycle); the model's outputs are then checked against plain
//! references (`count_ones`, direct dot products, a register model).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_driver::regmap;
use tbn_hdl::control::{Control, IdValues};
use tbn_hdl::engine::{engine_latency, Engine};
use tbn_hdl::mem::{ActMem, OutMem, TileMem};
use tbn_hdl::rtlsim::{block_verilog, lockstep, Lockstep};
use tbn_hdl::seq::Sequencer;
use tbn_hdl::testbench::have_tool;

fn icarus_or_skip() -> bool {
    if have_tool("iverilog") {
        true
    } else {
        tbn_hdl::testbench::skip_missing_tool(format_args!("iverilog not found on PATH"));
        false
    }
}

fn run_lockstep<B: Lockstep>(
    mk: impl Fn() -> B,
    stim: &[Vec<u128>],
    skip: usize,
) -> Vec<Vec<u128>> {
    let mut b = mk();
    let v = block_verilog(&mut b);
    let mut b = mk();
    b.connect_all();
    let dir = tempfile::tempdir().unwrap();
    lockstep(&mut b, &v, "top", stim, skip, dir.path()).unwrap_or_else(|e| panic!("{e}"))
}

fn bits(v: u128, w: usize) -> u128 {
    if w >= 128 {
        v
    } else {
        v & ((1u128 << w) - 1)
    }
}

// ------------------------------------------------------------------ engine

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

fn random_issues(rng: &mut impl Rng, l: usize, w: usize, n: usize) -> Vec<EIssue> {
    let mut v = Vec::new();
    let mut first = true;
    for i in 0..n {
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
            row: rng.gen_range(0..8192),
            lo: rand_word(rng, w),
            hi: rand_word(rng, w),
            act: rand_word(rng, w),
            flush: false,
        };
        if valid {
            first = last;
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
                let x: Vec<i32> = (0..m)
                    .map(|_| {
                        if abits == 1 {
                            rng.gen_range(0..2)
                        } else if signed {
                            rng.gen_range(-(1 << (abits - 1))..(1 << (abits - 1)))
                        } else {
                            rng.gen_range(0..(1 << abits))
                        }
                    })
                    .collect();
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

// ---------------------------------------------------------------- memories

#[test]
fn tile_memory_rust_vs_verilog() {
    if !icarus_or_skip() {
        return;
    }
    let seed = 11;
    println!("seed = {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // W = 32: tile_max 256, L 8 -> 9 words; W = 64: 10 words (L 64, tile_max 512)
    for (w, tile_max, lanes) in [(32usize, 256usize, 8usize), (64, 512, 64)] {
        let depth = (tile_max + lanes).div_ceil(w);
        let words32 = depth * w / 32;
        let mut stim = Vec::new();
        let mut image = vec![0u32; words32];
        // initialise every word, then random writes (random byte lanes) and reads
        for (a, slot) in image.iter_mut().enumerate() {
            let d: u32 = rng.gen();
            *slot = d;
            stim.push(vec![1, 0xF, a as u128, d as u128, 0]);
        }
        // bus writes land one cycle after the request (registered next to
        // the BRAMs): the first read that sees every initial write is the
        // one issued two cycles after the last
        let init = stim.len() + 2;
        for _ in 0..600 {
            let we = rng.gen_bool(0.3);
            let a = rng.gen_range(0..words32 + 4);
            let sel = rng.gen_range(0..16u32);
            let d: u32 = rng.gen();
            let rd = rng.gen_range(0..(depth - 1) * w);
            stim.push(vec![
                we as u128,
                sel as u128,
                a as u128,
                d as u128,
                rd as u128,
            ]);
        }
        let out = if w == 32 {
            run_lockstep(|| TileMem::<32>::new(tile_max, lanes), &stim, init)
        } else {
            run_lockstep(|| TileMem::<64>::new(tile_max, lanes), &stim, init)
        };
        // reference: registered read of words k and k+1 of the image at rd_bit
        for c in init..stim.len() {
            let prev = &stim[c - 1];
            // writes requested up to cycle c-3 are visible to the read of cycle c-1
            let k = prev[4] as usize / w;
            let word = |img: &[u32], k: usize| -> u128 {
                (0..w / 32).fold(0u128, |acc, j| {
                    acc | (*img.get(k * w / 32 + j).unwrap_or(&0) as u128) << (32 * j)
                })
            };
            assert_eq!(out[c][0], word(&image, k), "lo, cycle {c}");
            assert_eq!(out[c][1], word(&image, k + 1), "hi, cycle {c}");
            let req = &stim[c - 2];
            if req[0] == 1 && (req[2] as usize) < words32 {
                let a = req[2] as usize;
                for b in 0..4 {
                    if (req[1] >> b) & 1 == 1 {
                        let m = 0xFFu32 << (8 * b);
                        image[a] = (image[a] & !m) | (req[3] as u32 & m);
                    }
                }
            }
        }
    }
}

#[test]
fn act_and_out_memories_rust_vs_verilog() {
    if !icarus_or_skip() {
        return;
    }
    let seed = 12;
    println!("seed = {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // activation memory, max_in 128: 8 planes x 4 words
    let max_in = 128;
    let mut stim = Vec::new();
    for p in 0..8u128 {
        for w in 0..4u128 {
            stim.push(vec![1, 0xF, (p << 11) | w, rng.gen::<u32>() as u128, 0, 0]);
        }
    }
    let init = stim.len() + 2;
    for _ in 0..400 {
        let addr = (rng.gen_range(0..8u128) << 11) | rng.gen_range(0..6u128);
        stim.push(vec![
            rng.gen_bool(0.3) as u128,
            rng.gen_range(0..16),
            addr,
            rng.gen::<u32>() as u128,
            rng.gen_range(0..8),
            rng.gen_range(0..(1u128 << 17)),
        ]);
    }
    run_lockstep(|| ActMem::<32>::new(max_in), &stim, init);
    run_lockstep(|| ActMem::<64>::new(max_in), &stim, init);
    // output memory, 16 rows
    let rows = 16;
    let mut stim = Vec::new();
    for r in 0..rows as u128 {
        stim.push(vec![
            1,
            r,
            rng.gen::<u32>() as u128,
            rng.gen::<u32>() as u128,
            0,
        ]);
    }
    let init = stim.len() + 1;
    for _ in 0..400 {
        stim.push(vec![
            rng.gen_bool(0.3) as u128,
            rng.gen_range(0..rows as u128),
            rng.gen::<u32>() as u128,
            rng.gen::<u32>() as u128,
            rng.gen_range(0..(1u128 << 14)),
        ]);
    }
    let out = run_lockstep(|| OutMem::new(rows), &stim, init);
    // addresses beyond the rows read 0
    for c in init..stim.len() {
        if stim[c - 1][4] as usize >= 2 * rows {
            assert_eq!(out[c][0], 0, "cycle {c}");
        }
    }
}

// ----------------------------------------------------------------- control

fn control() -> Control {
    Control::new(IdValues {
        lanes: 8,
        tile_max: 1024,
        max_in: 256,
        max_rows: 32,
        max_abits: 8,
    })
}

/// Control inputs: rst, wb_adr, wb_dat_w, wb_we, wb_sel, wb_stb, wb_cyc, out_rdata, seq_busy, seq_done.
#[allow(clippy::too_many_arguments)]
fn cin(
    rst: bool,
    adr: u32,
    dw: u32,
    we: bool,
    sel: u32,
    stb: bool,
    out: u32,
    busy: bool,
    done: bool,
) -> Vec<u128> {
    vec![
        rst as u128,
        (adr >> 2) as u128,
        dw as u128,
        we as u128,
        sel as u128,
        stb as u128,
        stb as u128,
        out as u128,
        busy as u128,
        done as u128,
    ]
}

/// Wishbone protocol of the register slave: registered ack one cycle after
/// `stb & cyc`, one cycle long; unmapped addresses ack with 0; byte-lane
/// selects on writes; then random traffic, Rust model == Verilog.
#[test]
fn control_wishbone_protocol_and_lockstep() {
    if !icarus_or_skip() {
        return;
    }
    let seed = 31;
    println!("seed = {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut stim = vec![cin(true, 0, 0, false, 0, false, 0, false, false); 2];
    // scripted accesses: (we, addr, data, sel, expected read value)
    let script: Vec<(bool, u32, u32, u32, Option<u32>)> = vec![
        (false, regmap::ID_MAGIC, 0, 0xF, Some(regmap::MAGIC)),
        (true, regmap::SCRATCH, 0x1122_3344, 0xF, None),
        (false, regmap::SCRATCH, 0, 0xF, Some(0x1122_3344)),
        (true, regmap::SCRATCH, 0xAABB_CCDD, 0b0101, None),
        (false, regmap::SCRATCH, 0, 0x0, Some(0x11BB_33DD)),
        (true, regmap::SCRATCH, 0xAABB_CCDD, 0b1010, None),
        (false, regmap::SCRATCH, 0, 0xF, Some(0xAABB_CCDD)),
        (true, regmap::CTRL, regmap::CTRL_IRQ_ENABLE, 0b0001, None),
        (false, regmap::CTRL, 0, 0xF, Some(0)),
        (true, regmap::CTRL, regmap::CTRL_IRQ_ENABLE, 0b0010, None),
        (false, regmap::CTRL, 0, 0xF, Some(regmap::CTRL_IRQ_ENABLE)),
        (true, 0xFC, 0xFFFF_FFFF, 0xF, None),
        (false, 0xFC, 0, 0xF, Some(0)),
        (false, 0x4_0000, 0, 0xF, Some(0)),
        (false, 0x2_0000, 0, 0xF, Some(0)),
        (false, 0x3_0004, 0, 0xF, Some(0)),
        (false, 0x0_8000, 0, 0xF, Some(0)),
        (true, regmap::JOB_ABITS, 0xFFFF_FFFF, 0xF, None),
        (false, regmap::JOB_ABITS, 0, 0xF, Some(0x10F)),
    ];
    let mut access_cycles = Vec::new();
    for &(we, a, d, sel, _) in &script {
        access_cycles.push(stim.len());
        // stb held until the ack (2 cycles for a write, 3 for a read), then
        // one idle cycle
        let held = if we { 2 } else { 3 };
        for _ in 0..held {
            stim.push(cin(false, a, d, we, sel, true, 0xDEAD, false, false));
        }
        stim.push(cin(false, 0, 0, false, 0, false, 0, false, false));
    }
    let scripted = stim.len();
    // random traffic (stb held for random lengths, random sel, addresses near registers/windows)
    let addrs = [
        0x00u32, 0x1C, 0x20, 0x24, 0x28, 0x2C, 0x30, 0x34, 0x38, 0x3C, 0x40, 0x100, 0x1_0000,
        0x1_0004, 0x1_FFFC, 0x2_0000, 0x3_0000, 0x4_0000, 0x7_FFFC,
    ];
    for _ in 0..1500 {
        let a = addrs[rng.gen_range(0..addrs.len())];
        stim.push(cin(
            rng.gen_ratio(1, 200),
            a,
            rng.gen(),
            rng.gen_bool(0.4),
            rng.gen_range(0..16),
            rng.gen_bool(0.6),
            rng.gen(),
            rng.gen_bool(0.3),
            rng.gen_bool(0.05),
        ));
    }
    let out = run_lockstep(control, &stim, 0);
    // outputs: wb_dat_r, wb_ack, irq, ...
    for (k, &c) in access_cycles.iter().enumerate() {
        // writes: ack one cycle after stb & cyc; reads: two cycles after
        let wait = if script[k].0 { 1 } else { 2 };
        for i in 0..wait {
            assert_eq!(out[c + i][1], 0, "no ack before the wait states ({k})");
        }
        assert_eq!(
            out[c + wait][1],
            1,
            "ack {wait} cycle(s) after stb & cyc ({k})"
        );
        assert_eq!(out[c + wait + 1][1], 0, "ack lasts one cycle ({k})");
        if let Some(v) = script[k].4 {
            assert_eq!(
                out[c + wait][0] as u32,
                v,
                "read of access {k}: {:?}",
                script[k]
            );
        }
    }
    // protocol on random traffic (a reference of the ack logic): an access is
    // a request with no ack pending and no read in flight; a write access is
    // acked in the next cycle, a read access in the one after if the request
    // is still there (an abandoned read is never acked); the ack output is
    // high only with a live request (`stb & cyc`); reset cancels both
    let req_at = |c: usize| stim[c][5] == 1 && stim[c][6] == 1;
    let (mut reading, mut ack_q) = (false, false);
    for c in scripted + 1..stim.len() {
        let p = &stim[c - 1];
        let (rst, we, req) = (p[0] == 1, p[3] == 1, req_at(c - 1));
        let access = req && !ack_q && !reading;
        let ack_next = !rst && ((access && we) || (reading && req));
        reading = !rst && access && !we;
        ack_q = ack_next;
        let want = ack_q && req_at(c);
        assert_eq!(out[c][1] == 1, want, "ack at cycle {c}");
    }
}

// --------------------------------------------------------------- sequencer

#[test]
fn sequencer_rust_vs_verilog() {
    if !icarus_or_skip() {
        return;
    }
    sequencer_lockstep::<{ tbn_hdl::seq::SEQ_NARROW }>(41);
    sequencer_lockstep::<{ tbn_hdl::seq::SEQ_WIDE }>(42);
}

fn sequencer_lockstep<const N: usize>(seed: u64)
where
    Sequencer<N>: Lockstep,
{
    println!("seed = {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // inputs: abort, start, job_m, job_q, job_rows, job_abits, job_signed, engine_active
    let mut stim = vec![vec![1, 0, 0, 0, 0, 0, 0, 0]];
    let mut jobs = 0;
    while stim.len() < 6000 {
        let m = rng.gen_range(1..=70u128);
        let q = m * rng.gen_range(1..=4u128) + rng.gen_range(0..m);
        let rows = rng.gen_range(1..=6u128);
        let abits = rng.gen_range(1..=8u128);
        let signed = rng.gen_bool(0.5) as u128;
        // the job registers settle before START (as the control block
        // guarantees: the sequencer precomputes job constants from them)
        for _ in 0..2 {
            stim.push(vec![0, 0, m, q, rows, abits, signed, 0]);
        }
        stim.push(vec![0, 1, m, q, rows, abits, signed, 0]);
        jobs += 1;
        let len = rows * m.div_ceil(8) * abits + 8;
        for i in 0..len {
            let abort = rng.gen_ratio(1, 3000);
            let active = (i < len - 2 || rng.gen_bool(0.5)) as u128;
            // (no START while busy: the control refuses it before it
            // reaches the sequencer)
            stim.push(vec![abort as u128, 0, m, q, rows, abits, signed, active]);
        }
        for _ in 0..3 {
            stim.push(vec![0, 0, m, q, rows, abits, signed, 0]);
        }
    }
    let out = run_lockstep(|| Sequencer::<N>::new(8, 1024), &stim, 0);
    let dones = out.iter().filter(|o| o[1] == 1).count();
    println!("width {N}: {jobs} jobs, {dones} done pulses");
    assert!(dones >= jobs / 2, "most jobs finish: {dones} of {jobs}");
}
