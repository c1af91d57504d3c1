//! The driver's whole-network API (`Tbn::load_model`, `Tbn::infer`) over
//! MMIO-style access and over SPI (the bridge model), against the
//! register-level reference model of the engine (`tbn_driver::image::chip::RefChip`),
//! bit-exact with the golden integer path; and every engine misuse case with
//! its documented error code and recovery. Randomized tests print their seed.

mod common;
use tbn_host::convert;

use std::cell::RefCell;
use std::rc::Rc;

use common::spi_bridge::BridgeSpi;
use common::{random_dense, random_input, rng, Io, Requant};
use rand::Rng;
use tbn_driver::bus::{Bus, BusError, QuadSpiBus, SpiBus};
use tbn_driver::driver::{DriverError, Tbn};
use tbn_driver::image::chip::RefChip;
use tbn_driver::image::format::{self, LoadError, Target};
use tbn_driver::link::{LinkCounter, LinkModel, SpiLink};
use tbn_driver::program::{AlignedBytes, Program as Compact};
use tbn_driver::regmap::{self as rm, ErrorCode};
use tbn_golden::integer::{self, Activation, Program, Stage};
use tbn_host::compile::compile;

const RQ: Requant = Requant {
    bias_bits: 30,
    shift: 8..=30,
};

/// A small engine (the hdl crate's default job capacities, engine memories
/// for a few thousand words).
fn target(lanes: u32) -> Target {
    Target {
        maps: format::MapLimits::NONE,
        lanes,
        weight_words: 4096,
        const_words: 2048,
        max_layers: 8,
        max_in: 4096,
        tile_max: 32768,
        max_d: 1024,
        max_out: 1024,
        max_abits: 8,
        max_logits: 64,
        v_bits: 64,
    }
}

fn image(prog: &Program, t: &Target) -> Vec<u32> {
    let bytes = AlignedBytes::new(&convert::program_bytes(prog, None).expect("encode"));
    let c = Compact::parse(bytes.as_bytes()).expect("parse");
    compile(&c, t).expect("compile").words().to_vec()
}

fn argmax(v: &[i64]) -> u32 {
    let best = v.iter().max().unwrap();
    v.iter().position(|x| x == best).unwrap() as u32
}

/// A random 2-3 layer dense program.
fn random_program(r: &mut rand_chacha::ChaCha8Rng) -> Program {
    let in_bits = r.gen_range(1..=8u8);
    let in_signed = in_bits > 1 && r.gen_bool(0.5);
    let n_in = r.gen_range(5..=120);
    let hidden = r.gen_range(3..=60);
    let acts = [Activation::Relu, Activation::Signed, Activation::Sign];
    let act = acts[r.gen_range(0..3)];
    let out_bits = if act == Activation::Sign {
        1
    } else {
        r.gen_range(2..=8)
    };
    let s1 = random_dense(
        r,
        hidden,
        n_in,
        None,
        Io {
            in_bits,
            in_signed,
            act,
            out_bits,
        },
        &RQ,
    );
    let n_out = r.gen_range(1..=12);
    let s2 = random_dense(
        r,
        n_out,
        hidden,
        None,
        Io {
            in_bits: out_bits,
            in_signed: act == Activation::Signed,
            act: Activation::Logits,
            out_bits: 8,
        },
        &RQ,
    );
    common::program(
        vec![n_in],
        in_bits,
        in_signed,
        vec![Stage::Dense(s1), Stage::Dense(s2)],
    )
}

