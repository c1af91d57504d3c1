//! The engine's Wishbone top (`tbn_hdl::nettop::NetTop`, Verilog top
//! `tbn_net_core`) driven by the real driver (`tbn_driver::Tbn::probe`,
//! `load_model`, `infer`, `layer_cycles`) through a Wishbone master on the
//! cycle-by-cycle model, against the same calls on the register-level
//! reference model (`RefChip`) and the golden integer path; misuse at the
//! register level compared with RefChip (codes, what clears what); and the
//! emitted Verilog in lockstep with the model under Icarus over a whole
//! driver session.

mod common;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use tbn_driver::bus::{Bus, BusError};
use tbn_driver::driver::Tbn;
use tbn_driver::image::chip::RefChip;
use tbn_driver::regmap::{self as rm, ErrorCode};
use tbn_golden::integer::{self, Program};
use tbn_hdl::netcore::{net_target, NetMem};
use tbn_hdl::nettop::NetTop;
use tbn_hdl::rtlsim::settle;
use tbn_hdl::seq::{SEQ_NARROW, SEQ_WIDE};
use tbn_hdl::util::low_u64;
use tbn_hdl::Config;
use tbn_host::compile::program_image;
use tbn_host::random;

const WEIGHT_BITS: usize = 1 << 16;

fn config() -> Config {
    Config {
        lanes: 32,
        tile_max: 16384,
        max_in: 256,
        max_rows: 128,
    }
}

/// A Wishbone master on the model: one classic cycle per word.
struct WbModel {
    top: NetTop<32, 32, SEQ_NARROW>,
    cycles: u64,
    /// Per cycle: rst, wb_adr, wb_dat_w, wb_we, wb_sel, wb_stb, wb_cyc (lockstep order).
    record: Option<Vec<Vec<u128>>>,
}

impl WbModel {
    fn new() -> WbModel {
        let mut top = NetTop::new(&config(), WEIGHT_BITS);
        top.connect_all();
        top.clk.next = Clock { clk: false };
        settle(&mut top).unwrap();
        WbModel {
            top,
            cycles: 0,
            record: None,
        }
    }

    /// One cycle with these bus inputs; returns (ack, dat_r) seen before the edge.
    fn cycle(&mut self, adr: u32, dat: u32, we: bool, stb: bool) -> (bool, u32) {
        if let Some(r) = &mut self.record {
            r.push(vec![
                0,
                adr as u128,
                dat as u128,
                we as u128,
                0xF,
                stb as u128,
                stb as u128,
            ]);
        }
        let t = &mut self.top;
        t.rst.next = false;
        t.wb_adr.next = (adr as u64).to_bits();
        t.wb_dat_w.next = (dat as u64).to_bits();
        t.wb_we.next = we;
        t.wb_sel.next = 0xFu64.to_bits();
        t.wb_stb.next = stb;
        t.wb_cyc.next = stb;
        settle(t).unwrap();
        let out = (t.wb_ack.val(), low_u64(t.wb_dat_r.val()) as u32);
        t.clk.next = Clock { clk: true };
        settle(t).unwrap();
        t.clk.next = Clock { clk: false };
        settle(t).unwrap();
        self.cycles += 1;
        out
    }

    fn access(&mut self, addr: u32, dat: u32, we: bool) -> u32 {
        for _ in 0..8 {
            let (ack, d) = self.cycle(addr >> 2, dat, we, true);
            if ack {
                self.cycle(0, 0, false, false);
                return d;
            }
        }
        panic!("no ack at {addr:#x}");
    }
}

impl Bus for WbModel {
    fn read32(&mut self, addr: u32) -> Result<u32, BusError> {
        Ok(self.access(addr, 0, false))
    }
    fn write32(&mut self, addr: u32, value: u32) -> Result<(), BusError> {
        self.access(addr, value, true);
        Ok(())
    }
}

/// A random 2-3 stage program (hidden relu / signed / sign, logits last).
fn random_program(r: &mut ChaCha8Rng) -> Program {
    random::program(r, &random::SMALL)
}

fn image(prog: &Program) -> Vec<u32> {
    let t = net_target(&config(), WEIGHT_BITS);
    program_image(prog, &t).expect("image").words().to_vec()
}

