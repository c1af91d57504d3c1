//! The standalone top's SCK-clocked SPI bridge at its limits, Verilated, with
//! SCK and the system clock as two independent clocks (picosecond periods,
//! non-integer ratios, a random phase at every frame start; seeds printed):
//! register reads and writes and read bursts of every length 1..=64 against
//! the register model, and random layers (burst writes of tiles and
//! bit-planes, burst reads of the accumulators) bit-exact against tbn_golden.
//! The old bridge needed f_clk >= 4 f_sck; these run up to f_sck = f_clk.

use rand::{Rng, SeedableRng};
use tbn_driver::regmap as rm;
use tbn_sim::spi::SpiClocks;
use tbn_sim::{hw, regress, Accelerator, BuildOptions, Link, RegisterBus};

fn open(lanes: usize) -> Accelerator {
    let opts = BuildOptions {
        trace: false,
        ..BuildOptions::default()
    };
    hw::open_spi_top(&hw::config_for_lanes(lanes), &opts).expect("SPI top")
}

fn set_clocks(acc: &mut Accelerator, c: Option<SpiClocks>) {
    match acc.link() {
        Link::Spi(s) => s.clocks = c,
        _ => panic!("not an SPI link"),
    }
}

/// The register words 0x00..0x100 read one at a time at a slow, legacy SCK
/// (f_clk / 8, SCK edges on clock edges): the reference for the bursts.
fn reference_regs(acc: &mut Accelerator) -> Vec<u32> {
    set_clocks(acc, None);
    if let Link::Spi(s) = acc.link() {
        s.half_period = 4;
    }
    (0..64u32).map(|i| acc.read32(4 * i).unwrap()).collect()
}

/// Registers that change on their own between reads (none while idle) are
/// compared exactly; SCRATCH is rewritten by the test.
fn check_ratio(acc: &mut Accelerator, ratio: f64, seed: u64, regs: &[u32]) {
    let clocks = SpiClocks::ratio(ratio, seed);
    println!(
        "ratio f_sck/f_clk = {:.4} (clk {} ps, SCK half {} ps), seed {seed}",
        clocks.sck_per_clk(),
        clocks.clk_period_ps,
        clocks.sck_half_ps
    );
    set_clocks(acc, Some(clocks));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // single-word writes and reads of SCRATCH
    for _ in 0..16 {
        let v: u32 = rng.gen();
        acc.write32(rm::SCRATCH, v).unwrap();
        assert_eq!(
            acc.read32(rm::SCRATCH).unwrap(),
            v,
            "SCRATCH at ratio {ratio} seed {seed}"
        );
    }
    // read bursts of every length from every start in the register page
    let scratch: u32 = rng.gen();
    acc.write32(rm::SCRATCH, scratch).unwrap();
    let mut model = regs.to_vec();
    model[(rm::SCRATCH / 4) as usize] = scratch;
    for n in 1..=64usize {
        let start = rng.gen_range(0..=(64 - n));
        let got = acc.read_words(4 * start as u32, n).unwrap();
        assert_eq!(
            got,
            model[start..start + n],
            "read burst of {n} at word {start}, ratio {ratio} seed {seed}"
        );
    }
}

#[test]
fn spi_link_two_clocks_register_bursts() {
    let mut acc = open(8);
    let regs = reference_regs(&mut acc);
    assert_eq!(regs[0], rm::MAGIC);
    let base: u64 = 0x5eed_0000;
    println!("seed base {base:#x}");
    // 1/8 .. 1: integer, non-integer and irrational-ish ratios
    for (i, ratio) in [0.125, 0.25, 0.3333, 0.5, 0.618, 0.77, 0.9, 0.97, 1.0, 1.0]
        .iter()
        .enumerate()
    {
        check_ratio(&mut acc, *ratio, base + i as u64, &regs);
    }
}