#[test]
fn load_and_infer_random_programs_mmio_and_spi() {
    for seed in 0..40u64 {
        let mut r = rng("load_and_infer_random_programs_mmio_and_spi", seed);
        let prog = random_program(&mut r);
        let lanes = [8, 32, 128][seed as usize % 3];
        let t = target(lanes);
        let img = image(&prog, &t);
        let spi = seed % 2 == 1;
        let chip = Rc::new(RefCell::new(RefChip::new(t)));
        let n = prog.input.shape[0];
        let inputs: Vec<Vec<i32>> = (0..3)
            .map(|_| random_input(&mut r, n, prog.input.bits, prog.input.signed))
            .collect();
        let run = |bus: &mut dyn FnMut(&[i32], &mut [i64]) -> u32| {
            for x in &inputs {
                let want = prog.run(x).unwrap();
                let mut got = vec![0i64; want.len()];
                let class = bus(x, &mut got);
                assert_eq!(got, want, "seed {seed}");
                assert_eq!(class, argmax(&want), "seed {seed}");
            }
        };
        if spi {
            let mut t = Tbn::probe(SpiBus::new(BridgeSpi::new(chip.clone()))).unwrap();
            let info = t.load_model(&img).unwrap();
            assert_eq!(info.num_out as usize, prog.run(&inputs[0]).unwrap().len());
            run(&mut |x, out| t.infer(x, out).unwrap().class);
        } else {
            let mut guard = chip.borrow_mut();
            let mut t = Tbn::probe(&mut *guard).unwrap();
            t.load_model(&img).unwrap();
            run(&mut |x, out| t.infer(x, out).unwrap().class);
        }
    }
}

/// The reference MLP over SPI: one INFER per image, and the link cost of the
/// driver's protocol measured from the bridge's frames.
#[test]
fn reference_mlp_over_spi_one_start_per_image() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let (prog, test) =
        tbn_host::mnist::program_and_test_images(root, "data/reference/tbn_mnist_mlp_p4.json")
            .expect("MNIST program");
    let t = Target {
        weight_words: 32768,
        ..target(32)
    };
    let img = image(&prog, &t);
    let chip = Rc::new(RefCell::new(RefChip::new(t)));
    // The bridge measures SCK from its frames; the counter computes it with
    // the typed link model: they must agree.
    let counted = LinkCounter::new(
        SpiBus::new(BridgeSpi::new(chip.clone())),
        LinkModel::Spi(SpiLink::default()),
    );
    let mut tbn = Tbn::probe(counted).unwrap();
    let sck = |t: &mut Tbn<LinkCounter<SpiBus<BridgeSpi<RefChip>>>>| {
        let measured = t.bus().inner().device().sck_cycles();
        assert_eq!(t.bus().tally.cost, measured, "link model == bridge frames");
        measured
    };
    let before = sck(&mut tbn);
    tbn.load_model(&img).unwrap();
    let load_sck = sck(&mut tbn) - before;
    let mut logits = [0i64; 10];
    let n = 50;
    let before = sck(&mut tbn);
    let starts_before = chip.borrow_mut().read32(rm::JOB_COUNT).unwrap();
    for i in 0..n {
        let x = integer::mnist_input(test.image(i));
        let inf = tbn.infer(&x, &mut logits).unwrap();
        let want = prog.run(&x).unwrap();
        assert_eq!(logits[..], want[..], "image {i}");
        assert_eq!(inf.class, argmax(&want));
    }
    let per = (sck(&mut tbn) - before) / n as u64;
    let starts = chip.borrow_mut().read32(rm::JOB_COUNT).unwrap() - starts_before;
    assert_eq!(starts, n as u32, "one INFER per image");
    println!(
        "reference MLP over SPI (driver protocol, reference model with 3 busy polls): \
         load {load_sck} SCK once ({} words), {per} SCK per inference",
        img.len()
    );
    // 784 input bytes = 196 words, INFER, polls, CLASS, 10 logits: well under
    // the per-layer protocol's ~41,600 SCK.
    assert!(per < 8_500, "{per} SCK per inference");
}

