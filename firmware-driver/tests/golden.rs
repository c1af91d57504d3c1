//! The MCU kernels against the golden model (tbn_golden::integer and float),
//! on seeded random layers and programs. Every test prints its seed.

mod common;
use tbn_host::convert;

use common::{
    geometry, io, random_conv_program, random_dense, random_input, random_tile, rng, Requant, ACTS,
};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Requantization ranges of the random stages.
const RQ: Requant = Requant {
    bias_bits: 40,
    shift: 0..=40,
};
use tbn_driver::kernel::{self, FloatWorkspace, Workspace};
use tbn_driver::program::{AlignedBytes, Program as Compact};
use tbn_golden::integer::{self, Activation, InputSpec, Program, Stage};
use tbn_golden::model::{BatchNorm, Conv2d, Layer, Linear, Model, Shape, TiledWeights};

fn compact(prog: &Program, model: Option<&Model>) -> AlignedBytes {
    AlignedBytes::new(&convert::program_bytes(prog, model).expect("encode"))
}

/// Runs the optimized kernel with exactly-sized workspaces (each
/// activation buffer as large as `req.act_a` / `req.act_b`, not `max_act`).
fn run_kernel(bytes: &AlignedBytes, x: &[i32]) -> Vec<i64> {
    let p = Compact::parse(bytes.as_bytes()).expect("parse");
    let r = p.req;
    assert!(r.act_a <= r.max_act && r.act_b <= r.max_act, "{r:?}");
    assert_eq!(r.act_a.max(r.act_b), r.max_act, "{r:?}");
    run_kernel_sized(&p, x, r.act_a, r.act_b).expect("kernel")
}

/// The kernel with activation buffers of `na` and `nb` elements (the other
/// buffers as the program requires).
fn run_kernel_sized(
    p: &Compact,
    x: &[i32],
    na: usize,
    nb: usize,
) -> Result<Vec<i64>, kernel::KernelError> {
    let r = p.req;
    let (mut a, mut b) = (vec![0i32; na], vec![0i32; nb]);
    let mut planes = vec![0u32; r.max_plane_words];
    let mut prefix = vec![0i32; r.max_prefix];
    let mut acc = vec![(0i32, 0i32); r.max_distinct];
    let mut ws = Workspace {
        act_a: &mut a,
        act_b: &mut b,
        planes: &mut planes,
        prefix: &mut prefix,
        acc: &mut acc,
    };
    let mut logits = vec![0i64; r.logits];
    let n = kernel::run(p, x, &mut ws, &mut logits)?;
    assert_eq!(n, logits.len());
    Ok(logits)
}

#[test]
fn linear_programs_bit_exact() {
    for seed in 0..150u64 {
        let mut r = rng("linear_programs_bit_exact", seed);
        let in_bits = r.gen_range(1..=8u8);
        let in_signed = r.gen_bool(0.5) && in_bits > 1;
        let m = r.gen_range(1..=200);
        let h = r.gen_range(1..=40);
        let act = ACTS[r.gen_range(0..3)];
        let out_bits = r.gen_range(2..=8);
        let s1 = random_dense(
            &mut r,
            h,
            m,
            None,
            io(in_bits, in_signed, act, out_bits),
            &RQ,
        );
        let (b2, sg2) = (s1.out_bits, act == Activation::Signed);
        let rows2 = r.gen_range(1..=12);
        let s2 = random_dense(
            &mut r,
            rows2,
            h,
            None,
            io(b2, sg2, Activation::Logits, 8),
            &RQ,
        );
        let prog = Program {
            name: "rand".into(),
            input: InputSpec {
                bits: in_bits,
                signed: in_signed,
                scale: 1.0,
                shape: vec![m],
            },
            stages: vec![Stage::Dense(s1), Stage::Dense(s2)],
        };
        prog.validate().expect("valid");
        let bytes = compact(&prog, None);
        for _ in 0..3 {
            let x = random_input(&mut r, m, in_bits, in_signed);
            let want = prog.run_reference(&x).expect("golden");
            assert_eq!(
                prog.run(&x).expect("golden fast"),
                want,
                "seed {seed}: golden fast vs reference"
            );
            assert_eq!(
                run_kernel(&bytes, &x),
                want,
                "seed {seed}: MCU kernel vs golden"
            );
        }
    }
}

