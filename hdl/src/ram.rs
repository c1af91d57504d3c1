//! A plain simple-dual-port block RAM of the whole-network engine: one write
//! port, one registered read port (the word at `raddr` in cycle `t` is on
//! `rdata` in cycle `t + 1`; a read of the address written in the same cycle
//! returns the old word in the model and in simulation, and is undefined on
//! the FPGA: the array is `(* no_rw_check *)`, as in `mem.rs`, so yosys maps
//! it to block RAM without collision logic, which cost about 30-75 FF and
//! 25-75 LUT4 per instance. `D`-bit words, `depth` words (a power of two; a
//! write at or beyond `depth` is dropped, a read address wraps modulo
//! `depth`). Used for the descriptor, constants, accumulator-pair, logits
//! and layer-cycle memories ([`crate::netcore`]), none of which the engine
//! reads in a cycle it writes the same word (only a host read of LOGITS or
//! LAYER_CYCLES while BUSY can meet a write, and reads undefined data then);
//! yosys infers block RAM (SB_RAM40_4K on iCE40) from it.

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
initial begin
  // (simulation only: an initial value keeps yosys from merging the read
  // register into the block RAM, which then costs LUTs; the FPGA's rdata
  // before the first read is not used)
`ifndef SYNTHESIS
  rq = 0;
`endif
  for (i = 0; i < {n}; i = i + 1) mem[i] = 0;
end
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
