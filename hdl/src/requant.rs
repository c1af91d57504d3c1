//! Requantization unit: the on-chip form of docs/numerics.md section 4 as
//! docs/model-image.md section 4 specifies it (rounding constant folded
//! into the bias by the compiler), one output row per cycle (pipelined).
//!
//! For each row the caller presents the accumulator pair of its distinct
//! row (`dot_a`, `dot_b`), the alpha codes of its copy and of the next copy
//! (`alpha_b` must be 0, or `dot_b` 0, when the row does not straddle; the
//! engine's `dot_b` of such a row is 0), the row's multiplier `M` and bias
//! `B'`; the stage constants (shift `S`, activation kind, output bits `A'`)
//! are held while the stage's rows are in flight:
//!
//! ```text
//! acc = alpha_a * dot_a + alpha_b * dot_b
//! v   = acc * M + B'                      (V bits, two's complement)
//! relu / signed: clamp(v >> S, lo, hi)    sign: v > 0    logits: v
//! ```
//!
//! `v` is held in `v_bits` = V bits (CFG_FEATURES.V_BITS): the product and
//! the bias are taken modulo 2^V, which is exact for every image the chip
//! accepts (the compiler proves `|acc * M| + |B'| < 2^(V_BITS - 1)` for all
//! inputs in range and the chip refuses images whose V_BITS exceeds V).
//!
//! The shift is not a full barrel shifter: only a 10-bit window of
//! `v >> S` is extracted (a log shifter, largest shift first, each stage as
//! narrow as the window needs), and the bits of `v` above the window (at
//! `S + 10` and up) are compared with the window's sign through a mask
//! registered from `S`: when they are not its sign extension,
//! `|v >> S| >= 512` and the output saturates by the sign of `v`.
//!
//! Widths: `dot_bits` (the engine's accumulator width,
//! [`crate::engine::acc_bits_for`]), alpha codes below 2^15, `|M| < 2^15`
//! (16-bit signed). `alpha * dot` is exact in `dot_bits + 16` bits, the sum
//! in `dot_bits + 17`, `acc * M` in `min(dot_bits + 33, V)`. The
//! multiplications are plain `*` on signed operands; `synth_ice40 -dsp` maps
//! them to SB_MAC16.
//!
//! Pipeline ([`REQUANT_LATENCY`] clock edges from the input cycle to the
//! output cycle): input registers; `alpha * dot` (two products, in the
//! SB_MAC16 output registers), the products again (their partial products
//! added); their sum; the sum again (in the SB_MAC16 input registers);
//! `acc * M`, registered twice likewise; `+ B'` in two halves (two cycles); window shift and saturation flags; comparisons of the
//! window with the bounds; selection of the output.

use crate::util::*;
use rust_hdl::prelude::*;
use std::collections::VecDeque;
use std::fmt::Write as _;

/// Edges from the cycle an input row is presented to the cycle its output is valid.
pub const REQUANT_LATENCY: usize = 13;

/// Cycles after a row's other inputs at which its bias `in_bias` is
/// presented (the bias joins the pipeline where it is added: a 6-stage
/// delay line of `V`-bit registers saved; the caller delays the record
/// address instead).
pub const REQUANT_BIAS_DELAY: usize = 6;

/// Activation kind codes of the `kind` input.
pub mod kind {
    /// ReLU into unsigned `A'` bits.
    pub const RELU: u8 = 0;
    /// Signed `A'` bits (no activation, hidden stage).
    pub const SIGNED: u8 = 1;
    /// Sign bit (1 = +1): `v > 0`.
    pub const SIGN: u8 = 2;
    /// Logits: `v` itself (`out_v`).
    pub const LOGITS: u8 = 3;
}

/// The clamp range of a kind and output width (`bits` outside 1..=8 is
/// treated as 8; 1-bit outputs are `0..=1`, as `tbn_golden::integer::value_range`).
pub fn clamp_bounds(kind: u8, bits: u8) -> (i64, i64) {
    let b = if (1..=8).contains(&bits) { bits } else { 8 };
    if b == 1 {
        (0, 1)
    } else if kind == kind::SIGNED {
        (-(1i64 << (b - 1)), (1i64 << (b - 1)) - 1)
    } else {
        (0, (1i64 << b) - 1)
    }
}

