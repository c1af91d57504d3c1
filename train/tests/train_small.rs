//! CI-sized training runs on the bundled MNIST data: a model trained for one
//! epoch is far above chance, training is deterministic for a seed, and the
//! exported golden model computes what the trained network computes.

use std::path::PathBuf;

use tbn_train::trainer::{train, TrainConfig};
use tbn_train::{Arch, Dataset, Mode};

fn mnist(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/mnist")
        .join(name)
}

fn sets(n_train: usize, n_test: usize) -> (Dataset, Dataset) {
    let tr = Dataset::load(
        mnist("train10k-images-idx3-ubyte.gz"),
        mnist("train10k-labels-idx1-ubyte.gz"),
        Some(n_train),
    )
    .unwrap();
    let te = Dataset::load(
        mnist("t10k-images-idx3-ubyte.gz"),
        mnist("t10k-labels-idx1-ubyte.gz"),
        Some(n_test),
    )
    .unwrap();
    (tr, te)
}

#[test]
fn mlp_p4_one_epoch_far_above_chance_and_export_round_trips() {
    let (tr, te) = sets(2000, 1000);
    let mut cfg = TrainConfig::new(Arch::parse("mlp:784-128-10").unwrap());
    cfg.epochs = 1;
    cfg.batch = 64;
    cfg.lr = 3e-3;
    cfg.seed = 7;
    println!("seed {}", cfg.seed);
    let t = train(&cfg, &tr, &te).unwrap();
    let r = &t.report;
    println!("{}", serde_json::to_string(r).unwrap());
    assert!(
        r.test_accuracy > 50.0,
        "accuracy {:.2}% is not far above chance",
        r.test_accuracy
    );
    assert_eq!(
        r.layer_p,
        vec![4, 1],
        "fc1 tiled with p = 4, the small fc2 binary"
    );
    assert_eq!(r.tile_bit_mismatches, Some(0));
    assert!(r.golden_disagreements.unwrap() <= 1);
    let model = t.model.expect("tbn mode exports a model");
    let fc1 = model.layers[0].weights().unwrap();
    assert_eq!((fc1.p, fc1.q(), fc1.alphas.len()), (4, 784 * 128 / 4, 4));
    // The saved JSON loads back to the same model.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.json");
    tbn_golden::format::save_model_json(&model, &path).unwrap();
    assert_eq!(tbn_golden::load_model(&path).unwrap(), model);
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let (tr, te) = sets(600, 200);
    let mut cfg = TrainConfig::new(Arch::parse("mlp:784-32-10").unwrap());
    cfg.epochs = 2;
    cfg.batch = 50;
    cfg.policy.min_tile_size = 1000;
    cfg.seed = 11;
    println!("seed {}", cfg.seed);
    let a = train(&cfg, &tr, &te).unwrap();
    let b = train(&cfg, &tr, &te).unwrap();
    let losses = |t: &tbn_train::Trained| {
        t.report
            .log
            .iter()
            .map(|e| e.loss.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&a), losses(&b));
    assert_eq!(a.model, b.model);
    cfg.seed = 12;
    let c = train(&cfg, &tr, &te).unwrap();
    assert_ne!(a.model, c.model, "another seed gives another model");
    // Augmentation is on by default and draws from its own stream: turning it
    // off keeps the initialisation but changes the data, hence the losses.
    cfg.seed = 11;
    assert_eq!(a.report.augment_shift, 1);
    cfg.augment = None;
    let d = train(&cfg, &tr, &te).unwrap();
    assert_eq!(d.report.augment_shift, 0);
    assert_ne!(
        losses(&a),
        losses(&d),
        "augmentation changes the training data"
    );
}

#[test]
fn small_cnn_exports_conv_bn_pool_equivalently() {
    let (tr, te) = sets(400, 300);
    let mut cfg = TrainConfig::new(Arch::parse("cnn:8c3-p2-16c3-p2-fc32-10").unwrap());
    cfg.epochs = 1;
    cfg.batch = 50;
    cfg.lr = 3e-3;
    cfg.policy.p = 2;
    cfg.policy.min_tile_size = 1000;
    cfg.seed = 3;
    println!("seed {}", cfg.seed);
    let t = train(&cfg, &tr, &te).unwrap();
    let r = &t.report;
    println!("{}", serde_json::to_string(r).unwrap());
    // conv1 (72 weights) and fc2 (320) stay binary; conv2 (1152) and fc1 (25088) are tiled.
    assert_eq!(r.layer_p, vec![1, 2, 2, 1]);
    assert_eq!(r.tile_bit_mismatches, Some(0));
    assert!(r.golden_disagreements.unwrap() <= 1, "{r:?}");
    let kinds: Vec<&str> = t
        .model
        .as_ref()
        .unwrap()
        .layers
        .iter()
        .map(|l| l.kind())
        .collect();
    assert_eq!(
        kinds,
        [
            "conv2d",
            "batchnorm",
            "relu",
            "maxpool2d",
            "conv2d",
            "batchnorm",
            "relu",
            "maxpool2d",
            "flatten",
            "linear",
            "batchnorm",
            "relu",
            "linear"
        ]
    );
}

