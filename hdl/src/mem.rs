//! On-chip memories: tile (two banks so any `L`-bit window is one read),
//! activation bit-planes and output accumulators.
//!
//! Each is a `Verilog::Custom` block with `(* no_rw_check *)` arrays so yosys
//! maps them to block RAM without collision logic, plus a Rust model of the
//! same registered-read behaviour for rust-hdl's simulator.

use crate::util::*;
use rust_hdl::prelude::*;

/// Tile memory: the extended tile image in `W`-bit words, split into an
/// even and an odd bank; a read at bit address `s` returns the word holding
/// bit `s` (`lo`) and the next word (`hi`) one cycle later. The read word
/// address is `s / W + rd_base`, the next word's `s / W + rd_base1` (the
/// user gives `rd_base1 = rd_base + 1` from a register: two adders side by
/// side instead of a window-base adder followed by the `+ 1` one; the
/// job-mode core gives 0 and 1, which synthesis folds away).
#[derive(LogicBlock)]
pub struct TileMem<const W: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Bus write enable.
    pub bus_we: Signal<In, Bit>,
    /// Bus word address (32-bit words) within the TILE window.
    pub bus_addr: Signal<In, Bits<16>>,
    /// Bus write data.
    pub bus_data: Signal<In, Bits<32>>,
    /// Bus byte-lane selects (bit i: write bits 8i+7..8i).
    pub bus_sel: Signal<In, Bits<4>>,
    /// Read bit address (window start), relative to `rd_base`.
    pub rd_bit: Signal<In, Bits<22>>,
    /// Read base in `W`-bit words.
    pub rd_base: Signal<In, Bits<16>>,
    /// `rd_base + 1`.
    pub rd_base1: Signal<In, Bits<16>>,
    /// Word containing the window start.
    pub lo: Signal<Out, Bits<W>>,
    /// The following word.
    pub hi: Signal<Out, Bits<W>>,
    _words: Vec<u32>,
    _depth: usize,
    _pending: Option<(usize, Bits<32>, Bits<4>)>,
    _single_port: bool,
    _even_q: Bits<W>,
    _odd_q: Bits<W>,
    _odd_first: bool,
}

impl<const W: usize> TileMem<W> {
    /// A tile memory holding `tile_max + lanes` bits.
    pub fn new(tile_max: usize, lanes: usize) -> Self {
        Self::build(tile_max, lanes, false)
    }

    /// The same memory with single-port banks (one address per bank: the
    /// bus write's while it writes, else the read's), which
    /// yosys 0.23 maps to SB_SPRAM256KA with `synth_ice40 -spram` (iCE40
    /// UP5K: 16K x 16 bits each; a bank of 16,384 `W = 32`-bit words is two
    /// of them). A bank's read register holds its word in the cycle the
    /// bank is written (the SPRAM's "no change" read-during-write); the
    /// engine writes the tile only while a model is being loaded. The bus
    /// write is not registered again next to the memory (the engine's
    /// loader drives it from registers): a write lands at the end of its
    /// own cycle, one cycle earlier than in [`TileMem::new`].
    pub fn single_port(tile_max: usize, lanes: usize) -> Self {
        Self::build(tile_max, lanes, true)
    }

    fn build(tile_max: usize, lanes: usize, single_port: bool) -> Self {
        let depth = (tile_max + lanes).div_ceil(W);
        TileMem {
            clk: Default::default(),
            bus_we: Default::default(),
            bus_addr: Default::default(),
            bus_data: Default::default(),
            bus_sel: Default::default(),
            rd_bit: Default::default(),
            rd_base: Default::default(),
            rd_base1: Default::default(),
            lo: Default::default(),
            hi: Default::default(),
            _words: vec![0; depth * W / 32],
            _depth: depth,
            _pending: None,
            _single_port: single_port,
            _even_q: Default::default(),
            _odd_q: Default::default(),
            _odd_first: false,
        }
    }

