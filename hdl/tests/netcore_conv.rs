//! Format-2 models (conv2d and max-pool layers, docs/model-image.md section
//! 9) on the whole-network engine (`NetCore` with feature maps,
//! `NetMem::with_maps`), simulated cycle by cycle and driven through its host
//! port, bit-exact against the golden integer path (`Program::run`) and the
//! reference executor: random conv programs (`tbn_host::random::conv_program`
//! with `random::CONV`: C_in 1..16, C_out 1..64, kernels 1..5, stride 1..2,
//! padding 0..2, non-square inputs, A = 1..8 signed and unsigned, straddling
//! tiles, max-pool 2/2 and 3/2) at L = 8, 32 and 128, seeds printed; the
//! trained CNN on MNIST test images; cycles per layer against the lane-bound
//! ideal.
//!
//! `TBN_CONV_PROGRAMS` sets the number of random programs per lane count
//! (default 3), `TBN_CONV_IMAGES` the number of MNIST images (default 1).

mod common;

use common::netdut::{argmax, Cyc, Dut, WEIGHT_BITS};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tbn_driver::image::exec::Engine;
use tbn_driver::image::format::Target;
use tbn_driver::regmap::ErrorCode;
use tbn_golden::integer::{Program, Stage};
use tbn_hdl::netcore::{net_target_mem, NetMem};
use tbn_hdl::seq::SEQ_WIDE;
use tbn_hdl::Config;
use tbn_host::compile::program_image;
use tbn_host::random;

/// Feature-map region of the test engines (CFG_MAX_FMAP).
const FMAP: u32 = 32768;

/// Capacities that hold every program `random::CONV` draws (a dense layer
/// after a flattened map has up to about 8,000 inputs; the trained CNN's fc1
/// a tile of 50,176 bits): the wide row sequencer.
fn config(lanes: usize) -> Config {
    Config {
        lanes,
        tile_max: 131_072,
        max_in: 16384,
        max_rows: 128,
    }
}

