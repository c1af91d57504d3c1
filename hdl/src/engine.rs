//! The compute engine: funnel-shift window reader, XNOR/AND lane logic with
//! lane mask and segment split, pipelined adder trees (one per segment) and
//! the bit-plane-weighted accumulators.
//!
//! Its Verilog is generated for the lane count `L` (a `Verilog::Custom`
//! block, because every pipeline level of the tree has its own width); the
//! Rust `update()` is a cycle-exact model of the same pipeline. Both are
//! tested against each other and against a plain reference
//! (`tests/blocks.rs`, the engine section).
//!
//! Pipeline (edges after the issue cycle `t` in which the sequencer presents
//! an issue and the memories sample their read addresses):
//! - `t+1`: side information registered (`s1`), memory words valid;
//! - `t+2`: memory words and lane masks registered (`s1b`: keeps the BRAM
//!   read path and the funnel shift in separate cycles);
//! - `t+3`: window (`L` bits at `bit_off` of `{tile_hi, tile_lo}`) and the
//!   activation slice registered (`s2`);
//! - `t+4 .. t+3+log2 L`: adder tree levels (one register per level);
//! - `t+4+log2 L`: term `(sum - L) << plane` (narrow, sign-extended; its
//!   complement on the sign plane) and its sign-plane flag;
//! - `t+5+log2 L`: accumulators (add the term, plus the sign-plane flag as
//!   the carry in, so the sign plane subtracts with the same adder); `out_we`
//!   is high in that cycle for the last issue of a row.

use crate::util::*;
use rust_hdl::prelude::*;
use std::collections::VecDeque;

/// Side information of one issue (travels with the data).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Issue {
    /// Issue valid.
    pub valid: bool,
    /// Window start bit within the low tile word (`< W`).
    pub bit_off: usize,
    /// Low 8 bits of the activation bit address of the chunk.
    pub abit: usize,
    /// Number of valid lanes (`0..=L`).
    pub nvalid: usize,
    /// First lane of segment b (`L`: none).
    pub segb: usize,
    /// Bit-plane index.
    pub plane: usize,
    /// Negative plane weight (sign plane of signed inputs).
    pub neg: bool,
    /// XNOR mode (`A = 1`).
    pub xnor: bool,
    /// First issue of a row (clears the accumulators).
    pub first: bool,
    /// Last issue of a row (writes the accumulators).
    pub last: bool,
    /// Row index.
    pub row: usize,
}

/// Contribution of one chunk and plane to `(dot_a, dot_b)` before weighting.
pub fn chunk_dots(lanes: usize, window: &[bool], act: &[bool], is: &Issue) -> (i64, i64) {
    let (mut a, mut b) = (0i64, 0i64);
    for i in 0..lanes {
        if i >= is.nvalid {
            continue;
        }
        let v = if is.xnor {
            if window[i] == act[i] {
                1
            } else {
                -1
            }
        } else if act[i] {
            if window[i] {
                1
            } else {
                -1
            }
        } else {
            0
        };
        if i >= is.segb {
            b += v;
        } else {
            a += v;
        }
    }
    (a, b)
}

/// Weighted term of a plane: `dot * 2^plane`, negated for the sign plane, as i32 (wrapping).
pub fn weight(dot: i64, plane: usize, neg: bool) -> i32 {
    let t = (dot << plane) as i32;
    if neg {
        t.wrapping_neg()
    } else {
        t
    }
}

#[derive(Clone, Debug, Default)]
struct TermStage {
    issue: Issue,
    a: i32,
    b: i32,
}

/// Cycle-exact Rust model of the engine pipeline.
#[derive(Clone, Debug, Default)]
pub struct EngineModel {
    lanes: usize,
    acc_bits: u32,
    s1: Issue,
    s1b: Issue,
    s1b_tile: Vec<bool>,
    s1b_act: Vec<bool>,
    s2: Issue,
    s2_win: Vec<bool>,
    s2_act: Vec<bool>,
    tree: VecDeque<TermStage>,
    term: TermStage,
    acc_v: bool,
    acc_last: bool,
    acc_row: usize,
    acc_a: i32,
    acc_b: i32,
}

/// `x` wrapped to a `bits`-bit two's-complement value (sign-extended).
fn wrap_to(x: i32, bits: u32) -> i32 {
    if bits >= 32 {
        x
    } else {
        (x << (32 - bits)) >> (32 - bits)
    }
}

