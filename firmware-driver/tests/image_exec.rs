//! The model image (docs/model-image.md): compiler + independent reference
//! executor ([`tbn_driver::image::exec::Engine`]) against the golden integer
//! path (`tbn_golden::integer::Program::run`), bit-exact, on seeded random
//! multi-layer programs and on the reference and trained MNIST MLPs; and the
//! load checks on corrupted images. Every randomized test prints its seed.

mod common;
use tbn_host::convert;
use tbn_host::random;

use common::{random_input, rng};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use tbn_driver::image::exec::{Engine, ImageError};
use tbn_driver::image::format::{self, Kind, Limit, LoadError, Target};
use tbn_driver::image::Image;
use tbn_driver::program::{AlignedBytes, Program as Compact};
use tbn_golden::integer::{self, Activation, Program, Stage};
use tbn_host::compile::{compile, CompileError};

const LANES: [u32; 3] = [8, 32, 128];

/// Compiles a golden program for `lanes` (through the compact program, as the
/// CLI does); every compiled image's constants layout is checked.
fn image_of(prog: &Program, target: &Target) -> Result<Image, CompileError> {
    let bytes = AlignedBytes::new(&convert::program_bytes(prog, None).expect("encode"));
    let compact = Compact::parse(bytes.as_bytes()).expect("parse");
    let img = compile(&compact, target)?;
    assert_constants_layout(&img);
    Ok(img)
}

/// docs/model-image.md section 2.4: per layer the alpha table, 0 to 3 zero
/// padding words, then the records at a ROWC_BASE that is a multiple of
/// ROWC_ALIGN; layers back to back; CONST_WORDS counts the padding.
fn assert_constants_layout(img: &Image) {
    let h = img.header();
    let consts = &img.words()[h.const_start() as usize..][..h.const_words as usize];
    let mut pos = 0usize;
    for l in 0..h.num_layers as usize {
        let d = img.descriptor(l).expect("descriptor");
        if d.geom.op == format::Op::MaxPool {
            assert_eq!((d.alpha_base, d.rowc_base, d.tile_base), (0, 0, 0));
            continue;
        }
        assert_eq!(d.alpha_base as usize, pos, "layer {l} ALPHA_BASE");
        let alpha_end = pos + (d.rows as usize * d.m as usize) / d.q as usize;
        let rowc = d.rowc_base as usize;
        assert_eq!(rowc % format::ROWC_ALIGN, 0, "layer {l} ROWC_BASE {rowc}");
        assert_eq!(
            rowc,
            alpha_end.next_multiple_of(format::ROWC_ALIGN),
            "layer {l}: padding is the fewest words"
        );
        assert!(
            consts[alpha_end..rowc].iter().all(|&w| w == 0),
            "layer {l}: padding words are 0"
        );
        let nrec = if d.rowc_stride == 0 { 1 } else { d.rows };
        pos = rowc + format::RECORD_WORDS * nrec as usize;
    }
    assert_eq!(pos, h.const_words as usize, "CONST_WORDS");
}

/// Index of the largest value, ties to the lowest (docs/numerics.md section 6).
fn argmax(v: &[i64]) -> usize {
    let best = v.iter().max().expect("outputs");
    v.iter().position(|x| x == best).expect("max")
}

/// Every input through `e`: logits equal `want`, the class their argmax.
fn outcomes_equal(e: &Engine, inputs: &[Vec<i32>], want: &[Vec<i64>], seed: u64, lanes: u32) {
    for (x, w) in inputs.iter().zip(want) {
        let got = e
            .infer(x)
            .unwrap_or_else(|err| panic!("seed {seed} L={lanes}: {err}"));
        assert_eq!(&got.logits, w, "seed {seed} L={lanes}");
        assert_eq!(got.class, argmax(w), "seed {seed}");
    }
}

