//! The whole-network engine (`tbn_hdl::netcore::NetCore`), simulated cycle by
//! cycle (the blocks' Rust models), driven through its host port as the
//! register decode will drive it (one IMAGE or INPUT write every other
//! cycle, CTRL pulses, polling BUSY), bit-exact against the reference
//! executor (`tbn_driver::image::exec::Engine`) and the golden integer path
//! (`Program::run`): random multi-layer programs (2-4 dense stages, m not a
//! multiple of 32, q mostly not a multiple of m, p 1..8, A 1..8 signed and
//! unsigned, relu / signed / sign hidden layers, logits last, uniform and
//! per-row multipliers, biases) at L = 8, 32 and 128, seeds printed; one
//! START per inference; cycles against the ideal of docs/model-image.md
//! section 7; misuse codes against `RefChip`'s.
//!
//! `TBN_NET_PROGRAMS` sets the number of random programs per lane count
//! (default 4 in CI).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_driver::image::exec::Engine;
use tbn_driver::image::format::Target;
use tbn_driver::program::{AlignedBytes, Program as Compact};
use tbn_driver::regmap::ErrorCode;
use tbn_golden::integer::{self, Program, Stage};
use tbn_hdl::netcore::{net_target, net_target_mem, NetCore, NetMem};
use tbn_hdl::seq::{SEQ_NARROW, SEQ_WIDE};
use tbn_hdl::Config;
use tbn_host::compile::{compile, program_image};
use tbn_host::convert;
use tbn_host::random;

mod common;
use common::netdut::{argmax, Cyc, Dut, WEIGHT_BITS};

fn config(lanes: usize) -> Config {
    Config {
        lanes,
        tile_max: 16384,
        max_in: 256,
        max_rows: 128,
    }
}

/// A random program (sizes within [`config`]).
fn random_program(r: &mut ChaCha8Rng) -> Program {
    random::program(
        r,
        &random::Sizes {
            stages: 2..=4,
            max_in: 150,
            max_hidden: 90,
            max_out: 12,
            flatten: false,
        },
    )
}

fn image_words(prog: &Program, t: &Target) -> Vec<u32> {
    program_image(prog, t).expect("image").words().to_vec()
}

/// `programs` random programs, `inputs` inputs each, at lane count `L`.
fn random_programs<const L: usize, const W: usize>(programs: u64, inputs: usize, seed0: u64) {
    let cfg = config(L);
    let t = net_target(&cfg, WEIGHT_BITS);
    let (mut ideal_sum, mut measured_sum) = (0u64, 0u64);
    for seed in seed0..seed0 + programs {
        println!("L = {L}: seed {seed}");
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let prog = random_program(&mut r);
        let words = image_words(&prog, &t);
        let e = Engine::load(&words, &t).expect("reference load");
        if std::env::var("TBN_NET_DEBUG").is_ok() {
            for l in 0..e.header().num_layers as usize {
                println!(
                    "{:?}",
                    tbn_driver::image::format::Descriptor::decode(&words[16 + 16 * l..32 + 16 * l])
                );
            }
        }
        let mut dut = Dut::<L, W>::new(&cfg);
        dut.load(&words);
        assert!(
            dut.c.h_loaded.val(),
            "seed {seed}: loaded ({:?})",
            dut.code()
        );
        let ideal = e.cycle_model();
        let mut x: Vec<i32> = Vec::new();
        for k in 0..inputs {
            // the input is kept: some inferences reuse the previous one
            let rewrite = k == 0 || r.gen_bool(0.7);
            if rewrite {
                x = random::input(
                    &mut r,
                    prog.input.shape[0],
                    prog.input.bits,
                    prog.input.signed,
                );
            }
            let want = prog.run(&x).unwrap();
            if std::env::var("TBN_NET_DEBUG").is_ok() {
                let hs = prog.runner().run_stages(&x).unwrap();
                let mut xin: Vec<i32> = x.clone();
                for (st, h) in prog.dense_stages().zip(&hs) {
                    println!("stage acc {:?}", st.accumulators(&xin));
                    xin = h.iter().map(|&v| v as i32).collect();
                }
            }
            let got_ref = e.infer(&x).unwrap();
            assert_eq!(got_ref.logits, want, "seed {seed}: reference vs golden");
            if rewrite {
                dut.write_input(&x);
            }
            let (logits, class, cycles) = dut.infer(want.len(), 4 * ideal.total() + 2000);
            assert_eq!(logits, want, "seed {seed} L={L} input {k}: logits");
            assert_eq!(class, argmax(&want), "seed {seed} L={L} input {k}: class");
            ideal_sum += ideal.total();
            measured_sum += cycles;
            // once more on the same input, without rewriting it
            if k == 0 {
                let (again, _, _) = dut.infer(want.len(), 4 * ideal.total() + 2000);
                assert_eq!(again, want, "seed {seed}: input kept");
            }
        }
    }
    println!(
        "L = {L}: {programs} programs, cycles {measured_sum} vs ideal {ideal_sum}: ideal / measured = {:.3}",
        ideal_sum as f64 / measured_sum as f64
    );
}

