//! 1-bit and low-bit activations (docs/numerics.md §3-§5): a ReLU is never
//! compiled to 1 bit, sign stages fold batch-norm into exact integer
//! thresholds, and the quantization-aware `quant_relu` layer keeps its own
//! bits and scale. Randomised tests print their seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_golden::float::forward_trace;
use tbn_golden::format::{model_from_binary, model_from_json, model_to_binary, model_to_json};
use tbn_golden::integer::{quantize, Activation, QuantConfig, Stage, ALPHA_CODE_MAX};
use tbn_golden::model::{BatchNorm, Layer, Linear, Model, Shape, TiledWeights};
use tbn_golden::tile::Tile;

fn weights(rng: &mut ChaCha8Rng, n: usize, p: usize) -> TiledWeights {
    let bits: Vec<bool> = (0..n / p).map(|_| rng.gen()).collect();
    TiledWeights {
        p,
        tile: Tile::from_bools(&bits),
        alphas: (0..p).map(|_| rng.gen_range(0.05..2.0)).collect(),
    }
}

fn linear(rng: &mut ChaCha8Rng, name: &str, m: usize, rows: usize, p: usize) -> Layer {
    Layer::Linear(Linear {
        name: name.into(),
        in_features: m,
        out_features: rows,
        weights: weights(rng, rows * m, p),
        bias: Some((0..rows).map(|_| rng.gen_range(-1.0..1.0)).collect()),
    })
}

fn model(hidden_act: Option<Layer>) -> Model {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut layers = vec![linear(&mut rng, "fc1", 16, 8, 2)];
    layers.extend(hidden_act);
    layers.push(linear(&mut rng, "fc2", 8, 3, 1));
    Model::new("t", Shape::Vector(16), layers).unwrap()
}

fn calib() -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    (0..8)
        .map(|_| (0..16).map(|_| rng.gen_range(0.0..1.0)).collect())
        .collect()
}

#[test]
fn relu_to_one_bit_is_refused_naming_the_stage() {
    for hidden in [Some(Layer::Relu), None] {
        let m = model(hidden);
        let cfg = QuantConfig {
            act_bits: 1,
            ..Default::default()
        };
        let e = quantize(&m, &calib(), &cfg).unwrap_err().to_string();
        assert!(
            e.contains("fc1") && e.contains("cannot produce 1-bit activations"),
            "{e}"
        );
        assert!(
            e.contains("--act-bits 2") && e.contains("--act sign"),
            "{e}"
        );
        // Two bits and more compile.
        let cfg = QuantConfig {
            act_bits: 2,
            ..Default::default()
        };
        quantize(&m, &calib(), &cfg).unwrap();
    }
    // A sign model compiles whatever --act-bits says: its stage is 1 bit by definition.
    let m = model(Some(Layer::Sign));
    for act_bits in [1, 8] {
        let cfg = QuantConfig {
            act_bits,
            ..Default::default()
        };
        let p = quantize(&m, &calib(), &cfg).unwrap();
        let d: Vec<_> = p.dense_stages().collect();
        assert_eq!(
            (d[0].act, d[0].out_bits, d[0].shift),
            (Activation::Sign, 1, 0)
        );
        assert_eq!((d[1].in_bits, d[1].in_signed), (1, false));
    }
}

