//! Property tests: the fast kernels equal the materialised / element-wise
//! definitions for random shapes (m not a multiple of 64, q not a multiple of
//! m, p = 1, straddling rows, one row, A = 1..8 signed and unsigned, conv2d
//! with stride and padding). proptest prints the failing case and its seed.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use tbn_golden::float::{forward, forward_reference};
use tbn_golden::integer::{quantize, Activation, DenseStage, QuantConfig};
use tbn_golden::layout::RowGeometry;
use tbn_golden::model::{BatchNorm, Conv2d, Layer, Linear, Model, Shape, TiledWeights};
use tbn_golden::tile::Tile;

/// (rows, m, p) with p | rows*m and p <= rows.
fn geometry() -> impl Strategy<Value = (usize, usize, usize)> {
    (1usize..=12, 1usize..=200).prop_flat_map(|(rows, m)| {
        let n = rows * m;
        let ps: Vec<usize> = (1..=rows).filter(|p| n % p == 0).collect();
        (Just(rows), Just(m), proptest::sample::select(ps))
    })
}

fn random_weights(rng: &mut impl Rng, n: usize, p: usize) -> TiledWeights {
    let q = n / p;
    let bits: Vec<bool> = (0..q).map(|_| rng.gen()).collect();
    let alphas = if rng.gen_bool(0.3) {
        vec![rng.gen_range(0.01..2.0)]
    } else {
        (0..p).map(|_| rng.gen_range(0.01..2.0)).collect()
    };
    TiledWeights {
        p,
        tile: Tile::from_bools(&bits),
        alphas,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn kernel_accumulators_equal_definition((rows, m, p) in geometry(), bits in 1u8..=8, signed in any::<bool>(), seed in any::<u64>()) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let signed = signed && bits > 1;
        let w = random_weights(&mut rng, rows * m, p);
        let geom = RowGeometry { rows, m, q: w.q(), p };
        let stage = DenseStage {
            name: "t".into(), geom, conv: None, tile: w.tile.clone(), alpha_q: vec![1; p], mult: vec![1], bias: vec![],
            shift: 0, in_bits: bits, in_signed: signed, act: Activation::Logits, out_bits: 8, out_scale: 1.0,
        };
        let (lo, hi) = tbn_golden::integer::value_range(bits, signed);
        let x: Vec<i32> = (0..m).map(|_| rng.gen_range(lo..=hi) as i32).collect();
        prop_assert_eq!(stage.accumulators(&x), stage.accumulators_reference(&x, None));
        // The accumulators reproduce the materialised integer dot product of every row.
        let acc = stage.accumulators(&x);
        for r in 0..rows {
            let s = geom.segment(r);
            let (a, b) = acc[geom.distinct_of(r)];
            let direct: i64 = (0..m).map(|i| {
                let t = if w.tile.get((r * m + i) % w.q()) { 1 } else { -1 };
                let xv = if bits == 1 { 2 * i64::from(x[i]) - 1 } else { i64::from(x[i]) };
                t * xv
            }).sum();
            prop_assert_eq!(i64::from(a) + i64::from(b), direct, "row {} seg {:?}", r, s);
        }
    }

    #[test]
    fn fast_float_equals_materialised((rows, m, p) in geometry(), seed in any::<u64>()) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let bias = if rng.gen() { Some((0..rows).map(|_| rng.gen_range(-1.0..1.0)).collect()) } else { None };
        let model = Model::new("p", Shape::Vector(m), vec![Layer::Linear(Linear {
            name: "fc".into(), in_features: m, out_features: rows, weights: random_weights(&mut rng, rows * m, p), bias,
        })]).unwrap();
        let x: Vec<f32> = (0..m).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let a = forward(&model, &x).unwrap();
        let b = forward_reference(&model, &x).unwrap();
        for (u, v) in a.iter().zip(&b) {
            prop_assert!((u - v).abs() <= 1e-4 * (1.0 + v.abs()), "{} vs {}", u, v);
        }
    }

    #[test]
    fn conv_fast_and_integer_equal_definitions(
        in_ch in 1usize..=3, out_ch in 1usize..=6, k in 1usize..=3, stride in 1usize..=2, padding in 0usize..=2,
        hw in 3usize..=7, act in 0u8..3, bits in 1u8..=8, seed in any::<u64>(),
    ) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let m = in_ch * k * k;
        let n = out_ch * m;
        let ps: Vec<usize> = (1..=out_ch).filter(|p| n % p == 0).collect();
        let p = ps[rng.gen_range(0..ps.len())];
        let conv = Conv2d { name: "c1".into(), in_channels: in_ch, out_channels: out_ch, kernel: (k, k), stride, padding,
            weights: random_weights(&mut rng, n, p), bias: Some((0..out_ch).map(|_| rng.gen_range(-0.5..0.5)).collect()) };
        let (oh, ow) = conv.out_hw(hw, hw).unwrap();
        let bn = BatchNorm { name: "bn".into(), gamma: (0..out_ch).map(|_| rng.gen_range(-1.5..1.5)).collect(),
            beta: (0..out_ch).map(|_| rng.gen_range(-0.5..0.5)).collect(), mean: vec![0.1; out_ch], var: vec![0.8; out_ch], eps: 1e-5 };
        let mut layers = vec![Layer::Conv2d(conv), Layer::BatchNorm(bn)];
        layers.push(match act { 0 => Layer::Relu, 1 => Layer::Sign, _ => Layer::Flatten });
        if act != 2 { layers.push(Layer::Flatten); }
        let feat = out_ch * oh * ow;
        let n2 = 3 * feat;
        layers.push(Layer::Linear(Linear { name: "fc".into(), in_features: feat, out_features: 3, weights: random_weights(&mut rng, n2, 1), bias: None }));
        let model = Model::new("c", Shape::Chw(in_ch, hw, hw), layers).unwrap();
        let x: Vec<f32> = (0..in_ch * hw * hw).map(|_| rng.gen_range(0.0..1.0)).collect();
        let a = forward(&model, &x).unwrap();
        let b = forward_reference(&model, &x).unwrap();
        for (u, v) in a.iter().zip(&b) {
            prop_assert!((u - v).abs() <= 1e-3 * (1.0 + v.abs()), "{} vs {}", u, v);
        }
        let calib: Vec<Vec<f32>> = (0..4).map(|_| (0..x.len()).map(|_| rng.gen_range(0.0..1.0)).collect()).collect();
        let program = match quantize(&model, &calib, &QuantConfig { act_bits: bits, ..Default::default() }) {
            // docs/numerics.md §3: a ReLU or a hidden stage without activation is never 1 bit.
            Err(e) if bits == 1 && act != 1 => {
                prop_assert!(e.to_string().contains("cannot produce 1-bit activations"), "{}", e);
                return Ok(());
            }
            r => r.unwrap(),
        };
        let xi = program.input.quantize(&x);
        prop_assert_eq!(program.run(&xi).unwrap(), program.run_reference(&xi).unwrap());
    }

    #[test]
    fn integer_program_equals_element_wise(
        (rows, m, p) in geometry(), hidden_act in 0u8..3, bits in 1u8..=8, seed in any::<u64>(),
    ) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut layers = vec![Layer::Linear(Linear { name: "fc1".into(), in_features: m, out_features: rows,
            weights: random_weights(&mut rng, rows * m, p), bias: Some((0..rows).map(|_| rng.gen_range(-1.0..1.0)).collect()) })];
        match hidden_act { 0 => layers.push(Layer::Relu), 1 => layers.push(Layer::Sign), _ => {} }
        layers.push(Layer::Linear(Linear { name: "fc2".into(), in_features: rows, out_features: 2,
            weights: random_weights(&mut rng, rows * 2, 1), bias: None }));
        let model = Model::new("r", Shape::Vector(m), layers).unwrap();
        let calib: Vec<Vec<f32>> = (0..4).map(|_| (0..m).map(|_| rng.gen_range(-1.0..1.0)).collect()).collect();
        let program = match quantize(&model, &calib, &QuantConfig { act_bits: bits, ..Default::default() }) {
            Err(e) if bits == 1 && hidden_act != 1 => {
                prop_assert!(e.to_string().contains("fc1"), "{}", e);
                return Ok(());
            }
            r => r.unwrap(),
        };
        let x = program.input.quantize(&calib[0]);
        prop_assert_eq!(program.run(&x).unwrap(), program.run_reference(&x).unwrap());
    }
}

#[test]
fn single_row_and_word_boundaries() {
    for m in [1usize, 63, 64, 65, 127, 128, 129] {
        for bits in 1..=8u8 {
            let geom = RowGeometry {
                rows: 1,
                m,
                q: m,
                p: 1,
            };
            let tile = Tile::from_bools(&(0..m).map(|i| i % 3 == 0).collect::<Vec<_>>());
            let stage = DenseStage {
                name: "t".into(),
                geom,
                conv: None,
                tile,
                alpha_q: vec![7],
                mult: vec![3],
                bias: vec![5],
                shift: 2,
                in_bits: bits,
                in_signed: bits > 1,
                act: Activation::Signed,
                out_bits: 8,
                out_scale: 1.0,
            };
            let (lo, hi) = tbn_golden::integer::value_range(bits, bits > 1);
            let x: Vec<i32> = (0..m)
                .map(|i| if i % 2 == 0 { lo as i32 } else { hi as i32 })
                .collect();
            assert_eq!(
                stage.accumulators(&x),
                stage.accumulators_reference(&x, None),
                "m {m} A {bits}"
            );
        }
    }
}