/// One row presented to the unit (values already in their port widths).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequantIn {
    /// Row valid.
    pub valid: bool,
    /// Tag travelling with the row (e.g. the row index).
    pub tag: u16,
    /// dot_a (32-bit port; the low `dot_bits` are used, sign-extended).
    pub dot_a: i32,
    /// dot_b.
    pub dot_b: i32,
    /// Alpha code of the row's copy (low 15 bits used).
    pub alpha_a: u16,
    /// Alpha code of the next copy.
    pub alpha_b: u16,
    /// Multiplier (16-bit signed).
    pub mult: i16,
    /// Bias (64-bit port; the low `v_bits` are used, sign-extended).
    pub bias: i64,
}

/// One requantized row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequantOut {
    /// Output valid.
    pub valid: bool,
    /// The row's tag.
    pub tag: u16,
    /// Clamped value in 8-bit two's complement (sign: 0/1; logits: 0).
    pub y: u8,
    /// `v` (sign-extended to 64 bits).
    pub v: i64,
}

/// `x` wrapped to a `bits`-bit two's-complement value.
fn wrap(x: i128, bits: usize) -> i128 {
    let s = 128 - bits;
    (x << s) >> s
}

/// The unit's arithmetic for one row (the definition the pipeline implements):
/// `(y, v)` from the inputs truncated to their widths, `v` modulo 2^`v_bits`.
pub fn requant_row(
    dot_bits: usize,
    v_bits: usize,
    r: &RequantIn,
    shift: u8,
    kind_code: u8,
    out_bits: u8,
) -> (u8, i64) {
    let da = wrap(r.dot_a as i128, dot_bits);
    let db = wrap(r.dot_b as i128, dot_bits);
    let aa = i128::from(r.alpha_a & 0x7FFF);
    let ab = i128::from(r.alpha_b & 0x7FFF);
    let v = wrap(
        (aa * da + ab * db) * i128::from(r.mult) + r.bias as i128,
        v_bits,
    );
    let s = u32::from(shift & 63);
    let y = match kind_code & 3 {
        kind::RELU | kind::SIGNED => {
            let (lo, hi) = clamp_bounds(kind_code & 3, out_bits);
            ((v >> s).clamp(lo as i128, hi as i128) as i64) as u8
        }
        kind::SIGN => u8::from(v > 0),
        _ => 0,
    };
    (y, v as i64)
}

/// The registered stage constants (the clamp bounds power up at 0, as the
/// Verilog's registers).
#[derive(Clone, Copy, Debug, Default)]
struct Consts {
    shift: u8,
    kind: u8,
    lo: i64,
    hi: i64,
}

/// Stage-5 state of a row: `v`, the window of `v >> S` and the flags.
#[derive(Clone, Copy, Debug, Default)]
struct Win {
    valid: bool,
    tag: u16,
    v: i64,
    fit: bool,
    t: i64,
    pos: bool,
    neg: bool,
}

/// Cycle-exact model of the pipeline.
#[derive(Clone, Debug)]
pub struct RequantModel {
    dot_bits: usize,
    v_bits: usize,
    k: Consts,
    /// Rows in the stages before stage 5, with the shift and the mask flags
    /// (bits above the window all zero / all one) registered when each
    /// entered stage 4b.
    early: VecDeque<(RequantIn, u8, bool, bool)>,
    /// Stage 5: window and flags.
    s5: Win,
    /// Stage 6: the window's comparisons with the bounds.
    s6: (Win, bool, bool),
    out: RequantOut,
}

impl RequantModel {
    /// A model with the given widths.
    pub fn new(dot_bits: usize, v_bits: usize) -> Self {
        RequantModel {
            dot_bits,
            v_bits,
            k: Consts::default(),
            early: (0..REQUANT_LATENCY - 3)
                .map(|_| (RequantIn::default(), 0, false, false))
                .collect(),
            s5: Win::default(),
            s6: (Win::default(), false, false),
            out: RequantOut::default(),
        }
    }