/// The reference MLP with quad writes (QuadSpiBus: 1-4-4 QWRITE frames,
/// single-line reads): logits exact, the link model with 4 lines equals the
/// bridge's frames.
#[test]
fn reference_mlp_over_quad_spi_writes() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let (prog, test) =
        tbn_host::mnist::program_and_test_images(root, "data/reference/tbn_mnist_mlp_p4.json")
            .expect("MNIST program");
    let t = Target {
        weight_words: 32768,
        ..target(32)
    };
    let img = image(&prog, &t);
    let chip = Rc::new(RefCell::new(RefChip::new(t)));
    // The bridge measures SCK from its frames; the counter computes it with
    // the typed link model: they must agree.
    let counted = LinkCounter::new(
        QuadSpiBus::new(BridgeSpi::new(chip.clone())),
        LinkModel::Spi(SpiLink {
            lines: 4,
            ..SpiLink::default()
        }),
    );
    let mut tbn = Tbn::probe(counted).unwrap();
    let sck = |t: &mut Tbn<LinkCounter<QuadSpiBus<BridgeSpi<RefChip>>>>| {
        let measured = t.bus().inner().device().sck_cycles();
        assert_eq!(t.bus().tally.cost, measured, "link model == bridge frames");
        measured
    };
    let before = sck(&mut tbn);
    tbn.load_model(&img).unwrap();
    let load_sck = sck(&mut tbn) - before;
    let mut logits = [0i64; 10];
    let n = 20;
    let before = sck(&mut tbn);
    let starts_before = chip.borrow_mut().read32(rm::JOB_COUNT).unwrap();
    for i in 0..n {
        let x = integer::mnist_input(test.image(i));
        let inf = tbn.infer(&x, &mut logits).unwrap();
        let want = prog.run(&x).unwrap();
        assert_eq!(logits[..], want[..], "image {i}");
        assert_eq!(inf.class, argmax(&want));
    }
    let per = (sck(&mut tbn) - before) / n as u64;
    let starts = chip.borrow_mut().read32(rm::JOB_COUNT).unwrap() - starts_before;
    assert_eq!(starts, n as u32, "one INFER per image");
    println!(
        "reference MLP over SPI with quad writes (driver protocol, reference model with 3 busy polls): \
         load {load_sck} SCK once ({} words), {per} SCK per inference",
        img.len()
    );
    // 784 input bytes = 196 words, INFER, polls, CLASS, 10 logits: well under
    // the per-layer protocol's ~41,600 SCK.
    assert!(per < 3_500, "{per} SCK per inference");
}

/// A chip that runs conv and max-pool layers (format 2): `target` with
/// feature maps of up to 16,384 values (and the CNN's fc1 tile, 50,176 bits).
fn conv_target(lanes: u32) -> Target {
    Target {
        maps: format::MapLimits {
            max_fmap: 16_384,
            max_channels: 128,
            max_hw: 64,
            max_kernel: 5,
        },
        tile_max: 65_536,
        ..target(lanes)
    }
}