fn argmax(v: &[i64]) -> u32 {
    tbn_golden::float::argmax(v) as u32
}

/// The driver's session on the RTL model and on RefChip: the same logits,
/// class and (RTL) layer cycles within the documented bound.
fn driver_session(seed: u64, inputs: usize, wb: WbModel) -> WbModel {
    println!("seed {seed}");
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let prog = random_program(&mut r);
    let words = image(&prog);
    let mut rtl = Tbn::probe(wb).expect("probe the RTL");
    let mut refc = Tbn::probe(RefChip::new(net_target(&config(), WEIGHT_BITS))).expect("probe");
    let info = rtl.load_model(&words).expect("load on the RTL");
    assert_eq!(info, refc.load_model(&words).expect("load on RefChip"));
    let n_out = info.num_out as usize;
    for _ in 0..inputs {
        let (lo, hi) = integer::value_range(prog.input.bits, prog.input.signed);
        let x: Vec<i32> = (0..prog.input.shape[0])
            .map(|_| r.gen_range(lo..=hi) as i32)
            .collect();
        let want = prog.run(&x).unwrap();
        let mut got = vec![0i64; n_out];
        let mut got_ref = vec![0i64; n_out];
        let c = rtl.infer(&x, &mut got).expect("infer on the RTL");
        let c_ref = refc.infer(&x, &mut got_ref).expect("infer on RefChip");
        assert_eq!(got, want, "seed {seed}: logits");
        assert_eq!(got_ref, want);
        assert_eq!(c.class, argmax(&want));
        assert_eq!(c, c_ref);
    }
    let mut lc = vec![0u32; info.layers as usize];
    rtl.layer_cycles(&mut lc).unwrap();
    let total: u64 = lc.iter().map(|&c| u64::from(c)).sum();
    assert!(
        total
            <= info.ideal_cycles
                + u64::from(info.layers) * u64::from(rm::LAYER_OVERHEAD_MAX_CYCLES),
        "layer cycles {lc:?} vs ideal {}",
        info.ideal_cycles
    );
    println!(
        "seed {seed}: {inputs} inferences bit-exact over Wishbone; layer cycles {lc:?}, ideal {}",
        info.ideal_cycles
    );
    rtl.release()
}

#[test]
fn driver_over_wishbone_bit_exact() {
    let mut wb = WbModel::new();
    for seed in 500..504 {
        wb = driver_session(seed, 3, wb);
    }
}

