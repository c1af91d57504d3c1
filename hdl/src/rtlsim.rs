//! Running blocks in rust-hdl's simulator (their Rust `update()`) by hand,
//! and comparing a block's Rust model with its emitted Verilog cycle by cycle
//! under Icarus Verilog ("lockstep").
//!
//! rust-hdl simulates only the Rust side of a block; the Verilog it emits can
//! disagree (see docs/hdl.md). [`lockstep`] drives the same per-cycle input
//! vectors into both and reports the first cycle where any output differs
//! (or is X/Z in the Verilog).
//!
//! Cycle convention (both sides): in cycle `i` the inputs take the values of
//! vector `i` while the clock is low, the outputs are sampled, then the
//! clock rises.

use crate::testbench::TbError;
use rust_hdl::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// Iterations allowed for a settle before the design is declared oscillating.
const SETTLE_LIMIT: usize = 10_000;

/// Errors of the simulation helpers.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The combinational logic did not settle (a loop).
    #[error("the design did not settle after {0} delta cycles (combinational loop?)")]
    NoSettle(usize),
    /// The Rust model and the Verilog disagree.
    #[error("cycle {cycle}: output {port}: rust-hdl model {rust:#x}, Verilog {verilog}")]
    Mismatch {
        /// Cycle index.
        cycle: usize,
        /// Output port.
        port: String,
        /// Value of the Rust model.
        rust: u128,
        /// Value printed by the Verilog simulation (hex, may contain x/z).
        verilog: String,
    },
    /// The Verilog run failed or printed something unexpected.
    #[error(transparent)]
    Tool(#[from] TbError),
}

/// Propagate until nothing changes.
pub fn settle<B: Block>(b: &mut B) -> Result<(), SimError> {
    for _ in 0..SETTLE_LIMIT {
        b.update_all();
        if !b.has_changed() {
            return Ok(());
        }
    }
    Err(SimError::NoSettle(SETTLE_LIMIT))
}

/// One clock cycle: rising edge, settle, falling edge, settle.
pub fn tick<B: Block>(
    b: &mut B,
    clk: fn(&mut B) -> &mut Signal<In, Clock>,
) -> Result<(), SimError> {
    clk(b).next = Clock { clk: true };
    settle(b)?;
    clk(b).next = Clock { clk: false };
    settle(b)
}

/// Conversion of port values to and from `u128` (ports up to 128 bits).
pub trait PortValue: Copy {
    /// Width in bits.
    const WIDTH: usize;
    /// From the low bits of `v`.
    fn from_u128(v: u128) -> Self;
    /// As `u128`.
    fn as_u128(self) -> u128;
}

impl PortValue for bool {
    const WIDTH: usize = 1;
    fn from_u128(v: u128) -> Self {
        v & 1 == 1
    }
    fn as_u128(self) -> u128 {
        self as u128
    }
}

impl<const N: usize> PortValue for Bits<N> {
    const WIDTH: usize = N;
    fn from_u128(v: u128) -> Self {
        let mut out = Bits::<N>::default();
        for i in 0..N.min(128) {
            if (v >> i) & 1 == 1 {
                out = out.replace_bit(i, true);
            }
        }
        out
    }
    fn as_u128(self) -> u128 {
        let mut out = 0u128;
        for i in 0..N.min(128) {
            if self.get_bit(i) {
                out |= 1 << i;
            }
        }
        out
    }
}

/// Width of a signal's value type.
pub fn width_of<D: Direction, T: Synth + PortValue>(_: &Signal<D, T>) -> usize {
    T::WIDTH
}

/// A port of a block under test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    /// Verilog port name (= Rust field name).
    pub name: String,
    /// Width in bits.
    pub width: usize,
}

/// A block whose ports can be driven and read by index (see [`lockstep_block!`]).
pub trait Lockstep: Block {
    /// Input ports except `clk`, in vector order.
    fn inputs(&self) -> Vec<PortSpec>;
    /// Output ports.
    fn outputs(&self) -> Vec<PortSpec>;
    /// Set input `i` (its `next` value).
    fn set_input(&mut self, i: usize, v: u128);
    /// Current value of output `i`.
    fn output(&self, i: usize) -> u128;
    /// The clock input.
    fn clock(&mut self) -> &mut Signal<In, Clock>;
}