/// Issue 13 item 5: the driver probes the feature-map capacities
/// (CFG_FEATURES.CONV, CFG_MAX_FMAP .. CFG_MAX_KERNEL), loads format-2
/// images and runs them: the trained CNN over SPI and random conv programs
/// over MMIO, bit-exact with the golden integer path. A dense-only chip
/// refuses them: the driver before sending (BadVersion), the chip with
/// BAD_VERSION when loaded raw.
#[test]
fn conv_models_load_and_infer_on_a_chip_with_feature_maps() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let (prog, test) = tbn_host::mnist::program_and_test_images(
        root,
        "data/models/cnn_16c3_p2_32c3_p2_fc128_10_p4.json",
    )
    .expect("MNIST CNN");
    let t = conv_target(32);
    let img = image(&prog, &t);
    let chip = Rc::new(RefCell::new(RefChip::new(t)));
    let mut tbn = Tbn::probe(SpiBus::new(BridgeSpi::new(chip.clone()))).unwrap();
    assert_eq!(tbn.engine_target().unwrap(), t, "capacities probed");
    let info = tbn.load_model(&img).unwrap();
    assert_eq!((info.num_in, info.num_out), (784, 10));
    let mut logits = [0i64; 10];
    for i in 0..20 {
        let x = integer::mnist_input(test.image(i));
        let inf = tbn.infer(&x, &mut logits).unwrap();
        let want = prog.run(&x).unwrap();
        assert_eq!(logits[..], want[..], "CNN image {i}");
        assert_eq!(inf.class, argmax(&want));
    }

    for seed in 0..20u64 {
        let mut r = rng("conv_models_load_and_infer_mmio", seed);
        let prog = tbn_host::random::conv_program(&mut r, &tbn_host::random::CONV);
        let t = conv_target([8, 32, 128][seed as usize % 3]);
        let img = image(&prog, &t);
        let mut chip = RefChip::new(t);
        let mut d = Tbn::probe(&mut chip).unwrap();
        d.load_model(&img).unwrap();
        let n: usize = prog.input.shape.iter().product();
        for _ in 0..2 {
            let x = random_input(&mut r, n, prog.input.bits, prog.input.signed);
            let want = prog.run(&x).unwrap();
            let mut got = vec![0i64; want.len()];
            let class = d.infer(&x, &mut got).unwrap().class;
            assert_eq!(got, want, "seed {seed}");
            assert_eq!(class, argmax(&want), "seed {seed}");
        }
    }

    let mut dense = RefChip::new(target(32));
    assert!(matches!(
        Tbn::probe(&mut dense).unwrap().load_model(&img),
        Err(DriverError::Image(LoadError::BadVersion(
            format::VERSION_CONV
        )))
    ));
    assert_eq!(raw_load(&mut dense, &img), Some(ErrorCode::BadVersion));
    assert_eq!(
        dense.read32(rm::STATUS).unwrap() & rm::STATUS_MODEL_LOADED,
        0
    );
}

fn loaded(prog: &Program) -> (RefChip, Vec<u32>) {
    let t = target(32);
    let img = image(prog, &t);
    let mut chip = RefChip::new(t);
    Tbn::probe(&mut chip).unwrap().load_model(&img).unwrap();
    (chip, img)
}

fn code(chip: &mut RefChip) -> Option<ErrorCode> {
    let s = chip.read32(rm::STATUS).unwrap();
    (s & rm::STATUS_ERROR != 0).then(|| ErrorCode::from_status(s).unwrap())
}

fn clear(chip: &mut RefChip) {
    chip.write32(rm::STATUS, rm::STATUS_DONE | rm::STATUS_ERROR)
        .unwrap();
}

/// Raw load through the bus (no host-side checks): the chip's own verdict.
fn raw_load(chip: &mut RefChip, words: &[u32]) -> Option<ErrorCode> {
    clear(chip);
    chip.write32(rm::CTRL, rm::CTRL_LOAD_BEGIN).unwrap();
    for (i, w) in words.iter().enumerate() {
        chip.write32(rm::image_word_offset(i as u32), *w).unwrap();
    }
    chip.write32(rm::CTRL, rm::CTRL_LOAD_END).unwrap();
    code(chip)
}

