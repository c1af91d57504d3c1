//! The whole-network engine's standalone top `tbn_net_spi_top`
//! (`tbn_hdl::spi::TbnNetSpiTop`: power-on reset, the SPI-to-Wishbone
//! bridge with its 18-bit word address, and `NetTop`):
//! - the real driver (`Tbn::probe`, `load_model`, `infer`) over SPI frames,
//!   single-line and quad writes, on the cycle-by-cycle Rust model, against
//!   RefChip and the golden integer path (logits, class, one INFER each);
//! - the emitted Verilog under Icarus (4-state, asynchronous SCK at
//!   f_sck = f_clk and below): identification, and a whole model load
//!   through the IMAGE window (byte address bit 19, which the single-layer
//!   top ignores) up to the LOAD_END verdict and LOAD_WORDS / MODEL_LAYERS,
//!   then one inference (STATUS, CLASS and logits vs golden).
//! - the generator for every lane count: module name and pins (widths).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use tbn_driver::bus::{Bus, BusError, SPI_MAX_BURST_WORDS};
use tbn_driver::driver::Tbn;
use tbn_driver::image::chip::RefChip;
use tbn_driver::regmap as rm;
use tbn_golden::integer::Program;
use tbn_hdl::netcore::net_target;
use tbn_hdl::rtlsim::{settle, spi_frame, tick, SimError, SpiTarget};
use tbn_hdl::seq::SEQ_NARROW;
use tbn_hdl::spi::{
    read_frame, read_frame_words, write_frame, TbnNetSpiTop, CMD_QWRITE, NET_SPI_TOP, POR_CYCLES,
    SPI_TOP, SPI_TOP_PINS,
};
use tbn_hdl::testbench::{have_tool, run_spi_icarus, BusOp, SpiTiming};
use tbn_hdl::{net_spi_top_verilog, Config};
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

/// The top in rust-hdl's simulator behind an SPI master (SCK at f_clk / 2:
/// one system clock cycle per SCK half period), as the driver's [`Bus`].
struct SpiModel {
    top: TbnNetSpiTop<32, 32, SEQ_NARROW>,
    /// Write bursts as quad frames (QWRITE).
    quad: bool,
    cycles: u64,
    frames: u64,
}

impl SpiModel {
    fn new(quad: bool) -> SpiModel {
        let mut top = TbnNetSpiTop::new(&config(), WEIGHT_BITS);
        top.connect_all();
        let mut s = SpiModel {
            top,
            quad,
            cycles: 0,
            frames: 0,
        };
        s.set_pins(false, true, false);
        for _ in 0..POR_CYCLES + 4 {
            s.cycle().unwrap();
        }
        s
    }

    /// One QWRITE frame: the command on IO0, then address and data a nibble
    /// per SCK cycle on IO0..IO3 (IO3 = bit 3, high nibble first); checks
    /// that `miso_oe` is 0 whenever the master drives IO1.
    fn quad_frame(&mut self, addr: u32, words: &[u32]) -> Result<(), SimError> {
        self.set_pins(false, false, false);
        self.cycle()?;
        for bit in (0..8).rev() {
            let m = (CMD_QWRITE >> bit) & 1 == 1;
            self.set_pins(false, false, m);
            self.cycle()?;
            self.set_pins(true, false, m);
            self.cycle()?;
        }
        let mut payload = addr.to_be_bytes()[1..].to_vec();
        for w in words {
            payload.extend_from_slice(&w.to_be_bytes());
        }
        for b in payload {
            for nib in [b >> 4, b & 15] {
                self.set_pins(false, false, nib & 1 == 1);
                self.top.qd_in.next = u64::from(nib >> 1).to_bits();
                self.cycle()?;
                assert!(!self.top.miso_oe.val(), "miso_oe 1 while IO1 is driven");
                self.set_pins(true, false, nib & 1 == 1);
                self.cycle()?;
            }
        }
        self.set_pins(false, false, false);
        self.top.qd_in.next = 0u64.to_bits();
        self.cycle()?;
        self.set_pins(false, true, false);
        self.cycle()?;
        self.cycle()?;
        self.frames += 1;
        Ok(())
    }

