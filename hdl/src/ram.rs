//! A plain simple-dual-port block RAM of the whole-network engine: one write
//! port, one registered read port (the word at `raddr` in cycle `t` is on
//! `rdata` in cycle `t + 1`). `D`-bit words, `depth` words (a power of two;
//! a write at or beyond `depth` is dropped, a read address wraps modulo
//! `depth`). Used for the descriptor, constants, accumulator-pair, logits
//! and layer-cycle memories ([`crate::netcore`]); yosys infers block RAM
//! (SB_RAM40_4K on iCE40) from it with no logic around it: the array is
//! `(* no_rw_check *)` (a read of the word written in the same cycle returns
//! the old word in the model and in simulation and is undefined on the FPGA;
//! the engine never uses such a read, only a host read of LOGITS or
//! LAYER_CYCLES while BUSY can meet a write) and the read register has its
//! simulation-only initial value under `ifndef SYNTHESIS` (a synthesized
//! initial value costs a flip-flop and one LUT per bit to force 0 until the
//! first read; yosys 0.23 measured 44 LUT4 and 75 flip-flops per 256 x 32
//! RAM without both, 4 LUT4 with them).
//!
//! [`PairRam`]: the same with two words per read (`raddr` and `raddr + 1`)
//! from an even and an odd bank, for the alpha codes.

use crate::util::*;
use rust_hdl::prelude::*;

/// The RAM.
#[derive(LogicBlock)]
pub struct Ram<const D: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Write enable.
    pub we: Signal<In, Bit>,
    /// Write address.
    pub waddr: Signal<In, Bits<16>>,
    /// Write data.
    pub wdata: Signal<In, Bits<D>>,
    /// Read address.
    pub raddr: Signal<In, Bits<16>>,
    /// Word read in the previous cycle.
    pub rdata: Signal<Out, Bits<D>>,
    _words: Vec<u64>,
}

impl<const D: usize> Ram<D> {
    /// A RAM of `depth` words (rounded up to a power of two, at least 2, at most 2^16).
    pub fn new(depth: usize) -> Self {
        assert!(D <= 64, "RAM words are at most 64 bits");
        let depth = depth.clamp(2, 1 << 16).next_power_of_two();
        Ram {
            clk: Default::default(),
            we: Default::default(),
            waddr: Default::default(),
            wdata: Default::default(),
            raddr: Default::default(),
            rdata: Default::default(),
            _words: vec![0; depth],
        }
    }

    /// Words.
    pub fn depth(&self) -> usize {
        self._words.len()
    }
}

impl<const D: usize> Logic for Ram<D> {
    fn update(&mut self) {
        if self.clk.pos_edge() {
            let n = self._words.len();
            let r = low_u64(self.raddr.val()) as usize & (n - 1);
            self.rdata.next = from_u64(self._words[r]);
            if self.we.val() {
                let a = low_u64(self.waddr.val()) as usize;
                if a < n {
                    self._words[a] = low_u64(self.wdata.val());
                }
            }
        }
    }

    fn connect(&mut self) {
        self.rdata.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(ram_verilog(D, self._words.len()))
    }
}

/// The RAM's Verilog body.
pub fn ram_verilog(d: usize, depth: usize) -> String {
    let ab = log2(depth);
    let wr_ok = if ab >= 16 {
        "1'b1".to_string()
    } else {
        format!("(waddr[15:{ab}] == {}'d0)", 16 - ab)
    };
    format!(
        "\
(* no_rw_check *) reg [{dm}:0] mem [0:{nm}];
reg [{dm}:0] rq;
integer i;
initial for (i = 0; i < {n}; i = i + 1) mem[i] = 0;
`ifndef SYNTHESIS
initial rq = 0;
`endif
always @(posedge clk) begin
  rq <= mem[raddr[{am}:0]];
  if (we && {wr_ok}) mem[waddr[{am}:0]] <= wdata;
end
always @(*) rdata = rq;
",
        dm = d - 1,
        n = depth,
        nm = depth - 1,
        am = ab - 1,
    )
}