/// Implement [`Lockstep`] for a block type from its port field names.
#[macro_export]
macro_rules! lockstep_block {
    ($ty:ty, inputs [$($i:ident),* $(,)?], outputs [$($o:ident),* $(,)?]) => {
        impl $crate::rtlsim::Lockstep for $ty {
            fn inputs(&self) -> Vec<$crate::rtlsim::PortSpec> {
                vec![$($crate::rtlsim::PortSpec { name: stringify!($i).into(), width: $crate::rtlsim::width_of(&self.$i) }),*]
            }
            fn outputs(&self) -> Vec<$crate::rtlsim::PortSpec> {
                vec![$($crate::rtlsim::PortSpec { name: stringify!($o).into(), width: $crate::rtlsim::width_of(&self.$o) }),*]
            }
            #[allow(unused_assignments)]
            fn set_input(&mut self, i: usize, v: u128) {
                let mut k = 0usize;
                $(
                    if i == k {
                        self.$i.next = $crate::rtlsim::PortValue::from_u128(v);
                        return;
                    }
                    k += 1;
                )*
                panic!("input index {i} out of range");
            }
            #[allow(unused_assignments)]
            fn output(&self, i: usize) -> u128 {
                let mut k = 0usize;
                $(
                    if i == k {
                        return $crate::rtlsim::PortValue::as_u128(self.$o.val());
                    }
                    k += 1;
                )*
                panic!("output index {i} out of range");
            }
            fn clock(&mut self) -> &mut rust_hdl::prelude::Signal<rust_hdl::prelude::In, rust_hdl::prelude::Clock> {
                &mut self.clk
            }
        }
    };
}

lockstep_block!(
    crate::engine::Engine<8, 32>,
    inputs [flush, in_valid, in_bit_off, in_abit, in_nvalid, in_segb, in_plane, in_neg, in_xnor, in_first, in_last, in_row, tile_lo, tile_hi, act_word],
    outputs [out_we, out_row, out_a, out_b, active]
);
lockstep_block!(
    crate::engine::Engine<32, 32>,
    inputs [flush, in_valid, in_bit_off, in_abit, in_nvalid, in_segb, in_plane, in_neg, in_xnor, in_first, in_last, in_row, tile_lo, tile_hi, act_word],
    outputs [out_we, out_row, out_a, out_b, active]
);
lockstep_block!(
    crate::engine::Engine<64, 64>,
    inputs [flush, in_valid, in_bit_off, in_abit, in_nvalid, in_segb, in_plane, in_neg, in_xnor, in_first, in_last, in_row, tile_lo, tile_hi, act_word],
    outputs [out_we, out_row, out_a, out_b, active]
);
lockstep_block!(
    crate::engine::Engine<128, 128>,
    inputs [flush, in_valid, in_bit_off, in_abit, in_nvalid, in_segb, in_plane, in_neg, in_xnor, in_first, in_last, in_row, tile_lo, tile_hi, act_word],
    outputs [out_we, out_row, out_a, out_b, active]
);
lockstep_block!(
    crate::mem::TileMem<32>,
    inputs [bus_we, bus_sel, bus_addr, bus_data, rd_bit, rd_base, rd_base1],
    outputs [lo, hi]
);
lockstep_block!(
    crate::mem::TileMem<64>,
    inputs [bus_we, bus_sel, bus_addr, bus_data, rd_bit, rd_base, rd_base1],
    outputs [lo, hi]
);
lockstep_block!(
    crate::mem::ActMem<32>,
    inputs [bus_we, bus_sel, bus_addr, bus_data, rd_plane, rd_bit],
    outputs [word]
);
lockstep_block!(
    crate::mem::ActMem<64>,
    inputs [bus_we, bus_sel, bus_addr, bus_data, rd_plane, rd_bit],
    outputs [word]
);
lockstep_block!(
    crate::mem::OutMem,
    inputs [we, wrow, wa, wb, bus_addr],
    outputs [rdata]
);
lockstep_block!(
    crate::control::Control,
    inputs [rst, wb_adr, wb_dat_w, wb_we, wb_sel, wb_stb, wb_cyc, out_rdata, seq_busy, seq_done],
    outputs [wb_dat_r, wb_ack, irq, tile_we, act_we, mem_sel, mem_addr, mem_data, out_addr, seq_start, seq_abort, job_m, job_q, job_rows, job_abits, job_signed]
);
lockstep_block!(
    crate::wishbone::WbSlave,
    inputs [rst, wb_adr, wb_dat_w, wb_we, wb_sel, wb_stb, wb_cyc, reg_rdata, out_rdata],
    outputs [wb_dat_r, wb_ack, out_addr, reg_write_access, reg_index, read_index, write_regs, write_tile, write_act, write_addr, write_data, write_sel]
);
lockstep_block!(
    crate::regfile::RegFile,
    inputs [rst, reg_write_access, reg_index, bus_ctrl_bits, bus_sel_lane0, write_regs, write_tile, write_act, write_data, write_sel, read_index, check_fail, check_code, seq_busy, seq_done],
    outputs [rdata, irq, tile_we, act_we, seq_start, seq_abort, job_m, job_q, job_rows, job_abits, job_signed]
);
lockstep_block!(
    crate::startcheck::StartCheck,
    inputs [job_m, job_q, job_rows, job_abits, seq_busy],
    outputs [fail, fail_code]
);
lockstep_block!(
    crate::seq::Sequencer<18>,
    inputs [abort, start, job_m, job_q, job_rows, job_abits, job_signed, engine_active],
    outputs [busy, done, issue, tile_bit, act_bit, plane, nvalid, segb, neg, xnor_mode, first, last, row]
);
lockstep_block!(
    crate::seq::Sequencer<24>,
    inputs [abort, start, job_m, job_q, job_rows, job_abits, job_signed, engine_active],
    outputs [busy, done, issue, tile_bit, act_bit, plane, nvalid, segb, neg, xnor_mode, first, last, row]
);
lockstep_block!(
    crate::spi::SpiBridge,
    inputs [rst, sck, cs_n, mosi, qd_in, wb_dat_r, wb_ack],
    outputs [miso, miso_oe, wb_adr, wb_dat_w, wb_we, wb_sel, wb_stb, wb_cyc]
);