#[test]
fn long_rows_and_every_width_bit_exact() {
    // Rows longer than 255 words exercise the 16-bit lane flushes.
    for (i, bits) in (1..=8u8).enumerate() {
        let seed = 1000 + i as u64;
        let mut r = rng("long_rows_and_every_width_bit_exact", seed);
        let signed = bits > 1 && r.gen_bool(0.5);
        let m = if bits <= 2 {
            70_000 / 8 * 8
        } else {
            9000 + r.gen_range(0..64)
        };
        let m = m.min(65_536);
        let rows = 3;
        let s = random_dense(
            &mut r,
            rows,
            m,
            None,
            io(bits, signed, Activation::Logits, 8),
            &RQ,
        );
        let prog = Program {
            name: "long".into(),
            input: InputSpec {
                bits,
                signed,
                scale: 1.0,
                shape: vec![m],
            },
            stages: vec![Stage::Dense(s)],
        };
        let bytes = compact(&prog, None);
        // Extreme inputs (all max / all min) plus a random one.
        let (lo, hi) = integer::value_range(bits, signed);
        for x in [
            vec![hi as i32; m],
            vec![lo as i32; m],
            random_input(&mut r, m, bits, signed),
        ] {
            assert_eq!(
                run_kernel(&bytes, &x),
                prog.run_reference(&x).unwrap(),
                "seed {seed}"
            );
        }
    }
}

#[test]
fn conv_programs_bit_exact() {
    for seed in 0..40u64 {
        let mut r = rng("conv_programs_bit_exact", seed);
        let in_bits = r.gen_range(1..=8u8);
        let in_signed = r.gen_bool(0.5) && in_bits > 1;
        let conv = random_conv_program(&mut r, in_bits, in_signed, 9, None, &RQ);
        kernel_matches_golden(&mut r, &conv.prog, seed);
    }
}

/// A random conv geometry on a `c x h x w` input: kernels `kh != kw`
/// allowed, stride 1..=3, padding 0..=2 (clamped so the kernel fits).
/// Two random inputs of `prog` through the MCU kernel: equal to golden.
fn kernel_matches_golden(r: &mut ChaCha8Rng, prog: &Program, seed: u64) {
    let bytes = compact(prog, None);
    let n: usize = prog.input.shape.iter().product();
    for _ in 0..2 {
        let x = random_input(r, n, prog.input.bits, prog.input.signed);
        let want = prog.run_reference(&x).expect("golden");
        assert_eq!(
            run_kernel(&bytes, &x),
            want,
            "seed {seed}: MCU kernel vs golden"
        );
    }
}

fn random_conv_geom(r: &mut ChaCha8Rng, c: usize, h: usize, w: usize) -> integer::ConvGeom {
    let pad = r.gen_range(0..=2usize);
    let kh = r.gen_range(1..=4usize).min(h + 2 * pad);
    let kw = r.gen_range(1..=4usize).min(w + 2 * pad);
    let stride = r.gen_range(1..=3);
    integer::ConvGeom {
        in_channels: c,
        in_hw: (h, w),
        kernel: (kh, kw),
        stride,
        padding: pad,
        out_hw: (
            (h + 2 * pad - kh) / stride + 1,
            (w + 2 * pad - kw) / stride + 1,
        ),
    }
}

/// Two stacked conv layers (up to 12 channels, so rows span several
/// 32-lane words; p > 1 gives rows straddling the tile's end), every input
/// width and signedness (A = 1: padding lanes masked), non-square inputs
/// and kernels, stride up to 3, padding up to 2, then a max-pool with a
/// random kernel and stride, and a linear logits stage.
#[test]
fn wide_conv_programs_bit_exact() {
    for seed in 0..120u64 {
        let mut r = rng("wide_conv_programs_bit_exact", seed);
        let in_bits = r.gen_range(1..=8u8);
        let in_signed = r.gen_bool(0.5) && in_bits > 1;
        let (c, h, w) = (
            r.gen_range(1..=12usize),
            r.gen_range(3..=11usize),
            r.gen_range(3..=11usize),
        );
        let mut stages = Vec::new();
        let (mut shape, mut bits, mut signed) = ((c, h, w), in_bits, in_signed);
        for _ in 0..2 {
            let cg = random_conv_geom(&mut r, shape.0, shape.1, shape.2);
            let oc = r.gen_range(1..=12usize);
            let act = ACTS[r.gen_range(0..3)];
            let m = shape.0 * cg.kernel.0 * cg.kernel.1;
            let io = io(bits, signed, act, r.gen_range(2..=8));
            let d = random_dense(&mut r, oc, m, Some(cg), io, &RQ);
            (bits, signed) = (d.out_bits, act == Activation::Signed);
            shape = (oc, cg.out_hw.0, cg.out_hw.1);
            stages.push(Stage::Dense(d));
        }
        let k = r.gen_range(1..=3usize).min(shape.1).min(shape.2);
        let stride = r.gen_range(1..=3usize);
        stages.push(Stage::MaxPool {
            kernel: k,
            stride,
            in_chw: shape,
        });
        let (ph, pw) = ((shape.1 - k) / stride + 1, (shape.2 - k) / stride + 1);
        stages.push(Stage::Flatten);
        let io2 = io(bits, signed, Activation::Logits, 8);
        let n = shape.0 * ph * pw;
        let logits = r.gen_range(1..=10);
        stages.push(Stage::Dense(random_dense(
            &mut r, logits, n, None, io2, &RQ,
        )));
        let prog = common::program(vec![c, h, w], in_bits, in_signed, stages);
        kernel_matches_golden(&mut r, &prog, seed);
    }
}