    /// Words of `W` bits.
    pub fn depth(&self) -> usize {
        self._depth
    }

    fn word(&self, k: usize) -> Bits<W> {
        let s = W / 32;
        let mut bools = Vec::with_capacity(W);
        for j in 0..s {
            let v = self._words.get(k * s + j).copied().unwrap_or(0);
            bools.extend((0..32).map(|i| (v >> i) & 1 == 1));
        }
        from_bools(&bools)
    }
}

impl<const W: usize> Logic for TileMem<W> {
    fn update(&mut self) {
        if self.clk.pos_edge() {
            let rw = (low_u64(self.rd_bit.val()) as usize) / W;
            let k = rw + low_u64(self.rd_base.val()) as usize;
            let kn = rw + low_u64(self.rd_base1.val()) as usize;
            // the even bank is read at kn / 2, the odd one at k / 2 (with
            // kn = k + 1: the even and the odd word of k, k + 1)
            let (mut even, mut odd) = (self.word(kn & !1), self.word(k | 1));
            // the write landing now: the request registered in the previous
            // cycle (dual port), the bus write itself (single port)
            let bus = self.bus_we.val().then(|| {
                (
                    low_u64(self.bus_addr.val()) as usize,
                    self.bus_data.val(),
                    self.bus_sel.val(),
                )
            });
            let landing = if self._single_port {
                bus
            } else {
                std::mem::replace(&mut self._pending, bus)
            };
            if let Some((a, data, sel)) = landing {
                if a < self._depth * (W / 32) {
                    let old = self._words[a];
                    self._words[a] = merge_bytes(old, data, sel);
                    // single port: the written bank's read register holds
                    if self._single_port {
                        if (a / (W / 32)).is_multiple_of(2) {
                            even = self._even_q;
                        } else {
                            odd = self._odd_q;
                        }
                    }
                }
            }
            self._even_q = even;
            self._odd_q = odd;
            self._odd_first = k % 2 == 1;
            if self._odd_first {
                self.lo.next = odd;
                self.hi.next = even;
            } else {
                self.lo.next = even;
                self.hi.next = odd;
            }
        }
    }
    fn connect(&mut self) {
        self.lo.connect();
        self.hi.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(if self._single_port {
            tile_mem_single_port_verilog(W, self._depth)
        } else {
            tile_mem_verilog(W, self._depth)
        })
    }
}

/// `old` with the byte lanes selected by `sel` replaced from `data`.
pub fn merge_bytes(old: u32, data: Bits<32>, sel: Bits<4>) -> u32 {
    let d = low_u64(data) as u32;
    let mut out = old;
    for b in 0..4 {
        if sel.get_bit(b) {
            out = (out & !(0xFF << (8 * b))) | (d & (0xFF << (8 * b)));
        }
    }
    out
}

/// Byte-lane writes of `data` into the 32-bit slice at `base` of `target`.
fn byte_writes(target: &str, base: usize, data: &str) -> String {
    (0..4)
        .map(|b| {
            format!(
                "if (bus_sel[{b}]) {target}[{}:{}] <= {data}[{}:{}];",
                base + 8 * b + 7,
                base + 8 * b,
                8 * b + 7,
                8 * b
            )
        })
        .collect::<Vec<_>>()
        .join("\n        ")
}

fn slice_writes(target: &str, slices: usize, sel: &str, data: &str) -> String {
    if slices == 1 {
        return format!("begin\n        {}\n      end", byte_writes(target, 0, data));
    }
    let sb = log2(slices);
    let mut s = format!("case ({sel})\n");
    for j in 0..slices {
        let label = if j + 1 == slices {
            "default".into()
        } else {
            format!("{sb}'d{j}")
        };
        s += &format!(
            "        {label}: begin\n        {}\n        end\n",
            byte_writes(target, 32 * j, data)
        );
    }
    s += "      endcase";
    s
}