/// Outputs of the Rust model for each cycle of `stimulus` (one vector of
/// input values per cycle, in [`Lockstep::inputs`] order).
pub fn run_model<B: Lockstep>(
    b: &mut B,
    stimulus: &[Vec<u128>],
) -> Result<Vec<Vec<u128>>, SimError> {
    let nout = b.outputs().len();
    let mut out = Vec::with_capacity(stimulus.len());
    b.clock().next = Clock { clk: false };
    settle(b)?;
    for vec in stimulus {
        for (i, &v) in vec.iter().enumerate() {
            b.set_input(i, v);
        }
        settle(b)?;
        out.push((0..nout).map(|i| b.output(i)).collect());
        b.clock().next = Clock { clk: true };
        settle(b)?;
        b.clock().next = Clock { clk: false };
        settle(b)?;
    }
    Ok(out)
}

fn mask(width: usize) -> u128 {
    if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    }
}

/// The Verilog testbench of a lockstep run (module `lockstep_tb`, DUT `top_name`).
pub fn lockstep_testbench(
    top_name: &str,
    inputs: &[PortSpec],
    outputs: &[PortSpec],
    cycles: usize,
) -> String {
    let iw: usize = inputs.iter().map(|p| p.width).sum::<usize>().max(1);
    let mut v = String::from("`timescale 1ns/1ps\nmodule lockstep_tb;\n  reg clk = 0;\n");
    for p in inputs {
        let _ = writeln!(v, "  reg [{}:0] {} = 0;", p.width - 1, p.name);
    }
    for p in outputs {
        let _ = writeln!(v, "  wire [{}:0] {};", p.width - 1, p.name);
    }
    let _ = writeln!(v, "  reg [{}:0] stim [0:{}];", iw - 1, cycles.max(1) - 1);
    let conns: Vec<String> = std::iter::once("clk".to_string())
        .chain(inputs.iter().map(|p| p.name.clone()))
        .chain(outputs.iter().map(|p| p.name.clone()))
        .map(|n| format!(".{n}({n})"))
        .collect();
    let _ = writeln!(v, "  {top_name} dut({});", conns.join(", "));
    let cat: Vec<&str> = inputs.iter().map(|p| p.name.as_str()).collect();
    let fmt: Vec<&str> = outputs.iter().map(|_| "%h").collect();
    let outs: Vec<&str> = outputs.iter().map(|p| p.name.as_str()).collect();
    let _ = write!(
        v,
        "  integer i;\n  initial begin\n    $readmemh(\"stim.hex\", stim);\n    for (i = 0; i < {cycles}; i = i + 1) begin\n"
    );
    if !cat.is_empty() {
        let _ = writeln!(v, "      {{{}}} = stim[i];", cat.join(", "));
    }
    let _ = write!(
        v,
        "      #4 $display(\"O {}\", {});\n      #1 clk = 1;\n      #5 clk = 0;\n    end\n    $display(\"END\");\n    $finish;\n  end\nendmodule\n",
        fmt.join(" "),
        outs.join(", ")
    );
    v
}

