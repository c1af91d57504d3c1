//! The whole-network engine's standalone SPI top (`tbn_hdl::net_spi_top_verilog`,
//! top `tbn_net_spi_top`: power-on reset, SPI-to-Wishbone bridge, engine)
//! Verilated (`tbn_sim::hw::open_net_spi_top`) and driven by the real driver
//! (`tbn_driver::Tbn::load_model` / `infer`) through the bit-level SPI
//! master of this crate, SCK and the system clock independent (random phase
//! per frame), bursts of at most the driver's `SPI_MAX_BURST_WORDS` words:
//!
//! - the reference MNIST MLP and the trained MLP
//!   (data/models/mlp_784_128_10_p4.json) at L = 32 (20 test images), 8 and
//!   128 (5 each; `TBN_ENGINE_SPI_IMAGES` overrides all three, e.g. 500):
//!   logits and class identical to the golden integer path, one INFER per
//!   image; single-line and quad (QWRITE) writes alternate by image, the
//!   reference model loads on one line and the trained one with quad frames;
//!   SCK and clk cycles per inference printed;
//! - random programs (`tbn_host::random`) at L = 32, at f_sck = f_clk on one
//!   line and at f_sck = 0.71 f_clk with quad writes (`TBN_ENGINE_SPI_PROGRAMS`,
//!   default 3 each; seeds printed).

use tbn_driver::driver::Tbn;
use tbn_golden::integer;
use tbn_host::compile::program_image;
use tbn_sim::accel::{Accelerator, DriverBus};
use tbn_sim::spi::SpiClocks;
use tbn_sim::{hw, BuildOptions, Link};

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

fn have_verilator() -> bool {
    if tbn_hdl::testbench::have_tool("verilator") {
        return true;
    }
    tbn_hdl::testbench::skip_missing_tool(format_args!("verilator not found on PATH"));
    false
}

fn opts() -> BuildOptions {
    BuildOptions {
        trace: false,
        ..BuildOptions::default()
    }
}

/// SCK cycles and simulated clk cycles so far.
fn counters(acc: &mut Accelerator) -> (u64, u64) {
    let clk = acc.dut().cycles();
    match acc.link() {
        Link::Spi(s) => (s.sck_cycles, clk),
        _ => panic!("not an SPI link"),
    }
}

fn set_quad(acc: &mut Accelerator, quad: bool) {
    if let Link::Spi(s) = acc.link() {
        s.quad_writes = quad;
    }
}

fn image_words(prog: &integer::Program, t: &tbn_driver::image::format::Target) -> Vec<u32> {
    program_image(prog, t).expect("image").words().to_vec()
}

#[derive(Default)]
struct Per {
    n: u64,
    sck: u64,
    clk: u64,
}

impl Per {
    fn avg(&self) -> (f64, f64) {
        let n = self.n.max(1) as f64;
        (self.sck as f64 / n, self.clk as f64 / n)
    }
}

/// One MLP through the top: load (quad frames when `load_quad`), `images`
/// test images, bit-exact, one INFER each; single-line and quad writes
/// alternate by image.
fn run_mlp(acc: &mut Accelerator, lanes: usize, path: &str, images: usize, load_quad: bool) {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let (prog, test) = tbn_host::mnist::program_and_test_images(root, path).expect("program");
    let runner = prog.runner();
    set_quad(acc, load_quad);
    let mut tbn = Tbn::probe(DriverBus(acc)).expect("probe over SPI");
    let t = tbn.engine_target().expect("the top reports an engine");
    let words = image_words(&prog, &t);
    let (s0, c0) = counters(tbn.bus().0);
    let info = tbn.load_model(&words).expect("load_model over SPI");
    let (s1, c1) = counters(tbn.bus().0);
    let count0 = tbn.job_count().expect("JOB_COUNT");
    let (mut one, mut quad) = (Per::default(), Per::default());
    let mut compute = 0;
    for i in 0..images {
        let q = i % 2 == 1;
        set_quad(tbn.bus().0, q);
        let x = integer::mnist_input(test.image(i));
        let want = runner.run(&x).unwrap();
        let mut got = vec![0i64; want.len()];
        let (a0, b0) = counters(tbn.bus().0);
        let r = tbn.infer(&x, &mut got).expect("infer over SPI");
        let (a1, b1) = counters(tbn.bus().0);
        let per = if q { &mut quad } else { &mut one };
        per.n += 1;
        per.sck += a1 - a0;
        per.clk += b1 - b0;
        assert_eq!(got, want, "{path} L = {lanes} image {i} (quad {q}): logits");
        let best = want.iter().max().unwrap();
        assert_eq!(
            r.class as usize,
            want.iter().position(|v| v == best).unwrap(),
            "{path} L = {lanes} image {i}: class"
        );
        assert_eq!(
            tbn.job_count().unwrap().wrapping_sub(count0),
            i as u32 + 1,
            "one INFER per image"
        );
        compute = tbn.cycles().unwrap();
    }
    let (so, co) = one.avg();
    let (sq, cq) = quad.avg();
    println!(
        "{path}, L = {lanes}, Verilated tbn_net_spi_top at f_sck = f_clk: {images} images bit-exact, \
         1 INFER each; load {} words in {} SCK / {} clk ({}); per inference: one line {so:.0} SCK, \
         {co:.0} clk; quad writes {sq:.0} SCK, {cq:.0} clk; compute {compute} cycles (ideal {})",
        info.image_words,
        s1 - s0,
        c1 - c0,
        if load_quad { "quad" } else { "one line" },
        info.ideal_cycles
    );
}