/// The bus write request registered next to the BRAMs (`wq_*`): the bus
/// decode and the byte-lane masks of the write get a cycle of their own
/// (writes land one cycle after the request; the core starts reading the
/// memories at least three cycles after the last bus write). `decl` declares
/// wires over the bus inputs that the `enables` (name, condition) use; each
/// enable is registered as `wq_<name>`.
fn write_request_regs(addr_bits: usize, decl: &str, enables: &[(&str, String)]) -> String {
    let mut v = format!(
        "{decl}reg [{am}:0] wq_addr; reg [31:0] wq_data; reg [3:0] wq_sel;\n",
        am = addr_bits - 1
    );
    for (name, _) in enables {
        v += &format!("reg wq_{name};\ninitial wq_{name} = 1'b0;\n");
    }
    v += "always @(posedge clk) begin\n  wq_addr <= bus_addr; wq_data <= bus_data; wq_sel <= bus_sel;\n";
    for (name, cond) in enables {
        v += &format!("  wq_{name} <= bus_we && {cond};\n");
    }
    v += "end\n";
    v
}

/// A memory body `text` whose write part (from the `wr_word` declaration
/// on) uses the registered request `regs` (see [`write_request_regs`])
/// instead of the bus write ports.
fn with_write_request(text: &str, regs: &str) -> String {
    let at = text.find(" wr_word = ").expect("write part");
    let start = text[..at].rfind("wire [").expect("write part");
    format!(
        "{}{regs}{}",
        &text[..start],
        text[start..].replace("bus_", "wq_")
    )
}

/// `sig[bits-1:0] < c` as a sum of products (no carry chain: the bus write
/// enables of the memories are on a timing-critical path into the BRAMs).
fn lt_const(sig: &str, bits: usize, c: usize) -> String {
    if c >= 1 << bits {
        return "1'b1".into();
    }
    let mut terms = Vec::new();
    for i in (0..bits).rev() {
        if (c >> i) & 1 == 0 {
            continue;
        }
        // equal above bit i, 0 at bit i (where c has a 1)
        let mut t = vec![format!("~{sig}[{i}]")];
        for j in i + 1..bits {
            let b = if (c >> j) & 1 == 1 { "" } else { "~" };
            t.push(format!("{b}{sig}[{j}]"));
        }
        terms.push(format!("({})", t.join(" & ")));
    }
    if terms.is_empty() {
        return "1'b0".into();
    }
    format!("({})", terms.join(" | "))
}

/// Verilog body of the tile memory (`depth` words of `w` bits).
pub fn tile_mem_verilog(w: usize, depth: usize) -> String {
    tile_mem_body(w, depth, false)
}

/// Verilog body of the single-port tile memory ([`TileMem::single_port`]).
pub fn tile_mem_single_port_verilog(w: usize, depth: usize) -> String {
    tile_mem_body(w, depth, true)
}