/// A RAM of `depth` `D`-bit words (a power of two, at least 4) read two
/// words at a time: the words at `raddr` and `raddr + 1` (modulo `depth`)
/// are on `rdata0` and `rdata1` one cycle later. Two banks (even and odd
/// words) of `depth / 2` words each, as the tile memory: the even bank is
/// read at `(raddr + 1) / 2`, the odd one at `raddr / 2`, and a registered
/// `raddr[0]` orders them. Write and collision behaviour as [`Ram`]. Half
/// the block RAM of two full copies (the engine's alpha codes: a pair of
/// copies `c`, `c + 1` per row at any ALPHA_BASE).
#[derive(LogicBlock)]
pub struct PairRam<const D: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Write enable.
    pub we: Signal<In, Bit>,
    /// Write address.
    pub waddr: Signal<In, Bits<16>>,
    /// Write data.
    pub wdata: Signal<In, Bits<D>>,
    /// Read address.
    pub raddr: Signal<In, Bits<16>>,
    /// Word `raddr` of the previous cycle.
    pub rdata0: Signal<Out, Bits<D>>,
    /// Word `raddr + 1` of the previous cycle.
    pub rdata1: Signal<Out, Bits<D>>,
    _words: Vec<u64>,
}

impl<const D: usize> PairRam<D> {
    /// A RAM of `depth` words (rounded up to a power of two, at least 4, at most 2^16).
    pub fn new(depth: usize) -> Self {
        assert!(D <= 64, "RAM words are at most 64 bits");
        let depth = depth.clamp(4, 1 << 16).next_power_of_two();
        PairRam {
            clk: Default::default(),
            we: Default::default(),
            waddr: Default::default(),
            wdata: Default::default(),
            raddr: Default::default(),
            rdata0: Default::default(),
            rdata1: Default::default(),
            _words: vec![0; depth],
        }
    }

    /// Words.
    pub fn depth(&self) -> usize {
        self._words.len()
    }
}

impl<const D: usize> Logic for PairRam<D> {
    fn update(&mut self) {
        if self.clk.pos_edge() {
            let n = self._words.len();
            let r = low_u64(self.raddr.val()) as usize & (n - 1);
            self.rdata0.next = from_u64(self._words[r]);
            self.rdata1.next = from_u64(self._words[(r + 1) & (n - 1)]);
            if self.we.val() {
                let a = low_u64(self.waddr.val()) as usize;
                if a < n {
                    self._words[a] = low_u64(self.wdata.val());
                }
            }
        }
    }

    fn connect(&mut self) {
        self.rdata0.connect();
        self.rdata1.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(pair_ram_verilog(D, self._words.len()))
    }
}

/// The pair RAM's Verilog body.
pub fn pair_ram_verilog(d: usize, depth: usize) -> String {
    let ab = log2(depth);
    let wr_ok = if ab >= 16 {
        "1'b1".to_string()
    } else {
        format!("(waddr[15:{ab}] == {}'d0)", 16 - ab)
    };
    format!(
        "\
(* no_rw_check *) reg [{dm}:0] bank_even [0:{hm}];
(* no_rw_check *) reg [{dm}:0] bank_odd [0:{hm}];
wire [{am}:0] ra = raddr[{am}:0];
wire [{am}:0] rn = ra + {ab}'d1;
reg [{dm}:0] even_q;
reg [{dm}:0] odd_q;
reg odd_first;
integer i;
initial for (i = 0; i < {h}; i = i + 1) begin bank_even[i] = 0; bank_odd[i] = 0; end
`ifndef SYNTHESIS
initial begin even_q = 0; odd_q = 0; odd_first = 1'b0; end
`endif
always @(posedge clk) begin
  even_q <= bank_even[rn[{am}:1]];
  odd_q <= bank_odd[ra[{am}:1]];
  odd_first <= ra[0];
  if (we && {wr_ok} && ~waddr[0]) bank_even[waddr[{am}:1]] <= wdata;
  if (we && {wr_ok} && waddr[0]) bank_odd[waddr[{am}:1]] <= wdata;
end
always @(*) begin
  rdata0 = odd_first ? odd_q : even_q;
  rdata1 = odd_first ? even_q : odd_q;
end
",
        dm = d - 1,
        h = depth / 2,
        hm = depth / 2 - 1,
        am = ab - 1,
    )
}

crate::lockstep_block!(
    PairRam<16>,
    inputs [we, waddr, wdata, raddr],
    outputs [rdata0, rdata1]
);
crate::lockstep_block!(
    Ram<32>,
    inputs [we, waddr, wdata, raddr],
    outputs [rdata]
);
crate::lockstep_block!(
    Ram<64>,
    inputs [we, waddr, wdata, raddr],
    outputs [rdata]
);