    fn frame(&mut self, mosi: &[u8]) -> Vec<u8> {
        self.frames += 1;
        spi_frame(self, 1, mosi).expect("simulate")
    }
}

impl SpiTarget for SpiModel {
    fn set_pins(&mut self, sck: bool, cs_n: bool, mosi: bool) {
        self.top.sck.next = sck;
        self.top.cs_n.next = cs_n;
        self.top.mosi.next = mosi;
    }
    fn miso(&self) -> bool {
        self.top.miso.val()
    }
    fn cycle(&mut self) -> Result<(), SimError> {
        settle(&mut self.top)?;
        self.cycles += 1;
        tick(&mut self.top, |t| &mut t.clk)
    }
}

/// Every access as the driver's `SpiBus` / `QuadSpiBus` frames it: bursts
/// of at most `SPI_MAX_BURST_WORDS` words per frame.
impl Bus for SpiModel {
    fn read32(&mut self, addr: u32) -> Result<u32, BusError> {
        let mut w = [0u32];
        self.read_block(addr, &mut w)?;
        Ok(w[0])
    }
    fn write32(&mut self, addr: u32, value: u32) -> Result<(), BusError> {
        self.write_block(addr, &[value])
    }
    fn read_block(&mut self, addr: u32, out: &mut [u32]) -> Result<(), BusError> {
        let mut a = addr;
        for chunk in out.chunks_mut(SPI_MAX_BURST_WORDS) {
            let rx = self.frame(&read_frame(a, chunk.len()));
            chunk.copy_from_slice(&read_frame_words(&rx));
            a += 4 * chunk.len() as u32;
        }
        Ok(())
    }
    fn write_block(&mut self, addr: u32, words: &[u32]) -> Result<(), BusError> {
        let mut a = addr;
        for chunk in words.chunks(SPI_MAX_BURST_WORDS) {
            if self.quad {
                self.quad_frame(a, chunk).expect("simulate");
            } else {
                self.frame(&write_frame(a, chunk));
            }
            a += 4 * chunk.len() as u32;
        }
        Ok(())
    }
}

/// A random 2-3 stage program (hidden relu / signed / sign, logits last).
fn random_program(r: &mut ChaCha8Rng) -> Program {
    random::program(r, &random::SMALL)
}

fn image(prog: &Program, cfg: &Config) -> Vec<u32> {
    let t = net_target(cfg, WEIGHT_BITS);
    program_image(prog, &t).expect("image").words().to_vec()
}

fn argmax(v: &[i64]) -> u32 {
    tbn_golden::float::argmax(v) as u32
}

/// The driver over SPI on the model: load a random program, `inputs`
/// inferences, each identical to RefChip and golden (logits and class).
fn driver_session(seed: u64, inputs: usize, spi: SpiModel) -> SpiModel {
    println!("seed {seed}");
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let prog = random_program(&mut r);
    let words = image(&prog, &config());
    let mut rtl = Tbn::probe(spi).expect("probe the top over SPI");
    let mut refc = Tbn::probe(RefChip::new(net_target(&config(), WEIGHT_BITS))).expect("probe");
    let c0 = rtl.bus().cycles;
    let info = rtl.load_model(&words).expect("load over SPI");
    let load_cycles = rtl.bus().cycles - c0;
    assert_eq!(info, refc.load_model(&words).expect("load on RefChip"));
    assert_eq!(rtl.job_count().unwrap(), 0);
    let n_out = info.num_out as usize;
    let (n_in, bits, signed) = (prog.input.shape[0], prog.input.bits, prog.input.signed);
    let mut per_infer = 0;
    for k in 0..inputs {
        let x = random::input(&mut r, n_in, bits, signed);
        let want = prog.run(&x).unwrap();
        let mut got = vec![0i64; n_out];
        let mut got_ref = vec![0i64; n_out];
        let c0 = rtl.bus().cycles;
        let c = rtl.infer(&x, &mut got).expect("infer over SPI");
        per_infer = rtl.bus().cycles - c0;
        let c_ref = refc.infer(&x, &mut got_ref).expect("infer on RefChip");
        assert_eq!(got, want, "seed {seed} input {k}: logits");
        assert_eq!(got_ref, want);
        assert_eq!(c.class, argmax(&want), "seed {seed} input {k}: class");
        assert_eq!(c, c_ref);
        assert_eq!(
            rtl.job_count().unwrap(),
            k as u32 + 1,
            "one INFER per input"
        );
    }
    println!(
        "seed {seed}: {} image words loaded in {load_cycles} cycles, {inputs} inferences bit-exact \
         over SPI (quad writes: {}), {per_infer} cycles for the last (SCK = f_clk / 2)",
        info.image_words,
        rtl.bus().quad
    );
    rtl.release()
}