fn engine(prog: &Program, lanes: u32) -> Engine {
    let t = Target::map_limits(lanes);
    let img = image_of(prog, &t).expect("compile");
    Engine::load(img.words(), &t).expect("load")
}

/// Facts about the random programs, to show every identity was exercised.
#[derive(Default, Debug)]
struct Coverage {
    straddling_layers: usize,
    per_row_records: usize,
    uniform_records: usize,
    shifted: usize,
    kinds: [usize; 4],
    signed_inputs: usize,
    sign_inputs: usize,
}

impl Coverage {
    fn add(&mut self, prog: &Program) {
        for d in prog.dense_stages() {
            if !d.geom.q.is_multiple_of(d.geom.m) {
                self.straddling_layers += 1;
            }
            if d.shift > 0 && matches!(d.act, Activation::Relu | Activation::Signed) {
                self.shifted += 1;
            }
            if d.mult.len() > 1 || d.bias.len() > 1 {
                self.per_row_records += 1;
            } else {
                self.uniform_records += 1;
            }
            self.kinds[match d.act {
                Activation::Relu => 0,
                Activation::Signed => 1,
                Activation::Sign => 2,
                Activation::Logits => 3,
            }] += 1;
            if d.in_bits == 1 {
                self.sign_inputs += 1;
            } else if d.in_signed {
                self.signed_inputs += 1;
            }
        }
    }
}

/// A random program (the shared generator; flatten stages included).
fn random_program(r: &mut ChaCha8Rng, cov: &mut Coverage) -> Program {
    let prog = random::program(
        r,
        &random::Sizes {
            stages: 2..=4,
            max_in: 150,
            max_hidden: 90,
            max_out: 12,
            flatten: true,
        },
    );
    cov.add(&prog);
    prog
}

#[test]
fn random_programs_bit_exact() {
    let mut cov = Coverage::default();
    let mut programs = 0;
    for seed in 0..320u64 {
        let mut r = rng("random_programs_bit_exact", seed);
        let prog = random_program(&mut r, &mut cov);
        let n = prog.input.shape[0];
        let inputs: Vec<Vec<i32>> = (0..3)
            .map(|_| random_input(&mut r, n, prog.input.bits, prog.input.signed))
            .collect();
        let want: Vec<Vec<i64>> = inputs.iter().map(|x| prog.run(x).unwrap()).collect();
        assert_eq!(
            prog.run_reference(&inputs[0]).unwrap(),
            want[0],
            "seed {seed}"
        );
        for lanes in LANES {
            outcomes_equal(&engine(&prog, lanes), &inputs, &want, seed, lanes);
        }
        programs += 1;
    }
    println!("{programs} programs x {} lane counts: {cov:?}", LANES.len());
    assert!(programs >= 300);
    assert!(cov.straddling_layers > 100 && cov.per_row_records > 100 && cov.uniform_records > 100);
    assert!(cov.shifted > 100 && cov.kinds.iter().all(|&k| k > 30));
    assert!(cov.signed_inputs > 50 && cov.sign_inputs > 30);
}

/// Facts about the random conv programs (issue 13's list).
#[derive(Default, Debug)]
struct ConvCoverage {
    conv_layers: usize,
    straddling: usize,
    sign_inputs_padded: usize,
    signed_inputs: usize,
    pool_2_2: usize,
    pool_3_2: usize,
    hwc_inputs: usize,
    permutes: usize,
    non_square_inputs: usize,
    non_square_kernels: usize,
    kernel_5: usize,
    pad_2: usize,
    stride_2: usize,
    c_in_over_8: usize,
    c_out_over_32: usize,
}