/// Accumulator width for rows of up to `max_in` bits: every partial sum of
/// a row is bounded in magnitude by the sum of its terms' magnitudes, at
/// most `ceil(m / L) * L * (2^0 + ... + 2^7) <= max_in * 255 < max_in * 2^8`
/// (each term is `(sum - L) << plane` with `|sum - L| <= L`, and `max_in`
/// is a multiple of `L`), so `log2(max_in) + 9` two's-complement bits hold
/// it. Narrow accumulators keep the carry chain short (it sets fmax on iCE40).
pub fn acc_bits_for(max_in: usize) -> u32 {
    (log2(max_in) as u32 + 9).min(32)
}

impl EngineModel {
    /// A model for `lanes` lanes.
    pub fn new(lanes: usize) -> Self {
        let levels = log2(lanes);
        EngineModel {
            lanes,
            acc_bits: 32,
            s2_win: vec![false; lanes],
            s2_act: vec![false; lanes],
            tree: (0..levels).map(|_| TermStage::default()).collect(),
            ..Default::default()
        }
    }

    /// The same model with `bits`-bit accumulators (see [`acc_bits_for`]).
    pub fn with_acc_bits(mut self, bits: u32) -> Self {
        self.acc_bits = bits.clamp(1, 32);
        self
    }

    /// One rising clock edge: `issue` is the sequencer output, `tile`
    /// (`2W` bits, low word first) and `act` (`W` bits) the memory outputs.
    pub fn step(&mut self, issue: Issue, flush: bool, tile: &[bool], act: &[bool]) {
        let l = self.lanes;
        let w = act.len();
        // accumulator stage
        if self.term.issue.valid {
            let base_a = if self.term.issue.first { 0 } else { self.acc_a };
            let base_b = if self.term.issue.first { 0 } else { self.acc_b };
            self.acc_a = wrap_to(base_a.wrapping_add(self.term.a), self.acc_bits);
            self.acc_b = wrap_to(base_b.wrapping_add(self.term.b), self.acc_bits);
        }
        self.acc_v = self.term.issue.valid && !flush;
        self.acc_last = self.term.issue.last;
        self.acc_row = self.term.issue.row;
        // term stage from the last tree level
        let mut t = self.tree.back().cloned().unwrap_or_default();
        t.issue.valid &= !flush;
        self.term = t;
        // tree levels: level 1 computes the whole sum (the rest only delay)
        self.tree.pop_back();
        let (da, db) = chunk_dots(l, &self.s2_win, &self.s2_act, &self.s2);
        let mut first_level = TermStage {
            issue: self.s2,
            a: weight(da, self.s2.plane, self.s2.neg),
            b: weight(db, self.s2.plane, self.s2.neg),
        };
        first_level.issue.valid &= !flush;
        for st in self.tree.iter_mut() {
            st.issue.valid &= !flush;
        }
        self.tree.push_front(first_level);
        // stage 2: funnel shift and activation slice of the registered words
        if !self.s1b_tile.is_empty() {
            let off = self.s1b.bit_off % w;
            self.s2_win = (0..l).map(|i| self.s1b_tile[off + i]).collect();
            let slice = (self.s1b.abit % w) / l;
            self.s2_act = (0..l).map(|i| self.s1b_act[slice * l + i]).collect();
        }
        self.s2 = self.s1b;
        self.s2.valid &= !flush;
        // stage 1b: memory words registered
        self.s1b_tile = tile.to_vec();
        self.s1b_act = act.to_vec();
        self.s1b = self.s1;
        self.s1b.valid &= !flush;
        // stage 1
        self.s1 = issue;
        self.s1.valid &= !flush;
    }

    /// Current outputs: (out_we, row, dot_a, dot_b, active).
    pub fn outputs(&self) -> (bool, usize, i32, i32, bool) {
        let active = self.s1.valid
            || self.s1b.valid
            || self.s2.valid
            || self.tree.iter().any(|t| t.issue.valid)
            || self.term.issue.valid
            || self.acc_v;
        (
            self.acc_v && self.acc_last,
            self.acc_row,
            self.acc_a,
            self.acc_b,
            active,
        )
    }
}

/// Number of cycles from an issue to the cycle in which its `out_we` is high.
pub fn engine_latency(lanes: usize) -> usize {
    log2(lanes) + 5
}