    /// One rising edge with the inputs of this cycle.
    pub fn step(&mut self, inp: RequantIn, shift: u8, kind_code: u8, out_bits: u8) {
        // every stage uses the constants registered at the previous edge
        // (the Verilog's k_* registers)
        let (lo, hi) = (self.k.lo, self.k.hi);
        let (w, gt, lt) = self.s6;
        let y = if !w.fit {
            if w.neg {
                lo
            } else {
                hi
            }
        } else if gt {
            hi
        } else if lt {
            lo
        } else {
            w.t
        };
        self.out = RequantOut {
            valid: w.valid,
            tag: w.tag,
            y: match self.k.kind {
                kind::SIGN => u8::from(w.pos),
                kind::LOGITS => 0,
                _ => y as u8,
            },
            v: w.v,
        };
        self.s6 = (self.s5, self.s5.t > hi, self.s5.t < lo);
        // stage 5 completes the window with the low shift bits of now; the
        // row's high shift bits and the mask flags were taken when it
        // entered stage 4b (registers that power up at 0)
        let (r4, hs, hz, ho) = self.early.pop_back().unwrap_or_default();
        let (_, v) = requant_row(self.dot_bits, self.v_bits, &r4, 0, kind::LOGITS, 0);
        if let Some(b) = self.early.back_mut() {
            let (_, vb) = requant_row(self.dot_bits, self.v_bits, &b.0, 0, kind::LOGITS, 0);
            let above = i128::from(vb) >> (u32::from(self.k.shift) + WIN as u32);
            let empty = usize::from(self.k.shift) + WIN >= self.v_bits;
            *b = (b.0, self.k.shift, empty || above == 0, empty || above == -1);
        }
        let wv = (v >> (hs & 0x38)) >> (self.k.shift & 7);
        let t = (wv << 54) >> 54;
        self.s5 = Win {
            valid: r4.valid,
            tag: r4.tag,
            v,
            fit: if (t >> 9) & 1 == 1 { ho } else { hz },
            t,
            pos: v > 0,
            neg: v < 0,
        };
        self.early.push_front((inp, 0, false, false));
        // the bias of this cycle belongs to the row entering stage 3b
        self.early[REQUANT_BIAS_DELAY].0.bias = inp.bias;
        let (lo, hi) = clamp_bounds(
            if kind_code & 3 == kind::SIGNED {
                kind::SIGNED
            } else {
                kind::RELU
            },
            out_bits & 15,
        );
        self.k = Consts {
            shift: shift & 63,
            kind: kind_code & 3,
            lo,
            hi,
        };
    }

    /// The registered outputs.
    pub fn outputs(&self) -> RequantOut {
        self.out
    }
}

/// The requantization block.
#[derive(LogicBlock)]
pub struct Requant {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Row valid.
    pub in_valid: Signal<In, Bit>,
    /// Tag of the row.
    pub in_tag: Signal<In, Bits<16>>,
    /// dot_a of the row's distinct row.
    pub in_dot_a: Signal<In, Bits<32>>,
    /// dot_b.
    pub in_dot_b: Signal<In, Bits<32>>,
    /// Alpha code of the row's copy.
    pub in_alpha_a: Signal<In, Bits<16>>,
    /// Alpha code of the next copy.
    pub in_alpha_b: Signal<In, Bits<16>>,
    /// Multiplier M (signed).
    pub in_mult: Signal<In, Bits<16>>,
    /// Bias B' (signed), presented [`REQUANT_BIAS_DELAY`] cycles after the row.
    pub in_bias: Signal<In, Bits<64>>,
    /// Shift S of the stage (held while rows are in flight).
    pub shift: Signal<In, Bits<6>>,
    /// Activation kind ([`kind`]).
    pub kind: Signal<In, Bits<2>>,
    /// Output bits A'.
    pub out_bits: Signal<In, Bits<4>>,
    /// Output valid.
    pub out_valid: Signal<Out, Bit>,
    /// Tag of the output row.
    pub out_tag: Signal<Out, Bits<16>>,
    /// Clamped output (8-bit two's complement; sign: 0/1).
    pub out_y: Signal<Out, Bits<8>>,
    /// v (logits), sign-extended.
    pub out_v: Signal<Out, Bits<64>>,
    _model: Box<RequantModel>,
}