impl ConvCoverage {
    fn add(&mut self, prog: &Program, img: &Image) {
        for d in prog.dense_stages() {
            let Some(c) = d.conv else { continue };
            self.conv_layers += 1;
            self.straddling += usize::from(!d.geom.q.is_multiple_of(d.geom.m));
            self.sign_inputs_padded += usize::from(d.in_bits == 1 && c.padding > 0);
            self.signed_inputs += usize::from(d.in_signed);
            self.non_square_inputs += usize::from(c.in_hw.0 != c.in_hw.1);
            self.non_square_kernels += usize::from(c.kernel.0 != c.kernel.1);
            self.kernel_5 += usize::from(c.kernel.0 == 5 || c.kernel.1 == 5);
            self.pad_2 += usize::from(c.padding == 2);
            self.stride_2 += usize::from(c.stride == 2);
            self.c_in_over_8 += usize::from(c.in_channels > 8);
            self.c_out_over_32 += usize::from(d.geom.rows > 32);
        }
        for st in &prog.stages {
            if let Stage::MaxPool { kernel, stride, .. } = st {
                self.pool_2_2 += usize::from((*kernel, *stride) == (2, 2));
                self.pool_3_2 += usize::from((*kernel, *stride) == (3, 2));
            }
        }
        for l in 0..img.header().num_layers as usize {
            let g = img.descriptor(l).expect("descriptor").geom;
            self.hwc_inputs += usize::from(g.in_hwc);
            self.permutes += usize::from(g.op == format::Op::MaxPool && g.kh == 1);
        }
    }
}

/// Issue 13: at least 200 random conv programs (C_in 1..16, C_out 1..64,
/// kernels 1..5 (some non-square), stride 1..2, padding 0..2, non-square
/// inputs, A = 1..8 signed and unsigned, straddling tiles, max-pool 2/2 and
/// 3/2, conv -> conv on HWC maps, conv -> dense through the 1x1 permute),
/// compiled to format 2 and run by the reference executor: every logit and
/// the class equal `Program::run` at L = 8, 32, 128.
#[test]
fn random_conv_programs_bit_exact() {
    let mut cov = ConvCoverage::default();
    let mut programs = 0;
    for seed in 5000..5220u64 {
        let mut r = rng("random_conv_programs_bit_exact", seed);
        let prog = random::conv_program(&mut r, &random::CONV);
        if !prog
            .stages
            .iter()
            .any(|s| matches!(s, Stage::MaxPool { .. }))
            && prog.dense_stages().all(|d| d.conv.is_none())
        {
            continue; // no conv layer fitted the drawn input
        }
        let n: usize = prog.input.shape.iter().product();
        let inputs: Vec<Vec<i32>> = (0..2)
            .map(|_| random_input(&mut r, n, prog.input.bits, prog.input.signed))
            .collect();
        let want: Vec<Vec<i64>> = inputs.iter().map(|x| prog.run(x).unwrap()).collect();
        for lanes in LANES {
            let t = Target::map_limits(lanes);
            let img = image_of(&prog, &t).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert!(img.header().is_conv(), "seed {seed}: format 2");
            if lanes == 32 {
                cov.add(&prog, &img);
            }
            let e = Engine::load(img.words(), &t).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            outcomes_equal(&e, &inputs, &want, seed, lanes);
        }
        programs += 1;
    }
    println!(
        "{programs} conv programs x {} lane counts: {cov:?}",
        LANES.len()
    );
    assert!(programs >= 200);
    let c = &cov;
    for (what, n) in [
        ("straddling", c.straddling),
        ("sign inputs with padding", c.sign_inputs_padded),
        ("signed inputs", c.signed_inputs),
        ("max-pool 2/2", c.pool_2_2),
        ("max-pool 3/2", c.pool_3_2),
        ("HWC inputs (conv -> conv)", c.hwc_inputs),
        ("permutes (conv -> dense)", c.permutes),
        ("non-square inputs", c.non_square_inputs),
        ("non-square kernels", c.non_square_kernels),
        ("kernel 5", c.kernel_5),
        ("padding 2", c.pad_2),
        ("stride 2", c.stride_2),
        ("C_in > 8", c.c_in_over_8),
        ("C_out > 32", c.c_out_over_32),
    ] {
        assert!(n >= 10, "only {n} programs with {what}");
    }
}