fn tile_mem_body(w: usize, depth: usize, single_port: bool) -> String {
    let wg = log2(w);
    let kb = index_bits(depth).max(2);
    let de = depth.div_ceil(2);
    let dodd = (depth / 2).max(1);
    // the odd bank may be half the size of the even one: its index is
    // exactly as wide as it needs (no WIDTH warning)
    let ob = index_bits(dodd);
    let slices = w / 32;
    let sg = log2(slices);
    let wr_slice = if slices > 1 {
        format!("wire [{}:0] wr_slice = bus_addr[{}:0];\n", sg - 1, sg - 1)
    } else {
        String::new()
    };
    let (odd_at, even_at) = if single_port {
        ("a_odd".to_string(), "a_even".to_string())
    } else {
        (format!("wr_word[{ob}:1]"), format!("wr_word[{}:1]", kb - 1))
    };
    let (reads, writes) = if single_port {
        (
            String::new(),
            format!(
                "\
// one address per bank (single port: SB_SPRAM256KA with synth_ice40 -spram)
wire [{obm1}:0] a_odd = bus_we_odd ? wr_word[{ob}:1] : rd_word[{ob}:1];
wire [{kbm2}:0] a_even = bus_we_even ? wr_word[{kbm}:1] : rd_next[{kbm}:1];
always @(posedge clk) begin
  odd_first <= rd_word[0];
  if (bus_we_odd)
    {wodd}
  else
    odd_q <= bank_odd[a_odd];
  if (bus_we_even)
    {weven}
  else
    even_q <= bank_even[a_even];
end
",
                obm1 = ob - 1,
                kbm2 = kb - 2,
                kbm = kb - 1,
                wodd = slice_writes(
                    &format!("bank_odd[{odd_at}]"),
                    slices,
                    "wr_slice",
                    "bus_data"
                ),
                weven = slice_writes(
                    &format!("bank_even[{even_at}]"),
                    slices,
                    "wr_slice",
                    "bus_data"
                ),
            ),
        )
    } else {
        (
            format!(
                "\
always @(posedge clk) begin
  even_q <= bank_even[rd_next[{kbm}:1]];
  odd_q <= bank_odd[rd_word[{ob}:1]];
  odd_first <= rd_word[0];
end
",
                kbm = kb - 1
            ),
            format!(
                "\
always @(posedge clk) begin
  if (bus_we_odd)
    {wodd}
  if (bus_we_even)
    {weven}
end
",
                wodd = slice_writes(
                    &format!("bank_odd[{odd_at}]"),
                    slices,
                    "wr_slice",
                    "bus_data"
                ),
                weven = slice_writes(
                    &format!("bank_even[{even_at}]"),
                    slices,
                    "wr_slice",
                    "bus_data"
                ),
            ),
        )
    };
    let text = format!(
        "\
(* no_rw_check *) reg [{wm}:0] bank_even [0:{dem}];
(* no_rw_check *) reg [{wm}:0] bank_odd [0:{dom}];
wire [{kbm}:0] rd_word = rd_bit[{rtop}:{wg}] + rd_base[{kbm}:0];
wire [{kbm}:0] rd_next = rd_bit[{rtop}:{wg}] + rd_base1[{kbm}:0];
reg [{wm}:0] even_q;
reg [{wm}:0] odd_q;
reg odd_first;
{reads}always @(*) begin
  lo = odd_first ? odd_q : even_q;
  hi = odd_first ? even_q : odd_q;
end
wire [{kbm}:0] wr_word = bus_addr[{wtop}:{sg}];
{wr_slice}{writes}",
        wm = w - 1,
        dem = de - 1,
        dom = dodd - 1,
        kbm = kb - 1,
        rtop = kb + wg - 1,
        wtop = kb + sg - 1,
    );
    // the whole window address is decoded: a word at or past the image end
    // is ignored, never folded onto the start of the tile (issue 17 (b))
    let high = if kb + sg < 16 {
        format!("(bus_addr[15:{}] == {}'d0)", kb + sg, 16 - kb - sg)
    } else {
        "1'b1".into()
    };
    let in_range = format!("{high} && {}", lt_const("req_word", kb, depth));
    if single_port {
        // the bus write straight into the banks (no request register)
        let at = text.find(" wr_word = ").expect("write part");
        let start = text[..at].rfind("wire [").expect("write part");
        return format!(
            "{}wire [{}:0] req_word = bus_addr[{}:{sg}];\n\
             wire bus_we_odd = bus_we && {in_range} && req_word[0];\n\
             wire bus_we_even = bus_we && {in_range} && ~req_word[0];\n{}",
            &text[..start],
            kb - 1,
            kb + sg - 1,
            &text[start..]
        );
    }
    with_write_request(
        &text,
        &write_request_regs(
            16,
            &format!(
                "wire [{}:0] req_word = bus_addr[{}:{sg}];\n",
                kb - 1,
                kb + sg - 1
            ),
            &[
                ("we_odd", format!("{in_range} && req_word[0]")),
                ("we_even", format!("{in_range} && ~req_word[0]")),
            ],
        ),
    )
}

