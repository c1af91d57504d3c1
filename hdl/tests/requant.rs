//! The requantization unit (`tbn_hdl::requant`): its arithmetic, fed with
//! the constants of docs/model-image.md section 4 (rounding folded into the
//! bias, no shift for sign and logits), against
//! `tbn_golden::integer::DenseStage::requantize` on random stages (every
//! activation kind, output width, shift, uniform and per-row multipliers,
//! biases, straddling rows); then its Rust model against its Verilog under
//! Icarus cycle by cycle, with the rounding and saturation boundaries of
//! every shift, and the Verilog's outputs against the definition (`y` at
//! `REQUANT_LATENCY`, the logits' `v` at `REQUANT_V_LATENCY`, the record
//! read requests, `last` and `busy`); then the netlist that yosys
//! `synth_ice40 -dsp` makes of it (the SB_MAC16 with the registers and
//! adders it absorbed, simulated with yosys's cell models) against the model.

mod common;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_golden::integer::{Activation, DenseStage};
use tbn_golden::layout::RowGeometry;
use tbn_golden::tile::Tile;
use tbn_hdl::requant::{
    kind, requant_row, Requant, RequantIn, REQUANT_BIAS_DELAY, REQUANT_LATENCY, REQUANT_MULT_DELAY,
    REQUANT_V_LATENCY,
};
use tbn_hdl::rtlsim::{block_verilog, lockstep};
use tbn_hdl::testbench::have_tool;