/// Run the Verilog `verilog` (containing module `top_name`) under Icarus
/// with `stimulus`; returns the printed output lines (hex words per port).
pub fn run_verilog(
    verilog: &str,
    top_name: &str,
    inputs: &[PortSpec],
    outputs: &[PortSpec],
    stimulus: &[Vec<u128>],
    dir: &Path,
) -> Result<Vec<Vec<String>>, SimError> {
    std::fs::create_dir_all(dir).map_err(TbError::Io)?;
    let mut hex = String::new();
    for vec in stimulus {
        // concatenation {in0, in1, ...}: in0 is the most significant
        let mut bits: Vec<bool> = Vec::new();
        for (p, &val) in inputs.iter().zip(vec) {
            let val = val & mask(p.width);
            for b in (0..p.width).rev() {
                bits.push(b < 128 && (val >> b) & 1 == 1);
            }
        }
        if bits.is_empty() {
            bits.push(false);
        }
        // to hex, most significant nibble first
        let pad = (4 - bits.len() % 4) % 4;
        let mut padded = vec![false; pad];
        padded.extend(bits);
        for nib in padded.chunks(4) {
            let d = nib.iter().fold(0u32, |a, &b| (a << 1) | b as u32);
            hex.push(char::from_digit(d, 16).expect("nibble"));
        }
        hex.push('\n');
    }
    std::fs::write(dir.join("stim.hex"), hex).map_err(TbError::Io)?;
    std::fs::write(dir.join("dut.v"), verilog).map_err(TbError::Io)?;
    std::fs::write(
        dir.join("tb.v"),
        lockstep_testbench(top_name, inputs, outputs, stimulus.len()),
    )
    .map_err(TbError::Io)?;
    let text = crate::testbench::icarus(dir, "lockstep_tb", &["tb.v", "dut.v"])?;
    let mut lines = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("O ") {
            lines.push(rest.split_whitespace().map(str::to_string).collect());
        }
    }
    Ok(lines)
}

/// Drive `block` (Rust model) and its Verilog `verilog` (module `top_name`)
/// with the same `stimulus` and require identical outputs in every cycle
/// from cycle `first_compared` on (earlier cycles may read uninitialised
/// memory in the Verilog). Returns the per-cycle outputs of the model.
pub fn lockstep<B: Lockstep>(
    block: &mut B,
    verilog: &str,
    top_name: &str,
    stimulus: &[Vec<u128>],
    first_compared: usize,
    dir: &Path,
) -> Result<Vec<Vec<u128>>, SimError> {
    let inputs = block.inputs();
    let outputs = block.outputs();
    let model = run_model(block, stimulus)?;
    let hdl = run_verilog(verilog, top_name, &inputs, &outputs, stimulus, dir)?;
    if hdl.len() != model.len() {
        return Err(SimError::Tool(TbError::Tool {
            tool: "vvp",
            detail: format!("{} output lines for {} cycles", hdl.len(), model.len()),
        }));
    }
    for (cycle, (m, h)) in model.iter().zip(&hdl).enumerate().skip(first_compared) {
        for (k, p) in outputs.iter().enumerate() {
            let text = h.get(k).cloned().unwrap_or_default();
            let parsed = u128::from_str_radix(&text, 16).ok();
            if parsed != Some(m[k] & mask(p.width)) {
                return Err(SimError::Mismatch {
                    cycle,
                    port: p.name.clone(),
                    rust: m[k],
                    verilog: text,
                });
            }
        }
    }
    Ok(model)
}

/// Verilog of a single block as module `top` (its own hierarchy only).
pub fn block_verilog<B: Block>(b: &mut B) -> String {
    b.connect_all();
    generate_verilog_unchecked(b)
}

/// Something with SPI pins that can be clocked (for [`spi_frame`]).
pub trait SpiTarget {
    /// Drive the SPI inputs.
    fn set_pins(&mut self, sck: bool, cs_n: bool, mosi: bool);
    /// Current MISO.
    fn miso(&self) -> bool;
    /// One system clock cycle.
    fn cycle(&mut self) -> Result<(), SimError>;
}