#[test]
fn driver_over_spi_on_the_rust_model_bit_exact() {
    let mut spi = SpiModel::new(false);
    for seed in 800..802 {
        spi = driver_session(seed, 2, spi);
    }
    // the same top, quad writes from now on (the bridge decodes each frame)
    spi.quad = true;
    for seed in 802..804 {
        spi = driver_session(seed, 2, spi);
    }
    println!("{} frames, {} cycles", spi.frames, spi.cycles);
}

/// The emitted Verilog under Icarus with the module renamed to the SPI
/// testbench's `tbn_spi_top` (the ports are the same).
fn icarus_top(cfg: &Config) -> String {
    net_spi_top_verilog(cfg, WEIGHT_BITS)
        .unwrap()
        .replace(NET_SPI_TOP, SPI_TOP)
}

/// Identification, then a whole model image through the IMAGE window (byte
/// address bit 19) and LOAD_END: MODEL_LOADED, LOAD_WORDS = the image's
/// words, MODEL_LAYERS, no error; then one inference whose class and
/// logits equal golden; at SCK half periods 5 ns (f_sck = f_clk,
/// clock period 10 ns), 6.1 ns and 23 ns.
#[test]
fn net_spi_top_verilog_loads_a_model() {
    if !have_tool("iverilog") {
        tbn_hdl::testbench::skip_missing_tool(format_args!("iverilog not found on PATH"));
        return;
    }
    let cfg = config();
    let top = icarus_top(&cfg);
    let seed = 810;
    println!("seed {seed}");
    let prog = random_program(&mut ChaCha8Rng::seed_from_u64(seed));
    let words = image(&prog, &cfg);
    let mut refc = Tbn::probe(RefChip::new(net_target(&cfg, WEIGHT_BITS))).unwrap();
    let info = refc.load_model(&words).unwrap();
    let mut ops = vec![
        BusOp::Read(rm::ID_MAGIC),
        BusOp::Read(rm::ID_VERSION),
        BusOp::Read(rm::CFG_LANES),
        BusOp::Read(rm::CFG_FEATURES),
        BusOp::Write(rm::SCRATCH, 0x0BAD_F00D),
        BusOp::Read(rm::SCRATCH),
        BusOp::Write(rm::CTRL, rm::CTRL_LOAD_BEGIN),
    ];
    for (i, w) in words.iter().enumerate() {
        ops.push(BusOp::Write(rm::image_word_offset(i as u32), *w));
    }
    ops.push(BusOp::Idle(16));
    ops.push(BusOp::Read(rm::LOAD_WORDS));
    ops.push(BusOp::Write(rm::CTRL, rm::CTRL_LOAD_END));
    ops.push(BusOp::Idle(rm::LOAD_END_MAX_CYCLES + 16));
    ops.push(BusOp::Read(rm::STATUS));
    ops.push(BusOp::Read(rm::MODEL_LAYERS));
    // one inference: the input words, INFER, the documented cycle bound,
    // then STATUS, CLASS and the logits (two words each)
    let mut r = ChaCha8Rng::seed_from_u64(seed + 1);
    let x = random::input(
        &mut r,
        info.num_in as usize,
        prog.input.bits,
        prog.input.signed,
    );
    let want = prog.run(&x).unwrap();
    for w in 0..rm::input_words(info.num_in) {
        ops.push(BusOp::Write(rm::INPUT_BASE + 4 * w, rm::input_word(&x, w)));
    }
    ops.push(BusOp::Write(rm::CTRL, rm::CTRL_INFER));
    let bound = info.ideal_cycles
        + u64::from(info.layers) * u64::from(rm::LAYER_OVERHEAD_MAX_CYCLES)
        + u64::from(rm::INFER_OVERHEAD_MAX_CYCLES);
    ops.push(BusOp::Idle(bound as u32));
    ops.push(BusOp::Read(rm::STATUS));
    ops.push(BusOp::Read(rm::CLASS));
    for k in 0..info.num_out {
        ops.push(BusOp::Read(rm::logit_offset(k, false)));
        ops.push(BusOp::Read(rm::logit_offset(k, true)));
    }
    let features = rm::CFG_FEATURES_ENGINE
        | (net_target(&cfg, WEIGHT_BITS).v_bits << rm::CFG_FEATURES_V_BITS_SHIFT);
    let expect = vec![
        rm::MAGIC,
        rm::VERSION,
        cfg.lanes as u32,
        features,
        0x0BAD_F00D,
        words.len() as u32,
        rm::STATUS_MODEL_LOADED,
        info.layers,
        rm::STATUS_MODEL_LOADED | rm::STATUS_DONE,
        argmax(&want),
    ];
    let expect: Vec<u32> = expect
        .into_iter()
        .chain(want.iter().flat_map(|v| [*v as u32, (*v >> 32) as u32]))
        .collect();
    for half in [5.0, 6.1, 23.0] {
        let timing = SpiTiming {
            half_ns: half,
            setup_ns: half + 0.7,
            gap_ns: 2.0 * half + 1.3,
        };
        let dir = tempfile::tempdir().unwrap();
        let got = run_spi_icarus("", &top, &ops, &timing, dir.path()).unwrap();
        assert_eq!(got, expect, "half period {half} ns (seed {seed})");
        println!(
            "half period {half} ns: {} image words loaded through bit 19, one inference bit-exact",
            words.len()
        );
    }
}