/// The sign stage's bit equals the sign of the real pre-activation
/// `g (s_x sum_k alpha t_k x_k) + b` computed in f64 from the integer input,
/// for every row not within 1e-9 (relative) of its threshold; rows that
/// straddle two copies are checked against the alpha codes (docs/numerics.md §4).
#[test]
fn sign_stage_thresholds_are_exact() {
    let seed: u64 = std::env::var("TBN_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("seed {seed} (rerun with TBN_TEST_SEED={seed})");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut checked, mut near) = (0usize, 0usize);
    for case in 0..60 {
        // m not dividing q gives straddling rows; p = 1 none.
        let rows = rng.gen_range(2..=24);
        let m = rng.gen_range(1..=70);
        let ps: Vec<usize> = (1..=rows).filter(|p| (rows * m) % p == 0).collect();
        let p = ps[rng.gen_range(0..ps.len())];
        let fc1 = linear(&mut rng, "fc1", m, rows, p);
        let bn = BatchNorm {
            name: "bn1".into(),
            // Negative, tiny and zero gains included: thresholds flip or vanish.
            gamma: (0..rows)
                .map(|_| match rng.gen_range(0..6) {
                    0 => 0.0,
                    1 => rng.gen_range(-1e-3..1e-3),
                    _ => rng.gen_range(-2.0..2.0),
                })
                .collect(),
            beta: (0..rows).map(|_| rng.gen_range(-2.0..2.0)).collect(),
            mean: (0..rows).map(|_| rng.gen_range(-3.0..3.0)).collect(),
            var: (0..rows).map(|_| rng.gen_range(0.1..4.0)).collect(),
            eps: 1e-5,
        };
        let affine = bn.affine();
        let layers = vec![
            fc1.clone(),
            Layer::BatchNorm(bn),
            Layer::Sign,
            linear(&mut rng, "fc2", rows, 2, 1),
        ];
        let model = Model::new("s", Shape::Vector(m), layers).unwrap();
        let cal: Vec<Vec<f32>> = (0..4)
            .map(|_| (0..m).map(|_| rng.gen_range(0.0..1.0)).collect())
            .collect();
        let program = quantize(&model, &cal, &QuantConfig::default()).unwrap();
        let Stage::Dense(st) = &program.stages[0] else {
            panic!("case {case}: first stage is not dense")
        };
        assert_eq!(st.act, Activation::Sign);
        let Layer::Linear(l) = &fc1 else {
            unreachable!()
        };
        let alphas = l.weights.alphas_per_copy();
        let s_alpha =
            f64::from(alphas.iter().cloned().fold(0f32, f32::max)) / f64::from(ALPHA_CODE_MAX);
        let s_x = f64::from(program.input.scale);
        let bias = l.bias.as_ref().unwrap();
        for _ in 0..20 {
            let x: Vec<i32> = (0..m).map(|_| rng.gen_range(0..=255)).collect();
            let bits = &program.runner().run_stages(&x).unwrap()[0];
            for r in 0..rows {
                let seg = st.geom.segment(r);
                let q = st.geom.q;
                let dot = |lo: usize, hi: usize| -> i64 {
                    (lo..hi)
                        .map(|i| {
                            let t = if l.weights.tile.get((r * m + i) % q) {
                                1
                            } else {
                                -1
                            };
                            t * i64::from(x[i])
                        })
                        .sum()
                };
                let (da, db) = (dot(0, seg.len_a), dot(seg.len_a, m));
                let (g, o) = (f64::from(affine[r].0), f64::from(affine[r].1));
                let b = g * f64::from(bias[r]) + o;
                let (lin, y) = if seg.straddles(m) {
                    let acc = i64::from(st.alpha_q[seg.copy]) * da
                        + i64::from(st.alpha_q[seg.copy + 1]) * db;
                    let lin = g * s_x * s_alpha * acc as f64;
                    (lin, lin + b)
                } else {
                    let lin = g * s_x * f64::from(alphas[seg.copy]) * da as f64;
                    (lin, lin + b)
                };
                if y.abs() <= 1e-9 * (lin.abs() + b.abs()) {
                    near += 1;
                    continue;
                }
                checked += 1;
                assert_eq!(
                    bits[r],
                    i64::from(y > 0.0),
                    "seed {seed} case {case} row {r}: y = {y}, stage {st:?}"
                );
            }
        }
    }
    println!("{checked} sign outputs checked, {near} within 1e-9 of the threshold skipped");
    assert!(
        checked > 1000,
        "seed {seed}: only {checked} outputs checked"
    );
}

#[test]
fn quant_relu_round_trips_and_keeps_its_bits_and_scale() {
    let m = model(Some(Layer::QuantRelu {
        bits: 2,
        scale: 0.25,
    }));
    assert_eq!(
        model_from_json(model_to_json(&m).unwrap().as_bytes()).unwrap(),
        m
    );
    assert_eq!(model_from_binary(&model_to_binary(&m).unwrap()).unwrap(), m);
    // The float layer: scale * clamp(floor(x / scale + 1/2), 0, 3).
    let f = |x: f32| tbn_golden::model::quant_relu(x, 2, 0.25);
    assert_eq!(
        [f(-1.0), f(0.1), f(0.125), f(0.3), f(0.7), f(9.0)],
        [0.0, 0.0, 0.25, 0.25, 0.75, 0.75]
    );
    for act_bits in [2, 8] {
        let cfg = QuantConfig {
            act_bits,
            ..Default::default()
        };
        let p = quantize(&m, &calib(), &cfg).unwrap();
        let d = p.dense_stages().next().unwrap();
        assert_eq!(
            (d.act, d.out_bits, d.out_scale),
            (Activation::Relu, 2, 0.25)
        );
        // The integer stage reproduces the float layer's levels (away from rounding ties).
        let (mut same, mut total) = (0, 0);
        for x in calib() {
            let fl = &forward_trace(&m, &x).unwrap()[1];
            let xi = p.input.quantize(&x);
            let il = &p.runner().run_stages(&xi).unwrap()[0];
            for (a, b) in fl.iter().zip(il) {
                total += 1;
                same += usize::from((a / 0.25).round() as i64 == *b);
            }
        }
        assert!(same * 10 >= total * 9, "{same} of {total} equal");
    }
    for bits in [0, 1, 9] {
        let e = Model::new(
            "t",
            Shape::Vector(4),
            vec![Layer::QuantRelu { bits, scale: 1.0 }],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("2..=8"), "{e}");
    }
}