/// Activation memory: 8 bit-planes of `max_in` bits in `W`-bit words;
/// registered read of the word holding activation bit `rd_bit` of plane `rd_plane`.
#[derive(LogicBlock)]
pub struct ActMem<const W: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Bus write enable.
    pub bus_we: Signal<In, Bit>,
    /// Bus word address (32-bit words) within the ACT window: plane in 13:11, word in 10:0.
    pub bus_addr: Signal<In, Bits<14>>,
    /// Bus write data.
    pub bus_data: Signal<In, Bits<32>>,
    /// Bus byte-lane selects (bit i: write bits 8i+7..8i).
    pub bus_sel: Signal<In, Bits<4>>,
    /// Read plane.
    pub rd_plane: Signal<In, Bits<3>>,
    /// Read activation bit address.
    pub rd_bit: Signal<In, Bits<17>>,
    /// Word read.
    pub word: Signal<Out, Bits<W>>,
    _planes: Vec<Vec<u32>>,
    _max_in: usize,
    _pending: Option<(usize, Bits<32>, Bits<4>)>,
}

impl<const W: usize> ActMem<W> {
    /// An activation memory for rows of up to `max_in` inputs.
    pub fn new(max_in: usize) -> Self {
        ActMem {
            clk: Default::default(),
            bus_we: Default::default(),
            bus_addr: Default::default(),
            bus_data: Default::default(),
            bus_sel: Default::default(),
            rd_plane: Default::default(),
            rd_bit: Default::default(),
            word: Default::default(),
            _planes: vec![vec![0; max_in / 32]; 8],
            _max_in: max_in,
            _pending: None,
        }
    }
}

impl<const W: usize> Logic for ActMem<W> {
    fn update(&mut self) {
        if self.clk.pos_edge() {
            let p = low_u64(self.rd_plane.val()) as usize;
            let k = (low_u64(self.rd_bit.val()) as usize % self._max_in) / W;
            let s = W / 32;
            let mut bools = Vec::with_capacity(W);
            for j in 0..s {
                let v = self._planes[p][k * s + j];
                bools.extend((0..32).map(|i| (v >> i) & 1 == 1));
            }
            self.word.next = from_bools(&bools);
            // the write request registered in the previous cycle lands now
            if let Some((a, data, sel)) = self._pending.take() {
                let (plane, w32) = (a >> 11, a & 0x7FF);
                if w32 < self._max_in / 32 {
                    let old = self._planes[plane][w32];
                    self._planes[plane][w32] = merge_bytes(old, data, sel);
                }
            }
            if self.bus_we.val() {
                let a = low_u64(self.bus_addr.val()) as usize;
                self._pending = Some((a, self.bus_data.val(), self.bus_sel.val()));
            }
        }
    }
    fn connect(&mut self) {
        self.word.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(act_mem_verilog(W, self._max_in))
    }
}

/// Verilog body of the activation memory.
pub fn act_mem_verilog(w: usize, max_in: usize) -> String {
    let wg = log2(w);
    let pw = max_in / w; // words per plane (>= 2)
    let pb = log2(pw);
    let slices = w / 32;
    let sg = log2(slices);
    let depth = 8 * pw;
    let w32_per_plane = max_in / 32;
    let wr_slice = if slices > 1 {
        format!("wire [{}:0] wr_slice = bus_addr[{}:0];\n", sg - 1, sg - 1)
    } else {
        String::new()
    };
    let text = format!(
        "\
(* no_rw_check *) reg [{wm}:0] planes [0:{dm}];
reg [{wm}:0] word_q;
always @(posedge clk) word_q <= planes[{{rd_plane, rd_bit[{rtop}:{wg}]}}];
always @(*) word = word_q;
wire [{pbm}:0] wr_word = bus_addr[{wtop}:{sg}];
{wr_slice}always @(posedge clk) begin
  if (bus_we_ok)
    {wr}
end
",
        wm = w - 1,
        dm = depth - 1,
        rtop = pb + wg - 1,
        pbm = pb - 1,
        wtop = pb + sg - 1,
        wr = slice_writes(
            "planes[{bus_addr[13:11], wr_word}]",
            slices,
            "wr_slice",
            "bus_data"
        ),
    );
    with_write_request(
        &text,
        &write_request_regs(
            14,
            "",
            &[("we_ok", lt_const("bus_addr", 11, w32_per_plane))],
        ),
    )
}