/// The trained CNN (data/models, 16c3-p2-32c3-p2-fc128-10, p = 4) on 500
/// MNIST test images at L = 8, 32, 128 (format 2), logits and class equal
/// to the golden integer path; its ideal cycles printed.
#[test]
fn trained_cnn_500_images_bit_exact() {
    mnist_bit_exact("data/models/cnn_16c3_p2_32c3_p2_fc128_10_p4.json", None);
}

fn mnist_program(path: &str) -> (Program, tbn_golden::idx::Images) {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    tbn_host::mnist::program_and_test_images(root, path).expect("MNIST program")
}

fn mnist_bit_exact(path: &str, want_ideal_l32: Option<u64>) {
    let (prog, test) = mnist_program(path);
    for lanes in LANES {
        let e = engine(&prog, lanes);
        let ideal = e.cycle_model();
        println!(
            "{path} L={lanes}: ideal cycles per inference {} (per layer {:?}), V_BITS {}, image {} words",
            ideal.total(),
            ideal.per_layer,
            e.header().v_bits,
            e.header().total_words
        );
        if lanes == 32 {
            if let Some(w) = want_ideal_l32 {
                assert_eq!(ideal.total(), w);
            }
        }
        images_bit_exact(&e, &prog, &test, 500, &format!("{path} L={lanes}"));
    }
}

/// The first `n` test images through the engine: logits and class equal
/// to the golden integer path's.
fn images_bit_exact(
    e: &Engine,
    prog: &Program,
    test: &tbn_golden::idx::Images,
    n: usize,
    what: &str,
) {
    let runner = prog.runner();
    for i in 0..n {
        let x = integer::mnist_input(test.image(i));
        let want = runner.run(&x).unwrap();
        let got = e.infer(&x).unwrap();
        assert_eq!(got.logits, want, "{what} image {i}");
        assert_eq!(got.class, argmax(&want), "{what} image {i}");
    }
}

#[test]
fn reference_mlp_500_images_bit_exact() {
    // docs/model-image.md section 7: 32*25*8 + 128 + 10*4*8 + 10.
    mnist_bit_exact("data/reference/tbn_mnist_mlp_p4.json", Some(6858));
}

#[test]
fn trained_mlp_500_images_bit_exact() {
    mnist_bit_exact("data/models/mlp_784_128_10_p4.json", None);
}

/// The shipped sign-activation (W1A1) and 2-bit (W1A2) MLPs: their programs
/// (sign stages with exact thresholds, 2-bit ReLU stages) run bit-exact on
/// the engine image.
#[test]
fn trained_w1a1_and_w1a2_mlps_500_images_bit_exact() {
    for (path, kind, bits) in [
        (
            "data/models/mlp_784_256_256_10_p4_w1a1.json",
            Activation::Sign,
            1,
        ),
        (
            "data/models/mlp_784_256_256_10_p4_w1a2.json",
            Activation::Relu,
            2,
        ),
    ] {
        let (prog, _) = mnist_program(path);
        let d: Vec<_> = prog.dense_stages().collect();
        assert_eq!((d[0].act, d[0].out_bits, d[1].in_bits), (kind, bits, bits));
        mnist_bit_exact(path, None);
    }
}

fn small_program() -> Program {
    let mut r = rng("small_program", 7);
    random_program(&mut r, &mut Coverage::default())
}