#[test]
fn f32_and_binary_baselines() {
    let (tr, te) = sets(500, 200);
    let mut cfg = TrainConfig::new(Arch::parse("mlp:784-32-10").unwrap());
    cfg.epochs = 1;
    cfg.policy.mode = Mode::F32;
    let f = train(&cfg, &tr, &te).unwrap();
    assert!(f.model.is_none());
    assert_eq!(f.report.weight_bytes, 4 * (784 * 32 + 32 * 10));
    cfg.policy.mode = Mode::Binary;
    let b = train(&cfg, &tr, &te).unwrap();
    assert_eq!(b.report.layer_p, vec![1, 1]);
    assert_eq!(b.report.weight_bytes, 784 * 32 / 8 + 4 + 32 * 10 / 8 + 4);
    assert!(b.model.is_some());
}

#[test]
fn bad_options_are_named_errors() {
    let (tr, te) = sets(100, 50);
    let mut cfg = TrainConfig::new(Arch::parse("mlp:784-16-10").unwrap());
    cfg.policy.p = 32; // more than the 16 rows of fc1
    cfg.policy.min_tile_size = 100;
    let e = train(&cfg, &tr, &te)
        .err()
        .expect("p > rows must fail")
        .to_string();
    assert!(e.contains("p = 32"), "{e}");
    let mut cfg = TrainConfig::new(Arch::parse("mlp:100-10").unwrap());
    cfg.epochs = 1;
    let e = train(&cfg, &tr, &te)
        .err()
        .expect("input size mismatch must fail")
        .to_string();
    assert!(e.contains("784"), "{e}");
    let mut cfg = TrainConfig::new(Arch::parse("mlp:784-10").unwrap());
    cfg.lr = -1.0;
    assert!(train(&cfg, &tr, &te).is_err());
    // Sign and quantized activations are trained after batch-norm; a 1-bit
    // ReLU does not exist (docs/numerics.md §3).
    let mut cfg = TrainConfig::new(Arch::parse("mlp:784-16-10").unwrap());
    cfg.net.act = tbn_train::Act::Sign;
    cfg.net.mlp_batch_norm = false;
    let e = train(&cfg, &tr, &te)
        .err()
        .expect("sign without BN")
        .to_string();
    assert!(e.contains("batch-norm"), "{e}");
    cfg.net.mlp_batch_norm = true;
    cfg.net.act = tbn_train::Act::QuantRelu(1);
    let e = train(&cfg, &tr, &te).err().expect("1-bit ReLU").to_string();
    assert!(e.contains("sign"), "{e}");
}