fn mem(cfg: &Config) -> NetMem {
    NetMem::new(cfg, cfg.tile_max.max(WEIGHT_BITS)).with_maps(FMAP)
}

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Whether a drawn program has a conv or max-pool layer (the generator may
/// fit none to a small input).
fn has_maps(prog: &Program) -> bool {
    prog.stages
        .iter()
        .any(|s| matches!(s, Stage::MaxPool { .. }))
        || prog.dense_stages().any(|d| d.conv.is_some())
}

/// Loads `prog` on a fresh engine and runs `inputs` through it; returns the
/// cycles of the inferences and the reference's ideal.
fn run_program<const L: usize, const W: usize>(
    prog: &Program,
    inputs: &[Vec<i32>],
    what: &str,
) -> (u64, u64) {
    let cfg = config(L);
    let m = mem(&cfg);
    let t: Target = net_target_mem(&cfg, &m);
    let img = program_image(prog, &t).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(img.header().is_conv(), "{what}: format 2");
    let words = img.words().to_vec();
    let e = Engine::load(&words, &t).unwrap_or_else(|e| panic!("{what}: {e}"));
    let ideal = e.cycle_model().total();
    let mut dut = Dut::<L, W, SEQ_WIDE>::with_mem(&cfg, &m);
    dut.load(&words);
    assert!(dut.c.h_loaded.val(), "{what}: loaded ({:?})", dut.code());
    let mut cycles = 0;
    for (k, x) in inputs.iter().enumerate() {
        let want = prog.run(x).unwrap();
        assert_eq!(e.infer(x).unwrap().logits, want, "{what}: reference");
        dut.write_input(x);
        let (logits, class, c) = dut.infer(want.len(), 8 * ideal + 200_000);
        assert_eq!(logits, want, "{what} L={L} input {k}: logits");
        assert_eq!(class, argmax(&want), "{what} L={L} input {k}: class");
        cycles += c;
    }
    (cycles, ideal * inputs.len() as u64)
}

fn random_conv_programs<const L: usize, const W: usize>(seed0: u64) {
    let n = env_count("TBN_CONV_PROGRAMS", 3);
    let (mut done, mut seed) = (0, seed0);
    let (mut measured, mut ideal) = (0, 0);
    while done < n {
        println!("L = {L}: seed {seed}");
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let prog = random::conv_program(&mut r, &random::CONV);
        seed += 1;
        if !has_maps(&prog) {
            continue;
        }
        let n_in: usize = prog.input.shape.iter().product();
        let inputs: Vec<Vec<i32>> = (0..2)
            .map(|_| random::input(&mut r, n_in, prog.input.bits, prog.input.signed))
            .collect();
        let (c, i) = run_program::<L, W>(&prog, &inputs, &format!("seed {}", seed - 1));
        measured += c;
        ideal += i;
        done += 1;
    }
    println!(
        "L = {L}: {n} conv programs, cycles {measured} vs ideal {ideal}: ideal / measured = {:.3}",
        ideal as f64 / measured.max(1) as f64
    );
}

#[test]
fn random_conv_programs_bit_exact_l8() {
    random_conv_programs::<8, 32>(5000);
}

#[test]
fn random_conv_programs_bit_exact_l32() {
    random_conv_programs::<32, 32>(6000);
}

#[test]
fn random_conv_programs_bit_exact_l128() {
    random_conv_programs::<128, 128>(7000);
}

/// The trained CNN (`cnn_16c3_p2_32c3_p2_fc128_10_p4`: conv 16 3x3 pad 1,
/// max-pool 2/2, conv 32 3x3 pad 1, max-pool 2/2 (then the 1x1 permute),
/// fc 1568-128, fc 128-10) on `TBN_CONV_IMAGES` MNIST test images
/// (default one) at L = 32: logits and class equal to the golden integer
/// path; cycles per layer against the lane-bound ideal.
#[test]
fn trained_cnn_bit_exact_l32() {
    let images = env_count("TBN_CONV_IMAGES", 1) as usize;
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let (prog, test) = tbn_host::mnist::program_and_test_images(
        root,
        "data/models/cnn_16c3_p2_32c3_p2_fc128_10_p4.json",
    )
    .expect("the trained CNN");
    // the configuration synthesized for the ECP5-25K (docs/hdl.md)
    let cfg = Config::conv_engine();
    let m = NetMem::conv_engine(&cfg);
    let t = net_target_mem(&cfg, &m);
    let img = program_image(&prog, &t).expect("image");
    let e = Engine::load(img.words(), &t).expect("reference load");
    let ideal = e.cycle_model();
    let mut dut = Dut::<32, 32, SEQ_WIDE>::with_mem(&cfg, &m);
    dut.load(img.words());
    assert!(dut.c.h_loaded.val(), "loaded ({:?})", dut.code());
    let runner = prog.runner();
    let mut measured = 0;
    for i in 0..images {
        let x = tbn_golden::integer::mnist_input(test.image(i));
        let want = runner.run(&x).unwrap();
        dut.write_input(&x);
        let (got, class, cycles) = dut.infer(want.len(), 4 * ideal.total() + 100_000);
        assert_eq!(got, want, "image {i}: logits");
        assert_eq!(class, argmax(&want), "image {i}: class");
        measured = cycles;
    }
    let per_layer = dut.layer_cycles(ideal.per_layer.len());
    let ratios: Vec<String> = ideal
        .per_layer
        .iter()
        .zip(&per_layer)
        .map(|(i, m)| format!("{:.3}", *i as f64 / *m as f64))
        .collect();
    println!(
        "trained CNN L=32: {images} images bit-exact; cycles per inference {measured} (layers {per_layer:?}), ideal {} (layers {:?}); ideal / measured per layer {ratios:?}, total {:.3}",
        ideal.total(),
        ideal.per_layer,
        ideal.total() as f64 / measured as f64
    );
}

/// The engine's Verilog (format 2 capable) under Icarus in lockstep with its
/// model over a small conv program: load, two inferences (the second on the
/// kept input), a soft reset mid-inference and a corrupted load.
fn conv_lockstep<const L: usize, const W: usize>(seed0: u64)
where
    tbn_hdl::netcore::NetCore<L, W, { tbn_hdl::seq::SEQ_NARROW }>: tbn_hdl::rtlsim::Lockstep,
{
    let cfg = Config {
        tile_max: 16384,
        max_in: 512,
        ..config(L)
    };
    let m = NetMem::new(&cfg, 1 << 14).with_maps(1024);
    let t = net_target_mem(&cfg, &m);
    // a small program keeps the Icarus run short
    let (prog, seed) = (seed0..)
        .map(|s| {
            let mut r = ChaCha8Rng::seed_from_u64(s);
            (random::conv_program(&mut r, &random::CONV), s)
        })
        .find(|(p, _)| {
            has_maps(p)
                && program_image(p, &t).is_ok_and(|img| {
                    Engine::load(img.words(), &t).is_ok_and(|e| e.cycle_model().total() < 6_000)
                })
        })
        .expect("a small conv program");
    println!("L = {L}: seed {seed}");
    let words = program_image(&prog, &t).unwrap().words().to_vec();
    let mut r = ChaCha8Rng::seed_from_u64(seed ^ 0xC0);
    let n_in: usize = prog.input.shape.iter().product();
    let x = random::input(&mut r, n_in, prog.input.bits, prog.input.signed);
    let want = prog.run(&x).unwrap();
    let mut dut = Dut::<L, W>::with_mem(&cfg, &m);
    dut.record = Some(Vec::new());
    dut.load(&words);
    dut.write_input(&x);
    for _ in 0..2 {
        let (got, _, _) = dut.infer(want.len(), 200_000);
        assert_eq!(got, want, "seed {seed}");
    }
    dut.abort_reload_and_lockstep(prog.stages.len(), 300, &words, 40, || {
        tbn_hdl::netcore::NetCore::<L, W, { tbn_hdl::seq::SEQ_NARROW }>::with_mem(&cfg, &m)
    });
}

#[test]
fn conv_engine_verilog_in_lockstep() {
    conv_lockstep::<8, 32>(8000);
    conv_lockstep::<32, 32>(8100);
}

/// Misuse during format-2 inferences, codes as RefChip's: a soft reset in
/// the middle of each part of a conv layer (the walker's setup, the position
/// pipeline, a max-pool) gives ABORTED with BUSY 0 at once and the model
/// kept, and the next inference is bit-exact; INFER while busy keeps the
/// first error; an out-of-range input byte is refused with INPUT_RANGE; a
/// second model loaded over the first runs bit-exact; LOAD_BEGIN drops it.
#[test]
fn conv_misuse_codes_and_recovery() {
    let cfg = config(32);
    let m = mem(&cfg);
    let t = net_target_mem(&cfg, &m);
    let mut r = ChaCha8Rng::seed_from_u64(9000);
    let mut progs = Vec::new();
    let mut seed = 9000;
    while progs.len() < 2 {
        let mut rr = ChaCha8Rng::seed_from_u64(seed);
        let p = random::conv_program(&mut rr, &random::CONV);
        // a max-pool and inputs with spare codes (for INPUT_RANGE)
        if p.stages.iter().any(|s| matches!(s, Stage::MaxPool { .. })) && p.input.bits < 8 {
            println!("seed {seed}");
            progs.push(p);
        }
        seed += 1;
    }
    let mut dut = Dut::<32, 32, SEQ_WIDE>::with_mem(&cfg, &m);
    let clr = Cyc {
        clr_err: true,
        clr_done: true,
        ..Default::default()
    };
    for prog in &progs {
        let img = program_image(prog, &t).expect("image");
        let ideal = Engine::load(img.words(), &t).unwrap().cycle_model().total();
        dut.load(img.words());
        assert!(dut.c.h_loaded.val(), "loaded ({:?})", dut.code());
        let n_in: usize = prog.input.shape.iter().product();
        let x = random::input(&mut r, n_in, prog.input.bits, prog.input.signed);
        let want = prog.run(&x).unwrap();
        dut.write_input(&x);
        let (got, _, _) = dut.infer(want.len(), 8 * ideal + 200_000);
        assert_eq!(got, want, "first inference");
        // soft resets at several points of the inference
        for at in [30, 200, ideal / 3, ideal * 2 / 3] {
            dut.write(Cyc {
                infer: true,
                ..Default::default()
            });
            for _ in 0..at {
                dut.step(Cyc::default());
            }
            assert!(dut.busy(), "still running after {at} cycles");
            if at == 30 {
                dut.write(Cyc {
                    infer: true,
                    ..Default::default()
                });
                assert_eq!(dut.code(), Some(ErrorCode::StartWhileBusy as u32));
            }
            dut.step(Cyc {
                soft_reset: true,
                ..Default::default()
            });
            dut.step(Cyc::default());
            assert!(!dut.busy(), "BUSY falls after a soft reset");
            assert_eq!(dut.code(), Some(ErrorCode::Aborted as u32), "at {at}");
            assert!(dut.c.h_loaded.val(), "the model stays loaded");
            dut.write(clr);
            for _ in 0..20 {
                dut.step(Cyc::default());
            }
            // the input survives a soft reset: the same inference, bit-exact
            let (got, _, _) = dut.infer(want.len(), 8 * ideal + 200_000);
            assert_eq!(got, want, "after a soft reset at {at}");
        }
        // an out-of-range input byte
        let bad = if prog.input.signed { 0x7F } else { 0xFF };
        dut.write(Cyc {
            input: Some((0, bad)),
            ..Default::default()
        });
        dut.write(Cyc {
            infer: true,
            ..Default::default()
        });
        assert_eq!(dut.code(), Some(ErrorCode::InputRange as u32));
        assert!(!dut.busy());
        dut.write(clr);
        dut.write_input(&x);
        let (got, class, _) = dut.infer(want.len(), 8 * ideal + 200_000);
        assert_eq!(got, want, "after INPUT_RANGE");
        assert_eq!(class, argmax(&want));
    }
    dut.write(Cyc {
        load_begin: true,
        ..Default::default()
    });
    assert!(!dut.c.h_loaded.val());
    dut.write(Cyc {
        infer: true,
        ..Default::default()
    });
    assert_eq!(dut.code(), Some(ErrorCode::NoModel as u32));
}