/// One SPI mode-0 frame, `half` system clock cycles per SCK half period
/// (also used as `cs_n` setup/hold and the gap after the frame): MOSI
/// changes while SCK is low, MISO is sampled at the rising edge. Returns the
/// MISO bytes.
pub fn spi_frame<T: SpiTarget>(t: &mut T, half: usize, mosi: &[u8]) -> Result<Vec<u8>, SimError> {
    let wait = |t: &mut T, n: usize| -> Result<(), SimError> {
        for _ in 0..n {
            t.cycle()?;
        }
        Ok(())
    };
    t.set_pins(false, false, false);
    wait(t, half)?;
    let mut out = Vec::with_capacity(mosi.len());
    for &byte in mosi {
        let mut rx = 0u8;
        for bit in (0..8).rev() {
            let m = (byte >> bit) & 1 == 1;
            t.set_pins(false, false, m);
            wait(t, half)?;
            rx = (rx << 1) | t.miso() as u8;
            t.set_pins(true, false, m);
            wait(t, half)?;
        }
        t.set_pins(false, false, false);
        out.push(rx);
    }
    wait(t, half)?;
    t.set_pins(false, true, false);
    wait(t, half.max(2))?;
    Ok(out)
}

/// The standalone top in rust-hdl's simulator, driven over SPI.
pub struct SpiTopSim<const L: usize, const W: usize, const N: usize> {
    /// The design.
    pub top: crate::spi::TbnSpiTop<L, W, N>,
    /// SCK half period in system clock cycles (at least 2).
    pub half: usize,
    /// Cycles simulated.
    pub cycles: u64,
}

impl<const L: usize, const W: usize, const N: usize> SpiTarget for SpiTopSim<L, W, N> {
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

impl<const L: usize, const W: usize, const N: usize> SpiTopSim<L, W, N> {
    /// A connected top with the given capacities, past its power-on reset.
    pub fn new(
        tile_max: usize,
        max_in: usize,
        max_rows: usize,
        half: usize,
    ) -> Result<Self, SimError> {
        let mut top = crate::spi::TbnSpiTop::<L, W, N>::new(tile_max, max_in, max_rows);
        top.connect_all();
        let mut s = SpiTopSim {
            top,
            half,
            cycles: 0,
        };
        s.set_pins(false, true, false);
        for _ in 0..(crate::spi::POR_CYCLES + 4) {
            s.cycle()?;
        }
        Ok(s)
    }

    /// Run a bus script over SPI (bursts as in [`crate::testbench::spi_steps`]);
    /// the result has the layout of [`crate::testbench::run_icarus`].
    pub fn run_ops(&mut self, ops: &[crate::testbench::BusOp]) -> Result<Vec<u32>, SimError> {
        use crate::testbench::{spi_steps, SpiStep};
        let steps = spi_steps(ops)?;
        let mut out = Vec::new();
        for st in &steps {
            match st {
                SpiStep::Frame { mosi, report_from } => {
                    let rx = spi_frame(self, self.half, mosi)?;
                    if *report_from < rx.len() {
                        for c in rx[*report_from..].chunks_exact(4) {
                            out.push(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
                        }
                    }
                }
                SpiStep::WaitIdle => {
                    let mut polls = 0;
                    loop {
                        polls += 1;
                        let rx = spi_frame(
                            self,
                            self.half,
                            &crate::spi::read_frame(tbn_driver::regmap::STATUS, 1),
                        )?;
                        let st = crate::spi::read_frame_words(&rx)[0];
                        if st & tbn_driver::regmap::STATUS_BUSY == 0 {
                            break;
                        }
                    }
                    out.push(polls);
                }
                SpiStep::Idle(n) => {
                    for _ in 0..*n {
                        self.cycle()?;
                    }
                }
                SpiStep::Irq => out.push(self.top.irq.val() as u32),
            }
        }
        Ok(out)
    }
}

/// Verilator warnings waived for the emitted Verilog (docs/hdl.md, "Lint waivers").
pub const LINT_WAIVERS: &[&str] = &["-Wno-WIDTH", "-Wno-DECLFILENAME", "-Wno-UNUSEDSIGNAL"];

/// Verilator `--lint-only -Wall` (with [`LINT_WAIVERS`]) of a single block's
/// Verilog (module `top`, from [`block_verilog`]); `Ok(None)` when Verilator
/// is not installed, `Ok(Some(()))` when clean, else the report.
pub fn lint_block(verilog: &str, dir: &Path) -> Result<Option<()>, String> {
    if !crate::testbench::have_tool("verilator") {
        return Ok(None);
    }
    let file = dir.join("block.v");
    std::fs::write(&file, verilog).map_err(|e| e.to_string())?;
    let out = std::process::Command::new("verilator")
        .current_dir(dir)
        .args(["--lint-only", "-Wall", "--top-module", "top"])
        .args(LINT_WAIVERS)
        .arg("block.v")
        .output()
        .map_err(|e| e.to_string())?;
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() && !err.contains("%Warning") {
        Ok(Some(()))
    } else {
        Err(err.into_owned())
    }
}