/// The engine block (`L` lanes, memory word width `W = max(L, 32)`).
#[derive(LogicBlock)]
pub struct Engine<const L: usize, const W: usize> {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Synchronous flush: drops every issue in flight.
    pub flush: Signal<In, Bit>,
    /// Issue valid.
    pub in_valid: Signal<In, Bit>,
    /// Window start within the low tile word (low log2 W bits used).
    pub in_bit_off: Signal<In, Bits<8>>,
    /// Low 8 bits of the chunk's activation bit address.
    pub in_abit: Signal<In, Bits<8>>,
    /// Valid lanes `0..=L`.
    pub in_nvalid: Signal<In, Bits<9>>,
    /// First lane of segment b (`>= L`: none).
    pub in_segb: Signal<In, Bits<9>>,
    /// Bit-plane.
    pub in_plane: Signal<In, Bits<3>>,
    /// Negative weight (sign plane).
    pub in_neg: Signal<In, Bit>,
    /// XNOR mode (A = 1).
    pub in_xnor: Signal<In, Bit>,
    /// First issue of a row.
    pub in_first: Signal<In, Bit>,
    /// Last issue of a row.
    pub in_last: Signal<In, Bit>,
    /// Row index.
    pub in_row: Signal<In, Bits<13>>,
    /// Tile word containing the window start (valid one cycle after the issue).
    pub tile_lo: Signal<In, Bits<W>>,
    /// The following tile word.
    pub tile_hi: Signal<In, Bits<W>>,
    /// Activation word (valid one cycle after the issue).
    pub act_word: Signal<In, Bits<W>>,
    /// Write the accumulators of `out_row`.
    pub out_we: Signal<Out, Bit>,
    /// Row of the accumulators.
    pub out_row: Signal<Out, Bits<13>>,
    /// dot_a.
    pub out_a: Signal<Out, Bits<32>>,
    /// dot_b.
    pub out_b: Signal<Out, Bits<32>>,
    /// Some issue is in flight.
    pub active: Signal<Out, Bit>,
    _model: Box<EngineModel>,
}

impl<const L: usize, const W: usize> Default for Engine<L, W> {
    fn default() -> Self {
        assert!(L.is_power_of_two() && (8..=256).contains(&L));
        assert_eq!(W, L.max(32));
        Engine {
            clk: Default::default(),
            flush: Default::default(),
            in_valid: Default::default(),
            in_bit_off: Default::default(),
            in_abit: Default::default(),
            in_nvalid: Default::default(),
            in_segb: Default::default(),
            in_plane: Default::default(),
            in_neg: Default::default(),
            in_xnor: Default::default(),
            in_first: Default::default(),
            in_last: Default::default(),
            in_row: Default::default(),
            tile_lo: Default::default(),
            tile_hi: Default::default(),
            act_word: Default::default(),
            out_we: Default::default(),
            out_row: Default::default(),
            out_a: Default::default(),
            out_b: Default::default(),
            active: Default::default(),
            _model: Box::new(EngineModel::new(L)),
        }
    }
}

impl<const L: usize, const W: usize> Engine<L, W> {
    /// An engine for rows of up to `max_in` bits: its accumulators are
    /// [`acc_bits_for`]`(max_in)` bits wide (the default engine has 32).
    pub fn for_max_in(max_in: usize) -> Self {
        Self {
            _model: Box::new(EngineModel::new(L).with_acc_bits(acc_bits_for(max_in))),
            ..Default::default()
        }
    }
}

impl<const L: usize, const W: usize> Logic for Engine<L, W> {
    fn update(&mut self) {
        if self.clk.pos_edge() {
            let issue = Issue {
                valid: self.in_valid.val(),
                bit_off: low_u64(self.in_bit_off.val()) as usize,
                abit: low_u64(self.in_abit.val()) as usize,
                nvalid: low_u64(self.in_nvalid.val()) as usize,
                segb: low_u64(self.in_segb.val()) as usize,
                plane: low_u64(self.in_plane.val()) as usize,
                neg: self.in_neg.val(),
                xnor: self.in_xnor.val(),
                first: self.in_first.val(),
                last: self.in_last.val(),
                row: low_u64(self.in_row.val()) as usize,
            };
            let mut tile = to_bools(self.tile_lo.val());
            tile.extend(to_bools(self.tile_hi.val()));
            let act = to_bools(self.act_word.val());
            self._model.step(issue, self.flush.val(), &tile, &act);
        }
        let (we, row, a, b, active) = self._model.outputs();
        self.out_we.next = we;
        self.out_row.next = from_u64(row as u64);
        self.out_a.next = from_u64(a as u32 as u64);
        self.out_b.next = from_u64(b as u32 as u64);
        self.active.next = active;
    }

