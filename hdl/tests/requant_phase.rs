//! The requantization phase of one layer, composed from its three blocks
//! cycle by cycle: the row walker (rust-hdl model) names each row's
//! distinct row, copy and straddle; the requantization unit (its
//! cycle-exact model) takes the pair of that distinct row, the alpha codes
//! of the copy (and of the next copy when the row straddles), the row's
//! multiplier and, `REQUANT_BIAS_DELAY` cycles later, its bias `B'`
//! (docs/model-image.md section 4: rounding folded into the bias, no shift
//! for sign and logits); the activation writer (its model) packs the outputs
//! into the next layer's bit-planes. Each block's model is checked against
//! its Verilog in its own test file; here the composition is checked against
//! tbn_golden: the written planes against the bits of the golden stage
//! outputs, the logits against the golden `v`. The reference MLP on MNIST
//! images and random stages (straddles, every kind and width); the phase's
//! cycles are printed against the ideal (one cycle per row).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use tbn_golden::integer::{self, Activation, DenseStage};
use tbn_golden::layout::RowGeometry;
use tbn_golden::tile::Tile;
use tbn_hdl::actwrite::{WriterIn, WriterModel};
use tbn_hdl::requant::{kind, RequantIn, RequantModel, REQUANT_BIAS_DELAY};
use tbn_hdl::rowwalk::RowWalker;
use tbn_hdl::rtlsim::run_model;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");

fn seed() -> u64 {
    std::env::var("TBN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0015)
}

/// Result of one phase: the writer's plane words, the logits (`v` by row)
/// and the cycles from the walker's start to the last output (the writer's
/// last plane write, or the last logit).
struct Phase {
    planes: HashMap<u16, u32>,
    logits: Vec<i64>,
    cycles: usize,
}

/// Runs the requantization phase of `d` on the accumulator pairs `acc`.
fn run_phase(d: &DenseStage, acc: &[(i32, i32)], dot_bits: usize, v_bits: usize) -> Phase {
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
    // the walker: START, then the rows
    let desc = |start: bool| {
        vec![
            start as u128,
            0,
            g.m as u128,
            (g.q - g.m) as u128,
            g.rows as u128,
            g.period() as u128,
        ]
    };
    let n = g.rows + 40;
    let mut stim = vec![desc(true)];
    stim.extend((0..n).map(|_| desc(false)));
    let mut walker = RowWalker::<18>::default();
    rust_hdl::prelude::Block::connect_all(&mut walker);
    let walk = run_model(&mut walker, &stim).unwrap();
    // requant and writer, cycle by cycle
    let mut rq = RequantModel::new(dot_bits, v_bits);
    let mut wr = WriterModel::default();
    let mut biases = vec![0i64; n + 1 + REQUANT_BIAS_DELAY];
    let mut planes = HashMap::new();
    let mut logits = vec![0i64; g.rows];
    let mut last_write = 0;
    for (t, w) in walk.iter().enumerate() {
        // walker outputs: valid, row, distinct, copy, straddle, last, busy
        let mut inp = RequantIn::default();
        if w[0] == 1 {
            let (r, j, c, strad) = (w[1] as usize, w[2] as usize, w[3] as usize, w[4] == 1);
            inp = RequantIn {
                valid: true,
                tag: r as u16,
                dot_a: acc[j].0,
                dot_b: acc[j].1,
                alpha_a: d.alpha_q[c],
                alpha_b: if strad { d.alpha_q[c + 1] } else { 0 },
                mult: d.mult_of(r) as i16,
                bias: 0,
            };
            biases[t + REQUANT_BIAS_DELAY] = d.bias_of(r) + half;
        }
        inp.bias = if t >= REQUANT_BIAS_DELAY {
            biases[t]
        } else {
            0
        };
        rq.step(inp, shift, kind_code, d.out_bits);
        let o = rq.outputs();
        if o.valid {
            logits[o.tag as usize] = o.v;
            last_write = last_write.max(t);
        }
        let wo = wr.outputs();
        if wo.we {
            planes.insert(wo.addr, wo.data);
            last_write = t;
        }
        wr.step(WriterIn {
            clear: t == 0,
            planes: d.out_bits,
            count: u8::from(o.valid),
            y: u16::from_le_bytes([o.y, o.y]),
            last: o.valid && usize::from(o.tag) + 1 == g.rows,
            ..Default::default()
        });
    }
    Phase {
        planes,
        logits,
        cycles: last_write + 1,
    }
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
    let model = tbn_golden::load_model(format!("{ROOT}/reference/tbn_mnist_mlp_p4.json")).unwrap();
    let train = tbn_golden::idx::read_images(format!("{ROOT}/mnist/train10k-images-idx3-ubyte.gz"))
        .unwrap();
    let calib: Vec<Vec<f32>> = (0..500).map(|i| train.image_f32(i)).collect();
    let cfg = integer::QuantConfig {
        act_bits: 8,
        input_bits: 8,
        input_scale: Some(1.0 / 255.0),
    };
    let prog = integer::quantize(&model, &calib, &cfg).unwrap();
    let test =
        tbn_golden::idx::read_images(format!("{ROOT}/mnist/t10k-images-idx3-ubyte.gz")).unwrap();
    let runner = prog.runner();
    for i in 0..20 {
        let x = integer::mnist_input(test.image(i));
        let outs = runner.run_stages(&x).unwrap();
        let mut cur: Vec<i32> = x.clone();
        let mut k = 0;
        for (stage, out) in prog.stages.iter().zip(&outs) {
            if let integer::Stage::Dense(d) = stage {
                let acc = d.accumulators(&cur);
                // UP5K widths: 19-bit dots (MAX_IN 1024), 52-bit v
                let ph = run_phase(d, &acc, 19, 52);
                check(d, out, &ph, &format!("image {i} layer {k}"));
                if i == 0 {
                    println!(
                        "layer {k} ({}): {} rows requantized in {} cycles from START to the last plane write (ideal {})",
                        d.name, d.geom.rows, ph.cycles, d.geom.rows
                    );
                }
                k += 1;
            }
            cur = out.iter().map(|&v| v as i32).collect();
        }
    }
}

#[test]
fn random_stage_requant_phases_match_golden() {
    let seed = seed();
    println!("seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut straddles = 0;
    for case in 0..150 {
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
        let ph = run_phase(&d, &acc, 19, 52);
        check(
            &d,
            &want,
            &ph,
            &format!("seed {seed} case {case} {geom:?} {act:?}"),
        );
        // one row per cycle: the phase ends a fixed pipeline depth after its rows
        assert!(
            ph.cycles <= geom.rows + 32,
            "seed {seed} case {case}: {} cycles",
            ph.cycles
        );
    }
    assert!(straddles > 10, "straddling geometries covered");
}