/// W1A1 and W1A2 (docs/numerics.md §3-§5): the exported model has sign /
/// quant_relu layers after batch-norm, the golden float path agrees with the
/// trained network, and the integer program computes the float model (sign
/// thresholds are exact; 2-bit ReLU levels differ only at rounding ties).
#[test]
fn sign_and_two_bit_activations_train_export_and_quantize() {
    use tbn_golden::integer::{quantize, Activation, QuantConfig};
    use tbn_golden::model::Layer;
    use tbn_train::Act;
    let (tr, te) = sets(2000, 500);
    for act in [Act::Sign, Act::QuantRelu(2)] {
        let mut cfg = TrainConfig::new(Arch::parse("mlp:784-64-64-10").unwrap());
        cfg.epochs = 2;
        cfg.batch = 64;
        cfg.lr = 1e-2;
        cfg.seed = 5;
        cfg.policy.min_tile_size = 4096;
        cfg.net.mlp_batch_norm = true;
        cfg.net.act = act;
        println!("seed {} act {act}", cfg.seed);
        let t = train(&cfg, &tr, &te).unwrap();
        let r = &t.report;
        println!("{}", serde_json::to_string(r).unwrap());
        assert!(r.test_accuracy > 50.0, "{act}: {:.2}%", r.test_accuracy);
        assert_eq!(r.layer_p, vec![4, 4, 1]);
        let model = t.model.unwrap();
        let kinds: Vec<&str> = model.layers.iter().map(|l| l.kind()).collect();
        let a = if act == Act::Sign {
            "sign"
        } else {
            "quant_relu"
        };
        assert_eq!(
            kinds,
            ["linear", "batchnorm", a, "linear", "batchnorm", a, "linear"]
        );
        if let Layer::QuantRelu { bits, scale } = model.layers[2] {
            assert_eq!((bits, scale), (2, tbn_train::QUANT_STEP));
        }
        // Integer path: --act-bits does not matter for these stages.
        let calib: Vec<Vec<f32>> = (0..50).map(|i| tr.image(i).to_vec()).collect();
        let prog = quantize(&model, &calib, &QuantConfig::default()).unwrap();
        let d: Vec<_> = prog.dense_stages().collect();
        let want = if act == Act::Sign {
            (Activation::Sign, 1)
        } else {
            (Activation::Relu, 2)
        };
        assert_eq!((d[0].act, d[0].out_bits), want);
        assert_eq!((d[1].act, d[1].out_bits), want);
        let differ = class_differences(&model, &prog, &te);
        println!(
            "{act}: integer and float classes differ on {differ} of {}",
            te.count
        );
        assert!(differ <= te.count / 100, "{act}: {differ} differences");
    }
}

/// A uniform batch-norm (`NetOptions::uniform_bn`): one mean, variance, gain
/// and bias per layer, exported per channel with equal values, so every
/// hidden stage of the integer program has one multiplier and one bias for
/// all rows (the accelerator's uniform record, docs/model-image.md 2.4), and
/// the integer path still computes the float model.
#[test]
fn uniform_batch_norm_gives_uniform_requantization() {
    use tbn_golden::integer::{quantize, Activation, QuantConfig};
    use tbn_golden::model::Layer;
    let (tr, te) = sets(2000, 500);
    let mut cfg = TrainConfig::new(Arch::parse("mlp:784-64-64-10").unwrap());
    cfg.epochs = 2;
    cfg.batch = 64;
    cfg.lr = 1e-2;
    cfg.seed = 6;
    cfg.policy.min_tile_size = 4096;
    cfg.net.mlp_batch_norm = true;
    cfg.net.uniform_bn = true;
    cfg.net.act = tbn_train::Act::QuantRelu(2);
    println!("seed {}", cfg.seed);
    let t = train(&cfg, &tr, &te).unwrap();
    println!("{}", serde_json::to_string(&t.report).unwrap());
    assert!(
        t.report.test_accuracy > 50.0,
        "{:.2}%",
        t.report.test_accuracy
    );
    let model = t.model.unwrap();
    let mut bns = 0;
    for l in &model.layers {
        if let Layer::BatchNorm(b) = l {
            bns += 1;
            assert_eq!(b.gamma.len(), 64);
            for v in [&b.gamma, &b.beta, &b.mean, &b.var] {
                assert!(
                    v.iter().all(|x| x == &v[0]),
                    "{}: equal per channel",
                    b.name
                );
            }
        }
    }
    assert_eq!(bns, 2);
    let calib: Vec<Vec<f32>> = (0..50).map(|i| tr.image(i).to_vec()).collect();
    let prog = quantize(&model, &calib, &QuantConfig::default()).unwrap();
    let d: Vec<_> = prog.dense_stages().collect();
    for s in &d[..2] {
        assert_eq!((s.act, s.out_bits), (Activation::Relu, 2));
        assert!(
            s.mult.iter().all(|m| *m == s.mult[0]),
            "{}: uniform M",
            s.name
        );
        assert!(
            s.bias.iter().all(|b| *b == s.bias[0]),
            "{}: uniform bias",
            s.name
        );
    }
    let differ = class_differences(&model, &prog, &te);
    println!(
        "integer and float classes differ on {differ} of {}",
        te.count
    );
    assert!(differ <= te.count / 100, "{differ} differences");
}

/// Test images whose class on the integer program differs from the float model's.
fn class_differences(
    model: &tbn_golden::model::Model,
    prog: &tbn_golden::integer::Program,
    te: &Dataset,
) -> usize {
    (0..te.count)
        .filter(|&i| {
            let x = te.image(i).to_vec();
            let f = tbn_golden::float::argmax(&tbn_golden::float::forward(model, &x).unwrap());
            let n = tbn_golden::float::argmax(&prog.run(&prog.input.quantize(&x)).unwrap());
            f != n
        })
        .count()
}