/// The generator for every lane count: one module `tbn_net_spi_top` with
/// the pins of `tbn_spi_top` (board files apply), rust-hdl's checks pass.
#[test]
fn net_spi_top_verilog_for_every_lane_count() {
    for lanes in [8, 16, 32, 64, 128, 256] {
        let cfg = Config {
            lanes,
            tile_max: 16384.max(4 * lanes),
            max_in: 256.max(2 * lanes),
            max_rows: 128,
        };
        let v = net_spi_top_verilog(&cfg, WEIGHT_BITS).unwrap_or_else(|e| panic!("L {lanes}: {e}"));
        let head = v
            .split(&format!("module {NET_SPI_TOP}("))
            .nth(1)
            .unwrap_or_else(|| panic!("L {lanes}: no module {NET_SPI_TOP}"));
        let ports = head.split(");").next().unwrap();
        let mut names: Vec<String> = ports
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        names.sort();
        let mut want: Vec<String> = SPI_TOP_PINS
            .iter()
            .map(|p| p.split('[').next().unwrap().to_string())
            .collect();
        want.dedup();
        want.sort();
        assert_eq!(names, want, "L {lanes}: ports");
        for (dir, pin) in [
            ("input wire  [2:0]", "qd_in"),
            ("output reg ", "miso_oe"),
            ("input wire ", "sck"),
        ] {
            assert!(
                v.contains(&format!("    {dir} {pin};")),
                "L {lanes}: {dir} {pin}"
            );
        }
    }
}

/// Writes `tbn_net_spi_top` for the UP5K configuration (L = 32, TILE_MAX
/// 32768, MAX_IN 1024, MAX_ROWS 256, the UP5K memories `NetMem::up5k`: 1
/// Mbit of weights in SPRAM) to `TBN_NET_SPI_EMIT`
/// (for synthesis with the board pins of `tbn_spi_top`; skipped without it).
#[test]
fn emit_up5k_net_spi_top_verilog() {
    let Ok(path) = std::env::var("TBN_NET_SPI_EMIT") else {
        return;
    };
    let cfg = Config::up5k_engine();
    let v = tbn_hdl::net_spi_top_verilog_mem(&cfg, &tbn_hdl::netcore::NetMem::up5k(&cfg)).unwrap();
    std::fs::write(&path, v).unwrap();
    println!("wrote {path}");
}
