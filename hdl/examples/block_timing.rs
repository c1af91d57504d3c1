//! Emit one engine block for an out-of-context timing run on a small FPGA:
//! `block_timing BLOCK OUT_DIR` with BLOCK `requant` (UP5K widths: 19-bit
//! dots, 52-bit v), `engine` (L = 32, 19-bit accumulators), `actwrite`, `rowwalk`, `mapwalk` (the conv / max-pool
//! map walker, 16-bit addresses), `reqphase` (the three together), `tile_spram` (the
//! UP5K engine's tile memory in SPRAM: add `-spram`) or `pair_ram` (its alpha memory). Writes `OUT_DIR/block.v`: the
//! block (module `blk`) inside a wrapper `timing_top(clk, din, dout)` whose
//! block inputs come from a shift register fed by `din` and whose registered
//! outputs are XOR-reduced to `dout`, so every path of the block is
//! register to register and the design fits the UP5K's pins. Then e.g.
//! `yosys -p 'synth_ice40 -dsp -top timing_top -json b.json' block.v` and
//! `nextpnr-ice40 --up5k --package sg48 --json b.json --freq 48 --seed 1`.

use std::fmt::Write as _;
use tbn_hdl::rtlsim::{block_verilog, Lockstep};

fn wrap<B: Lockstep>(mut b: B) -> String {
    let inputs = b.inputs();
    let outputs = b.outputs();
    let body = tbn_hdl::rename_top(&block_verilog(&mut b), "blk");
    let iw: usize = inputs.iter().map(|p| p.width).sum();
    let ow: usize = outputs.iter().map(|p| p.width).sum();
    let mut v = body;
    let _ = writeln!(
        v,
        "module timing_top(input clk, input din, output reg dout);\n  reg [{}:0] sr;\n  wire [{}:0] o;\n  reg [{}:0] oq;",
        iw - 1,
        ow - 1,
        ow - 1
    );
    let mut conns = vec![".clk(clk)".to_string()];
    let mut at = 0;
    for p in &inputs {
        conns.push(format!(".{}(sr[{}:{}])", p.name, at + p.width - 1, at));
        at += p.width;
    }
    at = 0;
    for p in &outputs {
        conns.push(format!(".{}(o[{}:{}])", p.name, at + p.width - 1, at));
        at += p.width;
    }
    let _ = writeln!(
        v,
        "  blk dut({});\n  always @(posedge clk) begin sr <= {{sr[{}:0], din}}; oq <= o; dout <= ^oq; end\nendmodule",
        conns.join(", "),
        iw - 2
    );
    v
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::Path::new(&a[1]);
    std::fs::create_dir_all(dir).expect("out dir");
    let v = match a[0].as_str() {
        "requant" => wrap(tbn_hdl::requant::Requant::new(
            tbn_hdl::engine::acc_bits_for(1024) as usize,
            52,
        )),
        "engine" => wrap(tbn_hdl::engine::Engine::<32, 32>::for_max_in(1024)),
        "actwrite" => wrap(tbn_hdl::actwrite::ActWriter::default()),
        "rowwalk" => wrap(tbn_hdl::rowwalk::RowWalker::<18>::default()),
        "mapwalk" => wrap(tbn_hdl::mapwalk::MapWalker::<16>::default()),
        "reqphase" => wrap(tbn_hdl::reqphase::ReqPhase::<18>::new(
            tbn_hdl::engine::acc_bits_for(1024) as usize,
            52,
        )),
        // the UP5K engine's memories: the tile section in single-port banks
        // (SPRAM with `synth_ice40 -spram`) and the alpha pair memory
        "tile_spram" => wrap(tbn_hdl::mem::TileMem::<32>::single_port(
            tbn_hdl::netcore::UP5K_SPRAM_BITS - 32,
            32,
        )),
        "pair_ram" => wrap(tbn_hdl::ram::PairRam::<16>::new(1024)),
        other => panic!("unknown block {other}"),
    };
    std::fs::write(dir.join("block.v"), v).expect("write");
}