    fn connect(&mut self) {
        self.out_we.connect();
        self.out_row.connect();
        self.out_a.connect();
        self.out_b.connect();
        self.active.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(engine_verilog(L, W, self._model.acc_bits as usize))
    }
}

/// The engine's Verilog body for `lanes` lanes, word width `w` and
/// `acc_bits`-bit accumulators (sign-extended to 32 bits at the outputs).
pub fn engine_verilog(lanes: usize, w: usize, acc_bits: usize) -> String {
    use std::fmt::Write;
    let lg = log2(lanes);
    let wg = log2(w);
    let mut v = String::new();
    let side = "reg s{N}_v; reg [7:0] s{N}_off; reg [7:0] s{N}_abit; reg [8:0] s{N}_nvalid; reg [8:0] s{N}_segb; reg [2:0] s{N}_plane; reg s{N}_neg; reg s{N}_xnor; reg s{N}_first; reg s{N}_last; reg [12:0] s{N}_row;\n";
    v += "// stage 1: issue side information (memory words arrive in this cycle)\n";
    v += &side.replace("{N}", "1");
    v += "always @(posedge clk) begin\n  s1_v <= in_valid & ~flush; s1_off <= in_bit_off; s1_abit <= in_abit; s1_nvalid <= in_nvalid; s1_segb <= in_segb;\n  s1_plane <= in_plane; s1_neg <= in_neg; s1_xnor <= in_xnor; s1_first <= in_first; s1_last <= in_last; s1_row <= in_row;\nend\n";
    v += "// funnel shift: log2 stages, widest shift first\n";
    v += "// stage 1b: memory words registered (the BRAM read path ends here)\n";
    v += &side.replace("{N}", "1b");
    let _ = writeln!(
        v,
        "reg [{0}:0] s1b_lo; reg [{0}:0] s1b_hi; reg [{0}:0] s1b_act;",
        w - 1
    );
    v += "always @(posedge clk) begin\n  s1b_v <= s1_v & ~flush; s1b_off <= s1_off; s1b_abit <= s1_abit; s1b_nvalid <= s1_nvalid; s1b_segb <= s1_segb;\n  s1b_plane <= s1_plane; s1b_neg <= s1_neg; s1b_xnor <= s1_xnor; s1b_first <= s1_first; s1b_last <= s1_last; s1b_row <= s1_row;\n  s1b_lo <= tile_lo; s1b_hi <= tile_hi; s1b_act <= act_word;\nend\n";
    let _ = writeln!(v, "wire [{}:0] funnel_0 = {{s1b_hi, s1b_lo}};", 2 * w - 1);
    let mut prev_w = 2 * w;
    for (st, k) in (0..wg).rev().enumerate() {
        let sh = 1usize << k;
        let wk = lanes + sh - 1;
        debug_assert!(sh + wk <= prev_w);
        let _ = writeln!(
            v,
            "wire [{hi}:0] funnel_{n} = s1b_off[{k}] ? funnel_{st}[{top}:{sh}] : funnel_{st}[{hi}:0];",
            hi = wk - 1,
            n = st + 1,
            top = sh + wk - 1,
        );
        prev_w = wk;
    }
    let _ = writeln!(v, "wire [{}:0] window = funnel_{wg};", lanes - 1);
    let slices = w / lanes;
    if slices == 1 {
        let _ = writeln!(v, "wire [{}:0] act_slice = s1b_act;", lanes - 1);
    } else {
        let sb = log2(slices);
        let _ = writeln!(v, "reg [{}:0] act_slice;", lanes - 1);
        v += "always @(*) begin\n";
        let _ = writeln!(v, "  case (s1b_abit[{}:{}])", wg - 1, lg);
        for s in 0..slices {
            let label = if s + 1 == slices {
                "default".to_string()
            } else {
                format!("{sb}'d{s}")
            };
            let _ = writeln!(
                v,
                "    {label}: act_slice = s1b_act[{}:{}];",
                (s + 1) * lanes - 1,
                s * lanes
            );
        }
        v += "  endcase\nend\n";
    }
    v += "// lane masks of segments a and b from the valid count and the segment boundary\n\
          // (computed in stage 1b, in parallel with the funnel shift)\n";
    let _ = writeln!(v, "wire [{0}:0] mask_a; wire [{0}:0] mask_b;", lanes - 1);
    for i in 0..lanes {
        let _ = writeln!(
            v,
            "assign mask_a[{i}] = (9'd{i} < s1b_nvalid) & (9'd{i} < s1b_segb); \
             assign mask_b[{i}] = (9'd{i} < s1b_nvalid) & (9'd{i} >= s1b_segb);"
        );
    }
    v += "// stage 2: window, activation lanes and lane masks\n";
    v += &side.replace("{N}", "2");
    let _ = writeln!(
        v,
        "reg [{0}:0] s2_win; reg [{0}:0] s2_act; reg [{0}:0] s2_ma; reg [{0}:0] s2_mb;",
        lanes - 1
    );
    v += "always @(posedge clk) begin\n  s2_v <= s1b_v & ~flush; s2_off <= s1b_off; s2_abit <= s1b_abit; s2_nvalid <= s1b_nvalid; s2_segb <= s1b_segb;\n  s2_plane <= s1b_plane; s2_neg <= s1b_neg; s2_xnor <= s1b_xnor; s2_first <= s1b_first; s2_last <= s1b_last; s2_row <= s1b_row;\n  s2_win <= window; s2_act <= act_slice; s2_ma <= mask_a; s2_mb <= mask_b;\nend\n";
    v += "// lane logic: value 1 + {-1, 0, +1} per lane and segment (1: lane not in the segment)\n";
    for i in 0..lanes {
        let _ = writeln!(
            v,
            "wire lane_p_{i} = s2_xnor ? ~(s2_win[{i}] ^ s2_act[{i}]) : s2_win[{i}];\n\
             wire lane_x_{i} = s2_xnor | s2_act[{i}];\n\
             wire [1:0] lane_ua_{i} = (s2_ma[{i}] & lane_x_{i}) ? (lane_p_{i} ? 2'd2 : 2'd0) : 2'd1;\n\
             wire [1:0] lane_ub_{i} = (s2_mb[{i}] & lane_x_{i}) ? (lane_p_{i} ? 2'd2 : 2'd0) : 2'd1;"
        );
    }
    v += "// adder trees, one register per level; side info: {neg, first, last, plane, row}\n";
    for k in 1..=lg {
        let n = lanes >> k;
        let wk = k + 2;
        let _ = writeln!(v, "reg lvl{k}_v; reg [18:0] lvl{k}_side;");
        for i in 0..n {
            let _ = writeln!(
                v,
                "reg [{0}:0] sum_a{k}_{i}; reg [{0}:0] sum_b{k}_{i};",
                wk - 1
            );
        }
        v += "always @(posedge clk) begin\n";
        if k == 1 {
            v += "  lvl1_v <= s2_v & ~flush; lvl1_side <= {s2_neg, s2_first, s2_last, s2_plane, s2_row};\n";
            for i in 0..n {
                for seg in ["a", "b"] {
                    let _ = writeln!(
                        v,
                        "  sum_{seg}1_{i} <= {{1'b0, lane_u{seg}_{}}} + {{1'b0, lane_u{seg}_{}}};",
                        2 * i,
                        2 * i + 1
                    );
                }
            }
        } else {
            let p = k - 1;
            let _ = writeln!(
                v,
                "  lvl{k}_v <= lvl{p}_v & ~flush; lvl{k}_side <= lvl{p}_side;"
            );
            for i in 0..n {
                for seg in ["a", "b"] {
                    let _ = writeln!(
                        v,
                        "  sum_{seg}{k}_{i} <= {{1'b0, sum_{seg}{p}_{}}} + {{1'b0, sum_{seg}{p}_{}}};",
                        2 * i,
                        2 * i + 1
                    );
                }
            }
        }
        v += "end\n";
    }
    v += "// term: (sum - L) << plane in narrow two's complement; on the sign plane\n\
          // its complement (the accumulator adds the term and `term_neg` as the\n\
          // carry in: base - t = base + ~t + 1, one adder without a mux)\n";
    let cw = lg + 3; // sum - L in [-L, L]
    let sw = cw + 7; // shifted by plane <= 7
    for seg in ["a", "b"] {
        let _ = writeln!(
            v,
            "wire [{cm}:0] centered_{seg} = {{1'b0, sum_{seg}{lg}_0}} - {cw}'d{lanes};\n\
             wire [{sm}:0] shifted_{seg} = {{{{7{{centered_{seg}[{cm}]}}}}, centered_{seg}}} << lvl{lg}_side[15:13];",
            cm = cw - 1,
            sm = sw - 1,
        );
    }
    let ab = acc_bits;
    let _ = writeln!(
        v,
        "reg term_v; reg term_first; reg term_last; reg term_neg; reg [12:0] term_row; reg [{am}:0] term_a; reg [{am}:0] term_b;",
        am = ab - 1
    );
    let _ = writeln!(
        v,
        "always @(posedge clk) begin\n  term_v <= lvl{lg}_v & ~flush; term_first <= lvl{lg}_side[17]; term_last <= lvl{lg}_side[16]; term_row <= lvl{lg}_side[12:0];\n  term_neg <= lvl{lg}_side[18];\n  term_a <= {{{{{ext}{{shifted_a[{sm}]}}}}, shifted_a}} ^ {{{ab}{{lvl{lg}_side[18]}}}};\n  term_b <= {{{{{ext}{{shifted_b[{sm}]}}}}, shifted_b}} ^ {{{ab}{{lvl{lg}_side[18]}}}};\nend",
        ext = ab - sw,
        sm = sw - 1,
    );
    v += "// accumulators (add, or subtract on the sign plane), sized for the\n\
          // longest row (acc_bits_for); sign-extended to 32 bits at the outputs\n";
    let _ = writeln!(
        v,
        "reg acc_v; reg acc_last; reg [12:0] acc_row; reg [{am}:0] acc_a; reg [{am}:0] acc_b;\n\
         wire [{am}:0] base_a = term_first ? {ab}'d0 : acc_a;\nwire [{am}:0] base_b = term_first ? {ab}'d0 : acc_b;",
        am = ab - 1
    );
    let _ = writeln!(
        v,
        "always @(posedge clk) begin\n  acc_v <= term_v & ~flush; acc_last <= term_last; acc_row <= term_row;\n  if (term_v) begin\n    acc_a <= base_a + term_a + {{{z}'d0, term_neg}};\n    acc_b <= base_b + term_b + {{{z}'d0, term_neg}};\n  end\nend",
        z = ab - 1
    );
    let (oa, ob) = if ab >= 32 {
        ("acc_a".to_string(), "acc_b".to_string())
    } else {
        (
            format!("{{{{{}{{acc_a[{}]}}}}, acc_a}}", 32 - ab, ab - 1),
            format!("{{{{{}{{acc_b[{}]}}}}, acc_b}}", 32 - ab, ab - 1),
        )
    };
    let _ = writeln!(
        v,
        "always @(*) begin\n  out_we = acc_v & acc_last; out_row = acc_row; out_a = {oa}; out_b = {ob};"
    );
    let lv = (1..=lg)
        .map(|k| format!("lvl{k}_v"))
        .collect::<Vec<_>>()
        .join(" | ");
    let _ = writeln!(
        v,
        "  active = s1_v | s1b_v | s2_v | {lv} | term_v | acc_v;\nend"
    );
    // power-up state 0, as in the Rust model (and the FPGA flip-flops)
    let regs = reg_names(&v);
    v += "initial begin\n";
    for r in regs.iter().filter(|r| r.as_str() != "act_slice") {
        let _ = writeln!(v, "  {r} = 0;");
    }
    v += "end\n";
    v
}

/// Names of the `reg` variables (not memories) declared in a Verilog body.
pub fn reg_names(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    for stmt in v.split(';') {
        // the declaration is on the statement's last line (comments may precede it)
        let t = stmt.rsplit('\n').next().unwrap_or("").trim();
        let Some(rest) = t.strip_prefix("reg ") else {
            continue;
        };
        let rest = rest.trim();
        let name = if rest.starts_with('[') {
            rest.split(']').nth(1).unwrap_or("").trim()
        } else {
            rest
        };
        if !name.is_empty() && !name.contains('[') && !name.contains(' ') {
            out.push(name.to_string());
        }
    }
    out
}