#[test]
fn misuse_no_model_and_corrupted_images() {
    let mut r = rng("misuse_no_model_and_corrupted_images", 5);
    let prog = random_program(&mut r);
    let t = target(32);
    let img = image(&prog, &t);
    let mut chip = RefChip::new(t);
    // No model: the driver refuses before touching the bus; the chip says NO_MODEL.
    {
        let mut d = Tbn::probe(&mut chip).unwrap();
        assert_eq!(d.infer(&[0], &mut []), Err(DriverError::NoModel));
    }
    chip.write32(rm::CTRL, rm::CTRL_INFER).unwrap();
    assert_eq!(code(&mut chip), Some(ErrorCode::NoModel));
    clear(&mut chip);
    chip.write32(rm::INPUT_BASE, 0).unwrap();
    assert_eq!(code(&mut chip), Some(ErrorCode::NoModel));
    // Corrupted images: each refused with its code, no model loaded after.
    let with = |i: usize, v: u32| {
        let mut c = img.clone();
        c[i] = v;
        c
    };
    let cases: Vec<(Vec<u32>, ErrorCode)> = vec![
        (with(0, 0xDEAD_BEEF), ErrorCode::BadMagic),
        (with(1, 0x0007_0000), ErrorCode::BadVersion),
        (img[..img.len() - 1].to_vec(), ErrorCode::LoadSequence),
        (with(20, img[20] ^ 0x100), ErrorCode::BadChecksum),
        (
            with(img.len() - 1, img[img.len() - 1] ^ 1),
            ErrorCode::BadChecksum,
        ),
    ];
    for (words, want) in &cases {
        assert_eq!(raw_load(&mut chip, words), Some(*want));
        assert_eq!(
            chip.read32(rm::STATUS).unwrap() & rm::STATUS_MODEL_LOADED,
            0
        );
        assert_eq!(chip.read32(rm::MODEL_LAYERS).unwrap(), 0);
        // The driver refuses the same images before sending, with the same reason.
        let mut d = Tbn::probe(&mut chip).unwrap();
        match d.load_model(words) {
            Err(DriverError::Image(e)) => assert_eq!(e.code(), *want),
            other => panic!("{other:?}"),
        }
    }
    // Out-of-order image writes and LOAD_END without LOAD_BEGIN.
    clear(&mut chip);
    chip.write32(rm::CTRL, rm::CTRL_LOAD_BEGIN).unwrap();
    chip.write32(rm::image_word_offset(1), img[1]).unwrap();
    for (i, w) in img.iter().enumerate() {
        chip.write32(rm::image_word_offset(i as u32), *w).unwrap();
    }
    chip.write32(rm::CTRL, rm::CTRL_LOAD_END).unwrap();
    assert_eq!(code(&mut chip), Some(ErrorCode::LoadSequence));
    clear(&mut chip);
    chip.write32(rm::CTRL, rm::CTRL_LOAD_END).unwrap();
    assert_eq!(code(&mut chip), Some(ErrorCode::LoadSequence));
    // An image for a larger configuration does not fit this one.
    let big = image(
        &prog,
        &Target {
            lanes: 32,
            ..Target::map_limits(32)
        },
    );
    let mut small = RefChip::new(Target {
        max_logits: 0,
        ..target(32)
    });
    assert_eq!(raw_load(&mut small, &big), Some(ErrorCode::ImageFit));
    match Tbn::probe(&mut small).unwrap().load_model(&big) {
        Err(DriverError::Image(LoadError::Fit(m))) => {
            assert_eq!(m.what, format::Limit::Logits)
        }
        other => panic!("{other:?}"),
    }
    // Recovery: the good image loads and runs.
    assert_eq!(raw_load(&mut chip, &img), None);
    let mut d = Tbn::probe(&mut chip).unwrap();
    d.load_model(&img).unwrap();
    let x = random_input(
        &mut r,
        prog.input.shape[0],
        prog.input.bits,
        prog.input.signed,
    );
    let mut out = vec![0i64; d.model().unwrap().num_out as usize];
    d.infer(&x, &mut out).unwrap();
    assert_eq!(out, prog.run(&x).unwrap());
}