/// Register-level misuse, the same operations on the RTL and on RefChip:
/// STATUS (BUSY masked after waits) equal after every step.
#[test]
fn register_level_misuse_matches_refchip() {
    let mut r = ChaCha8Rng::seed_from_u64(9);
    println!("seed 9");
    let prog = random_program(&mut r);
    let words = image(&prog);
    let mut rtl = WbModel::new();
    let mut refc = RefChip::new(net_target(&config(), WEIGHT_BITS));
    refc.busy_reads = 1;
    let wait = |b: &mut dyn Bus| {
        for _ in 0..100_000 {
            if b.read32(rm::STATUS).unwrap() & rm::STATUS_BUSY == 0 {
                return;
            }
        }
        panic!("BUSY forever");
    };
    let check = |what: &str, rtl: &mut WbModel, refc: &mut RefChip| {
        wait(rtl);
        wait(refc);
        let (a, b) = (
            rtl.read32(rm::STATUS).unwrap(),
            refc.read32(rm::STATUS).unwrap(),
        );
        assert_eq!(a, b, "{what}: STATUS rtl {a:#x} refchip {b:#x}");
        for reg in [rm::LOAD_WORDS, rm::MODEL_LAYERS] {
            assert_eq!(
                rtl.read32(reg).unwrap(),
                refc.read32(reg).unwrap(),
                "{what}: {reg:#x}"
            );
        }
    };
    let both = |rtl: &mut WbModel, refc: &mut RefChip, addr: u32, v: u32| {
        rtl.write32(addr, v).unwrap();
        refc.write32(addr, v).unwrap();
    };
    let clear = rm::STATUS_DONE | rm::STATUS_ERROR;
    both(&mut rtl, &mut refc, rm::CTRL, rm::CTRL_INFER);
    check("INFER without a model", &mut rtl, &mut refc);
    both(&mut rtl, &mut refc, rm::STATUS, clear);
    both(&mut rtl, &mut refc, rm::INPUT_BASE, 0);
    check("INPUT without a model", &mut rtl, &mut refc);
    both(&mut rtl, &mut refc, rm::STATUS, clear);
    both(&mut rtl, &mut refc, rm::CTRL, rm::CTRL_LOAD_END);
    check("LOAD_END without LOAD_BEGIN", &mut rtl, &mut refc);
    both(&mut rtl, &mut refc, rm::STATUS, clear);
    for (what, k, flip) in [
        ("magic", 0usize, 1u32),
        ("version", 1, 0x0001_0000),
        ("checksum", 30, 0x100),
        ("total", 2, 1),
    ] {
        let mut w = words.clone();
        w[k] ^= flip;
        both(&mut rtl, &mut refc, rm::CTRL, rm::CTRL_LOAD_BEGIN);
        check("LOAD_BEGIN", &mut rtl, &mut refc);
        for (i, &x) in w.iter().enumerate() {
            both(&mut rtl, &mut refc, rm::image_word_offset(i as u32), x);
        }
        check("image words", &mut rtl, &mut refc);
        both(&mut rtl, &mut refc, rm::CTRL, rm::CTRL_LOAD_END);
        check(what, &mut rtl, &mut refc);
        both(&mut rtl, &mut refc, rm::STATUS, clear);
    }
    // out of order, then a good load
    both(&mut rtl, &mut refc, rm::CTRL, rm::CTRL_LOAD_BEGIN);
    for (i, &x) in words.iter().enumerate() {
        let j = if i == 5 { 6 } else { i };
        both(&mut rtl, &mut refc, rm::image_word_offset(j as u32), x);
    }
    both(&mut rtl, &mut refc, rm::CTRL, rm::CTRL_LOAD_END);
    check("out of order", &mut rtl, &mut refc);
    both(&mut rtl, &mut refc, rm::STATUS, clear);
    both(&mut rtl, &mut refc, rm::CTRL, rm::CTRL_LOAD_BEGIN);
    for (i, &x) in words.iter().enumerate() {
        both(&mut rtl, &mut refc, rm::image_word_offset(i as u32), x);
    }
    both(&mut rtl, &mut refc, rm::CTRL, rm::CTRL_LOAD_END);
    check("good load", &mut rtl, &mut refc);
    // soft reset mid-inference (RTL only: RefChip completes on STATUS reads)
    rtl.write32(rm::CTRL, rm::CTRL_INFER).unwrap();
    rtl.write32(rm::CTRL, rm::CTRL_SOFT_RESET).unwrap();
    let s = rtl.read32(rm::STATUS).unwrap();
    assert_eq!(s & rm::STATUS_BUSY, 0, "BUSY 0 after a soft reset");
    assert_eq!(
        (s >> rm::STATUS_ERROR_CODE_SHIFT) & rm::STATUS_ERROR_CODE_MASK,
        ErrorCode::Aborted as u32
    );
    assert_ne!(s & rm::STATUS_MODEL_LOADED, 0, "the model stays loaded");
    rtl.write32(rm::STATUS, clear).unwrap();
    // START while busy (RTL: a second INFER during the first)
    rtl.write32(rm::CTRL, rm::CTRL_INFER).unwrap();
    rtl.write32(rm::CTRL, rm::CTRL_INFER).unwrap();
    let s = rtl.read32(rm::STATUS).unwrap();
    assert_eq!(
        (s >> rm::STATUS_ERROR_CODE_SHIFT) & rm::STATUS_ERROR_CODE_MASK,
        ErrorCode::StartWhileBusy as u32
    );
    wait(&mut rtl);
    assert_ne!(rtl.read32(rm::STATUS).unwrap() & rm::STATUS_DONE, 0);
    // the scratch register and byte lanes of the ID words
    rtl.write32(rm::SCRATCH, 0x1234_5678).unwrap();
    assert_eq!(rtl.read32(rm::SCRATCH).unwrap(), 0x1234_5678);
    assert_eq!(rtl.read32(rm::ID_MAGIC).unwrap(), rm::MAGIC);
}

