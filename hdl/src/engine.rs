//! The compute engine: funnel-shift window reader, XNOR/AND lane logic with
//! lane mask, a pipelined adder tree over the valid lanes with the prefix
//! sum of segment a beside it (segment b is the total minus a), and the
//! bit-plane-weighted accumulators.
//!
//! Its Verilog is generated for the lane count `L` (a `Verilog::Custom`
//! block, because every pipeline level of the tree has its own width); the
//! Rust `update()` is a cycle-exact model of the same pipeline. Both are
//! tested against each other and against a plain reference
//! (`tests/engine.rs`).
//!
//! Pipeline (edges after the issue cycle `t` in which the sequencer presents
//! an issue and the memories sample their read addresses):
//! - `t+1`: side information registered (`s1`), memory words valid; the lane
//!   mask's thermometer code half decoded (per group of 4 lanes, count
//!   `>= 4(j+1)`, and the count's low 2 bits), the segment boundary as
//!   `s = min(segb, L)`;
//! - `t+2`: memory words and the thermometer code of the valid count
//!   registered (`s1b`: keeps the BRAM read path and the funnel shift in
//!   separate cycles);
//! - `t+3`: per lane `p` (window bit, `L` bits at `bit_off` of
//!   `{tile_hi, tile_lo}`, equal to the activation bit) and `e` (lane valid
//!   and, in AND mode, activation bit set) registered (`s2`): the lane's
//!   value is `e ? (p ? +1 : -1) : 0`;
//! - `t+4`: pair sums in `[-2, 2]` (one LUT4 per bit from `{e, p}` of two
//!   lanes); `t+5 .. t+3+log2 L`: the other adder tree levels (one register
//!   per level, two's complement). Beside each level `k` the prefix sum of
//!   the lanes below `s` so far: level 1 takes lane `2 (s >> 1)` if `s` is
//!   odd, level `k + 1` adds, if bit `k` of `s` is set, the level-`k` block
//!   just below `s`'s bits above `k` (a multiplexer over the even blocks);
//! - `t+4+log2 L`: the dots (`a`: the prefix, or the total when
//!   `segb >= L`; `b`: the total minus `a`) shifted by `plane mod 4`;
//! - `t+5+log2 L`: term `dot << plane` (narrow, sign-extended; its
//!   complement on the sign plane) and its sign-plane flag: the output
//!   stage. `out_a`/`out_b` are the accumulators plus the term (plus the
//!   sign-plane flag as the carry in, so the sign plane subtracts with the
//!   same adder), `out_we` is high in that cycle for the last issue of a
//!   row; the accumulators take that sum, and are cleared after a row's last
//!   issue (and by a flush), so the first issue of the next row adds to 0.
//!
//! `in_first` is not used: a row's first issue is the one after the
//! previous row's last issue (or after a flush, or the first after power-up),
//! as the sequencer issues them.
//!
//! The row of a write is not carried down the pipeline: `out_row` is a
//! counter that takes the row of an issue entering a pipeline that holds no
//! issue before the accumulators, and advances with each write. This relies
//! on the sequencer's order: the rows in flight at any time are consecutive
//! (each row's issues are contiguous and the next row is `row + 1`), as
//! within a job; a new row numbering (the next job) starts only after the
//! pipeline has drained or been flushed.

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
    /// First issue of a row (not used by the engine: the issue after a
    /// row's last one starts a row; see the module doc).
    pub first: bool,
    /// Last issue of a row (writes the accumulators).
    pub last: bool,
    /// Row index (taken only by an issue that enters an empty pipeline:
    /// see the module doc).
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
    /// Tree levels and the first half of the plane shift (`log2 L + 1`
    /// stages; the model computes the weighted term at level 1 and delays it).
    tree: VecDeque<TermStage>,
    term: TermStage,
    wrow: usize,
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
            tree: (0..=levels).map(|_| TermStage::default()).collect(),
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
        // the row of the next write: the row of an issue that finds the
        // pipeline before the output stage empty, else advanced by a write
        let inner_busy = self.s1.valid
            || self.s1b.valid
            || self.s2.valid
            || self.tree.iter().any(|t| t.issue.valid);
        let we = self.term.issue.valid && self.term.issue.last;
        if issue.valid && !flush && !inner_busy {
            self.wrow = issue.row & 0x1FFF;
        } else if we {
            self.wrow = (self.wrow + 1) & 0x1FFF;
        }
        // accumulators: cleared after a row's last term (the next issue
        // starts a row) and by a flush, else they take the output sum
        if flush || we {
            self.acc_a = 0;
            self.acc_b = 0;
        } else if self.term.issue.valid {
            self.acc_a = wrap_to(self.acc_a.wrapping_add(self.term.a), self.acc_bits);
            self.acc_b = wrap_to(self.acc_b.wrapping_add(self.term.b), self.acc_bits);
        }
        // term stage from the plane-shift stage
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

    /// Current outputs: (out_we, row, dot_a, dot_b, active); the dots are
    /// the accumulators plus the output stage's term (the row's sum when
    /// `out_we` is high).
    pub fn outputs(&self) -> (bool, usize, i32, i32, bool) {
        let active = self.s1.valid
            || self.s1b.valid
            || self.s2.valid
            || self.tree.iter().any(|t| t.issue.valid)
            || self.term.issue.valid;
        (
            self.term.issue.valid && self.term.issue.last,
            self.wrow,
            wrap_to(self.acc_a.wrapping_add(self.term.a), self.acc_bits),
            wrap_to(self.acc_b.wrapping_add(self.term.b), self.acc_bits),
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
    /// First issue of a row (unused: the issue after a row's last issue, or
    /// after a flush, starts a row; see the module doc).
    pub in_first: Signal<In, Bit>,
    /// Last issue of a row.
    pub in_last: Signal<In, Bit>,
    /// Row index (read when the issue enters a pipeline empty up to the
    /// accumulators; the rows in flight are consecutive: see the module doc).
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

/// Verilog boolean expression (ANDs and ORs of single bits, no comparator
/// cell: yosys maps a comparison with a constant to a carry chain whose sum
/// is unused) for `sig >= c`, `sig` a `width`-bit unsigned signal.
pub fn ge_const(sig: &str, width: usize, c: usize) -> String {
    if c == 0 {
        return "1'b1".to_string();
    }
    if c >> width != 0 {
        return "1'b0".to_string();
    }
    // from the lowest set bit of c upwards: x[m:0] >= c[m:0]
    let t = c.trailing_zeros() as usize;
    let mut e = format!("{sig}[{t}]");
    for m in t + 1..width {
        e = if (c >> m) & 1 == 1 {
            format!("({sig}[{m}] & {e})")
        } else {
            format!("({sig}[{m}] | {e})")
        };
    }
    e
}

/// Truth tables of the pair compressor: output bit `b` (of the 3-bit two's
/// complement `v_i + v_{i+1}`) for the index `{e_{i+1}, p_{i+1}, e_i, p_i}`,
/// where a lane's value is `e ? (p ? +1 : -1) : 0`.
fn pair_tables() -> [u16; 3] {
    let mut t = [0u16; 3];
    for idx in 0..16u16 {
        let v = |e: u16, p: u16| -> i32 {
            if e == 0 {
                0
            } else if p == 1 {
                1
            } else {
                -1
            }
        };
        let s = v((idx >> 1) & 1, idx & 1) + v((idx >> 3) & 1, (idx >> 2) & 1);
        let bits = (s & 7) as u16;
        for (b, tb) in t.iter_mut().enumerate() {
            *tb |= ((bits >> b) & 1) << idx;
        }
    }
    t
}

/// The engine's Verilog body for `lanes` lanes, word width `w` and
/// `acc_bits`-bit accumulators (sign-extended to 32 bits at the outputs).
///
/// Logic-cell economy (iCE40: a flip-flop packs only with the LUT that
/// drives it and nothing else, a carry only with the LUT that adds its two
/// inputs): the lane mask is a thermometer code decoded from the valid
/// count by LUTs in two registered steps (no comparator carry chains); the
/// window bit, the activation bit and the mask of a lane are reduced to two
/// bits (`p = w XNOR x`, `e = mask & (XNOR mode | x)`, a lane's value
/// `e ? (p ? +1 : -1) : 0`) so that the first tree level is one LUT4 per
/// output bit (the pair sum from `{e, p}` of two lanes); one tree adds two's
/// complement values (no `- L` at its end) and the segment split is a
/// prefix sum of its blocks (one block multiplexer and one narrow adder per
/// level instead of a second tree and a second mask); the side information
/// carried down the pipeline is what the term and the accumulators use, and
/// the row of a write is counted (`wrow`) instead of being carried.
pub fn engine_verilog(lanes: usize, w: usize, acc_bits: usize) -> String {
    use std::fmt::Write;
    let lg = log2(lanes);
    let wg = log2(w);
    let groups = lanes / 4;
    let slices = w / lanes;
    let sb = log2(slices);
    let mut v = String::new();
    let lm = lanes - 1;
    let gm = groups - 1;
    let lgm = lg - 1;
    // side information of stage N (the issue's fields the later stages use)
    let side =
        |n: &str| format!("reg s{n}_v; reg [2:0] s{n}_plane; reg s{n}_neg; reg s{n}_last;\n");
    let side_copy = |n: &str, p: &str| {
        format!(
            "  s{n}_v <= s{p}_v & ~flush; s{n}_plane <= s{p}_plane; s{n}_neg <= s{p}_neg; s{n}_last <= s{p}_last;\n"
        )
    };
    v += "// stage 1: issue side information (memory words arrive in this cycle); the\n\
          // lane mask's thermometer code half decoded: g = (count >= 4(j+1)) per\n\
          // group j of 4 lanes, and l[r] = (count mod 4 > r); the segment\n\
          // boundary s = min(segb, L) as sl = (segb >= L) and its low bits\n";
    v += &side("1");
    let _ = writeln!(
        v,
        "reg [{}:0] s1_off; reg s1_xnor; reg [{gm}:0] s1_gn; reg [2:0] s1_ln; reg s1_sl; reg [{lgm}:0] s1_s;",
        wg - 1
    );
    if sb > 0 {
        let _ = writeln!(v, "reg [{}:0] s1_slice;", sb - 1);
    }
    v += "always @(posedge clk) begin\n  s1_v <= in_valid & ~flush; s1_plane <= in_plane; s1_neg <= in_neg; s1_last <= in_last;\n";
    let _ = writeln!(
        v,
        "  s1_off <= in_bit_off[{}:0]; s1_xnor <= in_xnor;\n  s1_ln <= {{in_nvalid[1] & in_nvalid[0], in_nvalid[1], in_nvalid[1] | in_nvalid[0]}};\n  s1_sl <= {}; s1_s <= in_segb[{lgm}:0];",
        wg - 1,
        ge_const("in_segb", 9, lanes)
    );
    if sb > 0 {
        let _ = writeln!(v, "  s1_slice <= in_abit[{}:{lg}];", wg - 1);
    }
    for j in 0..groups {
        let _ = writeln!(
            v,
            "  s1_gn[{j}] <= {};",
            ge_const("in_nvalid", 9, 4 * (j + 1)),
        );
    }
    v += "end\n";
    v += "// stage 1b: memory words registered (the BRAM read path ends here) and the\n\
          // thermometer code tn[i] = (i < valid count): tn[4j+r] = g[j] | (g[j-1] & l[r])\n";
    v += &side("1b");
    let _ = writeln!(
        v,
        "reg [{0}:0] s1b_off; reg s1b_xnor; reg [{lm}:0] s1b_tn; reg s1b_sl; reg [{lgm}:0] s1b_s;",
        wg - 1
    );
    if sb > 0 {
        let _ = writeln!(v, "reg [{}:0] s1b_slice;", sb - 1);
    }
    let _ = writeln!(
        v,
        "reg [{0}:0] s1b_lo; reg [{0}:0] s1b_hi; reg [{0}:0] s1b_act;",
        w - 1
    );
    v += "always @(posedge clk) begin\n";
    v += &side_copy("1b", "1");
    v += "  s1b_off <= s1_off; s1b_xnor <= s1_xnor; s1b_sl <= s1_sl; s1b_s <= s1_s;\n";
    if sb > 0 {
        v += "  s1b_slice <= s1_slice;\n";
    }
    v += "  s1b_lo <= tile_lo; s1b_hi <= tile_hi; s1b_act <= act_word;\n";
    for (t, g, l) in [("tn", "gn", "ln")] {
        for j in 0..groups {
            let prev = if j == 0 {
                String::new()
            } else {
                format!("s1_{g}[{}] & ", j - 1)
            };
            for r in 0..4 {
                let low = if r < 3 {
                    format!("s1_{l}[{r}]")
                } else {
                    String::new()
                };
                let rhs = if low.is_empty() {
                    format!("s1_{g}[{j}]")
                } else {
                    format!("s1_{g}[{j}] | ({prev}{low})")
                };
                let _ = write!(v, "  s1b_{t}[{}] <= {rhs};", 4 * j + r);
            }
            v += "\n";
        }
    }
    v += "end\n";
    v += "// funnel shift: log2 W stages, widest shift first\n";
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
    let _ = writeln!(v, "wire [{lm}:0] window = funnel_{wg};");
    if slices == 1 {
        let _ = writeln!(v, "wire [{lm}:0] act_slice = s1b_act;");
    } else {
        let _ = writeln!(v, "reg [{lm}:0] act_slice;");
        v += "always @(*) begin\n  case (s1b_slice)\n";
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
    v += "// stage 2: per lane p = (window bit == activation bit) and\n\
          // e = (lane valid) & (XNOR mode | activation bit): the lane's value is\n\
          // e ? (p ? +1 : -1) : 0 (XNOR mode: +-1 by the match; AND mode: the\n\
          // activation bit gates, and then p is the weight bit)\n";
    v += &side("2");
    let _ = writeln!(
        v,
        "reg [{lm}:0] s2_p; reg [{lm}:0] s2_e; reg s2_sl; reg [{lgm}:0] s2_s;"
    );
    v += "always @(posedge clk) begin\n";
    v += &side_copy("2", "1b");
    let _ = writeln!(
        v,
        "  s2_p <= ~(window ^ act_slice);\n  s2_e <= s1b_tn & ({{{lanes}{{s1b_xnor}}}} | act_slice);\n  s2_sl <= s1b_sl; s2_s <= s1b_s;"
    );
    v += "end\n";
    let tabs = pair_tables();
    v += "// adder tree over the lanes (two's complement), one register per level;\n\
          // level 1 is the pair sum v_2i + v_2i+1 in [-2, 2] from {e, p} of the\n\
          // two lanes (a 16-entry table per output bit: one LUT4 each; p is gated\n\
          // by e so that a masked lane's unknown memory bits stay out of\n\
          // simulation). Beside it pf, the prefix sum of the lanes below s\n\
          // (segment a): level 1 takes lane s - 1 if s is odd, level k >= 2 adds,\n\
          // if bit k-1 of s is set, the level-(k-1) block of lanes from\n\
          // (s >> k) << k (pbl, a multiplexer over the even blocks); segment b is\n\
          // the total minus segment a\n";
    let _ = writeln!(
        v,
        "localparam [15:0] PAIR0 = 16'h{:04x}; localparam [15:0] PAIR1 = 16'h{:04x}; localparam [15:0] PAIR2 = 16'h{:04x};",
        tabs[0], tabs[1], tabs[2]
    );
    for i in 0..lanes / 2 {
        let _ = writeln!(
            v,
            "wire [3:0] pq_{i} = {{s2_e[{1}], s2_p[{1}] & s2_e[{1}], s2_e[{0}], s2_p[{0}] & s2_e[{0}]}};",
            2 * i,
            2 * i + 1
        );
    }
    // level 0 of the prefix: the lane 2 (s >> 1) when s is odd
    let _ = writeln!(
        v,
        "wire [{lgm}:0] bidx = {{s2_s[{lgm}:1], 1'b0}};\nwire bp = s2_p[bidx]; wire be = s2_e[bidx];"
    );
    for k in 1..=lg {
        let n = lanes >> k;
        let wk = k + 2;
        v += &side(&format!("l{k}"));
        // s bits [lg-1:k] still to use, and sl
        let sbits = lg - k;
        let _ = write!(v, "reg sl{k}_sl; reg [{k}:0] pf{k};");
        if sbits > 0 {
            let _ = write!(v, " reg [{}:0] sl{k}_s;", sbits - 1);
        }
        v += "\n";
        for i in 0..n {
            let _ = writeln!(v, "reg [{0}:0] sum{k}_{i};", wk - 1);
        }
        // the level-(k-1) block selected for the prefix (k >= 2)
        if k >= 2 {
            let q = k - 1;
            let cands = lanes >> k; // even blocks of level q: 2j, j < L >> k
            let _ = writeln!(v, "reg [{}:0] pbl{q};", q + 1);
            if cands == 1 {
                let _ = writeln!(v, "always @(*) pbl{q} = sum{q}_0;");
            } else {
                let cb = log2(cands);
                v += "always @(*) begin\n";
                let _ = writeln!(v, "  case (sl{q}_s[{}:1])", lg - q - 1);
                for j in 0..cands {
                    let label = if j + 1 == cands {
                        "default".to_string()
                    } else {
                        format!("{cb}'d{j}")
                    };
                    let _ = writeln!(v, "    {label}: pbl{q} = sum{q}_{};", 2 * j);
                }
                v += "  endcase\nend\n";
            }
        }
        v += "always @(posedge clk) begin\n";
        let p = if k == 1 {
            "2".to_string()
        } else {
            format!("l{}", k - 1)
        };
        v += &side_copy(&format!("l{k}"), &p);
        for i in 0..n {
            if k == 1 {
                let _ = writeln!(
                    v,
                    "  sum1_{i} <= {{PAIR2[pq_{i}], PAIR1[pq_{i}], PAIR0[pq_{i}]}};"
                );
            } else {
                let q = k - 1;
                let qm = q + 1; // msb of level q (width q + 2)
                let _ = writeln!(
                    v,
                    "  sum{k}_{i} <= {{sum{q}_{0}[{qm}], sum{q}_{0}}} + {{sum{q}_{1}[{qm}], sum{q}_{1}}};",
                    2 * i,
                    2 * i + 1
                );
            }
        }
        if k == 1 {
            v += "  sl1_sl <= s2_sl; pf1 <= (s2_s[0] & be) ? (bp ? 2'b01 : 2'b11) : 2'b00;\n";
            if sbits > 0 {
                let _ = writeln!(v, "  sl1_s <= s2_s[{lgm}:1];");
            }
        } else {
            let q = k - 1;
            let _ = writeln!(
                v,
                "  sl{k}_sl <= sl{q}_sl; pf{k} <= {{pf{q}[{q}], pf{q}}} + (sl{q}_s[0] ? pbl{q} : {}'d0);",
                k + 1
            );
            if sbits > 0 {
                let _ = writeln!(v, "  sl{k}_s <= sl{q}_s[{}:1];", lg - q - 1);
            }
        }
        v += "end\n";
    }
    v += "// segments: a = the prefix below s (the total when segb >= L), b = the\n\
          // total minus a; plane shift in two stages: by plane[1:0], then by\n\
          // 4 plane[2] with, on the sign plane, the complement (the accumulator\n\
          // adds the term and `term_neg` as the carry in: base - t = base + ~t + 1)\n";
    let dw = lg + 2; // dot in [-L, L]
    let hw = dw + 3; // shifted by plane[1:0] <= 3
    let sw = dw + 7; // shifted by plane <= 7
    let ab = acc_bits;
    let _ = writeln!(
        v,
        "wire [{dm}:0] pfx = {{pf{lg}[{lg}], pf{lg}}};\n\
         wire [{dm}:0] dot_a = sl{lg}_sl ? sum{lg}_0 : pfx;\n\
         wire [{dm}:0] dot_b = sl{lg}_sl ? {dw}'d0 : sum{lg}_0 - pfx;\n\
         reg sh_v; reg sh_last; reg sh_neg; reg sh_p2; reg [{hm}:0] sh_a; reg [{hm}:0] sh_b;\n\
         always @(posedge clk) begin\n  sh_v <= sl{lg}_v & ~flush; sh_last <= sl{lg}_last; sh_neg <= sl{lg}_neg; sh_p2 <= sl{lg}_plane[2];\n\
         \x20 sh_a <= {{{{3{{dot_a[{dm}]}}}}, dot_a}} << sl{lg}_plane[1:0];\n\
         \x20 sh_b <= {{{{3{{dot_b[{dm}]}}}}, dot_b}} << sl{lg}_plane[1:0];\nend",
        hm = hw - 1,
        dm = dw - 1,
    );
    for seg in ["a", "b"] {
        let _ = writeln!(
            v,
            "wire [{sm}:0] shifted_{seg} = sh_p2 ? {{sh_{seg}, 4'd0}} : {{{{4{{sh_{seg}[{hm}]}}}}, sh_{seg}}};",
            sm = sw - 1,
            hm = hw - 1,
        );
    }
    let ext = |seg: &str| -> String {
        if ab > sw {
            format!(
                "{{{{{}{{shifted_{seg}[{}]}}}}, shifted_{seg}}}",
                ab - sw,
                sw - 1
            )
        } else {
            format!("shifted_{seg}[{}:0]", ab - 1)
        }
    };
    let _ = writeln!(
        v,
        "reg term_v; reg term_last; reg term_neg; reg [{am}:0] term_a; reg [{am}:0] term_b;",
        am = ab - 1
    );
    let _ = writeln!(
        v,
        "always @(posedge clk) begin\n  term_v <= sh_v & ~flush; term_last <= sh_last; term_neg <= sh_neg;\n  term_a <= {} ^ {{{ab}{{sh_neg}}}};\n  term_b <= {} ^ {{{ab}{{sh_neg}}}};\nend",
        ext("a"),
        ext("b"),
    );
    v += "// output stage: the accumulators plus the term (the row's sum with the\n\
          // row's last term, written then); the accumulators take the sum, and\n\
          // are cleared after a row's last term (so the next issue, the first\n\
          // of a row, adds to 0: no `first` multiplexer) and by a flush; sized\n\
          // for the longest row (acc_bits_for), sign-extended to 32 bits\n";
    let _ = writeln!(
        v,
        "reg [{am}:0] acc_a; reg [{am}:0] acc_b;\n\
         wire [{am}:0] sum_a = acc_a + term_a + {{{z}'d0, term_neg}};\n\
         wire [{am}:0] sum_b = acc_b + term_b + {{{z}'d0, term_neg}};\n\
         wire row_end = term_v & term_last;\n\
         always @(posedge clk) begin\n  if (flush | row_end) begin acc_a <= {ab}'d0; acc_b <= {ab}'d0; end\n  else if (term_v) begin acc_a <= sum_a; acc_b <= sum_b; end\nend",
        am = ab - 1,
        z = ab - 1
    );
    let lv = (1..=lg)
        .map(|k| format!("sl{k}_v"))
        .collect::<Vec<_>>()
        .join(" | ");
    v += "// the row of a write, counted: rows in flight are consecutive (the\n\
          // sequencer's order), so the row of the first issue that finds the\n\
          // pipeline before the output stage empty is the next row written,\n\
          // and each write advances it\n";
    let _ = writeln!(
        v,
        "reg [12:0] wrow;\n\
         // inner_busy = s1_v | s1b_v | s2_v | {lv} | sh_v, computed a cycle\n\
         // ahead from the stages before each (all shift with ~flush): a flip-flop\n\
         reg inner_busy;\n\
         always @(posedge clk) begin\n  inner_busy <= (in_valid | s1_v | s1b_v | s2_v | {lv}) & ~flush;\n  \
         if (in_valid & ~flush & ~inner_busy) wrow <= in_row;\n  else if (row_end) wrow <= wrow + 13'd1;\nend"
    );
    let (oa, ob) = if ab >= 32 {
        ("sum_a".to_string(), "sum_b".to_string())
    } else {
        (
            format!("{{{{{}{{sum_a[{}]}}}}, sum_a}}", 32 - ab, ab - 1),
            format!("{{{{{}{{sum_b[{}]}}}}, sum_b}}", 32 - ab, ab - 1),
        )
    };
    let _ = writeln!(
        v,
        "always @(*) begin\n  out_we = row_end; out_row = wrow; out_a = {oa}; out_b = {ob};\n  active = inner_busy | term_v;\nend"
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
