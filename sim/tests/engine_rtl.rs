//! The whole-network engine's Verilog (`tbn_hdl::net_core_verilog`, top
//! `tbn_net_core`) Verilated and driven by the real driver
//! (`tbn_driver::Tbn::load_model` / `infer`) over the Wishbone master of
//! this crate: the reference MNIST MLP at L = 32 (UP5K capacities, 32 Kbit
//! of weights; `TBN_ENGINE_LANES` for others) on `TBN_ENGINE_IMAGES` test images (default 3), logits and
//! class identical to the golden integer path, one INFER per image; cycles
//! per inference measured on the bus (link + compute) and from CYCLES.

use tbn_driver::driver::Tbn;
use tbn_golden::integer;
use tbn_hdl::netcore::net_target;
use tbn_hdl::{net_core_verilog, Config, NET_CORE_TOP};
use tbn_host::compile::program_image;
use tbn_sim::accel::{Accelerator, DriverBus, LinkKind, RegisterBus};
use tbn_sim::verilate::build_model_from_text;
use tbn_sim::BuildOptions;

#[test]
fn reference_mlp_through_the_verilated_engine_over_wishbone() {
    if !tbn_hdl::testbench::have_tool("verilator") {
        tbn_hdl::testbench::skip_missing_tool(format_args!("verilator not found on PATH"));
        return;
    }
    let images: usize = std::env::var("TBN_ENGINE_IMAGES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    // TBN_ENGINE_LANES="8,32,128" adds lane counts (one Verilator build each)
    let lanes: Vec<usize> = std::env::var("TBN_ENGINE_LANES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![32]);
    for l in lanes {
        run(l, images);
    }
}

fn run(lanes: usize, images: usize) {
    let cfg = Config {
        lanes,
        ..Config::up5k()
    };
    let weight_bits = 32768;
    let verilog = net_core_verilog(&cfg, weight_bits).expect("generate");
    let opts = BuildOptions {
        top: NET_CORE_TOP.into(),
        trace: false,
        ..BuildOptions::default()
    };
    let model = build_model_from_text(&[("tbn_net_core.v".into(), verilog.into_bytes())], &opts)
        .expect("verilate the engine");
    let dut = model.instantiate().expect("instantiate");
    let mut acc = Accelerator::new(
        dut,
        LinkKind::Wishbone {
            prefix: "wb_".into(),
        },
    )
    .expect("accelerator");

    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let (prog, test) =
        tbn_host::mnist::program_and_test_images(root, "data/reference/tbn_mnist_mlp_p4.json")
            .expect("MNIST program");
    let t = net_target(&cfg, weight_bits);
    let words = program_image(&prog, &t).expect("image").words().to_vec();

    let runner = prog.runner();
    let mut tbn = Tbn::probe(DriverBus(&mut acc)).expect("probe");
    let c0 = tbn.bus().0.dut().cycles();
    let info = tbn.load_model(&words).expect("load_model");
    let load_cycles = tbn.bus().0.dut().cycles() - c0;
    let (mut bus_cycles, mut compute) = (0u64, 0u64);
    for i in 0..images {
        let x = integer::mnist_input(test.image(i));
        let want = runner.run(&x).unwrap();
        let mut got = vec![0i64; want.len()];
        let before = tbn.bus().0.dut().cycles();
        let r = tbn.infer(&x, &mut got).expect("infer");
        bus_cycles = tbn.bus().0.dut().cycles() - before;
        compute = u64::from(RegisterBus::read32(tbn.bus().0, tbn_driver::regmap::CYCLES).unwrap());
        assert_eq!(got, want, "image {i}: logits");
        let best = want.iter().max().unwrap();
        assert_eq!(
            r.class as usize,
            want.iter().position(|v| v == best).unwrap(),
            "image {i}: class"
        );
    }
    println!(
        "reference MLP, L = {lanes}, Verilated tbn_net_core over Wishbone: {images} images bit-exact; \
         load {load_cycles} cycles ({} words); per inference {bus_cycles} cycles on the bus \
         (input, INFER, polls, CLASS, logits), {compute} compute cycles (CYCLES), ideal {}",
        info.image_words, info.ideal_cycles
    );
}

/// Random 2-3 stage programs (hidden relu / signed / sign, logits last,
/// uniform and per-row multipliers, biases, straddling rows) through the
/// Verilated engine at L = 32 with the driver, bit-exact with golden; seeds
/// printed (`TBN_ENGINE_PROGRAMS`, default 5).
#[test]
fn random_programs_through_the_verilated_engine() {
    use rand::SeedableRng;
    use tbn_host::random;
    if !tbn_hdl::testbench::have_tool("verilator") {
        tbn_hdl::testbench::skip_missing_tool(format_args!("verilator not found on PATH"));
        return;
    }
    let programs: u64 = std::env::var("TBN_ENGINE_PROGRAMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let cfg = Config::up5k();
    let weight_bits = 32768;
    let verilog = net_core_verilog(&cfg, weight_bits).expect("generate");
    let opts = BuildOptions {
        top: NET_CORE_TOP.into(),
        trace: false,
        ..BuildOptions::default()
    };
    let model = build_model_from_text(&[("tbn_net_core.v".into(), verilog.into_bytes())], &opts)
        .expect("verilate the engine");
    let mut acc = Accelerator::new(
        model.instantiate().expect("instantiate"),
        LinkKind::Wishbone {
            prefix: "wb_".into(),
        },
    )
    .expect("accelerator");
    let mut tbn = Tbn::probe(DriverBus(&mut acc)).expect("probe");
    let t = tbn.engine_target().expect("engine");
    for seed in 4000..4000 + programs {
        println!("seed {seed}");
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let prog = random::program(&mut r, &random::SMALL);
        let (n_in, in_bits, in_signed) = (prog.input.shape[0], prog.input.bits, prog.input.signed);
        let words = program_image(&prog, &t).expect("image").words().to_vec();
        let info = tbn.load_model(&words).expect("load_model");
        for _ in 0..2 {
            let x = random::input(&mut r, n_in, in_bits, in_signed);
            let want = prog.run(&x).unwrap();
            let mut got = vec![0i64; info.num_out as usize];
            tbn.infer(&x, &mut got).expect("infer");
            assert_eq!(got, want, "seed {seed}");
        }
    }
    println!("{programs} random programs bit-exact through the Verilated engine");
}