fn seed() -> u64 {
    std::env::var("TBN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0012)
}

fn kind_of(a: Activation) -> u8 {
    match a {
        Activation::Relu => kind::RELU,
        Activation::Signed => kind::SIGNED,
        Activation::Sign => kind::SIGN,
        Activation::Logits => kind::LOGITS,
    }
}

/// A random valid geometry (`q >= m`, `p | rows * m`).
fn geometry(rng: &mut impl Rng) -> RowGeometry {
    loop {
        let rows = rng.gen_range(1..=48);
        let m = rng.gen_range(1..=200);
        let n = rows * m;
        let p = rng.gen_range(1..=8.min(rows));
        if n % p == 0 && n / p >= m {
            return RowGeometry {
                rows,
                m,
                q: n / p,
                p,
            };
        }
    }
}

/// A random stage with the unit's limits (`bias_bits`-bit biases) and random
/// accumulator pairs of its distinct rows (`|dot| <= m * 255`, `dot_b = 0`
/// for rows that do not straddle).
fn random_stage(rng: &mut impl Rng, bias_bits: u32) -> (DenseStage, Vec<(i32, i32)>) {
    let geom = geometry(rng);
    let act = [
        Activation::Relu,
        Activation::Signed,
        Activation::Sign,
        Activation::Logits,
    ][rng.gen_range(0..4)];
    let out_bits = match act {
        Activation::Sign => 1,
        _ => rng.gen_range(1..=8),
    };
    let mult: Vec<i32> = (0..if rng.gen_bool(0.5) { 1 } else { geom.rows })
        .map(|_| rng.gen_range(-32767..=32767))
        .collect();
    let blim = 1i64 << (bias_bits - 1);
    let bias: Vec<i64> = if rng.gen_bool(0.3) {
        vec![]
    } else {
        let mag = 1i64 << rng.gen_range(1..bias_bits - 1);
        (0..geom.rows)
            .map(|_| rng.gen_range(-mag..mag).clamp(-blim, blim - 1))
            .collect()
    };
    let shift = rng.gen_range(0..=62.min(bias_bits - 1));
    let alpha_q: Vec<u16> = (0..geom.p).map(|_| rng.gen_range(0..=32767)).collect();
    let lim = geom.m as i32 * 255;
    let acc = (0..geom.distinct_rows())
        .map(|j| {
            let s = geom.segment(j);
            let pick = |rng: &mut dyn rand::RngCore| -> i32 {
                match rng.gen_range(0..4) {
                    0 => lim,
                    1 => -lim,
                    _ => rng.gen_range(-lim..=lim),
                }
            };
            let a = pick(rng);
            let b = if s.straddles(geom.m) { pick(rng) } else { 0 };
            (a, b)
        })
        .collect();
    let stage = DenseStage {
        name: "random".into(),
        geom,
        conv: None,
        tile: Tile::zeros(geom.q),
        alpha_q,
        mult,
        bias,
        shift,
        in_bits: 8,
        in_signed: false,
        act,
        out_bits,
        out_scale: 1.0,
    };
    stage.validate().expect("valid random stage");
    (stage, acc)
}

/// The stage's constants as the image holds them (docs/model-image.md
/// section 4): `(S, B'_r - B_r)`.
fn image_shift(d: &DenseStage) -> (u8, i64) {
    match d.act {
        Activation::Relu | Activation::Signed if d.shift > 0 => {
            (d.shift as u8, 1i64 << (d.shift - 1))
        }
        Activation::Relu | Activation::Signed => (0, 0),
        Activation::Sign | Activation::Logits => (0, 0),
    }
}

/// The unit's inputs for every row of `d` (alpha_b is garbage where the row
/// does not straddle: its dot_b is 0).
fn rows_of(d: &DenseStage, acc: &[(i32, i32)], rng: &mut impl Rng) -> Vec<RequantIn> {
    let g = &d.geom;
    let (_, half) = image_shift(d);
    (0..g.rows)
        .map(|r| {
            let s = g.segment(r);
            let (da, db) = acc[g.distinct_of(r)];
            RequantIn {
                valid: true,
                dot_a: da,
                dot_b: db,
                alpha_a: d.alpha_q[s.copy],
                alpha_b: if s.straddles(g.m) {
                    d.alpha_q[s.copy + 1]
                } else {
                    rng.gen_range(0..=32767)
                },
                mult: d.mult_of(r) as i16,
                bias: d.bias_of(r) + half,
            }
        })
        .collect()
}

/// Expected unit output of golden value `g`: (y, v) where only the relevant part is compared.
fn matches(d: &DenseStage, golden: i64, y: u8, v: i64) -> bool {
    match d.act {
        Activation::Logits => v == golden,
        _ => i64::from(y as i8) == golden || i64::from(y) == golden,
    }
}

#[test]
fn arithmetic_matches_golden_requantize() {
    let seed = seed();
    println!("seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // dot widths of MAX_IN 1024 (UP5K) and 65536; v widths (biases below
    // 2^(V - 3), products below 2^47 here: |v| < 2^(V - 1))
    for (dot_bits, v_bits) in [(19usize, 52u32), (25, 64)] {
        for _ in 0..400 {
            let (d, acc) = random_stage(&mut rng, v_bits - 2);
            let want = d.requantize(&acc);
            let (out_bits, k) = (d.out_bits, kind_of(d.act));
            let (shift, _) = image_shift(&d);
            for (r, inp) in rows_of(&d, &acc, &mut rng).iter().enumerate() {
                let (y, v) = requant_row(dot_bits, v_bits as usize, inp, shift, k, out_bits);
                assert!(
                    matches(&d, want[r], y, v),
                    "seed {seed}: stage {d:?} row {r}: golden {} unit y {y} v {v}",
                    want[r]
                );
                // relu outputs are unsigned: compare exactly as bytes
                if d.act == Activation::Relu {
                    assert_eq!(i64::from(y), want[r]);
                }
                if d.act == Activation::Signed {
                    assert_eq!(i64::from(y as i8), want[r]);
                }
            }
        }
    }
}

/// Rows whose `v` lies on the rounding and saturation boundaries of `shift`
/// (v = 1 * 1 * 1 + B).
fn boundary_rows(shift: u32, bias_bits: u32) -> Vec<i64> {
    let mut vs = vec![0i64, 1, -1, 2, -2];
    let s = shift as i64;
    let p = |e: i64| -> Option<i64> { (e < 62).then(|| 1i64 << e) };
    for k in [0i64, 1, 2, 3, 127, 128, 255, 256, 511, 512, 1023, 1024] {
        for sign in [1i64, -1] {
            if let Some(base) = p(s).and_then(|b| b.checked_mul(k)) {
                let half = if s == 0 { 0 } else { 1i64 << (s - 1) };
                for d in [-1i64, 0, 1] {
                    vs.push(sign * base + half + d);
                    vs.push(sign * base - half + d);
                    vs.push(sign * base + d);
                }
            }
        }
    }
    let lim = 1i64 << (bias_bits - 1);
    vs.into_iter()
        .filter(|v| (v - 1) >= -lim && (v - 1) < lim)
        .collect()
}

fn input_vec(r: &RequantIn, shift: u8, k: u8, bits: u8) -> Vec<u128> {
    vec![
        r.valid as u128,
        r.dot_a as u32 as u128,
        r.dot_b as u32 as u128,
        r.alpha_a as u128,
        r.alpha_b as u128,
        r.mult as u16 as u128,
        r.bias as u64 as u128,
        shift as u128,
        k as u128,
        bits as u128,
    ]
}

/// One constant setting and its rows.
struct Batch {
    shift: u8,
    kind: u8,
    bits: u8,
    rows: Vec<RequantIn>,
}

fn check_verilog(dot_bits: usize, v_bits: usize, batches: &[Batch]) {
    // stimulus: rows of a batch back to back (with random bubbles from the
    // caller), constants held from one cycle before a batch until its last
    // output; then the outputs are checked against the definition
    let mut stim = Vec::new();
    // per valid row: (input cycle, kind, definition's (y, v))
    let mut expect = Vec::new();
    for b in batches {
        let idle = RequantIn::default();
        stim.push(input_vec(&idle, b.shift, b.kind, b.bits));
        for r in &b.rows {
            if r.valid {
                expect.push((
                    stim.len(),
                    b.kind,
                    requant_row(dot_bits, v_bits, r, b.shift, b.kind, b.bits),
                ));
            }
            stim.push(input_vec(r, b.shift, b.kind, b.bits));
        }
        for _ in 0..REQUANT_LATENCY {
            stim.push(input_vec(&idle, b.shift, b.kind, b.bits));
        }
    }
    // each row's multiplier and bias are presented REQUANT_MULT_DELAY and
    // REQUANT_BIAS_DELAY cycles after the row
    let rows: Vec<Vec<u128>> = stim.clone();
    for (i, s) in stim.iter_mut().enumerate() {
        for (port, delay) in [(5, REQUANT_MULT_DELAY), (6, REQUANT_BIAS_DELAY)] {
            s[port] = if i >= delay { rows[i - delay][port] } else { 0 };
        }
    }
    let mut block = Requant::new(dot_bits, v_bits);
    let v = block_verilog(&mut block);
    let mut block = Requant::new(dot_bits, v_bits);
    block.connect_all();
    let dir = tempfile::tempdir().unwrap();
    let out =
        lockstep(&mut block, &v, "top", &stim, 0, dir.path()).unwrap_or_else(|e| panic!("{e}"));
    // outputs: valid, last, y, v, busy, mult_rd, bias_rd
    let got: Vec<usize> = (0..out.len()).filter(|&t| out[t][0] == 1).collect();
    assert_eq!(got.len(), expect.len());
    for (&t, &(i, k, (y, vv))) in got.iter().zip(&expect) {
        // y after REQUANT_LATENCY, for logits v after REQUANT_V_LATENCY
        let lat = if k == kind::LOGITS {
            REQUANT_V_LATENCY
        } else {
            REQUANT_LATENCY
        };
        assert_eq!(t - i, lat, "row of cycle {i}: latency");
        assert_eq!(out[t][2] as u8, y, "row of cycle {i}: y");
        if k == kind::LOGITS {
            assert_eq!(out[t][3] as u64 as i64, vv, "row of cycle {i}: v");
        }
        // the record reads one cycle before the unit samples them
        assert_eq!(out[i + REQUANT_MULT_DELAY - 1][5], 1, "cycle {i}: mult_rd");
        assert_eq!(out[i + REQUANT_BIAS_DELAY - 1][6], 1, "cycle {i}: bias_rd");
        // busy from the row's first edge to its output
        assert!((i + 1..=t).all(|c| out[c][4] == 1), "cycle {i}: busy");
    }
    for t in 0..out.len() {
        let last = out[t][0] == 1 && out.get(t + 1).map_or(0, |o| o[0]) == 0;
        assert_eq!(out[t][1] == 1, last, "cycle {t}: last");
    }
    let reads = |port: usize| out.iter().filter(|o| o[port] == 1).count();
    assert_eq!(reads(5), expect.len(), "one multiplier read per row");
    assert_eq!(reads(6), expect.len(), "one bias read per row");
}

use rust_hdl::prelude::Block;

#[test]
fn verilog_matches_model_on_boundaries_and_random_stages() {
    if !have_tool("iverilog") {
        tbn_hdl::testbench::skip_missing_tool("iverilog not found on PATH");
        return;
    }
    let seed = seed();
    println!("seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1234);
    for (dot_bits, v_bits) in [(19usize, 52usize), (25, 64), (19, 40), (32, 64), (9, 32)] {
        let bias_bits = v_bits.min(62);
        let mut batches = Vec::new();
        // rounding / saturation boundaries of every shift, relu and signed, 1..8 bits
        for shift in 0..=62u32 {
            let vs = boundary_rows(shift, bias_bits as u32);
            let k = if shift % 2 == 0 {
                kind::RELU
            } else {
                kind::SIGNED
            };
            for bits in [8u8, 1 + (shift % 8) as u8] {
                let rows = vs
                    .iter()
                    .map(|&v| RequantIn {
                        valid: true,
                        dot_a: 1,
                        dot_b: 0,
                        alpha_a: 1,
                        alpha_b: rng.gen(),
                        mult: 1,
                        bias: v - 1,
                    })
                    .collect();
                batches.push(Batch {
                    shift: shift as u8,
                    kind: k,
                    bits,
                    rows,
                });
            }
        }
        // sign and logits on the same values
        for k in [kind::SIGN, kind::LOGITS] {
            let rows = boundary_rows(5, bias_bits as u32)
                .iter()
                .map(|&v| RequantIn {
                    valid: true,
                    dot_a: 1,
                    alpha_a: 1,
                    mult: 1,
                    bias: v - 1,
                    ..Default::default()
                })
                .collect();
            batches.push(Batch {
                shift: 5,
                kind: k,
                bits: 1,
                rows,
            });
        }
        // random stages, with bubbles
        for _ in 0..60 {
            let (d, acc) = random_stage(&mut rng, bias_bits as u32 - 2);
            let mut rows = Vec::new();
            for r in rows_of(&d, &acc, &mut rng) {
                if rng.gen_bool(0.2) {
                    rows.push(RequantIn::default());
                }
                rows.push(r);
            }
            batches.push(Batch {
                shift: image_shift(&d).0,
                kind: kind_of(d.act),
                bits: d.out_bits,
                rows,
            });
        }
        // random raw inputs at the port limits (dots at +-2^(dot_bits-1), any alpha, M)
        for _ in 0..20 {
            let lim = 1i64 << (dot_bits - 1);
            let blim = 1i64 << (bias_bits - 1);
            let rows = (0..50)
                .map(|_| RequantIn {
                    valid: true,
                    dot_a: rng.gen_range(-lim..lim) as i32,
                    dot_b: rng.gen_range(-lim..lim) as i32,
                    alpha_a: rng.gen_range(0..=32767),
                    alpha_b: rng.gen_range(0..=32767),
                    mult: rng.gen(),
                    bias: rng.gen_range(-blim..blim),
                })
                .collect();
            batches.push(Batch {
                shift: rng.gen_range(0..=62),
                kind: rng.gen_range(0..4),
                bits: rng.gen_range(1..=8),
                rows,
            });
        }
        check_verilog(dot_bits, v_bits, &batches);
    }
}

#[test]
fn verilator_lint_clean() {
    common::assert_lint_clean(&mut Requant::new(19, 52));
}

/// yosys `synth_ice40 -dsp` maps the seven products of the UP5K
/// configuration (19-bit dots, 52-bit v) to SB_MAC16 (the UP5K has 8) and
/// infers no latches.
#[test]
fn yosys_maps_the_products_to_sb_mac16() {
    if !have_tool("yosys") {
        tbn_hdl::testbench::skip_missing_tool("yosys not found on PATH");
        return;
    }
    let mut b = Requant::new(19, 52);
    let v = block_verilog(&mut b);
    let stat = common::yosys_stat(&v, "synth_ice40 -dsp -top top");
    let count = |cell: &str| common::cell_count(&stat, cell);
    let ffs: usize = [
        "SB_DFF",
        "SB_DFFE",
        "SB_DFFSR",
        "SB_DFFSS",
        "SB_DFFESR",
        "SB_DFFESS",
    ]
    .iter()
    .map(|c| count(c))
    .sum();
    println!(
        "requant (19-bit dots, 52-bit v): SB_MAC16 {}, SB_LUT4 {}, SB_CARRY {}, flip-flops {ffs}",
        count("SB_MAC16"),
        count("SB_LUT4"),
        count("SB_CARRY")
    );
    assert_eq!(count("SB_MAC16"), 7, "{stat}");
    assert!(!stat.contains("$_DLATCH"), "latch inferred: {stat}");
}

/// Random inputs every cycle (bubbles, raw dots, alpha codes, multipliers and
/// biases at the port limits, the constants changed every 50 cycles).
fn random_inputs(n: usize, dot_bits: usize, rng: &mut impl Rng) -> Vec<Vec<u128>> {
    let (mut sh, mut k, mut ob) = (0u8, 0u8, 8u8);
    (0..n)
        .map(|i| {
            if i % 50 == 0 {
                sh = rng.gen_range(0..64);
                k = rng.gen_range(0..4);
                ob = rng.gen_range(0..16);
            }
            let lim = 1i64 << (dot_bits - 1);
            let small = rng.gen_bool(0.5);
            let r = RequantIn {
                valid: rng.gen_bool(0.8),
                dot_a: rng.gen_range(-lim..lim) as i32
                    ^ if rng.gen_bool(0.1) { rng.gen() } else { 0 },
                dot_b: rng.gen_range(-lim..lim) as i32,
                alpha_a: rng.gen(),
                alpha_b: rng.gen(),
                mult: if small {
                    rng.gen_range(-3..4)
                } else {
                    rng.gen()
                },
                bias: if small {
                    rng.gen_range(-(1i64 << 20)..(1 << 20))
                } else {
                    rng.gen()
                },
            };
            input_vec(&r, sh, k, ob)
        })
        .collect()
}

/// The netlist of `synth_ice40 -dsp` (the SB_MAC16 with the input,
/// pipeline and output registers and the post-adders yosys absorbed into
/// them) simulated with yosys's iCE40 cell models, in lockstep with the
/// model on random inputs: the DSP inference keeps the pipeline cycle-exact.
#[test]
fn yosys_netlist_matches_model() {
    if !have_tool("yosys") || !have_tool("iverilog") {
        tbn_hdl::testbench::skip_missing_tool("yosys or iverilog not found on PATH");
        return;
    }
    // yosys's data directory: `yosys-config --datdir` where yosys-dev is
    // installed, else `share/yosys` beside the yosys binary's `bin`
    let datdir = std::process::Command::new("yosys-config")
        .arg("--datdir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .or_else(|| {
            let out = std::process::Command::new("sh")
                .args(["-c", "command -v yosys"])
                .output()
                .ok()?;
            let bin = std::fs::canonicalize(String::from_utf8_lossy(&out.stdout).trim()).ok()?;
            Some(
                bin.parent()?
                    .parent()?
                    .join("share/yosys")
                    .to_string_lossy()
                    .into_owned(),
            )
        });
    let Some(cells) =
        datdir.and_then(|d| std::fs::read_to_string(format!("{d}/ice40/cells_sim.v")).ok())
    else {
        tbn_hdl::testbench::skip_missing_tool("yosys's ice40/cells_sim.v not found");
        return;
    };
    let seed = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7e7);
    for (dot_bits, v_bits) in [(19usize, 52usize), (25, 64), (32, 63)] {
        let stim = random_inputs(2000, dot_bits, &mut rng);
        let mut b = Requant::new(dot_bits, v_bits);
        let v = block_verilog(&mut b);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rq.v"), &v).unwrap();
        let out = std::process::Command::new("yosys")
            .current_dir(dir.path())
            .args([
                "-q",
                "-p",
                "read_verilog rq.v; synth_ice40 -dsp -top top; write_verilog -noattr net.v",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let net = "`define NO_ICE40_DEFAULT_ASSIGNMENTS\n".to_string()
            + &std::fs::read_to_string(dir.path().join("net.v")).unwrap()
            + &cells;
        let mut b = Requant::new(dot_bits, v_bits);
        b.connect_all();
        // the DSP registers power up unknown: compared once flushed
        lockstep(&mut b, &net, "top", &stim, 20, dir.path())
            .unwrap_or_else(|e| panic!("seed {seed}: {dot_bits}-bit dots, V = {v_bits}: {e}"));
    }
}