#[test]
fn spi_link_two_clocks_layers_vs_golden() {
    let mut acc = open(8);
    let info = acc.info();
    let first: u64 = 900;
    println!("layer seeds {first}..{}", first + 24);
    let mut prev = None;
    for (k, seed) in (first..first + 24).enumerate() {
        let ratio = [1.0, 0.83, 0.5, 0.25][k % 4];
        let clocks = SpiClocks::ratio(ratio, seed);
        set_clocks(&mut acc, Some(clocks));
        let l = regress::random_layer(seed, &info, prev.as_ref()).unwrap();
        let res = acc.run_layer(&l.job(), &l.x).unwrap();
        assert_eq!(
            res.acc,
            l.stage.accumulators(&l.x),
            "ratio {ratio} {}",
            l.describe()
        );
        prev = Some(l);
    }
}

/// The old bridge's requirement f_clk >= 4 f_sck is gone: at f_sck = f_clk
/// (and at f_sck = 2 f_clk / 3, where the old bridge missed SCK edges), the
/// identification, a layer and its read-back are exact, and the link takes
/// one system clock cycle per SCK cycle.
#[test]
fn spi_link_old_minimum_ratio_not_required() {
    let mut acc = open(8);
    let info = acc.info();
    for (ratio, seed) in [(1.0, 7u64), (0.6667, 8)] {
        println!("ratio {ratio}, seed {seed}");
        set_clocks(&mut acc, Some(SpiClocks::ratio(ratio, seed)));
        assert_eq!(acc.read32(rm::ID_MAGIC).unwrap(), rm::MAGIC);
        let c0 = acc.dut().cycles();
        let s0 = match acc.link() {
            Link::Spi(s) => s.sck_cycles,
            _ => unreachable!(),
        };
        acc.write_words(rm::TILE_BASE, &[0xA5A5_5A5A; 16]).unwrap();
        let clk = acc.dut().cycles() - c0;
        let sck = match acc.link() {
            Link::Spi(s) => s.sck_cycles - s0,
            _ => unreachable!(),
        };
        assert_eq!(sck, 8 * (4 + 4 * 16), "write cost formula");
        println!("16-word write: {sck} SCK cycles, {clk} clk cycles");
        assert!((clk as f64) < 1.1 * sck as f64 / ratio + 40.0);
        let l = regress::random_layer(seed, &info, None).unwrap();
        let res = acc.run_layer(&l.job(), &l.x).unwrap();
        assert_eq!(res.acc, l.stage.accumulators(&l.x), "{}", l.describe());
    }
}

/// Above the supported ratio the first read word misses the dummy byte: the
/// bridge returns a stale word, never hangs. Prints the largest ratio of a
/// sweep that still reads exactly (a diagnostic of the margin).
#[test]
fn spi_link_ratio_sweep_margin() {
    let mut acc = open(8);
    let regs = reference_regs(&mut acc);
    let seed = 4242u64;
    println!("seed {seed}");
    let mut best = 0.0;
    for step in 0..12 {
        let ratio = 1.0 + 0.05 * step as f64;
        set_clocks(&mut acc, Some(SpiClocks::ratio(ratio, seed + step)));
        let mut ok = true;
        for k in 0..40u32 {
            let a = (k * 7) % 24;
            let got = acc.read_words(4 * a, 3).unwrap();
            if got != regs[a as usize..a as usize + 3] {
                ok = false;
                break;
            }
        }
        println!(
            "ratio {ratio:.2}: {}",
            if ok { "exact" } else { "wrong data" }
        );
        if ok {
            best = ratio;
        } else {
            break;
        }
    }
    println!("largest exact ratio in the sweep: {best:.2}");
    assert!(best >= 1.0);
}