#[test]
fn misuse_input_range_busy_soft_reset_timeout() {
    let mut r = rng("misuse_input_range_busy_soft_reset_timeout", 11);
    // An unsigned 3-bit input: bytes above 7 are out of range.
    let prog = loop {
        let p = random_program(&mut r);
        if p.input.bits >= 2 && p.input.bits < 8 && !p.input.signed {
            break p;
        }
    };
    let n = prog.input.shape[0];
    let (mut chip, _) = loaded(&prog);
    let x = random_input(&mut r, n, prog.input.bits, false);
    let want = prog.run(&x).unwrap();
    let mut out = vec![0i64; want.len()];
    {
        let mut d = Tbn::probe(&mut chip).unwrap();
        // Probe soft-resets; the model stays loaded in the chip, but the driver
        // only infers after its own load_model.
        assert_eq!(d.infer(&x, &mut out), Err(DriverError::NoModel));
    }
    assert_ne!(
        chip.read32(rm::STATUS).unwrap() & rm::STATUS_MODEL_LOADED,
        0
    );
    // Input out of range: the driver refuses host-side...
    let mut bad = x.clone();
    bad[n / 2] = 1 << prog.input.bits;
    {
        let mut d = Tbn::probe(&mut chip).unwrap();
        d.load_model(&image(&prog, &target(32))).unwrap();
        assert!(matches!(
            d.infer(&bad, &mut out),
            Err(DriverError::InputOutOfRange { index, .. }) if index == n / 2
        ));
    }
    // ...and the chip refuses INFER after a bad byte, until the input is rewritten.
    for w in 0..rm::input_words(n as u32) {
        chip.write32(rm::INPUT_BASE + 4 * w, rm::input_word(&bad, w))
            .unwrap();
    }
    chip.write32(rm::CTRL, rm::CTRL_INFER).unwrap();
    assert_eq!(code(&mut chip), Some(ErrorCode::InputRange));
    clear(&mut chip);
    {
        let mut d = Tbn::probe(&mut chip).unwrap();
        d.load_model(&image(&prog, &target(32))).unwrap();
        d.infer(&x, &mut out).unwrap();
        assert_eq!(out, want);
    }
    // START while busy: refused, the running inference completes.
    chip.busy_reads = 5;
    chip.write32(rm::CTRL, rm::CTRL_INFER).unwrap();
    assert_ne!(chip.read32(rm::STATUS).unwrap() & rm::STATUS_BUSY, 0);
    chip.write32(rm::CTRL, rm::CTRL_INFER).unwrap();
    chip.write32(rm::INPUT_BASE, 0).unwrap();
    let s = chip.read32(rm::STATUS).unwrap();
    assert_eq!(
        ErrorCode::from_status(s),
        Some(ErrorCode::StartWhileBusy),
        "first error kept"
    );
    let mut polls = 0;
    while chip.read32(rm::STATUS).unwrap() & rm::STATUS_DONE == 0 {
        polls += 1;
        assert!(polls < 10);
    }
    clear(&mut chip);
    // INPUT and IMAGE writes while busy are ignored (MEMORY_BUSY); the inference completes.
    for addr in [rm::INPUT_BASE, rm::image_word_offset(0)] {
        chip.write32(rm::CTRL, rm::CTRL_INFER).unwrap();
        chip.write32(addr, 0xFFFF_FFFF).unwrap();
        assert_eq!(code(&mut chip), Some(ErrorCode::MemoryBusy));
        while chip.read32(rm::STATUS).unwrap() & rm::STATUS_BUSY != 0 {}
        clear(&mut chip);
    }
    {
        let mut d = Tbn::probe(&mut chip).unwrap();
        d.load_model(&image(&prog, &target(32))).unwrap();
        d.infer(&x, &mut out).unwrap();
        assert_eq!(out, want, "the ignored writes changed nothing");
    }
    chip.busy_reads = 5;
    // Soft reset mid-inference: ABORTED, model kept, next inference correct.
    chip.write32(rm::CTRL, rm::CTRL_INFER).unwrap();
    chip.write32(rm::CTRL, rm::CTRL_SOFT_RESET).unwrap();
    let s = chip.read32(rm::STATUS).unwrap();
    assert_eq!(s & rm::STATUS_BUSY, 0);
    assert_eq!(ErrorCode::from_status(s), Some(ErrorCode::Aborted));
    assert_ne!(s & rm::STATUS_MODEL_LOADED, 0);
    clear(&mut chip);
    // A hung inference: bounded wait, typed timeout, recovered by the driver.
    chip.stuck = true;
    {
        let mut d = Tbn::probe(&mut chip).unwrap();
        d.load_model(&image(&prog, &target(32))).unwrap();
        d.set_poll_limit(Some(20));
        assert!(matches!(
            d.infer(&x, &mut out),
            Err(DriverError::Timeout { polls: 20, .. })
        ));
        assert_eq!(
            d.status().unwrap().0 & rm::STATUS_BUSY,
            0,
            "soft reset after the timeout"
        );
    }
    chip.stuck = false;
    let mut d = Tbn::probe(&mut chip).unwrap();
    d.load_model(&image(&prog, &target(32))).unwrap();
    let inf = d.infer(&x, &mut out).unwrap();
    assert_eq!(out, want);
    assert_eq!(inf.class, argmax(&want));
    // Per-layer cycle counters: the reference model reports the ideal cycles.
    let mut lc = [0u32; 2];
    d.layer_cycles(&mut lc).unwrap();
    assert!(lc.iter().all(|&c| c > 0));
    assert_eq!(d.cycles().unwrap(), lc.iter().sum::<u32>());
    assert!(d.layer_cycles(&mut [0u32; 3]).is_err());
}