/// Output memory: `max_rows` pairs `(dot_a, dot_b)`; written by the engine,
/// read by the bus (registered read, 32-bit words: even = dot_a, odd = dot_b).
#[derive(LogicBlock)]
pub struct OutMem {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Write enable.
    pub we: Signal<In, Bit>,
    /// Row written.
    pub wrow: Signal<In, Bits<13>>,
    /// dot_a written.
    pub wa: Signal<In, Bits<32>>,
    /// dot_b written.
    pub wb: Signal<In, Bits<32>>,
    /// Bus word address within the OUT window.
    pub bus_addr: Signal<In, Bits<14>>,
    /// Read data (one cycle after the address; 0 beyond `max_rows`).
    pub rdata: Signal<Out, Bits<32>>,
    _rows: Vec<(u32, u32)>,
}

impl OutMem {
    /// An output memory of `max_rows` rows.
    pub fn new(max_rows: usize) -> Self {
        OutMem {
            clk: Default::default(),
            we: Default::default(),
            wrow: Default::default(),
            wa: Default::default(),
            wb: Default::default(),
            bus_addr: Default::default(),
            rdata: Default::default(),
            _rows: vec![(0, 0); max_rows],
        }
    }
}

impl Logic for OutMem {
    fn update(&mut self) {
        if self.clk.pos_edge() {
            let a = low_u64(self.bus_addr.val()) as usize;
            let row = a >> 1;
            let v = match self._rows.get(row) {
                Some(&(x, y)) => {
                    if a & 1 == 1 {
                        y
                    } else {
                        x
                    }
                }
                None => 0,
            };
            self.rdata.next = from_u64(v as u64);
            if self.we.val() {
                let n = self._rows.len();
                let r = low_u64(self.wrow.val()) as usize % n;
                self._rows[r] = (low_u64(self.wa.val()) as u32, low_u64(self.wb.val()) as u32);
            }
        }
    }
    fn connect(&mut self) {
        self.rdata.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(out_mem_verilog(self._rows.len()))
    }
}

/// Verilog body of the output memory.
pub fn out_mem_verilog(max_rows: usize) -> String {
    let rb = log2(max_rows);
    let range = if rb < 13 {
        format!("(bus_addr[13:{}] == {}'d0)", rb + 1, 13 - rb)
    } else {
        "1'b1".into()
    };
    format!(
        "\
(* no_rw_check *) reg [63:0] pairs [0:{rm}];
reg [63:0] pair_q;
reg second_q;
reg in_range_q;
// OUT reads 0 until a job writes it (block RAM initial contents; no X in
// 4-state simulation, also for the SPI bridge's read look-ahead)
integer init_row;
initial begin
  for (init_row = 0; init_row <= {rm}; init_row = init_row + 1) pairs[init_row] = 64'd0;
  pair_q = 64'd0;
  second_q = 1'b0;
  in_range_q = 1'b0;
end
always @(posedge clk) begin
  if (we) pairs[wrow[{rbm}:0]] <= {{wb, wa}};
  pair_q <= pairs[bus_addr[{rb}:1]];
  second_q <= bus_addr[0];
  in_range_q <= {range};
end
always @(*) rdata = in_range_q ? (second_q ? pair_q[63:32] : pair_q[31:0]) : 32'd0;
",
        rm = max_rows - 1,
        rbm = rb - 1,
    )
}