impl Requant {
    /// A unit for `dot_bits`-bit accumulators holding `v` in `v_bits` bits.
    pub fn new(dot_bits: usize, v_bits: usize) -> Self {
        assert!((8..=32).contains(&dot_bits), "dot_bits {dot_bits}");
        assert!((WIN + 2..=64).contains(&v_bits), "v_bits {v_bits}");
        Requant {
            clk: Default::default(),
            in_valid: Default::default(),
            in_tag: Default::default(),
            in_dot_a: Default::default(),
            in_dot_b: Default::default(),
            in_alpha_a: Default::default(),
            in_alpha_b: Default::default(),
            in_mult: Default::default(),
            in_bias: Default::default(),
            shift: Default::default(),
            kind: Default::default(),
            out_bits: Default::default(),
            out_valid: Default::default(),
            out_tag: Default::default(),
            out_y: Default::default(),
            out_v: Default::default(),
            _model: Box::new(RequantModel::new(dot_bits, v_bits)),
        }
    }

    /// The `v` width that holds every product exactly: `dot_bits + 33`
    /// (at most 64).
    pub fn exact_v_bits(dot_bits: usize) -> usize {
        (dot_bits + 33).min(64)
    }
}

impl Logic for Requant {
    fn update(&mut self) {
        if self.clk.pos_edge() {
            let inp = RequantIn {
                valid: self.in_valid.val(),
                tag: low_u64(self.in_tag.val()) as u16,
                dot_a: low_u64(self.in_dot_a.val()) as u32 as i32,
                dot_b: low_u64(self.in_dot_b.val()) as u32 as i32,
                alpha_a: low_u64(self.in_alpha_a.val()) as u16,
                alpha_b: low_u64(self.in_alpha_b.val()) as u16,
                mult: low_u64(self.in_mult.val()) as u16 as i16,
                bias: low_u64(self.in_bias.val()) as i64,
            };
            self._model.step(
                inp,
                low_u64(self.shift.val()) as u8,
                low_u64(self.kind.val()) as u8,
                low_u64(self.out_bits.val()) as u8,
            );
        }
        let o = self._model.outputs();
        self.out_valid.next = o.valid;
        self.out_tag.next = from_u64(u64::from(o.tag));
        self.out_y.next = from_u64(u64::from(o.y));
        self.out_v.next = from_u64(o.v as u64);
    }

    fn connect(&mut self) {
        self.out_valid.connect();
        self.out_tag.connect();
        self.out_y.connect();
        self.out_v.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(requant_verilog(self._model.dot_bits, self._model.v_bits))
    }
}

crate::lockstep_block!(
    Requant,
    inputs [in_valid, in_tag, in_dot_a, in_dot_b, in_alpha_a, in_alpha_b, in_mult, in_bias, shift, kind, out_bits],
    outputs [out_valid, out_tag, out_y, out_v]
);

/// Bits of the window of `v >> S` that the clamp looks at.
const WIN: usize = 10;