#[test]
fn corrupted_images_are_refused_with_the_chip_codes() {
    let prog = small_program();
    let t = Target::map_limits(32);
    let img = image_of(&prog, &t).unwrap();
    let w = img.words().to_vec();
    assert!(Engine::load(&w, &t).is_ok());
    let with = |i: usize, v: u32| {
        let mut c = w.clone();
        c[i] = v;
        c
    };
    let code = |words: &[u32]| match Engine::load(words, &t) {
        Err(ImageError::Load(e)) => e.code(),
        other => panic!("expected a load error, got {other:?}"),
    };
    use tbn_driver::regmap::ErrorCode as E;
    assert_eq!(code(&with(0, 0x1234_5678)), E::BadMagic);
    assert_eq!(code(&with(1, 0x0003_0000)), E::BadVersion);
    // Format 2 only on a chip with feature maps (the RTL engine today).
    assert!(matches!(
        Engine::load(&with(1, 0x0002_0000), &t.dense_only()),
        Err(ImageError::Load(LoadError::BadVersion(0x0002_0000)))
    ));
    assert_eq!(code(&w[..w.len() - 1]), E::LoadSequence);
    assert_eq!(code(&[w.clone(), vec![0]].concat()), E::LoadSequence);
    assert_eq!(code(&with(2, w[2] + 1)), E::LoadSequence);
    assert_eq!(code(&[]), E::BadMagic);
    // Every single-bit flip past the version word is caught (by the length,
    // the checksum or, for the header's capacity words, the checksum first).
    let mut r = rng("corrupted_images", 1);
    for _ in 0..400 {
        let i = r.gen_range(2..w.len());
        let bit = r.gen_range(0..32);
        let c = with(i, w[i] ^ (1 << bit));
        let got = code(&c);
        assert!(
            matches!(got, E::BadChecksum | E::LoadSequence),
            "word {i} bit {bit}: {got:?}"
        );
    }
    // Swapped words are caught by S2.
    let (a, b) = (format::HEADER_WORDS, w.len() - 3);
    if w[a] != w[b] {
        let mut c = w.clone();
        c.swap(a, b);
        assert_eq!(code(&c), E::BadChecksum);
    }
    // An image for other lanes does not fit.
    match Engine::load(&w, &Target::map_limits(8)) {
        Err(ImageError::Load(LoadError::Fit(m))) => assert_eq!(m.what, Limit::Lanes),
        other => panic!("{other:?}"),
    }
    // Byte files round-trip; odd lengths are refused.
    assert_eq!(Image::from_le_bytes(&img.to_le_bytes()).unwrap(), img);
    assert!(Image::from_le_bytes(&[0, 1, 2]).is_err());
}