/// The emitted Verilog of the Wishbone top in lockstep with its model over
/// a whole driver session (probe, load, two inferences).
#[test]
fn top_verilog_in_lockstep_over_a_driver_session() {
    if !tbn_hdl::testbench::have_tool("iverilog") {
        tbn_hdl::testbench::skip_missing_tool(format_args!("iverilog not found on PATH"));
        return;
    }
    let mut wb = WbModel::new();
    wb.record = Some(Vec::new());
    let mut wb = driver_session(700, 2, wb);
    wb.cycle(0, 0, false, false);
    let stim = wb.record.take().unwrap();
    println!("{} cycles compared", stim.len());
    let mk = || NetTop::<32, 32, SEQ_NARROW>::new(&config(), WEIGHT_BITS);
    let mut b = mk();
    let v = tbn_hdl::rtlsim::block_verilog(&mut b);
    let mut b = mk();
    b.connect_all();
    let dir = tempfile::tempdir().unwrap();
    tbn_hdl::rtlsim::lockstep(&mut b, &v, "top", &stim, 1, dir.path())
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Writes the Verilog of the UP5K-configured engine top (L = 32, TILE_MAX
/// 32768, MAX_IN 1024, MAX_ROWS 256, the UP5K memories `NetMem::up5k`: 1
/// Mbit of weights in SPRAM) to `TBN_NET_EMIT` (for synthesis; skipped
/// without it).
#[test]
fn emit_up5k_top_verilog() {
    let Ok(path) = std::env::var("TBN_NET_EMIT") else {
        return;
    };
    let cfg = Config::up5k_engine();
    // TBN_NET_MAPS=R: with feature maps of R values (in block RAM: a logic
    // measurement, the maps do not fit the UP5K's block RAM)
    let maps = std::env::var("TBN_NET_MAPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut b = NetTop::<32, 32, SEQ_WIDE>::with_mem(&cfg, &NetMem::up5k(&cfg).with_maps(maps));
    let v = tbn_hdl::rtlsim::block_verilog(&mut b);
    std::fs::write(path, v).unwrap();
}

/// The engine top's Verilog generates (rust-hdl's structural checks) for
/// every lane count, with the top renamed.
#[test]
fn net_core_verilog_for_every_lane_count() {
    for lanes in [8, 16, 32, 64, 128, 256] {
        let cfg = Config {
            lanes,
            tile_max: 4096,
            max_in: 512,
            max_rows: 64,
        };
        let v = tbn_hdl::net_core_verilog(&cfg, 8192).expect("generate");
        assert!(v.contains("module tbn_net_core("), "L = {lanes}");
    }
}

/// The UP5K engine's memories map as planned (yosys 0.23 `synth_ice40 -dsp
/// -spram`): the tile section into the four SB_SPRAM256KA, everything else
/// into at most 30 SB_RAM40_4K (27 today), no memory left in logic.
/// Skipped without yosys.
#[test]
fn up5k_engine_memories_map_to_spram_and_block_ram() {
    if !tbn_hdl::testbench::have_tool("yosys") {
        tbn_hdl::testbench::skip_missing_tool(format_args!("yosys not found on PATH"));
        return;
    }
    let cfg = Config::up5k_engine();
    let v = tbn_hdl::net_core_verilog_mem(&cfg, &NetMem::up5k(&cfg)).expect("generate");
    let stat = common::yosys_stat(&v, "synth_ice40 -dsp -spram -top tbn_net_core");
    let count = |cell: &str| common::cell_count(&stat, cell);
    let (spram, bram, luts) = (
        count("SB_SPRAM256KA"),
        count("SB_RAM40_4K"),
        count("SB_LUT4"),
    );
    println!("UP5K engine: SB_SPRAM256KA {spram}, SB_RAM40_4K {bram}, SB_LUT4 {luts}");
    assert_eq!(spram, 4, "the tile section in the four SPRAMs");
    assert!((20..=30).contains(&bram), "{bram} SB_RAM40_4K (UP5K: 30)");
}
