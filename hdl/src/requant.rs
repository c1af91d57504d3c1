//! Requantization unit: the on-chip form of docs/numerics.md section 4 as
//! docs/model-image.md section 4 specifies it (rounding constant folded
//! into the bias by the compiler), one output row per cycle (pipelined).
//!
//! For each row the caller presents the accumulator pair of its distinct
//! row (`dot_a`, `dot_b`) and the alpha codes of its copy and of the next
//! copy (`alpha_b` must be 0, or `dot_b` 0, when the row does not straddle;
//! the engine's `dot_b` of such a row is 0); the row's multiplier `M`
//! [`REQUANT_MULT_DELAY`] cycles later and its bias `B'`
//! [`REQUANT_BIAS_DELAY`] cycles later (each joins the pipeline where it is
//! used: the caller delays a record address, not the data); the stage
//! constants (shift `S`, activation kind, output bits `A'`) are held while
//! the stage's rows are in flight:
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
//! Widths: `dot_bits` (the engine's accumulator width,
//! [`crate::engine::acc_bits_for`]), alpha codes below 2^15, `|M| < 2^15`
//! (16-bit signed). Every product is a piece of at most 16 x 16 bits for
//! the UP5K configuration (19-bit dots), written with the registers the
//! `ice40_dsp` pass of `synth_ice40 -dsp` absorbs into the SB_MAC16 (input
//! registers, the pipeline register after the multiplier and a second one,
//! the post-adder with its C/D input register, the output register), so
//! that the DSPs hold the pipeline and the fabric only the carries between
//! the pieces:
//!
//! - `dot = D0 + 2^ka D1` (`ka = min(16, dot_bits - 1)`: `D0` unsigned, 16
//!   bits for the UP5K so that the DSP input register holds it whole; `D1`
//!   signed): `Y0 = alpha_a D0a + alpha_b D0b` and `Y1 = alpha_a D1a +
//!   alpha_b D1b`, each a product plus the other product in the second
//!   DSP's post-adder;
//! - `acc = A0 + 2^k A'` (`k = min(15, ka)`) with `A0 = acc mod 2^k` taken
//!   as a *signed* k-bit value (so the multiplier's input register holds
//!   it) and `A' = 2^(ka-k) Y1 + (Y0 >> k) + Y0[k-1]` (one fabric adder, the
//!   last term its carry in);
//! - `A' = A1 + 2^15 A2` (`A1` its low 15 bits, `A2` signed): `U0 = A0 M +
//!   (B' mod 2^(k+15))`, `U1 = A1 M + (U0 >> k)` and `U2 = A2 M +
//!   (B' >> (k+15))` in the three DSPs' post-adders (`U1` one cycle after
//!   `U0`), then `v = U0 mod 2^k + 2^k (U1 mod 2^15) + 2^(k+15) (U2 +
//!   (U1 >> 15))` (one fabric adder of V - k - 15 bits; the low k + 15 bits
//!   wait for it in registers).
//!
//! The products and the registers a DSP takes from another DSP are kept
//! wires (`(* keep *)`): yosys 0.23's `ice40_dsp` would otherwise take such a
//! register into both DSPs (registering the value twice). Post-adders wider
//! than the DSP's 32 bits (V > 62, 32-bit dots) are left to the fabric.
//! `tests/requant.rs` simulates the netlist of `synth_ice40 -dsp` against
//! the model.
//!
//! The shift is not a full barrel shifter: a 9-bit window `t` of `v >> S`
//! is extracted by three 4-way stages (by 16, 4 and 1 bits, each as narrow
//! as the window needs), and each stage checks that the bits it drops above
//! the window are copies of the bit below them: together, whether
//! `v >> S` fits in 9 bits (`fit`). The clamp range of `A'` bits is a mask of
//! the window's bits (those at and above the output's sign position, or
//! above its top bit for relu): `v >> S` is in range iff it fits and the
//! masked bits equal `t`'s sign (and that is 0 for relu), else the output
//! saturates by the sign of `v`. The sign kind is the relu clamp of `v` to
//! one bit (`S` taken as 0), `clamp(v, 0, 1) = [v > 0]`; logits output `y = 0`.
//!
//! Pipeline (edges after the input cycle):
//! 1. the alpha codes (fabric registers: the alpha memory's output
//!    multiplexer packs with them) and the dot pieces (DSP input registers);
//! 2. the four `alpha * dot` products (DSP pipeline registers);
//! 3. `Y0`, `Y1` (DSP post-adders and output registers);
//! 4. `A'` (fabric adder), `A0` and `M` (DSP input registers);
//! 5. the three `* M` products (DSP pipeline registers);
//! 6. `U0` (post-adder of the bias' low bits); the other two products again
//!    (DSP second pipeline registers), the bias' high bits (C/D register);
//! 7. `U1`, `U2` (post-adders);
//! 8. `v` ([`REQUANT_V_LATENCY`]; the high bits from a fabric adder): the
//!    logits' output and valid;
//! 9. the window shifted by 16 S\[5:4\] (24 bits) and its check above;
//! 10. shifted by 4 S\[3:2\] and S\[1:0\]: `t` and `fit`;
//! 11. the clamp: `y` ([`REQUANT_LATENCY`]).
//!
//! Besides the outputs, the unit tells the caller when to read the record
//! memories (`mult_rd`, `bias_rd`: the cycle before a valid row's `M` or
//! `B'` is sampled) and `last` (no row comes out in the next cycle: the
//! caller's rows come one per cycle, so that is its last row). `valid` and
//! `last` are registers (selected by the kind a cycle ahead).