/// A bus that hides the engine (CFG_FEATURES = 0): a version 1 style core.
struct NoEngine(RefChip);

impl Bus for NoEngine {
    fn read32(&mut self, addr: u32) -> Result<u32, BusError> {
        if addr == rm::CFG_FEATURES {
            return Ok(0);
        }
        self.0.read32(addr)
    }
    fn write32(&mut self, addr: u32, value: u32) -> Result<(), BusError> {
        self.0.write32(addr, value)
    }
}

#[test]
fn a_core_without_engine_is_reported() {
    let mut r = rng("a_core_without_engine_is_reported", 2);
    let prog = random_program(&mut r);
    let img = image(&prog, &target(32));
    let mut d = Tbn::probe(NoEngine(RefChip::new(target(32)))).unwrap();
    assert_eq!(
        d.load_model(&img),
        Err(DriverError::NoEngine { features: 0 })
    );
}

/// Random register traffic (any offset, any value, any order) never panics or
/// wedges the reference model: a soft reset and a fresh load always recover.
#[test]
fn random_register_traffic_then_recovery() {
    let mut r = rng("random_register_traffic_then_recovery", 17);
    let prog = random_program(&mut r);
    let t = target(32);
    let img = image(&prog, &t);
    let mut chip = RefChip::new(t);
    let hot = [
        rm::CTRL,
        rm::STATUS,
        rm::INPUT_BASE,
        rm::INPUT_BASE + 4,
        rm::IMAGE_BASE,
        rm::image_word_offset(1),
        rm::LOGITS_BASE,
        rm::CLASS,
        rm::LAYER_CYCLES_BASE,
    ];
    for round in 0..20 {
        for _ in 0..500 {
            let addr = if r.gen_bool(0.7) {
                hot[r.gen_range(0..hot.len())]
            } else {
                r.gen_range(0..rm::SPAN_BYTES / 4) * 4
            };
            let v: u32 = match r.gen_range(0..3) {
                0 => 1 << r.gen_range(0..12),
                1 => r.gen(),
                _ => img[r.gen_range(0..img.len())],
            };
            if r.gen_bool(0.5) {
                chip.write32(addr, v).unwrap();
            } else {
                chip.read32(addr).unwrap();
            }
        }
        let mut d = Tbn::probe(&mut chip).unwrap();
        d.load_model(&img)
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let x = random_input(
            &mut r,
            prog.input.shape[0],
            prog.input.bits,
            prog.input.signed,
        );
        let want = prog.run(&x).unwrap();
        let mut out = vec![0i64; want.len()];
        d.infer(&x, &mut out).unwrap();
        assert_eq!(out, want, "round {round}");
    }
}