#[test]
fn requantize_rows_matches_golden() {
    for seed in 0..60u64 {
        let mut r = rng("requantize_rows_matches_golden", seed);
        let m = r.gen_range(1..=100);
        let rows = r.gen_range(1..=50);
        let act = [
            Activation::Relu,
            Activation::Sign,
            Activation::Signed,
            Activation::Logits,
        ][r.gen_range(0..4)];
        let ob = r.gen_range(2..=8);
        let s = random_dense(&mut r, rows, m, None, io(8, false, act, ob), &RQ);
        let acc: Vec<(i32, i32)> = (0..s.geom.distinct_rows())
            .map(|_| {
                (
                    r.gen_range(-(1 << 20)..1 << 20),
                    r.gen_range(-(1 << 20)..1 << 20),
                )
            })
            .collect();
        let want = s.requantize(&acc);
        let mut stages = vec![Stage::Dense(s)];
        if act != Activation::Logits {
            let (b, sg) = if act == Activation::Sign {
                (1, false)
            } else {
                (ob, act == Activation::Signed)
            };
            stages.push(Stage::Dense(random_dense(
                &mut r,
                1,
                rows,
                None,
                io(b, sg, Activation::Logits, 8),
                &RQ,
            )));
        }
        // Only the stage's requantization is checked; the second stage just makes the program valid.
        let prog = Program {
            name: "q".into(),
            input: InputSpec {
                bits: 8,
                signed: false,
                scale: 1.0,
                shape: vec![m],
            },
            stages,
        };
        let bytes = compact(&prog, None);
        let p = Compact::parse(bytes.as_bytes()).unwrap();
        let Some(tbn_driver::program::Stage::Dense(d)) = p.stages().next() else {
            panic!("dense first")
        };
        let mut got = vec![0i64; rows];
        kernel::requantize_rows(&d, &acc, |i, v| got[i] = v);
        assert_eq!(got, want, "seed {seed}");
    }
}

fn tiled(r: &mut ChaCha8Rng, rows: usize, m: usize) -> TiledWeights {
    let g = geometry(r, rows, m);
    let alphas = if r.gen_bool(0.3) {
        vec![r.gen_range(0.01..0.2)]
    } else {
        (0..g.p).map(|_| r.gen_range(0.01..0.2f32)).collect()
    };
    TiledWeights {
        p: g.p,
        tile: random_tile(r, g.q),
        alphas,
    }
}

fn bn(r: &mut ChaCha8Rng, n: usize) -> Layer {
    Layer::BatchNorm(BatchNorm {
        name: "bn".into(),
        gamma: (0..n).map(|_| r.gen_range(0.5..1.5)).collect(),
        beta: (0..n).map(|_| r.gen_range(-0.2..0.2)).collect(),
        mean: (0..n).map(|_| r.gen_range(-0.2..0.2)).collect(),
        var: (0..n).map(|_| r.gen_range(0.5..1.5)).collect(),
        eps: 1e-5,
    })
}