use crate::util::*;
use rust_hdl::prelude::*;
use std::fmt::Write as _;

/// Edges from the cycle an input row is presented to the cycle its clamped
/// output `y` is valid (every kind but logits).
pub const REQUANT_LATENCY: usize = 11;

/// Edges from the input cycle to the cycle `v` is valid (the logits kind's
/// outputs: `out_valid` follows this latency for it).
pub const REQUANT_V_LATENCY: usize = 8;

/// Cycles after a row's other inputs at which its multiplier `in_mult` is
/// presented (sampled into the DSP input registers with `A'`).
pub const REQUANT_MULT_DELAY: usize = 3;

/// Cycles after a row's other inputs at which its bias `in_bias` is
/// presented (the cycle its low bits are added; the high bits wait one
/// cycle in a DSP's C/D register).
pub const REQUANT_BIAS_DELAY: usize = 5;

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

/// The registered clamp constants of a kind and output width: whether the
/// range is signed and the mask of the window bits at and above the range's
/// top (relu, `A'` bits: bits `A'..7`; signed: `A'-1..7`). The range is then
/// `lo = signed ? mask : 0`, `hi = !mask` (8-bit two's complement); the sign
/// kind is relu with one bit.
pub fn clamp_mask(kind_code: u8, out_bits: u8) -> (bool, u8) {
    let b = if (1..=8).contains(&out_bits) {
        out_bits
    } else {
        8
    };
    let (sgn, top) = match kind_code & 3 {
        kind::SIGN => (false, 1),
        kind::SIGNED if b > 1 => (true, b - 1),
        _ => (false, b),
    };
    (sgn, ((0xFFu16 << top) & 0xFF) as u8)
}

/// One row presented to the unit (values already in their port widths):
/// the multiplier and the bias as presented in the row's input cycle (the
/// definition [`requant_row`]; the pipeline samples them later).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequantIn {
    /// Row valid.
    pub valid: bool,
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

/// The registered outputs of the unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequantOut {
    /// Output valid (`y` for every kind but logits, `v` for logits).
    pub valid: bool,
    /// The row is valid and none follows in the next cycle.
    pub last: bool,
    /// Clamped value in 8-bit two's complement (sign: 0/1; logits: 0), of
    /// the row [`REQUANT_LATENCY`] cycles after its input.
    pub y: u8,
    /// `v` (sign-extended to 64 bits) of the row [`REQUANT_V_LATENCY`]
    /// cycles after its input.
    pub v: i64,
    /// Rows in the pipeline (before their output).
    pub busy: bool,
    /// The multiplier of a valid row is sampled in the next cycle.
    pub mult_rd: bool,
    /// The bias of a valid row is sampled in the next cycle.
    pub bias_rd: bool,
}

/// `x` wrapped to a `bits`-bit two's-complement value.
fn wrap(x: i128, bits: usize) -> i128 {
    let s = 128 - bits;
    (x << s) >> s
}