#[test]
fn programs_that_do_not_fit_get_typed_errors() {
    let prog = small_program();
    let h = image_of(&prog, &Target::map_limits(32)).unwrap().header();
    let tight = |f: fn(&mut Target)| {
        let mut t = Target::map_limits(32);
        f(&mut t);
        match image_of(&prog, &t) {
            Err(CompileError::DoesNotFit(m)) => m.what,
            other => panic!("{other:?}"),
        }
    };
    let hw = h.tile_words;
    assert!(hw > 0);
    assert_eq!(tight(|t| t.weight_words = 1), Limit::WeightWords);
    assert_eq!(tight(|t| t.const_words = 1), Limit::ConstWords);
    assert_eq!(tight(|t| t.max_layers = 1), Limit::Layers);
    assert_eq!(tight(|t| t.max_in = 1), Limit::RowLength);
    assert_eq!(tight(|t| t.max_d = 0), Limit::DistinctRows);
    assert_eq!(tight(|t| t.max_out = 1), Limit::Rows);
    assert_eq!(tight(|t| t.max_logits = 0), Limit::Logits);
    assert_eq!(tight(|t| t.v_bits = 2), Limit::ValueBits);
    assert!(matches!(
        image_of(&prog, &Target::map_limits(48)),
        Err(CompileError::Lanes(48))
    ));
    // The message names the problem.
    let e = image_of(
        &prog,
        &Target {
            weight_words: 1,
            ..Target::map_limits(32)
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("CFG_WEIGHT_WORDS"), "{e}");

    // Conv and max-pool stages need format 2 and a chip with feature maps:
    // a dense-only configuration is named as the misfit (CFG_MAX_FMAP 0).
    let mut r = rng("programs_that_do_not_fit", 3);
    let conv = common::random_conv_program(
        &mut r,
        8,
        false,
        6,
        None,
        &common::Requant {
            bias_bits: 20,
            shift: 0..=20,
        },
    );
    let img = image_of(&conv.prog, &Target::map_limits(32)).expect("format 2");
    assert_eq!(img.header().version, format::VERSION_CONV);
    match image_of(&conv.prog, &Target::map_limits(32).dense_only()) {
        Err(CompileError::DoesNotFit(m)) => {
            assert_eq!((m.what, m.limit), (Limit::FeatureMap, 0));
            assert!(
                m.to_string().contains("CFG_MAX_FMAP"),
                "the message names the register: {m}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Each feature-map capacity is checked (compiler and loader alike).
    let h = img.header();
    for (what, need) in [
        (Limit::FeatureMap, h.maps.max_fmap),
        (Limit::Channels, h.maps.max_channels),
        (Limit::MapSide, h.maps.max_hw),
        (Limit::Kernel, h.maps.max_kernel),
    ] {
        let mut t = Target::map_limits(32);
        *t.limit_mut(what) = need - 1;
        match image_of(&conv.prog, &t) {
            Err(CompileError::DoesNotFit(m)) => assert_eq!(m.what, what),
            other => panic!("{what:?}: {other:?}"),
        }
        match Engine::load(img.words(), &t) {
            Err(ImageError::Load(LoadError::Fit(m))) => {
                assert_eq!((m.what, m.need, m.limit), (what, need, need - 1))
            }
            other => panic!("{what:?}: {other:?}"),
        }
    }
    // A bias (rounding folded in) that reaches 2^62 is refused.
    let mut big = prog.clone();
    if let Stage::Dense(d) = &mut big.stages[0] {
        d.bias = vec![1i64 << 62; d.geom.rows];
    }
    assert!(matches!(
        image_of(&big, &Target::map_limits(32)),
        Err(CompileError::ConstantRange { layer: 0, .. })
    ));
}

#[test]
fn descriptors_hold_the_precomputed_geometry() {
    let (prog, _) = mnist_program("data/reference/tbn_mnist_mlp_p4.json");
    let img = image_of(&prog, &Target::map_limits(32)).unwrap();
    let fc1 = img.descriptor(0).unwrap();
    assert_eq!(
        (fc1.m, fc1.q, fc1.rows, fc1.p, fc1.d),
        (784, 25088, 128, 32, 32)
    );
    assert_eq!(
        (fc1.chunks, fc1.out_chunks, fc1.q_minus_m),
        (25, 4, 25088 - 784)
    );
    assert_eq!((fc1.kind, fc1.last, fc1.in_bits), (Kind::Relu, false, 8));
    let fc2 = img.descriptor(1).unwrap();
    assert_eq!(
        (fc2.m, fc2.rows, fc2.d, fc2.kind, fc2.last),
        (128, 10, 10, Kind::Logits, true)
    );
    assert_eq!(fc2.tile_base % format::tile_align(32), 0);
    // The reference MLP has a uniform multiplier and no bias: one record per layer.
    assert_eq!((fc1.rowc_stride, fc2.rowc_stride), (0, 0));
    println!("reference MLP image: {:?}", img.header());
}

/// Images whose words were changed and whose checksum was then recomputed
/// (a forged or miscompiled image): loading and running never panics; either
/// the loader names the inconsistent field or the inference runs.
#[test]
fn forged_images_never_panic() {
    let mut r = rng("forged_images_never_panic", 3);
    let t = Target::map_limits(32);
    let (mut refused, mut ran) = (0, 0);
    for k in 0..120 {
        // Dense (format 1) and conv (format 2) images alike.
        let prog = if k % 2 == 0 {
            random_program(&mut r, &mut Coverage::default())
        } else {
            random::conv_program(&mut r, &random::CONV)
        };
        let img = image_of(&prog, &t).unwrap();
        let descs_end = img.header().desc_at(2);
        let w = img.words().to_vec();
        for _ in 0..20 {
            let mut c = w.clone();
            let body = c.len() - format::CHECKSUM_WORDS;
            // Mostly the header and descriptors, sometimes anywhere.
            let i = if r.gen_bool(0.8) {
                r.gen_range(2..descs_end.min(body))
            } else {
                r.gen_range(2..body)
            };
            c[i] = match r.gen_range(0..3) {
                0 => c[i] ^ (1 << r.gen_range(0..32)),
                1 => r.gen(),
                _ => c[i].wrapping_add(1),
            };
            let (s1, s2) = format::checksum(&c[..body]);
            c[body] = s1;
            c[body + 1] = s2;
            match Engine::load(&c, &t) {
                Err(_) => refused += 1,
                Ok(e) => {
                    let h = e.header();
                    let (lo, hi) =
                        format::value_range(h.in_fmt & 0xF, h.in_fmt & format::FMT_SIGNED != 0);
                    let x: Vec<i32> = (0..h.num_in).map(|_| r.gen_range(lo..=hi)).collect();
                    let _ = e.infer(&x);
                    ran += 1;
                }
            }
        }
    }
    println!("forged images: {refused} refused, {ran} ran");
    assert!(refused > 0 && ran > 0);
}

/// `image` with every layer's record padding removed (the unaligned layout):
/// bases, CONST_WORDS, TOTAL_WORDS and the checksum rewritten, so only the
/// alignment is wrong. Returns it with the first layer whose ROWC_BASE is
/// now unaligned, or None when no layer had padding.
fn without_record_padding(img: &Image) -> Option<(Vec<u32>, usize, u32)> {
    let h = img.header();
    let w = img.words();
    let c0 = h.const_start() as usize;
    let nl = h.num_layers as usize;
    let mut consts = Vec::new();
    let mut out = w[..c0].to_vec();
    let mut first = None;
    for l in 0..nl {
        let d = img.descriptor(l).unwrap();
        let p = (d.rows * d.m / d.q) as usize;
        let nrec = if d.rowc_stride == 0 {
            1
        } else {
            d.rows as usize
        };
        let at = format::HEADER_WORDS + format::DESC_WORDS * l;
        out[at + format::desc::ALPHA_BASE] = consts.len() as u32;
        consts.extend_from_slice(&w[c0 + d.alpha_base as usize..][..p]);
        let rowc = consts.len() as u32;
        if first.is_none() && !(rowc as usize).is_multiple_of(format::ROWC_ALIGN) {
            first = Some((l, rowc));
        }
        out[at + format::desc::ROWC_BASE] = rowc;
        consts.extend_from_slice(&w[c0 + d.rowc_base as usize..][..format::RECORD_WORDS * nrec]);
    }
    let (layer, rowc) = first?;
    out[format::hdr::CONST_WORDS] = consts.len() as u32;
    out[format::hdr::TOTAL_WORDS] = (c0 + consts.len() + format::CHECKSUM_WORDS) as u32;
    out.extend_from_slice(&consts);
    let (s1, s2) = format::checksum(&out);
    out.extend_from_slice(&[s1, s2]);
    Some((out, layer, rowc))
}

/// docs/model-image.md section 2.4: an image whose ROWC_BASE is not a
/// multiple of 4 (the layout without padding, otherwise consistent and with a
/// valid checksum) is refused with the typed error, and by the reference chip
/// with IMAGE_FIT, leaving no model loaded.
#[test]
fn misaligned_record_base_is_refused() {
    use tbn_driver::bus::Bus;
    use tbn_driver::image::chip::RefChip;
    use tbn_driver::regmap::{self as rm, ErrorCode};
    let t = Target::map_limits(32);
    let mut refused = 0;
    for seed in 0..40u64 {
        let mut r = rng("misaligned_record_base_is_refused", seed);
        let prog = random_program(&mut r, &mut Coverage::default());
        let img = image_of(&prog, &t).unwrap();
        assert!(Engine::load(img.words(), &t).is_ok());
        let Some((bad, layer, rowc_base)) = without_record_padding(&img) else {
            continue;
        };
        // The LOAD_END checks pass: only the descriptor is wrong.
        assert!(format::check_image(&bad, &t).is_ok(), "seed {seed}");
        match Engine::load(&bad, &t) {
            Err(e @ ImageError::RecordAlignment { .. }) => {
                assert_eq!(
                    e,
                    ImageError::RecordAlignment { layer, rowc_base },
                    "seed {seed}"
                );
                assert!(e.to_string().contains("ROWC_BASE"), "{e}");
            }
            other => panic!("seed {seed}: {other:?}"),
        }
        let mut chip = RefChip::new(t);
        chip.write32(rm::CTRL, rm::CTRL_LOAD_BEGIN).unwrap();
        for (i, w) in bad.iter().enumerate() {
            chip.write32(rm::image_word_offset(i as u32), *w).unwrap();
        }
        chip.write32(rm::CTRL, rm::CTRL_LOAD_END).unwrap();
        let s = chip.read32(rm::STATUS).unwrap();
        assert_eq!(ErrorCode::from_status(s), Some(ErrorCode::ImageFit));
        assert_eq!(s & rm::STATUS_MODEL_LOADED, 0);
        refused += 1;
    }
    // A single forged base (ROWC_BASE + 1, checksum recomputed) too.
    let img = image_of(&small_program(), &t).unwrap();
    let mut w = img.words().to_vec();
    let at = format::HEADER_WORDS + format::desc::ROWC_BASE;
    w[at] += 1;
    let body = w.len() - format::CHECKSUM_WORDS;
    let (s1, s2) = format::checksum(&w[..body]);
    w[body..].copy_from_slice(&[s1, s2]);
    assert!(matches!(
        Engine::load(&w, &t),
        Err(ImageError::RecordAlignment { layer: 0, .. })
    ));
    println!("{refused} unpadded images refused");
    assert!(refused >= 10, "{refused}");
}

/// The LFC-size 2-bit MLPs (784-1024-1024-1024-10, p = 8 and 16, with a
/// batch-norm per channel and a uniform one; issue 14):
/// their images at the register map's limits, 300 test images each
/// bit-exact at L = 32, and their ideal cycles (the UP5K configuration's
/// capacities they exceed are tested in hdl/tests/netcore.rs).
#[test]
fn lfc_size_w1a2_mlps_300_images_bit_exact() {
    for (path, ideal_l32) in [
        ("data/models/mlp_784_1024_1024_1024_10_p8_w1a2.json", 45_706),
        (
            "data/models/mlp_784_1024_1024_1024_10_p16_w1a2.json",
            24_714,
        ),
        (
            "data/models/mlp_784_1024_1024_1024_10_p8_w1a2_ubn.json",
            45_706,
        ),
        (
            "data/models/mlp_784_1024_1024_1024_10_p16_w1a2_ubn.json",
            24_714,
        ),
    ] {
        let (prog, test) = mnist_program(path);
        let d: Vec<_> = prog.dense_stages().collect();
        assert_eq!(d.len(), 4);
        assert!(d[..3]
            .iter()
            .all(|s| (s.act, s.out_bits) == (Activation::Relu, 2)));
        let e = engine(&prog, 32);
        let ideal = e.cycle_model();
        println!(
            "{path} L=32: ideal cycles per inference {} (per layer {:?}), image {} words",
            ideal.total(),
            ideal.per_layer,
            e.header().total_words
        );
        assert_eq!(ideal.total(), ideal_l32);
        images_bit_exact(&e, &prog, &test, 300, &format!("{path} L=32"));
    }
}