/// The float baseline against golden float inference on random float models
/// (conv, batch-norm, bias, relu / sign, pooling, linear), and the integer
/// kernel against the golden integer program quantized from the same model.
#[test]
fn float_baseline_and_quantized_models_match_golden() {
    for seed in 0..20u64 {
        let mut r = rng("float_baseline_and_quantized_models_match_golden", seed);
        let (c, h, w) = (1, 8, 8);
        let oc = r.gen_range(2..=6);
        let bias = |r: &mut ChaCha8Rng, n| {
            if r.gen_bool(0.5) {
                Some((0..n).map(|_| r.gen_range(-0.1..0.1f32)).collect())
            } else {
                None
            }
        };
        let conv = Conv2d {
            name: "conv".into(),
            in_channels: c,
            out_channels: oc,
            kernel: (3, 3),
            stride: 1,
            padding: 1,
            weights: tiled(&mut r, oc, 9),
            bias: bias(&mut r, oc),
        };
        let hidden = r.gen_range(4..=32);
        let fc1 = Linear {
            name: "fc1".into(),
            in_features: oc * 16,
            out_features: hidden,
            weights: tiled(&mut r, hidden, oc * 16),
            bias: bias(&mut r, hidden),
        };
        let fc2 = Linear {
            name: "fc2".into(),
            in_features: hidden,
            out_features: 10,
            weights: tiled(&mut r, 10, hidden),
            bias: bias(&mut r, 10),
        };
        let act1 = if r.gen_bool(0.3) {
            Layer::Sign
        } else {
            Layer::Relu
        };
        let layers = vec![
            Layer::Conv2d(conv),
            bn(&mut r, oc),
            act1,
            Layer::MaxPool2d {
                kernel: 2,
                stride: 2,
            },
            Layer::Flatten,
            Layer::Linear(fc1),
            bn(&mut r, hidden),
            Layer::Relu,
            Layer::Linear(fc2),
        ];
        let model = Model::new("rand", Shape::Chw(c, h, w), layers).expect("model");
        let inputs: Vec<Vec<f32>> = (0..8)
            .map(|_| (0..c * h * w).map(|_| r.gen_range(0.0..1.0f32)).collect())
            .collect();
        let cfg = integer::QuantConfig {
            act_bits: r.gen_range(2..=8),
            input_bits: 8,
            input_scale: Some(1.0 / 255.0),
        };
        let prog = integer::quantize(&model, &inputs, &cfg).expect("quantize");
        let bytes = compact(&prog, Some(&model));
        let p = Compact::parse(bytes.as_bytes()).unwrap();
        for x in &inputs {
            let xi = prog.input.quantize(x);
            assert_eq!(
                run_kernel(&bytes, &xi),
                prog.run_reference(&xi).unwrap(),
                "seed {seed}: integer"
            );
            // Float baseline on the quantized input vs golden float on the same values.
            let xf: Vec<f32> = xi.iter().map(|&v| v as f32 * prog.input.scale).collect();
            let want = tbn_golden::float::forward(&model, &xf).unwrap();
            let (mut a, mut b) = (vec![0f32; p.req.act_a], vec![0f32; p.req.act_b]);
            let mut got = vec![0f32; 10];
            kernel::run_float_baseline(
                &p,
                &xi,
                &mut FloatWorkspace {
                    act_a: &mut a,
                    act_b: &mut b,
                },
                &mut got,
            )
            .unwrap();
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-3 * (1.0 + w.abs()),
                    "seed {seed}: float {got:?} vs {want:?}"
                );
            }
        }
    }
}

#[test]
fn reference_mnist_model_fits_budget_and_matches() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let model = tbn_golden::load_model(format!("{root}/data/reference/tbn_mnist_mlp_p4.json"))
        .expect("reference model");
    let imgs = tbn_golden::idx::read_images(format!("{root}/data/mnist/t10k-images-idx3-ubyte.gz"))
        .expect("mnist");
    let calib: Vec<Vec<f32>> = (0..50).map(|i| imgs.image_f32(i)).collect();
    let cfg = integer::QuantConfig {
        act_bits: 8,
        input_bits: 8,
        input_scale: Some(1.0 / 255.0),
    };
    let prog = integer::quantize(&model, &calib, &cfg).expect("quantize");
    let int_only = convert::program_bytes(&prog, None).unwrap();
    let with_float = convert::program_bytes(&prog, Some(&model)).unwrap();
    println!(
        "reference program: {} bytes (integer), {} bytes with float parameters",
        int_only.len(),
        with_float.len()
    );
    assert!(int_only.len() <= 3584, "{} bytes > 3.5 KB", int_only.len());
    assert!(
        with_float.len() <= 3584,
        "{} bytes > 3.5 KB",
        with_float.len()
    );
    let bytes = AlignedBytes::new(&with_float);
    let p = Compact::parse(bytes.as_bytes()).unwrap();
    for i in 0..20 {
        let x = integer::mnist_input(imgs.image(i));
        assert_eq!(run_kernel(&bytes, &x), prog.run(&x).unwrap(), "image {i}");
        let (mut a, mut b) = (vec![0f32; p.req.act_a], vec![0f32; p.req.act_b]);
        let mut got = vec![0f32; 10];
        kernel::run_float_baseline(
            &p,
            &x,
            &mut FloatWorkspace {
                act_a: &mut a,
                act_b: &mut b,
            },
            &mut got,
        )
        .unwrap();
        let want = tbn_golden::float::forward(&model, &imgs.image_f32(i)).unwrap();
        assert_eq!(
            kernel::argmax(&got),
            tbn_golden::float::argmax(&want),
            "image {i}"
        );
    }
}