/// `x` modulo 2^`bits` (unsigned).
fn low(x: i128, bits: usize) -> i128 {
    x & ((1i128 << bits) - 1)
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

/// Bits of the window of `v >> S` (its sign and the 8 output bits).
const WIN: usize = 9;

/// The widths of the pipeline for `dot_bits` and `v_bits` (model and Verilog).
#[derive(Clone, Copy, Debug)]
struct Widths {
    /// Dot bits.
    dw: usize,
    /// V bits.
    vw: usize,
    /// Low piece of the dots (unsigned: `min(16, dw - 1)` bits, so that the
    /// DSP input register holds it whole).
    ka: usize,
    /// High piece of the dots (signed).
    h: usize,
    /// Low piece of `acc` (signed: `min(15, ka)` bits).
    k: usize,
    /// `A' = acc >> k` (rounded up by `acc`'s bit k-1), signed.
    ap: usize,
    /// `v >> (k + 15)`: the fabric adder.
    wh: usize,
}

impl Widths {
    fn new(dw: usize, vw: usize) -> Self {
        let ka = 16.min(dw - 1);
        let k = 15.min(ka);
        Widths {
            dw,
            vw,
            ka,
            h: dw - ka,
            k,
            ap: dw + 17 - k,
            wh: vw - k - 15,
        }
    }
}

/// The pipeline registers (as the Verilog's, power-up 0; values held as
/// the integers they represent, signed where the Verilog's are).
#[derive(Clone, Copy, Debug, Default)]
struct Regs {
    k_shift: u8,
    k_logits: bool,
    k_sgn: bool,
    k_m: u8,
    /// Bit `i`: the row `i` edges after its input is valid (1..=11).
    vc: u16,
    /// Output valid and last (from `vc` by the kind).
    ov: bool,
    olast: bool,
    aa: i128,
    ab: i128,
    da0: i128,
    da1: i128,
    db0: i128,
    db1: i128,
    x0: i128,
    pb0: i128,
    x1: i128,
    pb1: i128,
    y0: i128,
    y1: i128,
    accp: i128,
    a0: i128,
    m: i128,
    t0: i128,
    t1: i128,
    t2: i128,
    u0: i128,
    t1h: i128,
    t2h: i128,
    bh: i128,
    u1: i128,
    u2: i128,
    v0d: i128,
    vhi: i128,
    v1d: i128,
    v0dd: i128,
    seg: u32,
    eqa: bool,
    vs9: bool,
    t: u16,
    fit: bool,
    vs10: bool,
    y: u8,
}

/// Cycle-exact model of the pipeline.
#[derive(Clone, Debug)]
pub struct RequantModel {
    w: Widths,
    r: Regs,
}

/// Whether the low `n` bits of `x` are all equal.
fn all_eq(x: u32, n: usize) -> bool {
    let m = (1u32 << n) - 1;
    x & m == 0 || x & m == m
}

impl RequantModel {
    /// A model with the given widths.
    pub fn new(dot_bits: usize, v_bits: usize) -> Self {
        RequantModel {
            w: Widths::new(dot_bits, v_bits),
            r: Regs::default(),
        }
    }

    /// `v` of the row at stage 8 (sign-extended).
    fn v(&self) -> i128 {
        let (w, r) = (self.w, &self.r);
        wrap((r.vhi << (w.k + 15)) | (r.v1d << w.k) | r.v0dd, w.vw)
    }

    /// One rising edge with the inputs of this cycle (`inp.mult` and
    /// `inp.bias` are the values on those ports in this cycle).
    pub fn step(&mut self, inp: RequantIn, shift: u8, kind_code: u8, out_bits: u8) {
        let (w, r) = (self.w, self.r);
        let mut n = r;
        // stage constants
        let kc = kind_code & 3;
        n.k_shift = if kc == kind::SIGN { 0 } else { shift & 63 };
        n.k_logits = kc == kind::LOGITS;
        (n.k_sgn, n.k_m) = clamp_mask(kc, out_bits & 15);
        n.vc = ((r.vc << 1) | (u16::from(inp.valid) << 1)) & 0xFFE;
        let at = |i: usize| (r.vc >> i) & 1 == 1;
        let out = if r.k_logits {
            REQUANT_V_LATENCY
        } else {
            REQUANT_LATENCY
        };
        n.ov = at(out - 1);
        n.olast = at(out - 1) && !at(out - 2);
        // 1: alpha codes and dot pieces
        let (da, db) = (inp.dot_a as u32 as i128, inp.dot_b as u32 as i128);
        n.aa = i128::from(inp.alpha_a & 0x7FFF);
        n.ab = i128::from(inp.alpha_b & 0x7FFF);
        n.da0 = low(da, w.ka);
        n.db0 = low(db, w.ka);
        n.da1 = wrap(da >> w.ka, w.h);
        n.db1 = wrap(db >> w.ka, w.h);
        // 2: products
        n.x0 = r.aa * r.da0;
        n.pb0 = r.ab * r.db0;
        n.x1 = r.aa * r.da1;
        n.pb1 = r.ab * r.db1;
        // 3: Y0, Y1
        n.y0 = r.pb0 + r.x0;
        n.y1 = r.pb1 + r.x1;
        // 4: A' (rounded up by Y0's bit k-1, which A0 then carries as its sign)
        n.accp = (r.y1 << (w.ka - w.k)) + (r.y0 >> w.k) + ((r.y0 >> (w.k - 1)) & 1);
        n.a0 = wrap(r.y0, w.k);
        n.m = i128::from(inp.mult);
        // 5: * M
        n.t0 = r.a0 * r.m;
        n.t1 = low(r.accp, 15) * r.m;
        n.t2 = (r.accp >> 15) * r.m;
        // 6: U0 (bias' low bits), the bias' high bits
        let b = inp.bias as u64 as i128;
        n.u0 = r.t0 + low(b, w.k + 15);
        n.t1h = r.t1;
        n.t2h = r.t2;
        n.bh = wrap(b >> (w.k + 15), w.wh);
        // 7: U1, U2
        n.u1 = r.t1h + (r.u0 >> w.k);
        n.u2 = wrap(r.t2h + r.bh, w.wh);
        n.v0d = low(r.u0, w.k);
        // 8: v
        n.vhi = low(r.u2 + (r.u1 >> 15), w.wh);
        n.v1d = low(r.u1, 15);
        n.v0dd = r.v0d;
        // 9: the window shifted by 16 S[5:4] and the bits above it
        let v = self.v();
        let q = u32::from(r.k_shift >> 4) * 16;
        n.seg = ((v >> q) & 0xFF_FFFF) as u32;
        let above = v >> (q + 23);
        n.eqa = above == 0 || above == -1;
        n.vs9 = v < 0;
        // 10: by 4 S[3:2] and S[1:0]
        let p = usize::from((r.k_shift >> 2) & 3) * 4;
        let s = usize::from(r.k_shift & 3);
        let seg2 = (r.seg >> p) & 0xFFF;
        n.t = ((seg2 >> s) & 0x1FF) as u16;
        n.fit = r.eqa && all_eq(r.seg >> (p + 11), 13 - p) && all_eq(seg2 >> (s + 8), 4 - s);
        n.vs10 = r.vs9;
        // 11: the clamp
        let t8 = r.t >> 8 & 1 == 1;
        let mut inr = r.fit && (r.k_sgn || !t8);
        let mut sat = 0u8;
        for i in 0..8 {
            let m = (r.k_m >> i) & 1 == 1;
            if m && ((r.t >> i) & 1 == 1) != t8 {
                inr = false;
            }
            let bit = if m { r.vs10 && r.k_sgn } else { !r.vs10 };
            sat |= u8::from(bit) << i;
        }
        n.y = if r.k_logits {
            0
        } else if inr {
            r.t as u8
        } else {
            sat
        };
        self.r = n;
    }

    /// The registered outputs.
    pub fn outputs(&self) -> RequantOut {
        let r = &self.r;
        let at = |i: usize| (r.vc >> i) & 1 == 1;
        let out = if r.k_logits {
            REQUANT_V_LATENCY
        } else {
            REQUANT_LATENCY
        };
        RequantOut {
            valid: r.ov,
            last: r.olast,
            y: r.y,
            v: self.v() as i64,
            busy: (1..=out).any(at),
            mult_rd: at(REQUANT_MULT_DELAY - 1),
            bias_rd: at(REQUANT_BIAS_DELAY - 1),
        }
    }
}

/// The requantization block.
#[derive(LogicBlock)]
pub struct Requant {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Row valid.
    pub in_valid: Signal<In, Bit>,
    /// dot_a of the row's distinct row.
    pub in_dot_a: Signal<In, Bits<32>>,
    /// dot_b.
    pub in_dot_b: Signal<In, Bits<32>>,
    /// Alpha code of the row's copy.
    pub in_alpha_a: Signal<In, Bits<16>>,
    /// Alpha code of the next copy.
    pub in_alpha_b: Signal<In, Bits<16>>,
    /// Multiplier M (signed), presented [`REQUANT_MULT_DELAY`] cycles after the row.
    pub in_mult: Signal<In, Bits<16>>,
    /// Bias B' (signed), presented [`REQUANT_BIAS_DELAY`] cycles after the row.
    pub in_bias: Signal<In, Bits<64>>,
    /// Shift S of the stage (held while rows are in flight).
    pub shift: Signal<In, Bits<6>>,
    /// Activation kind ([`kind`]).
    pub kind: Signal<In, Bits<2>>,
    /// Output bits A'.
    pub out_bits: Signal<In, Bits<4>>,
    /// Output valid ([`REQUANT_LATENCY`] after the row; logits: [`REQUANT_V_LATENCY`]).
    pub out_valid: Signal<Out, Bit>,
    /// The output row is valid and no row's output follows in the next cycle.
    pub out_last: Signal<Out, Bit>,
    /// Clamped output (8-bit two's complement; sign: 0/1; logits: 0).
    pub out_y: Signal<Out, Bits<8>>,
    /// v (logits), sign-extended: the row [`REQUANT_V_LATENCY`] cycles after its input.
    pub out_v: Signal<Out, Bits<64>>,
    /// Rows in flight (input registered, output not yet presented).
    pub busy: Signal<Out, Bit>,
    /// A valid row's multiplier is sampled in the next cycle (read it now).
    pub mult_rd: Signal<Out, Bit>,
    /// A valid row's bias is sampled in the next cycle (read it now).
    pub bias_rd: Signal<Out, Bit>,
    _model: Box<RequantModel>,
}

impl Requant {
    /// A unit for `dot_bits`-bit accumulators holding `v` in `v_bits` bits.
    pub fn new(dot_bits: usize, v_bits: usize) -> Self {
        assert!((8..=32).contains(&dot_bits), "dot_bits {dot_bits}");
        assert!((32..=64).contains(&v_bits), "v_bits {v_bits}");
        Requant {
            clk: Default::default(),
            in_valid: Default::default(),
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
            out_last: Default::default(),
            out_y: Default::default(),
            out_v: Default::default(),
            busy: Default::default(),
            mult_rd: Default::default(),
            bias_rd: Default::default(),
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
        self.out_last.next = o.last;
        self.out_y.next = from_u64(u64::from(o.y));
        self.out_v.next = from_u64(o.v as u64);
        self.busy.next = o.busy;
        self.mult_rd.next = o.mult_rd;
        self.bias_rd.next = o.bias_rd;
    }

    fn connect(&mut self) {
        self.out_valid.connect();
        self.out_last.connect();
        self.out_y.connect();
        self.out_v.connect();
        self.busy.connect();
        self.mult_rd.connect();
        self.bias_rd.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(requant_verilog(self._model.w.dw, self._model.w.vw))
    }
}

crate::lockstep_block!(
    Requant,
    inputs [in_valid, in_dot_a, in_dot_b, in_alpha_a, in_alpha_b, in_mult, in_bias, shift, kind, out_bits],
    outputs [out_valid, out_last, out_y, out_v, busy, mult_rd, bias_rd]
);

/// Verilog of "bits `hi..=lo` of `x` are all equal" (`hi > lo`): each bit
/// equals the one below it (LUT4s of four neighbours and an AND tree).
fn all_eq_v(x: &str, hi: usize, lo: usize) -> String {
    format!("(&({x}[{hi}:{}] ~^ {x}[{}:{lo}]))", lo + 1, hi - 1)
}

/// The unit's Verilog body.
pub fn requant_verilog(dot_bits: usize, v_bits: usize) -> String {
    let Widths {
        dw,
        vw,
        ka,
        h,
        k,
        ap,
        wh,
    } = Widths::new(dot_bits, v_bits);
    // A2 * M
    let t2w = ap - 15 + 16;
    let (ly, lv) = (REQUANT_LATENCY, REQUANT_V_LATENCY);
    let mut v = String::new();
    // stage constants (held by the caller while rows are in flight)
    v += "// stage constants; the sign kind is the relu clamp of v to 1 bit (no shift)\n\
          reg [5:0] k_shift; reg k_logits; reg k_sgn; reg [7:0] k_m;\n\
          always @(posedge clk) begin\n  k_shift <= (kind == 2'd2) ? 6'd0 : shift;\n  k_logits <= kind == 2'd3;\n\
          \x20 if (kind == 2'd2) begin\n";
    let (s2, m2) = clamp_mask(kind::SIGN, 1);
    let _ = writeln!(
        v,
        "    k_sgn <= 1'b{}; k_m <= 8'h{m2:02x};\n  end else begin\n    case ({{kind == 2'd1, out_bits}})",
        u8::from(s2)
    );
    for signed in [false, true] {
        for bits in 0..16u8 {
            let (s, m) = clamp_mask(if signed { kind::SIGNED } else { kind::RELU }, bits);
            let _ = writeln!(
                v,
                "      5'd{}: begin k_sgn <= 1'b{}; k_m <= 8'h{m:02x}; end",
                (u32::from(signed) << 4) | u32::from(bits),
                u8::from(s)
            );
        }
    }
    v += "    endcase\n  end\nend\n";
    let _ = writeln!(
        v,
        "// valid of the row i edges after its input; the output's valid and last\n\
         // (no row one stage behind) registered from the stage before, by the kind\n\
         reg [{ly}:1] vc; reg ov; reg olast;\n\
         always @(posedge clk) begin\n  vc <= {{vc[{ly1}:1], in_valid}};\n\
         \x20 ov <= k_logits ? vc[{lv1}] : vc[{ly1}];\n\
         \x20 olast <= k_logits ? (vc[{lv1}] & ~vc[{lv2}]) : (vc[{ly1}] & ~vc[{ly2}]);\nend",
        ly1 = ly - 1,
        ly2 = ly - 2,
        lv1 = lv - 1,
        lv2 = lv - 2,
    );
    let _ = writeln!(
        v,
        "// 1: alpha codes (fabric registers, kept: the hi pieces' DSPs cannot take them\n\
         // into their input registers (the alpha's constant sign bit), and a copy in the\n\
         // lo pieces' would leave the alpha memory's output multiplexer two loads) and\n\
         // the dot pieces (DSP input registers)\n\
         (* keep *)\nreg [14:0] r_aa;\n(* keep *)\nreg [14:0] r_ab;\n\
         reg [{km}:0] r_da0; reg [{km}:0] r_db0; reg signed [{hm}:0] r_da1; reg signed [{hm}:0] r_db1;\n\
         always @(posedge clk) begin\n  r_aa <= in_alpha_a[14:0]; r_ab <= in_alpha_b[14:0];\n\
         \x20 r_da0 <= in_dot_a[{km}:0]; r_db0 <= in_dot_b[{km}:0];\n\
         \x20 r_da1 <= in_dot_a[{dm}:{ka}]; r_db1 <= in_dot_b[{dm}:{ka}];\nend",
        km = ka - 1,
        hm = h - 1,
        dm = dw - 1,
    );
    let _ = writeln!(
        v,
        "// 2: alpha * dot pieces (DSP pipeline registers; kept as wires: the DSP that adds\n\
         // two of them takes the other's from its register, not into its own C/D\n\
         // register, which yosys 0.23's ice40_dsp would do besides, registering it twice)\n\
         (* keep *)\nreg [{xm}:0] x0;\n(* keep *)\nreg [{xm}:0] p_b0;\n(* keep *)\nreg signed [{x1m}:0] x1;\n(* keep *)\nreg signed [{x1m}:0] p_b1;\n\
         always @(posedge clk) begin\n\
         \x20 x0 <= {{{ka}'d0, r_aa}} * {{15'd0, r_da0}}; p_b0 <= {{{ka}'d0, r_ab}} * {{15'd0, r_db0}};\n\
         \x20 x1 <= $signed({{{h1}'d0, r_aa}}) * $signed({{{{16{{r_da1[{hm}]}}}}, r_da1}});\n\
         \x20 p_b1 <= $signed({{{h1}'d0, r_ab}}) * $signed({{{{16{{r_db1[{hm}]}}}}, r_db1}});\nend",
        xm = ka + 14,
        x1m = h + 15,
        h1 = h + 1,
        hm = h - 1,
    );
    let _ = writeln!(
        v,
        "// 3: Y0 = alpha_a D0a + alpha_b D0b, Y1 likewise (DSP post-adders)\n\
         reg [{y0m}:0] y0; reg signed [{y1m}:0] y1;\n\
         always @(posedge clk) begin\n  y0 <= {{1'b0, p_b0}} + {{1'b0, x0}};\n  y1 <= {y1sum};\nend",
        y0m = ka + 15,
        y1m = h + 16,
        // Y1 wider than the DSP's 32-bit adder (32-bit dots): in the fabric
        // (operands wider than the product, which the DSP adder does not take;
        // yosys 0.23 miswires a 33-bit one)
        y1sum = if h + 17 > 32 {
            format!("{{p_b1[{hx}], p_b1}} + {{x1[{hx}], x1}}", hx = h + 15)
        } else {
            "p_b1 + x1".to_string()
        },
    );
    let _ = writeln!(
        v,
        "// 4: A' = acc >> {k} rounded up by bit {km} (A0 = acc mod 2^{k} as a signed value)\n\
         reg signed [{apm}:0] accp; reg signed [{km}:0] r_a0; reg signed [15:0] r_m;\n\
         always @(posedge clk) begin\n\
         \x20 accp <= {y1s} + $signed({{{z}'d0, y0[{y0m}:{k}]}}) + $signed({{{z1}'d0, y0[{km}]}});\n\
         \x20 r_a0 <= y0[{km}:0]; r_m <= in_mult;\nend",
        apm = ap - 1,
        km = k - 1,
        y0m = ka + 15,
        z = ap - (ka + 16 - k),
        z1 = ap - 1,
        y1s = if ka == k {
            "y1".to_string()
        } else {
            format!("$signed({{y1, {}'d0}})", ka - k)
        },
    );
    let _ = writeln!(
        v,
        "// 5: * M (DSP pipeline registers)\n\
         reg signed [{t0m}:0] t0; reg signed [31:0] t1;\n{t2keep}reg signed [{t2m}:0] t2;\n\
         always @(posedge clk) begin\n\
         \x20 t0 <= $signed({{{{16{{r_a0[{km}]}}}}, r_a0}}) * $signed({{{{{k}{{r_m[15]}}}}, r_m}});\n\
         \x20 t1 <= $signed({{17'd0, accp[14:0]}}) * $signed({{{{16{{r_m[15]}}}}, r_m}});\n\
         \x20 t2 <= $signed({{{{16{{accp[{apm}]}}}}, accp[{apm}:15]}}) * $signed({{{{{a2}{{r_m[15]}}}}, r_m}});\nend",
        t0m = k + 15,
        t2m = t2w - 1,
        km = k - 1,
        apm = ap - 1,
        a2 = ap - 15,
        // U2 wider than the DSP's 32-bit adder (V > 62): the fabric adds it, and
        // t2h stays in the fabric too (yosys 0.23 loses a second pipeline
        // register with no post-adder after it)
        t2keep = if wh > 32 { "(* keep *)\n" } else { "" },
    );
    let t2_for_u2 = if wh <= t2w {
        format!("t2h[{}:0]", wh - 1)
    } else {
        format!("{{{{{}{{t2h[{}]}}}}, t2h}}", wh - t2w, t2w - 1)
    };
    let _ = writeln!(
        v,
        "// 6: U0 = A0 M + B'[{bl}:0] (DSP post-adder), the other products again, B'[{vm}:{k15}]\n\
         (* keep *)\nreg signed [{u0m}:0] u0;\nreg signed [31:0] t1h; reg signed [{t2m}:0] t2h; reg signed [{whm}:0] r_bh;\n\
         always @(posedge clk) begin\n\
         \x20 u0 <= $signed({{t0[{t0m}], t0}}) + $signed({{2'b0, in_bias[{bl}:0]}});\n\
         \x20 t1h <= t1; t2h <= t2; r_bh <= in_bias[{vm}:{k15}];\nend\n\
         // 7: U1 = A1 M + (U0 >> {k}), U2 = A2 M + B'[{vm}:{k15}] (DSP post-adders)\n\
         reg signed [31:0] u1; reg signed [{whm}:0] u2; reg [{km}:0] v0d;\n\
         always @(posedge clk) begin\n\
         \x20 u1 <= t1h + $signed({{{{{e17}{{u0[{u0m}]}}}}, u0[{u0m}:{k}]}});\n\
         \x20 u2 <= {t2_for_u2} + r_bh; v0d <= u0[{km}:0];\nend",
        bl = k + 14,
        vm = vw - 1,
        k15 = k + 15,
        u0m = k + 16,
        t0m = k + 15,
        t2m = t2w - 1,
        whm = wh - 1,
        km = k - 1,
        e17 = 15,
    );
    let c1 = if wh <= 17 {
        format!("u1[{}:15]", 15 + wh - 1)
    } else {
        format!("{{{{{}{{u1[31]}}}}, u1[31:15]}}", wh - 17)
    };
    let _ = writeln!(
        v,
        "// 8: v = {{U2 + (U1 >> 15), U1 mod 2^15, U0 mod 2^{k}}} (the low parts wait here)\n\
         reg [{whm}:0] vhi; reg [14:0] v1d; reg [{km}:0] v0dd;\n\
         always @(posedge clk) begin\n  vhi <= u2 + {c1}; v1d <= u1[14:0]; v0dd <= v0d;\nend\n\
         wire [{vm}:0] v = {{vhi, v1d, v0dd}};\n\
         wire [71:0] vx = {{{{{ext}{{v[{vm}]}}}}, v}};",
        whm = wh - 1,
        km = k - 1,
        vm = vw - 1,
        ext = 72 - vw,
    );
    // 9: window shifted by 16 S[5:4]; the bits above it equal (from bit 16q + 23 up)
    let ea: Vec<String> = (0..4)
        .map(|q| {
            let lo = 16 * q + 23;
            if lo >= vw - 1 {
                "1'b1".to_string()
            } else {
                all_eq_v("v", vw - 1, lo)
            }
        })
        .collect();
    let _ = writeln!(
        v,
        "// 9: the window of v >>> S shifted by 16 S[5:4] (24 bits) and whether the bits above\n\
         // it are copies of its top bit\n\
         wire [3:0] ea = {{{}, {}, {}, {}}};\n\
         reg [23:0] seg; reg eqa; reg vs9;\n\
         always @(posedge clk) begin\n\
         \x20 case (k_shift[5:4])\n    2'd0: seg <= vx[23:0];\n    2'd1: seg <= vx[39:16];\n    2'd2: seg <= vx[55:32];\n    default: seg <= vx[71:48];\n  endcase\n\
         \x20 eqa <= ea[k_shift[5:4]]; vs9 <= v[{vm}];\nend",
        ea[3],
        ea[2],
        ea[1],
        ea[0],
        vm = vw - 1,
    );
    let _ = writeln!(
        v,
        "// 10: shifted by 4 S[3:2] (12 bits) and S[1:0] (the {WIN}-bit window t), each stage's\n\
         // dropped top bits checked likewise: fit = v >>> S fits in {WIN} bits\n\
         reg [11:0] sg2;\n\
         always @(*) begin\n  case (k_shift[3:2])\n    2'd0: sg2 = seg[11:0];\n    2'd1: sg2 = seg[15:4];\n    2'd2: sg2 = seg[19:8];\n    default: sg2 = seg[23:12];\n  endcase\nend\n\
         wire [3:0] eb = {{1'b1, {}, {}, {}}};\n\
         wire [3:0] ec = {{1'b1, {}, {}, {}}};\n\
         reg [8:0] tw; reg [8:0] t9; reg fit; reg vs10;\n\
         always @(*) begin\n  case (k_shift[1:0])\n    2'd0: tw = sg2[8:0];\n    2'd1: tw = sg2[9:1];\n    2'd2: tw = sg2[10:2];\n    default: tw = sg2[11:3];\n  endcase\nend\n\
         always @(posedge clk) begin\n  t9 <= tw; fit <= eqa & eb[k_shift[3:2]] & ec[k_shift[1:0]]; vs10 <= vs9;\nend",
        all_eq_v("seg", 23, 19),
        all_eq_v("seg", 23, 15),
        all_eq_v("seg", 23, 11),
        all_eq_v("sg2", 11, 10),
        all_eq_v("sg2", 11, 9),
        all_eq_v("sg2", 11, 8),
    );
    let _ = writeln!(
        v,
        "// 11: the clamp: in range iff v >>> S fits and its bits under the mask equal its sign\n\
         // (0 for relu); else saturate by the sign of v (lo = k_sgn ? k_m : 0, hi = ~k_m)\n\
         wire [7:0] t_ok = ~k_m | ~(t9[7:0] ^ {{8{{t9[8]}}}});\n\
         wire in_range = fit & (k_sgn | ~t9[8]) & (&t_ok);\n\
         wire [7:0] y_sat = (k_m & {{8{{vs10 & k_sgn}}}}) | (~k_m & {{8{{~vs10}}}});\n\
         reg [7:0] y;\n\
         always @(posedge clk) y <= k_logits ? 8'd0 : (in_range ? t9[7:0] : y_sat);\n\
         always @(*) begin\n\
         \x20 out_valid = ov; out_last = olast;\n\
         \x20 busy = (|vc[{lv}:1]) | (~k_logits & (|vc[{ly}:{lv1p}]));\n\
         \x20 mult_rd = vc[{mr}]; bias_rd = vc[{br}];\n\
         \x20 out_y = y; out_v = {sext};\nend",
        lv1p = lv + 1,
        mr = REQUANT_MULT_DELAY - 1,
        br = REQUANT_BIAS_DELAY - 1,
        sext = if vw >= 64 {
            "v".to_string()
        } else {
            format!("{{{{{}{{v[{}]}}}}, v}}", 64 - vw, vw - 1)
        }
    );
    // power-up state 0 (as the model)
    v += "initial begin\n";
    for r in crate::engine::reg_names(&v.replace("reg signed ", "reg ")) {
        if !["sg2", "tw"].contains(&r.as_str()) {
            let _ = writeln!(v, "  {r} = 0;");
        }
    }
    v += "end\n";
    v
}