/// Frames cut short or unknown, at f_sck = f_clk with random phases: an
/// incomplete trailing word is dropped, an unknown command does nothing, a
/// read frame aborted inside a word leaves the next frames exact.
#[test]
fn spi_link_short_and_unknown_frames_at_full_speed() {
    let mut acc = open(8);
    let seed = 31u64;
    println!("seed {seed}");
    set_clocks(&mut acc, Some(SpiClocks::ratio(1.0, seed)));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..20 {
        let keep: u32 = rng.gen();
        acc.write32(rm::SCRATCH, keep).unwrap();
        let a = rm::SCRATCH.to_be_bytes();
        let cut = rng.gen_range(0..4usize);
        let junk: u32 = rng.gen();
        let Link::Spi(s) = acc.link() else {
            unreachable!()
        };
        let mut spi = s.clone();
        // write with an incomplete word of `cut` bytes
        let mut f = vec![tbn_sim::spi::CMD_WRITE, a[1], a[2], a[3]];
        f.extend_from_slice(&junk.to_be_bytes()[..cut]);
        spi.frame(acc.dut(), &f).unwrap();
        // unknown command with a full word
        let mut f = vec![0x5A, a[1], a[2], a[3]];
        f.extend_from_slice(&junk.to_be_bytes());
        let rx = spi.frame(acc.dut(), &f).unwrap();
        assert!(rx.iter().all(|&b| b == 0), "MISO 0 for unknown commands");
        // read aborted after `cut + 1` data bytes
        let mut f = vec![tbn_sim::spi::CMD_READ, a[1], a[2], a[3], 0];
        f.extend(std::iter::repeat_n(0u8, cut + 1));
        let rx = spi.frame(acc.dut(), &f).unwrap();
        assert_eq!(&rx[5..], &keep.to_be_bytes()[..cut + 1], "partial read");
        if let Link::Spi(s) = acc.link() {
            *s = spi;
        }
        assert_eq!(acc.read32(rm::SCRATCH).unwrap(), keep, "SCRATCH kept");
        assert_eq!(acc.read32(rm::ID_MAGIC).unwrap(), rm::MAGIC);
    }
}

fn set_quad(acc: &mut Accelerator, on: bool) {
    match acc.link() {
        Link::Spi(s) => s.quad_writes = on,
        _ => panic!("not an SPI link"),
    }
}

/// Quad writes (CMD_QWRITE, 1-4-4) with independent clocks: SCRATCH and
/// random layers (tiles and bit-planes written on 4 lines, accumulators read
/// on one) bit-exact against tbn_golden at f_sck / f_clk = 1, 0.77, 0.5 and
/// 0.25; the MISO pad is disabled whenever the master drives IO1; a quad
/// write of n words takes 8 + 2 (3 + 4 n) SCK cycles.
#[test]
fn spi_link_quad_writes_vs_golden() {
    let mut acc = open(8);
    let info = acc.info();
    set_quad(&mut acc, true);
    let first: u64 = 1300;
    println!("quad: layer seeds {first}..{}", first + 16);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(first);
    let mut prev = None;
    for (k, seed) in (first..first + 16).enumerate() {
        let ratio = [1.0, 0.77, 0.5, 0.25][k % 4];
        set_clocks(&mut acc, Some(SpiClocks::ratio(ratio, seed)));
        // mostly quad, some single-line writes in between
        set_quad(&mut acc, k % 3 != 2);
        let v: u32 = rng.gen();
        acc.write32(rm::SCRATCH, v).unwrap();
        assert_eq!(
            acc.read32(rm::SCRATCH).unwrap(),
            v,
            "quad SCRATCH, ratio {ratio}"
        );
        let l = regress::random_layer(seed, &info, prev.as_ref()).unwrap();
        let res = acc.run_layer(&l.job(), &l.x).unwrap();
        assert_eq!(
            res.acc,
            l.stage.accumulators(&l.x),
            "quad, ratio {ratio} {}",
            l.describe()
        );
        prev = Some(l);
    }
    set_quad(&mut acc, true);
    for n in [1usize, 16, 64] {
        let s0 = match acc.link() {
            Link::Spi(s) => s.sck_cycles,
            _ => unreachable!(),
        };
        acc.write_words(rm::TILE_BASE, &vec![0x1234_5678; n])
            .unwrap();
        let sck = match acc.link() {
            Link::Spi(s) => s.sck_cycles - s0,
            _ => unreachable!(),
        };
        assert_eq!(
            sck,
            8 + 2 * (3 + 4 * n as u64),
            "quad write cost of {n} words"
        );
    }
}