/// The shipped W1A1 and W1A2 MLPs (sign stages with exact thresholds, 2-bit
/// ReLU stages): the MCU kernel equals the golden program on 100 test images.
#[test]
fn shipped_w1a1_and_w1a2_models_bit_exact() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let imgs = tbn_golden::idx::read_images(format!("{root}/data/mnist/t10k-images-idx3-ubyte.gz"))
        .expect("mnist");
    for name in ["w1a1", "w1a2"] {
        let model = tbn_golden::load_model(format!(
            "{root}/data/models/mlp_784_256_256_10_p4_{name}.json"
        ))
        .expect("model");
        let calib: Vec<Vec<f32>> = (0..50).map(|i| imgs.image_f32(i)).collect();
        let cfg = integer::QuantConfig {
            act_bits: 8,
            input_bits: 8,
            input_scale: Some(1.0 / 255.0),
        };
        let prog = integer::quantize(&model, &calib, &cfg).expect("quantize");
        let bytes = compact(&prog, None);
        println!("{name}: compact program {} bytes", bytes.as_bytes().len());
        for i in 0..100 {
            let x = integer::mnist_input(imgs.image(i));
            assert_eq!(
                run_kernel(&bytes, &x),
                prog.run(&x).unwrap(),
                "{name} image {i}"
            );
        }
    }
}

/// The shipped CNN (conv 16c3 pad 1, pool, conv 32c3, pool, fc 128, fc 10;
/// p = 4) at A = 8 and 4: the MCU kernel, with activation buffers of exactly
/// `req.act_a` / `req.act_b` elements, equals the golden program on 5 test
/// images; one element less in either buffer is refused before any work.
#[test]
fn shipped_cnn_bit_exact_with_per_buffer_sizes() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let imgs = tbn_golden::idx::read_images(format!("{root}/data/mnist/t10k-images-idx3-ubyte.gz"))
        .expect("mnist");
    let model = tbn_golden::load_model(format!(
        "{root}/data/models/cnn_16c3_p2_32c3_p2_fc128_10_p4.json"
    ))
    .expect("model");
    let calib: Vec<Vec<f32>> = (0..50).map(|i| imgs.image_f32(i)).collect();
    for act_bits in [8, 4] {
        let cfg = integer::QuantConfig {
            act_bits,
            input_bits: 8,
            input_scale: Some(1.0 / 255.0),
        };
        let prog = integer::quantize(&model, &calib, &cfg).expect("quantize");
        let bytes = compact(&prog, None);
        let p = Compact::parse(bytes.as_bytes()).unwrap();
        // conv1 16x28x28 into B, pool 16x14x14 into A, conv2 32x14x14 into
        // B, pool 32x7x7 into A, fc1 128 into B; the input (784) counts for A.
        assert_eq!(
            (p.req.act_a, p.req.act_b, p.req.max_act),
            (3136, 12544, 12544)
        );
        for i in 0..5 {
            let x = integer::mnist_input(imgs.image(i));
            assert_eq!(
                run_kernel(&bytes, &x),
                prog.run(&x).unwrap(),
                "A = {act_bits}, image {i}"
            );
        }
        let r = p.req;
        let x = integer::mnist_input(imgs.image(0));
        for (short_a, name) in [(true, "act_a"), (false, "act_b")] {
            let (na, nb) = (
                r.act_a - usize::from(short_a),
                r.act_b - usize::from(!short_a),
            );
            assert!(matches!(
                run_kernel_sized(&p, &x, na, nb),
                Err(kernel::KernelError::BufferTooSmall { buffer, .. }) if buffer == name
            ));
        }
    }
}