#[test]
fn mlps_through_the_engine_spi_top() {
    if !have_verilator() {
        return;
    }
    let images = env_usize("TBN_ENGINE_SPI_IMAGES");
    for (lanes, n) in [(32, 20), (8, 5), (128, 5)] {
        let n = images.unwrap_or(n);
        let mut acc = hw::open_net_spi_top(&hw::config_for_lanes(lanes), &opts())
            .expect("build the engine's SPI top");
        run_mlp(
            &mut acc,
            lanes,
            "data/reference/tbn_mnist_mlp_p4.json",
            n,
            false,
        );
        run_mlp(
            &mut acc,
            lanes,
            "data/models/mlp_784_128_10_p4.json",
            n,
            true,
        );
    }
}

/// Random 2-3 stage programs (hidden relu / signed / sign, logits last)
/// through the top at L = 32, two inputs each, bit-exact with golden.
#[test]
fn random_programs_through_the_engine_spi_top() {
    use rand::SeedableRng;
    use tbn_host::random;
    if !have_verilator() {
        return;
    }
    let programs = env_usize("TBN_ENGINE_SPI_PROGRAMS").unwrap_or(3) as u64;
    let cfg = hw::config_for_lanes(32);
    for (k, (ratio, quad)) in [(1.0, false), (0.71, true)].into_iter().enumerate() {
        let clocks = SpiClocks::ratio(ratio, hw::SPI_PHASE_SEED + k as u64);
        let mut acc = hw::open_net_spi_top_at(&cfg, &hw::default_net_mem(&cfg), &opts(), clocks)
            .expect("open");
        set_quad(&mut acc, quad);
        let mut tbn = Tbn::probe(DriverBus(&mut acc)).expect("probe");
        let t = tbn.engine_target().expect("engine");
        let first = 4100 + 100 * k as u64;
        for seed in first..first + programs {
            println!("seed {seed} (f_sck = {ratio} f_clk, quad writes {quad})");
            let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let prog = random::program(&mut r, &random::SMALL);
            let (n_in, bits, signed) = (prog.input.shape[0], prog.input.bits, prog.input.signed);
            let info = tbn.load_model(&image_words(&prog, &t)).expect("load_model");
            for _ in 0..2 {
                let x = random::input(&mut r, n_in, bits, signed);
                let want = prog.run(&x).unwrap();
                let mut got = vec![0i64; info.num_out as usize];
                tbn.infer(&x, &mut got).expect("infer");
                assert_eq!(got, want, "seed {seed}");
            }
        }
    }
    println!("2 x {programs} random programs bit-exact through the engine's SPI top");
}

/// A faster SCK than the bridge supports is refused with an error, not run.
#[test]
fn sck_above_clk_is_refused() {
    let cfg = hw::config_for_lanes(32);
    let e = hw::open_net_spi_top_at(
        &cfg,
        &hw::default_net_mem(&cfg),
        &opts(),
        SpiClocks::ratio(1.25, 1),
    )
    .expect_err("f_sck > f_clk");
    assert!(e.to_string().contains("at most"), "{e}");
}