/// The unit's Verilog body.
pub fn requant_verilog(dot_bits: usize, v_bits: usize) -> String {
    let dw = dot_bits;
    let vw = v_bits;
    let pw = dw + 16; // alpha (16-bit signed, < 2^15) * dot
    let aw = dw + 17; // sum of two products
    let rw = (aw + 16).min(vw); // * M, modulo 2^V
    let bw = vw.min(64); // bias modulo 2^V
    let mut v = String::new();
    // stage constants, registered (held by the caller while rows are in flight)
    let _ = writeln!(
        v,
        "// stage constants\n\
         reg [5:0] k_shift; reg [1:0] k_kind; reg signed [11:0] k_lo; reg signed [11:0] k_hi; reg [{vm}:0] k_mask;",
        vm = vw - 1
    );
    v += "always @(posedge clk) begin\n  k_shift <= shift; k_kind <= kind;\n  case ({kind == 2'd1, out_bits})\n";
    for signed in [false, true] {
        for bits in 1..=8u8 {
            let (lo, hi) = clamp_bounds(if signed { kind::SIGNED } else { kind::RELU }, bits);
            let _ = writeln!(
                v,
                "    5'd{}: begin k_lo <= {}; k_hi <= 12'sd{hi}; end",
                (u32::from(signed) << 4) | u32::from(bits),
                if lo < 0 {
                    format!("-12'sd{}", -lo)
                } else {
                    format!("12'sd{lo}")
                }
            );
        }
    }
    let (lo_r, hi_r) = clamp_bounds(kind::RELU, 8);
    let (lo_s, hi_s) = clamp_bounds(kind::SIGNED, 8);
    let _ = writeln!(
        v,
        "    default: begin k_lo <= (kind == 2'd1) ? -12'sd{} : 12'sd{lo_r}; k_hi <= (kind == 2'd1) ? 12'sd{hi_s} : 12'sd{hi_r}; end\n  endcase",
        -lo_s
    );
    v += "  // bits of v at and above S + 10 (above the window)\n";
    for i in 0..vw {
        let _ = writeln!(
            v,
            "  k_mask[{i}] <= ({{1'b0, shift}} + 7'd{WIN}) <= 7'd{i};"
        );
    }
    v += "end\n";
    let _ = writeln!(
        v,
        "// input registers\n\
         reg s0_v; reg [15:0] s0_tag; reg signed [{dm}:0] s0_da; reg signed [{dm}:0] s0_db;\n\
         reg signed [15:0] s0_aa; reg signed [15:0] s0_ab; reg signed [15:0] s0_m; \n\
         always @(posedge clk) begin\n  s0_v <= in_valid; s0_tag <= in_tag; s0_da <= in_dot_a[{dm}:0]; s0_db <= in_dot_b[{dm}:0];\n\
         \x20 s0_aa <= {{1'b0, in_alpha_a[14:0]}}; s0_ab <= {{1'b0, in_alpha_b[14:0]}}; s0_m <= in_mult;\nend",
        dm = dw - 1,
    );
    let _ = writeln!(
        v,
        "// alpha * dot (signed operands: exact in {pw} bits)\n\
         reg s1_v; reg [15:0] s1_tag; reg signed [{pm}:0] s1_pa; reg signed [{pm}:0] s1_pb; reg signed [15:0] s1_m;\n\
         always @(posedge clk) begin\n  s1_v <= s0_v; s1_tag <= s0_tag; s1_pa <= s0_da * s0_aa; s1_pb <= s0_db * s0_ab; s1_m <= s0_m;\nend",
        pm = pw - 1,
    );
    let _ = writeln!(
        v,
        "// the products registered again (the SB_MAC16 output registers take the\n\
         // first stage; the partial products of a wide multiply are added after them)\n\
         reg s1b_v; reg [15:0] s1b_tag; reg signed [{pm}:0] s1b_pa; reg signed [{pm}:0] s1b_pb; reg signed [15:0] s1b_m;\n\
         always @(posedge clk) begin\n  s1b_v <= s1_v; s1b_tag <= s1_tag; s1b_pa <= s1_pa; s1b_pb <= s1_pb; s1b_m <= s1_m;\nend",
        pm = pw - 1,
    );
    let _ = writeln!(
        v,
        "// acc = alpha_a dot_a + alpha_b dot_b\n\
         reg s2_v; reg [15:0] s2_tag; reg signed [{am}:0] s2_acc; reg signed [15:0] s2_m;\n\
         always @(posedge clk) begin\n  s2_v <= s1b_v; s2_tag <= s1b_tag; s2_acc <= s1b_pa + s1b_pb; s2_m <= s1b_m;\nend",
        am = aw - 1,
    );
    let _ = writeln!(
        v,
        "// acc * M (modulo 2^{rw}); its operands registered once more (the SB_MAC16\n\
         // input registers take that stage: the sum stays out of the DSP's setup time)\n\
         reg s3_v; reg [15:0] s3_tag; reg signed [{rm}:0] s3_prod;\n\
         reg s2b_v; reg [15:0] s2b_tag; reg signed [{am}:0] s2b_acc; reg signed [15:0] s2b_m;\n\
         always @(posedge clk) begin\n  s2b_v <= s2_v; s2b_tag <= s2_tag; s2b_acc <= s2_acc; s2b_m <= s2_m;\nend\n\
         always @(posedge clk) begin\n  s3_v <= s2b_v; s3_tag <= s2b_tag; s3_prod <= s2b_acc * s2b_m;\nend",
        am = aw - 1,
        rm = rw - 1,
    );
    let _ = writeln!(
        v,
        "// v = acc M + B' (modulo 2^{vw})\n\
         reg s3b_v; reg [15:0] s3b_tag; reg signed [{rm}:0] s3b_prod; reg signed [{bm}:0] s3b_b;\n\
         always @(posedge clk) begin\n  s3b_v <= s3_v; s3b_tag <= s3_tag; s3b_prod <= s3_prod; s3b_b <= in_bias[{bm}:0];\nend\n\
         // in two halves over two cycles (a {vw}-bit carry chain is too slow on iCE40)\n\
         wire signed [{vm}:0] prod_ext = {prod_ext};\n\
         reg s4a_v; reg [15:0] s4a_tag; reg [{h}:0] s4a_lo; reg [{hm}:0] s4a_ph; reg [{hm}:0] s4a_bh;\n\
         always @(posedge clk) begin\n  s4a_v <= s3b_v; s4a_tag <= s3b_tag;\n\
         \x20 s4a_lo <= {{1'b0, prod_ext[{lm}:0]}} + {{1'b0, s3b_b[{lm}:0]}};\n\
         \x20 s4a_ph <= prod_ext[{vm}:{h}]; s4a_bh <= s3b_b[{vm}:{h}];\nend\n\
         reg s4_v; reg [15:0] s4_tag; reg signed [{vm}:0] s4_val;\n\
         always @(posedge clk) begin\n  s4_v <= s4a_v; s4_tag <= s4a_tag;\n\
         \x20 s4_val <= {{s4a_ph + s4a_bh + {{{hm}'d0, s4a_lo[{h}]}}, s4a_lo[{lm}:0]}};\nend",
        vm = vw - 1,
        rm = rw - 1,
        bm = bw - 1,
        // acc * M sign-extended or cut to V bits, widths explicit (lint)
        prod_ext = match rw.cmp(&vw) {
            std::cmp::Ordering::Less => format!("{{{{{}{{s3b_prod[{}]}}}}, s3b_prod}}", vw - rw, rw - 1),
            std::cmp::Ordering::Equal => "s3b_prod".to_string(),
            std::cmp::Ordering::Greater => format!("s3b_prod[{}:0]", vw - 1),
        },
        h = vw / 2,
        lm = vw / 2 - 1,
        hm = vw - vw / 2 - 1
    );
    // window of v >> S: log shifter, largest shift first; the stage
    // shifting by 2^b outputs WIN + 2^b - 1 bits and reads WIN + 2^(b+1) - 1.
    // The shifts by 32, 16 and 8 (and the mask reductions) are registered
    // in stage 4b, those by 4, 2 and 1 in stage 5.
    v += "// window of v >>> S\n";
    let mut prev = "s4_val".to_string();
    let mut prev_w = vw;
    for b in (0..6).rev() {
        if b == 2 {
            let _ = writeln!(
                v,
                "wire hi_zero = ~|(s4_val & k_mask);\nwire hi_ones = ~|(~s4_val & k_mask);\n\
                 reg s4b_v; reg [15:0] s4b_tag; reg signed [{vm}:0] s4b_val; reg [{pm}:0] s4b_w; reg s4b_hz; reg s4b_ho; reg s4b_pos;\n\
                 always @(posedge clk) begin\n  s4b_v <= s4_v; s4b_tag <= s4_tag; s4b_val <= s4_val; s4b_w <= {prev};\n\
                 \x20 s4b_hz <= hi_zero; s4b_ho <= hi_ones;\n  s4b_pos <= ~s4_val[{vm}] & (|s4_val);\nend",
                vm = vw - 1,
                pm = prev_w - 1
            );
            prev = "s4b_w".to_string();
        }
        let sh = 1usize << b;
        let need = WIN + 2 * sh - 1;
        let out_w = WIN + sh - 1;
        let src = if prev_w >= need {
            format!("{prev}[{}:0]", need - 1)
        } else {
            format!(
                "{{{{{}{{{prev}[{}]}}}}, {prev}}}",
                need - prev_w,
                prev_w - 1
            )
        };
        let _ = writeln!(
            v,
            "wire [{nm}:0] sx{b} = {src};\nwire [{om}:0] sh{b} = k_shift[{b}] ? sx{b}[{nm}:{sh}] : sx{b}[{om}:0];",
            nm = need - 1,
            om = out_w - 1
        );
        prev = format!("sh{b}");
        prev_w = out_w;
    }
    debug_assert_eq!(prev_w, WIN);
    let _ = writeln!(
        v,
        "reg s5_v; reg [15:0] s5_tag; reg signed [{vm}:0] s5_val; reg [{wm}:0] s5_w; reg s5_hz; reg s5_ho; reg s5_pos;\n\
         always @(posedge clk) begin\n  s5_v <= s4b_v; s5_tag <= s4b_tag; s5_val <= s4b_val; s5_w <= sh0;\n\
         \x20 s5_hz <= s4b_hz; s5_ho <= s4b_ho; s5_pos <= s4b_pos;\nend",
        vm = vw - 1,
        wm = WIN - 1
    );
    let _ = writeln!(
        v,
        "// comparisons of the window with the bounds\n\
         wire signed [11:0] t_val = $signed({{{{2{{s5_w[{wm}]}}}}, s5_w}});\n\
         reg s6_v; reg [15:0] s6_tag; reg signed [{vm}:0] s6_val; reg signed [11:0] s6_t; reg s6_fit; reg s6_pos; reg s6_gt; reg s6_lt;\n\
         always @(posedge clk) begin\n  s6_v <= s5_v; s6_tag <= s5_tag; s6_val <= s5_val; s6_t <= t_val; s6_pos <= s5_pos;\n\
         \x20 s6_fit <= s5_w[{wm}] ? s5_ho : s5_hz;\n\
         \x20 s6_gt <= t_val > k_hi; s6_lt <= t_val < k_lo;\nend\n\
         // clamp: the window when v >> S fits in {WIN} bits, else saturate by the sign\n\
         reg signed [11:0] y_val;\n\
         always @(*) begin\n\
         \x20 if (!s6_fit) y_val = s6_val[{vm}] ? k_lo : k_hi;\n\
         \x20 else if (s6_gt) y_val = k_hi;\n\
         \x20 else if (s6_lt) y_val = k_lo;\n\
         \x20 else y_val = s6_t;\n\
         end\n\
         reg o_v; reg [15:0] o_tag; reg [7:0] o_y; reg [63:0] o_val;\n\
         always @(posedge clk) begin\n  o_v <= s6_v; o_tag <= s6_tag;\n\
         \x20 o_y <= (k_kind == 2'd2) ? {{7'd0, s6_pos}} : ((k_kind == 2'd3) ? 8'd0 : y_val[7:0]);\n\
         \x20 o_val <= {sext};\nend\n\
         always @(*) begin\n  out_valid = o_v; out_tag = o_tag; out_y = o_y; out_v = o_val;\nend",
        wm = WIN - 1,
        vm = vw - 1,
        sext = if vw >= 64 {
            "s6_val[63:0]".to_string()
        } else {
            format!("{{{{{}{{s6_val[{}]}}}}, s6_val}}", 64 - vw, vw - 1)
        }
    );
    // power-up state 0 (as the model)
    v += "initial begin\n";
    for r in crate::engine::reg_names(&v.replace("reg signed ", "reg ")) {
        if r != "y_val" {
            let _ = writeln!(v, "  {r} = 0;");
        }
    }
    v += "end\n";
    v
}