fn count() -> u64 {
    std::env::var("TBN_NET_PROGRAMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4)
}

#[test]
fn random_programs_bit_exact_l8() {
    random_programs::<8, 32>(count(), 2, 1000);
}

#[test]
fn random_programs_bit_exact_l32() {
    random_programs::<32, 32>(count(), 2, 2000);
}

#[test]
fn random_programs_bit_exact_l128() {
    random_programs::<128, 128>(count(), 2, 3000);
}

/// Misuse: INFER without a model, corrupted images, START while busy, a soft
/// reset mid-inference, out-of-range input; none hangs, the codes are
/// RefChip's, and the engine recovers.
#[test]
fn misuse_codes_and_recovery() {
    let cfg = config(32);
    let t = net_target(&cfg, WEIGHT_BITS);
    let mut r = ChaCha8Rng::seed_from_u64(77);
    println!("seed 77");
    let prog = random_program(&mut r);
    let words = image_words(&prog, &t);
    let n_out = match prog.stages.last() {
        Some(Stage::Dense(d)) => d.geom.rows,
        _ => unreachable!(),
    };
    let mut dut = Dut::<32, 32>::new(&cfg);
    let clr = Cyc {
        clr_err: true,
        clr_done: true,
        ..Default::default()
    };
    // INFER and INPUT with no model
    dut.write(Cyc {
        infer: true,
        ..Default::default()
    });
    assert_eq!(dut.code(), Some(ErrorCode::NoModel as u32));
    assert!(!dut.busy());
    dut.write(clr);
    // corrupted images: magic, version, checksum; then the good one
    for (i, code) in [
        (0usize, ErrorCode::BadMagic),
        (1, ErrorCode::BadVersion),
        (40, ErrorCode::BadChecksum),
    ] {
        let mut w = words.clone();
        w[i] ^= if i == 1 { 0x0001_0000 } else { 4 };
        dut.load(&w);
        assert_eq!(dut.code(), Some(code as u32), "corrupted word {i}");
        assert!(!dut.c.h_loaded.val());
        dut.write(clr);
    }
    // a format-2 image (conv and max-pool layers; this engine has no
    // feature maps, CFG_FEATURES.CONV 0): BAD_VERSION, no model
    let conv = random::conv_program(&mut r, &random::CONV);
    let conv_words = image_words(&conv, &Target::map_limits(32));
    assert_eq!(
        conv_words[1],
        tbn_driver::image::format::VERSION_CONV,
        "format 2"
    );
    dut.load(&conv_words);
    assert_eq!(dut.code(), Some(ErrorCode::BadVersion as u32), "format 2");
    assert!(!dut.c.h_loaded.val());
    dut.write(clr);
    // an image for other lanes does not fit
    let other = image_words(&prog, &net_target(&config(8), WEIGHT_BITS));
    dut.load(&other);
    assert_eq!(dut.code(), Some(ErrorCode::ImageFit as u32));
    dut.write(clr);
    dut.load(&words);
    assert!(dut.c.h_loaded.val());
    let x = random::input(
        &mut r,
        prog.input.shape[0],
        prog.input.bits,
        prog.input.signed,
    );
    let want = prog.run(&x).unwrap();
    dut.write_input(&x);
    // START while busy, INPUT and IMAGE while busy
    dut.write(Cyc {
        infer: true,
        ..Default::default()
    });
    assert!(dut.busy());
    dut.write(Cyc {
        infer: true,
        ..Default::default()
    });
    assert_eq!(dut.code(), Some(ErrorCode::StartWhileBusy as u32));
    dut.write(Cyc {
        input: Some((0, 0)),
        ..Default::default()
    });
    assert_eq!(
        dut.code(),
        Some(ErrorCode::StartWhileBusy as u32),
        "first error kept"
    );
    dut.wait_idle(100_000);
    assert!(dut.c.h_done.val());
    dut.write(clr);
    // soft reset mid-inference: ABORTED, BUSY 0 at once, the model stays
    dut.write(Cyc {
        infer: true,
        ..Default::default()
    });
    for _ in 0..50 {
        dut.step(Cyc::default());
    }
    assert!(dut.busy());
    dut.step(Cyc {
        soft_reset: true,
        ..Default::default()
    });
    dut.step(Cyc::default());
    assert!(!dut.busy(), "BUSY falls after a soft reset");
    assert_eq!(dut.code(), Some(ErrorCode::Aborted as u32));
    assert!(dut.c.h_loaded.val(), "the model stays loaded");
    dut.write(clr);
    for _ in 0..20 {
        dut.step(Cyc::default());
    }
    // out-of-range input (only when the format has spare codes)
    if prog.input.bits < 8 {
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
    }
    // recovery: the same inference, bit-exact
    dut.write_input(&x);
    let (got, class, _) = dut.infer(n_out, 100_000);
    assert_eq!(got, want);
    assert_eq!(class, argmax(&want));
    // LOAD_BEGIN drops the model
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

/// The emitted Verilog of the engine (Icarus) in lockstep with its Rust model
/// over a load, two inferences (one reusing the input), a corrupted load and
/// a soft reset mid-inference, at L = 8 and 32.
#[test]
fn engine_verilog_in_lockstep() {
    if !tbn_hdl::testbench::have_tool("iverilog") {
        tbn_hdl::testbench::skip_missing_tool(format_args!("iverilog not found on PATH"));
        return;
    }
    lockstep_run::<8, 32, SEQ_NARROW>(11, &config(8), &NetMem::new(&config(8), WEIGHT_BITS));
    lockstep_run::<32, 32, SEQ_NARROW>(12, &config(32), &NetMem::new(&config(32), WEIGHT_BITS));
}

/// The UP5K memories ([`NetMem::up5k`]: the tile section in single-port
/// banks of 16,384 words (SPRAM), alpha pair memory, V = 52, 256 logits)
/// in Verilog under Icarus in lockstep with the model, as
/// [`engine_verilog_in_lockstep`].
#[test]
fn up5k_memories_verilog_in_lockstep() {
    if !tbn_hdl::testbench::have_tool("iverilog") {
        tbn_hdl::testbench::skip_missing_tool(format_args!("iverilog not found on PATH"));
        return;
    }
    let cfg = Config::up5k_engine();
    lockstep_run::<32, 32, SEQ_WIDE>(13, &cfg, &NetMem::up5k(&cfg));
}

fn lockstep_run<const L: usize, const W: usize, const N: usize>(
    seed: u64,
    cfg: &Config,
    mem: &NetMem,
) where
    NetCore<L, W, N>: tbn_hdl::rtlsim::Lockstep,
{
    println!("L = {L}: seed {seed}, {mem:?}");
    let t = net_target_mem(cfg, mem);
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    // a small program keeps the Icarus run short
    let prog = loop {
        let p = random_program(&mut r);
        let small = p.dense_stages().all(|d| d.geom.q <= 2000);
        if small {
            break p;
        }
    };
    let words = image_words(&prog, &t);
    let n_out = prog.dense_stages().last().unwrap().geom.rows;
    let mut dut = Dut::<L, W, N>::with_mem(cfg, mem);
    dut.record = Some(Vec::new());
    dut.load(&words);
    let x = random::input(
        &mut r,
        prog.input.shape[0],
        prog.input.bits,
        prog.input.signed,
    );
    let want = prog.run(&x).unwrap();
    dut.write_input(&x);
    let (got, _, _) = dut.infer(n_out, 200_000);
    assert_eq!(got, want);
    let (got, _, _) = dut.infer(n_out, 200_000);
    assert_eq!(got, want);
    dut.abort_reload_and_lockstep(prog.dense_stages().count(), 40, &words, 20, || {
        NetCore::<L, W, N>::with_mem(cfg, mem)
    });
}

fn mnist_program(path: &str) -> (Program, tbn_golden::idx::Images) {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    tbn_host::mnist::program_and_test_images(root, path).expect("MNIST program")
}

/// MNIST MLPs through the engine: `TBN_NET_IMAGES` test images (default 3)
/// per lane count, logits and class equal to the golden integer path, one
/// INFER each; cycles against the ideal.
fn mnist_mlp<const L: usize, const W: usize>(path: &str) {
    let cfg = Config {
        lanes: L,
        tile_max: 32768,
        max_in: 1024,
        max_rows: 256,
    };
    mnist_mlp_seq::<L, W, SEQ_NARROW>(path, &cfg, &NetMem::new(&cfg, 32768));
}

fn mnist_mlp_seq<const L: usize, const W: usize, const N: usize>(
    path: &str,
    cfg: &Config,
    mem: &NetMem,
) {
    let images: usize = std::env::var("TBN_NET_IMAGES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let t = net_target_mem(cfg, mem);
    let (prog, test) = mnist_program(path);
    let words = image_words(&prog, &t);
    let e = Engine::load(&words, &t).expect("reference load");
    let ideal = e.cycle_model();
    let mut dut = Dut::<L, W, N>::with_mem(cfg, mem);
    dut.load(&words);
    assert!(dut.c.h_loaded.val(), "loaded ({:?})", dut.code());
    let runner = prog.runner();
    let mut measured = 0;
    for i in 0..images {
        let x = integer::mnist_input(test.image(i));
        let want = runner.run(&x).unwrap();
        dut.write_input(&x);
        let (got, class, cycles) = dut.infer(want.len(), 4 * ideal.total() + 2000);
        assert_eq!(got, want, "{path} image {i} L={L}");
        assert_eq!(class, argmax(&want), "{path} image {i} L={L}");
        measured = cycles;
    }
    let per_layer = dut.layer_cycles(ideal.per_layer.len());
    println!(
        "{path} L={L}: {images} images bit-exact; cycles per inference {measured} (layers {per_layer:?}), ideal {} (layers {:?}): ideal / measured = {:.4}",
        ideal.total(),
        ideal.per_layer,
        ideal.total() as f64 / measured as f64
    );
    assert!(ideal.total() as f64 / measured as f64 >= 0.90, "cycle goal");
}

#[test]
fn reference_mlp_bit_exact() {
    mnist_mlp::<8, 32>("data/reference/tbn_mnist_mlp_p4.json");
    mnist_mlp::<32, 32>("data/reference/tbn_mnist_mlp_p4.json");
    mnist_mlp::<128, 128>("data/reference/tbn_mnist_mlp_p4.json");
}

#[test]
fn trained_mlp_bit_exact() {
    mnist_mlp::<32, 32>("data/models/mlp_784_128_10_p4.json");
}

/// The UP5K memories ([`NetMem::up5k`] with [`Config::up5k`]): their
/// capacities, and the reference and trained MLPs resident and bit-exact.
#[test]
fn up5k_memories_mlps_bit_exact() {
    let cfg = Config::up5k_engine();
    let mem = NetMem::up5k(&cfg);
    mem.validate(&cfg).expect("valid");
    let t = net_target_mem(&cfg, &mem);
    // 1 Mbit of tiles in the four SPRAMs (two banks of 16,384 words)
    assert_eq!(t.weight_words, 32768);
    assert_eq!(
        (t.const_words, t.max_layers, t.max_logits, t.v_bits),
        (1024, 16, 256, 52)
    );
    mnist_mlp_seq::<32, 32, SEQ_WIDE>("data/reference/tbn_mnist_mlp_p4.json", &cfg, &mem);
    mnist_mlp_seq::<32, 32, SEQ_WIDE>("data/models/mlp_784_128_10_p4.json", &cfg, &mem);
}

/// Random programs on the UP5K memories (V = 52: programs whose `v` needs
/// more bits are refused by the compiler for this target and skipped;
/// seeds 4000+).
#[test]
fn up5k_memories_random_programs_bit_exact() {
    let cfg = Config::up5k_engine();
    let mem = NetMem::up5k(&cfg);
    let t = net_target_mem(&cfg, &mem);
    let (mut ran, mut skipped) = (0, 0);
    for seed in 4000..4000 + count() {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        let prog = random_program(&mut r);
        let bytes = AlignedBytes::new(&convert::program_bytes(&prog, None).expect("encode"));
        let compact = Compact::parse(bytes.as_bytes()).expect("parse");
        let words = match compile(&compact, &t) {
            Ok(img) => img.words().to_vec(),
            Err(e) => {
                println!("seed {seed}: not for this target ({e})");
                skipped += 1;
                continue;
            }
        };
        println!("UP5K memories: seed {seed}");
        let mut dut = Dut::<32, 32, SEQ_WIDE>::with_mem(&cfg, &mem);
        dut.load(&words);
        assert!(
            dut.c.h_loaded.val(),
            "seed {seed}: loaded ({:?})",
            dut.code()
        );
        let e = Engine::load(&words, &t).expect("reference load");
        for _ in 0..2 {
            let x = random::input(
                &mut r,
                prog.input.shape[0],
                prog.input.bits,
                prog.input.signed,
            );
            let want = prog.run(&x).unwrap();
            dut.write_input(&x);
            let (logits, class, _) = dut.infer(want.len(), 4 * e.cycle_model().total() + 2000);
            assert_eq!(logits, want, "seed {seed}: logits");
            assert_eq!(class, argmax(&want), "seed {seed}: class");
        }
        ran += 1;
    }
    println!("UP5K memories: {ran} programs bit-exact, {skipped} skipped");
    assert!(ran > 0, "no program fits V = 52");
}

/// What the UP5K configuration lacks for the LFC-size 2-bit MLP with a
/// batch-norm per channel (784-1024-1024-1024-10, p = 8; issue 14 item 4):
/// every capacity its image exceeds (the image compiled at the register
/// map's limits, then the configuration's first misfit raised to what the
/// image needs, until none is left). Its tiles (11,652 words) fit the
/// SPRAMs and its layers' tiles (q = 131,072 bits) TILE_MAX; its per-row
/// records (3,082 rows) exceed the constants memory.
#[test]
fn lfc_size_mlp_with_per_row_records_exceeds_up5k_constants() {
    use tbn_driver::image::format::{Header, Limit};
    let cfg = Config::up5k_engine();
    let mem = NetMem::up5k(&cfg);
    let mut t = net_target_mem(&cfg, &mem);
    let (prog, _) = mnist_program("data/models/mlp_784_1024_1024_1024_10_p8_w1a2.json");
    let img = program_image(&prog, &Target::map_limits(32)).expect("image at the map's limits");
    let h = Header::decode(&img.words()[..16]);
    let mut misfits = Vec::new();
    while let Some(m) = t.misfit(&h) {
        misfits.push((m.what, m.need, m.limit));
        *t.limit_mut(m.what) = m.need;
    }
    println!(
        "LFC-size MLP on the UP5K configuration: {misfits:?}; tiles {} words",
        h.tile_words
    );
    assert!(h.tile_words <= net_target_mem(&cfg, &mem).weight_words);
    assert_eq!(misfits, [(Limit::ConstWords, h.const_words, 1024)]);
}

/// The LFC-size 2-bit MLPs that the UP5K configuration holds (issue 14 item
/// 4): p = 8 and 16 with a uniform batch-norm (`tbn train --uniform-bn`), so
/// each hidden layer has one requantization record and the constants fit;
/// the p = 8 tiles fill 11,652 of the SPRAMs' 32,768 words. Test images
/// (`TBN_NET_IMAGES`, default 3) bit-exact on [`Config::up5k_engine`] with
/// [`NetMem::up5k`], one INFER each, and the cycles against the ideal.
#[test]
fn lfc_size_mlps_uniform_bn_bit_exact_on_up5k() {
    use tbn_driver::image::format::Header;
    let cfg = Config::up5k_engine();
    let mem = NetMem::up5k(&cfg);
    let t = net_target_mem(&cfg, &mem);
    for p in [8, 16] {
        let path = format!("data/models/mlp_784_1024_1024_1024_10_p{p}_w1a2_ubn.json");
        let (prog, _) = mnist_program(&path);
        let h = Header::decode(&image_words(&prog, &t)[..16]);
        println!(
            "{path} on the UP5K configuration: {} tile words of {}, {} constants words of {}",
            h.tile_words, t.weight_words, h.const_words, t.const_words
        );
        assert_eq!(t.misfit(&h), None);
        mnist_mlp_seq::<32, 32, SEQ_WIDE>(&path, &cfg, &mem);
    }
}

/// The LFC-size 2-bit MLPs with per-row records (issue 14) on the engine RTL
/// in a configuration that holds them (not the UP5K's, see above): the wide
/// row sequencer (TILE_MAX 131,072), 512 Kbit of weights, 16,384 constants words; test
/// images (`TBN_NET_IMAGES`, default 3) bit-exact, one INFER each, and the
/// cycles against the ideal.
#[test]
fn lfc_size_mlps_bit_exact_on_a_configuration_that_holds_them() {
    let cfg = Config {
        lanes: 32,
        tile_max: 131_072,
        max_in: 1024,
        max_rows: 256,
    };
    let mem = NetMem {
        const_words: 16_384,
        ..NetMem::new(&cfg, 1 << 19)
    };
    mem.validate(&cfg).expect("valid");
    for p in [8, 16] {
        mnist_mlp_seq::<32, 32, SEQ_WIDE>(
            &format!("data/models/mlp_784_1024_1024_1024_10_p{p}_w1a2.json"),
            &cfg,
            &mem,
        );
    }
}
