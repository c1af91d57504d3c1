//! The compact binary format of an integer TBN program, read zero-copy from
//! flash (no allocation), and (with the `std` feature) its encoder.
//!
//! The arithmetic the format describes is docs/numerics.md; the format itself
//! is documented in docs/mcu.md. In short (all little-endian, every section
//! starts on a 4-byte boundary):
//!
//! ```text
//! header (40 bytes)
//!   0  magic  "TBNP"            4  format name "int-prog"
//!   12 version u16 (= 1)        14 stage count u16
//!   16 in_bits u8, in_signed u8, 0 u16
//!   20 input channels u32       24 input height u16, width u16
//!   28 input scale f32 (float path only)
//!   32 total length u32         36 reserved u32 (0)
//! stages, each 4-byte aligned:
//!   dense:  kind=1 u8, flags u8 (1 conv, 2 in_signed, 4 float block), act u8, in_bits u8
//!           out_bits u8, shift u8, p u16
//!           rows u32, m u32, q u32
//!           n_mult u16 (1 or rows), n_bias u16 (0 or rows)
//!           [conv: in_c u16, in_h u16, in_w u16, kh u8, kw u8, stride u8, pad u8, 0 u16]
//!           [float: n_gain u16 (0 or rows), n_offset u16 (0 or rows),
//!                   alphas f32 x p, gains f32 x n_gain, offsets f32 x n_offset]
//!           alpha codes u16 x p (padded to 4 bytes), multipliers i32 x n_mult,
//!           biases i64 x n_bias, tile u32 x ceil(q/32) (bit j = bit j%32 of word j/32)
//!   maxpool: kind=2 u8, kernel u8, stride u8, 0 u8
//!   flatten: kind=3 u8, 0 u8 x 3
//! ```
//!
//! [`Program::parse`] checks everything once (sizes, limits, shape chaining,
//! bit widths), so later use cannot fail.

/// The four magic bytes at the start of a program.
pub const MAGIC: [u8; 4] = *b"TBNP";
/// The format name stored after the magic.
pub const FORMAT_NAME: [u8; 8] = *b"int-prog";
/// The format version this crate reads and writes.
pub const VERSION: u16 = 1;
/// Size of the fixed header in bytes.
pub const HEADER_LEN: usize = 40;

/// Limits that every parsed program respects.
pub mod limits {
    /// Most stages in a program.
    pub const MAX_STAGES: usize = 64;
    /// Most rows (output features / channels) of a dense stage.
    pub const MAX_ROWS: usize = 65_535;
    /// Longest row (`m`).
    pub const MAX_M: usize = 65_536;
    /// Longest tile in bits.
    pub const MAX_Q: usize = 1 << 24;
    /// Largest compression factor.
    pub const MAX_P: usize = 65_535;
    /// Largest activation tensor (elements).
    pub const MAX_NUMEL: usize = 1 << 22;
    /// Largest requantization shift.
    pub const MAX_SHIFT: u32 = 62;
    /// Multipliers satisfy `|M| < MAX_MULT`.
    pub const MAX_MULT: i32 = 1 << 15;
}

const KIND_DENSE: u8 = 1;
const KIND_MAXPOOL: u8 = 2;
const KIND_FLATTEN: u8 = 3;
const FLAG_CONV: u8 = 1;
const FLAG_IN_SIGNED: u8 = 2;
const FLAG_FLOAT: u8 = 4;

/// Why a byte string is not a valid program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The data ends before a section that must be there.
    #[error("program truncated: need {need} bytes at offset {offset}, only {have} present")]
    Truncated {
        /// Offset of the section.
        offset: usize,
        /// Bytes the section needs.
        need: usize,
        /// Bytes left.
        have: usize,
    },
    /// The magic bytes or the format name are wrong.
    #[error("not a TBN integer program (bad magic or format name)")]
    BadMagic,
    /// A version this crate cannot read.
    #[error(
        "program format version {found} is not supported (this reader knows version {VERSION})"
    )]
    WrongVersion {
        /// Version in the data.
        found: u16,
    },
    /// The header's total length disagrees with the data.
    #[error("header says {declared} bytes but the stages end at byte {actual}")]
    LengthMismatch {
        /// Length in the header.
        declared: usize,
        /// Length found by walking the stages.
        actual: usize,
    },
    /// The data does not start on a 4-byte boundary (the tile is read in place as u32 words).
    #[error("program data must start on a 4-byte boundary (tile words are read in place)")]
    Misaligned,
    /// This reader runs only on little-endian targets.
    #[error("program data can only be read in place on a little-endian target")]
    BigEndian,
    /// A field exceeds a limit of [`limits`].
    #[error("stage {stage}: {what} = {value} is beyond the limit {limit}")]
    BeyondLimit {
        /// Stage index (`usize::MAX` for the header).
        stage: usize,
        /// Name of the field.
        what: &'static str,
        /// Value found.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// A field has a value that makes no sense.
    #[error("stage {stage}: invalid {what} = {value}")]
    Invalid {
        /// Stage index (`usize::MAX` for the header).
        stage: usize,
        /// Name of the field.
        what: &'static str,
        /// Value found.
        value: u64,
    },
    /// The stage's input does not match the previous stage's output.
    #[error("stage {stage}: {what}: expected {expected}, found {found}")]
    Mismatch {
        /// Stage index.
        stage: usize,
        /// What disagrees.
        what: &'static str,
        /// What the previous stage produces.
        expected: u64,
        /// What this stage declares.
        found: u64,
    },
}

/// Activation of a dense stage (docs/numerics.md section 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// Unsigned `out_bits`: `clamp(round(v / 2^S), 0, 2^A' - 1)`.
    Relu,
    /// One bit: 1 if `v > 0` else 0 (bit 1 means +1).
    Sign,
    /// Signed `out_bits` (no activation, hidden stage).
    Signed,
    /// The last stage: `v` itself (real logit `v * 2^-S`).
    Logits,
}

impl Activation {
    /// Code stored in the format.
    pub fn code(self) -> u8 {
        match self {
            Activation::Relu => 0,
            Activation::Sign => 1,
            Activation::Signed => 2,
            Activation::Logits => 3,
        }
    }

    /// Activation from its code.
    pub fn from_code(c: u8) -> Option<Self> {
        match c {
            0 => Some(Activation::Relu),
            1 => Some(Activation::Sign),
            2 => Some(Activation::Signed),
            3 => Some(Activation::Logits),
            _ => None,
        }
    }
}

/// Row geometry of a dense stage (docs/numerics.md section 2): the one
/// implementation, shared with the golden model.
pub use crate::geometry::{RowGeometry, Segment};

/// Convolution geometry of a dense stage run as im2col.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    /// Input channels.
    pub in_c: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on every side.
    pub pad: usize,
}

impl ConvGeom {
    /// Output height and width, if the kernel fits.
    pub fn out_hw(&self) -> Option<(usize, usize)> {
        let ph = self.in_h + 2 * self.pad;
        let pw = self.in_w + 2 * self.pad;
        if self.stride == 0 || ph < self.kh || pw < self.kw {
            return None;
        }
        Some((
            (ph - self.kh) / self.stride + 1,
            (pw - self.kw) / self.stride + 1,
        ))
    }
}

/// Tensor shape, channels x height x width (a vector is `(n, 1, 1)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Shape {
    /// Channels.
    pub c: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
}

impl Shape {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.c * self.h * self.w
    }
}

/// How an activation tensor's integers are coded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueCode {
    /// Bits per value (1..=8).
    pub bits: u8,
    /// Two's complement (ignored for 1 bit: "sign", 0 = -1, 1 = +1).
    pub signed: bool,
}

impl ValueCode {
    /// Smallest allowed integer.
    pub fn min(&self) -> i32 {
        if self.bits == 1 || !self.signed {
            0
        } else {
            -(1 << (self.bits - 1))
        }
    }

    /// Largest allowed integer.
    pub fn max(&self) -> i32 {
        if self.bits == 1 {
            1
        } else if self.signed {
            (1 << (self.bits - 1)) - 1
        } else {
            (1 << self.bits) - 1
        }
    }
}

/// Little-endian array of `N`-byte values read in place.
#[derive(Clone, Copy, Debug)]
pub struct LeArray<'a, const N: usize> {
    bytes: &'a [u8],
}

impl<'a, const N: usize> LeArray<'a, N> {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.bytes.len() / N
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    #[inline]
    fn raw(&self, i: usize) -> [u8; N] {
        let mut b = [0u8; N];
        if let Some(s) = self.bytes.get(i * N..i * N + N) {
            b.copy_from_slice(s);
        }
        b
    }
}

impl LeArray<'_, 2> {
    /// Value `i` as u16 (0 when out of range).
    #[inline]
    pub fn get(&self, i: usize) -> u16 {
        u16::from_le_bytes(self.raw(i))
    }
}

impl LeArray<'_, 4> {
    /// Value `i` as i32 (0 when out of range).
    #[inline]
    pub fn get_i32(&self, i: usize) -> i32 {
        i32::from_le_bytes(self.raw(i))
    }

    /// Value `i` as f32 (0 when out of range).
    #[inline]
    pub fn get_f32(&self, i: usize) -> f32 {
        f32::from_le_bytes(self.raw(i))
    }
}

impl LeArray<'_, 8> {
    /// Value `i` as i64 (0 when out of range).
    #[inline]
    pub fn get(&self, i: usize) -> i64 {
        i64::from_le_bytes(self.raw(i))
    }
}

/// Float parameters of a dense stage, for the float reference path.
#[derive(Clone, Copy, Debug)]
pub struct FloatParams<'a> {
    /// Real alphas, one per copy.
    pub alphas: LeArray<'a, 4>,
    /// Per-row gain (folded batch-norm), empty = 1.
    pub gains: LeArray<'a, 4>,
    /// Per-row offset (bias and batch-norm), empty = 0.
    pub offsets: LeArray<'a, 4>,
}

impl FloatParams<'_> {
    /// Alpha of copy `c`.
    #[inline]
    pub fn alpha(&self, c: usize) -> f32 {
        self.alphas.get_f32(c)
    }

    /// Gain of row `r`.
    #[inline]
    pub fn gain(&self, r: usize) -> f32 {
        if self.gains.is_empty() {
            1.0
        } else {
            self.gains.get_f32(r)
        }
    }

    /// Offset of row `r`.
    #[inline]
    pub fn offset(&self, r: usize) -> f32 {
        if self.offsets.is_empty() {
            0.0
        } else {
            self.offsets.get_f32(r)
        }
    }
}

/// A dense (linear or conv2d) stage, viewed in place.
#[derive(Clone, Copy, Debug)]
pub struct Dense<'a> {
    /// Row geometry.
    pub geom: RowGeometry,
    /// Convolution geometry (None: linear).
    pub conv: Option<ConvGeom>,
    /// Input coding.
    pub input: ValueCode,
    /// Activation.
    pub act: Activation,
    /// Output bits (1 for sign; 0 is stored for logits).
    pub out_bits: u8,
    /// Requantization shift S.
    pub shift: u32,
    /// Alpha codes, one per copy.
    pub alpha_q: LeArray<'a, 2>,
    /// Multipliers: 1 (uniform) or one per row.
    pub mult: LeArray<'a, 4>,
    /// Biases: none (zero) or one per row.
    pub bias: LeArray<'a, 8>,
    /// The tile, `ceil(q/32)` words, LSB first.
    pub tile: &'a [u32],
    /// Float parameters, if stored.
    pub float: Option<FloatParams<'a>>,
    /// Input tensor shape.
    pub in_shape: Shape,
    /// Output tensor shape.
    pub out_shape: Shape,
}

impl Dense<'_> {
    /// Multiplier of row `r`.
    #[inline]
    pub fn mult(&self, r: usize) -> i32 {
        if self.mult.len() == 1 {
            self.mult.get_i32(0)
        } else {
            self.mult.get_i32(r)
        }
    }

    /// Bias of row `r`.
    #[inline]
    pub fn bias(&self, r: usize) -> i64 {
        if self.bias.is_empty() {
            0
        } else {
            self.bias.get(r)
        }
    }

    /// Output value coding (meaningless for logits).
    pub fn output(&self) -> ValueCode {
        ValueCode {
            bits: self.out_bits,
            signed: self.act == Activation::Signed,
        }
    }

    /// Number of output positions (1 for linear, `oh * ow` for conv).
    pub fn positions(&self) -> usize {
        self.out_shape.h * self.out_shape.w
    }
}

/// One stage of a parsed program.
#[derive(Clone, Copy, Debug)]
pub enum Stage<'a> {
    /// Linear or conv2d with requantization.
    Dense(Dense<'a>),
    /// Max pooling.
    MaxPool {
        /// Square kernel size.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Input shape.
        in_shape: Shape,
        /// Output shape.
        out_shape: Shape,
    },
    /// CHW to vector (no-op on the data).
    Flatten,
}

/// Buffer sizes a program needs to run (see [`crate::kernel::Workspace`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Largest activation tensor, elements (input included).
    pub max_act: usize,
    /// Elements of activation buffer A that [`crate::kernel::run`] and
    /// [`crate::kernel::run_float_baseline`] use: the input (the float
    /// baseline copies it there) and the outputs of the 2nd, 4th, ...
    /// stage that writes an activation (max-pool or non-logits dense stage).
    /// At most `max_act`.
    pub act_a: usize,
    /// Elements of activation buffer B those kernels use: the outputs of
    /// the 1st, 3rd, ... stage that writes an activation. At most `max_act`.
    pub act_b: usize,
    /// Largest `planes` workspace of a dense stage
    /// ([`crate::kernel::plane_words`]): the packed input, `2 * ceil(m / 32)`
    /// words for 1-bit inputs and `8 * ceil(m / 32)` otherwise, plus for a
    /// conv stage with `A >= 2` the per-stage row and requantization tables.
    pub max_plane_words: usize,
    /// Largest prefix table: `ceil(m / 32) + 1` entries.
    pub max_prefix: usize,
    /// Most distinct rows of a stage.
    pub max_distinct: usize,
    /// Number of logits.
    pub logits: usize,
}

impl Requirements {
    /// Records the output (`n` elements) of the `written`-th stage that
    /// writes an activation buffer.
    fn note_output(&mut self, written: &mut usize, n: usize) {
        self.max_act = self.max_act.max(n);
        let buf = if written.is_multiple_of(2) {
            &mut self.act_b
        } else {
            &mut self.act_a
        };
        *buf = (*buf).max(n);
        *written += 1;
    }
}

/// A validated program viewed in place.
#[derive(Clone, Copy, Debug)]
pub struct Program<'a> {
    /// Input shape.
    pub input_shape: Shape,
    /// Input coding.
    pub input: ValueCode,
    /// Real value of one input step (float path: `x = s * x_int`).
    pub input_scale: f32,
    /// Buffer sizes.
    pub req: Requirements,
    stage_count: usize,
    stages: &'a [u8],
    len: usize,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let have = self.data.len().saturating_sub(self.pos);
        if n > have {
            return Err(ParseError::Truncated {
                offset: self.pos,
                need: n,
                have,
            });
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, ParseError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ParseError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, ParseError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn align4(&mut self) -> Result<(), ParseError> {
        let pad = (4 - self.pos % 4) % 4;
        self.take(pad).map(|_| ())
    }
}

/// [`ParseError::Invalid`] for `what` of `stage` when `bad` holds.
fn invalid_if(bad: bool, stage: usize, what: &'static str, value: u64) -> Result<(), ParseError> {
    if bad {
        Err(ParseError::Invalid { stage, what, value })
    } else {
        Ok(())
    }
}

fn limit(stage: usize, what: &'static str, value: usize, lim: usize) -> Result<(), ParseError> {
    if value > lim {
        Err(ParseError::BeyondLimit {
            stage,
            what,
            value: value as u64,
            limit: lim as u64,
        })
    } else {
        Ok(())
    }
}

fn words_in_place(bytes: &[u8]) -> Result<&[u32], ParseError> {
    if cfg!(target_endian = "big") {
        return Err(ParseError::BigEndian);
    }
    // SAFETY: every bit pattern is a valid u32; align_to only returns a middle
    // part that is correctly aligned and inside `bytes`.
    let (pre, mid, post) = unsafe { bytes.align_to::<u32>() };
    if !pre.is_empty() || !post.is_empty() {
        return Err(ParseError::Misaligned);
    }
    Ok(mid)
}

const HEADER_STAGE: usize = usize::MAX;

impl<'a> Program<'a> {
    /// Parses and validates a program. The data must start on a 4-byte
    /// boundary (flash images and [`crate::program::AlignedBytes`] do).
    pub fn parse(data: &'a [u8]) -> Result<Self, ParseError> {
        if !(data.as_ptr() as usize).is_multiple_of(4) {
            return Err(ParseError::Misaligned);
        }
        let mut r = Reader { data, pos: 0 };
        if r.take(4)? != MAGIC {
            return Err(ParseError::BadMagic);
        }
        if r.take(8)? != FORMAT_NAME {
            return Err(ParseError::BadMagic);
        }
        let version = r.u16()?;
        if version != VERSION {
            return Err(ParseError::WrongVersion { found: version });
        }
        let stage_count = r.u16()? as usize;
        limit(HEADER_STAGE, "stage count", stage_count, limits::MAX_STAGES)?;
        let in_bits = r.u8()?;
        let in_signed = r.u8()? != 0;
        let _ = r.u16()?;
        let c = r.u32()? as usize;
        let h = r.u16()? as usize;
        let w = r.u16()? as usize;
        let input_scale = f32::from_bits(r.u32()?);
        let declared = r.u32()? as usize;
        let _ = r.u32()?;
        if !(1..=8).contains(&in_bits) {
            return Err(ParseError::Invalid {
                stage: HEADER_STAGE,
                what: "input bits",
                value: in_bits as u64,
            });
        }
        let input_shape = Shape { c, h, w };
        if c == 0 || h == 0 || w == 0 {
            return Err(ParseError::Invalid {
                stage: HEADER_STAGE,
                what: "input size",
                value: 0,
            });
        }
        limit(
            HEADER_STAGE,
            "input elements",
            c.saturating_mul(h).saturating_mul(w),
            limits::MAX_NUMEL,
        )?;
        if declared > data.len() {
            return Err(ParseError::Truncated {
                offset: data.len(),
                need: declared - data.len(),
                have: 0,
            });
        }
        let input = ValueCode {
            bits: in_bits,
            signed: in_signed,
        };
        let mut prog = Program {
            input_shape,
            input,
            input_scale,
            req: Requirements {
                max_act: input_shape.numel(),
                act_a: input_shape.numel(),
                ..Default::default()
            },
            stage_count,
            stages: &data[HEADER_LEN..],
            len: declared,
        };
        // Walk every stage once to validate.
        let mut shape = input_shape;
        let mut code = input;
        let mut logits = None;
        // Stages that wrote an activation so far: the kernels write the
        // k-th (from 0) into buffer B when k is even, A when odd.
        let mut written = 0usize;
        for i in 0..stage_count {
            invalid_if(
                logits.is_some(),
                i,
                "stage after the logits stage",
                i as u64,
            )?;
            let st = parse_stage(&mut r, i, shape, code)?;
            match st {
                Stage::Dense(d) => {
                    shape = d.out_shape;
                    let words = d.geom.m.div_ceil(32);
                    let req = &mut prog.req;
                    req.max_plane_words = req.max_plane_words.max(crate::kernel::plane_words(&d));
                    req.max_prefix = req.max_prefix.max(words + 1);
                    req.max_distinct = req.max_distinct.max(d.geom.distinct_rows());
                    if d.act == Activation::Logits {
                        logits = Some(d.out_shape.numel());
                    } else {
                        code = d.output();
                        req.note_output(&mut written, shape.numel());
                    }
                }
                Stage::MaxPool { out_shape, .. } => {
                    shape = out_shape;
                    prog.req.note_output(&mut written, shape.numel());
                }
                Stage::Flatten => {
                    shape = Shape {
                        c: shape.numel(),
                        h: 1,
                        w: 1,
                    }
                }
            }
        }
        prog.req.logits = match logits {
            Some(n) => n,
            None => {
                return Err(ParseError::Invalid {
                    stage: stage_count,
                    what: "program without a final logits stage",
                    value: 0,
                })
            }
        };
        if r.pos != declared {
            return Err(ParseError::LengthMismatch {
                declared,
                actual: r.pos,
            });
        }
        Ok(prog)
    }

    /// Number of stages.
    pub fn stage_count(&self) -> usize {
        self.stage_count
    }

    /// Total length in bytes.
    pub fn byte_len(&self) -> usize {
        self.len
    }

    /// The stages in order.
    pub fn stages(&self) -> Stages<'a> {
        Stages {
            r: Reader {
                data: self.stages,
                pos: 0,
            },
            left: self.stage_count,
            index: 0,
            shape: self.input_shape,
            code: self.input,
        }
    }
}

/// Iterator over the stages of a validated [`Program`].
pub struct Stages<'a> {
    r: Reader<'a>,
    left: usize,
    index: usize,
    shape: Shape,
    code: ValueCode,
}

impl<'a> Iterator for Stages<'a> {
    type Item = Stage<'a>;
    fn next(&mut self) -> Option<Stage<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The program was validated by `parse`, so this cannot fail; stop if it did.
        let st = parse_stage(&mut self.r, self.index, self.shape, self.code).ok()?;
        self.index += 1;
        match st {
            Stage::Dense(d) => {
                self.shape = d.out_shape;
                self.code = d.output();
            }
            Stage::MaxPool { out_shape, .. } => self.shape = out_shape,
            Stage::Flatten => {
                self.shape = Shape {
                    c: self.shape.numel(),
                    h: 1,
                    w: 1,
                }
            }
        }
        Some(st)
    }
}

fn parse_stage<'a>(
    r: &mut Reader<'a>,
    i: usize,
    shape: Shape,
    code: ValueCode,
) -> Result<Stage<'a>, ParseError> {
    let kind = r.u8()?;
    match kind {
        KIND_DENSE => parse_dense(r, i, shape, code).map(Stage::Dense),
        KIND_MAXPOOL => {
            let kernel = r.u8()? as usize;
            let stride = r.u8()? as usize;
            let _ = r.u8()?;
            if kernel == 0 || stride == 0 {
                return Err(ParseError::Invalid {
                    stage: i,
                    what: "maxpool kernel/stride",
                    value: 0,
                });
            }
            invalid_if(
                shape.h < kernel || shape.w < kernel,
                i,
                "maxpool kernel larger than input",
                kernel as u64,
            )?;
            let out_shape = Shape {
                c: shape.c,
                h: (shape.h - kernel) / stride + 1,
                w: (shape.w - kernel) / stride + 1,
            };
            Ok(Stage::MaxPool {
                kernel,
                stride,
                in_shape: shape,
                out_shape,
            })
        }
        KIND_FLATTEN => {
            r.take(3)?;
            Ok(Stage::Flatten)
        }
        k => Err(ParseError::Invalid {
            stage: i,
            what: "stage kind",
            value: k as u64,
        }),
    }
}

fn parse_dense<'a>(
    r: &mut Reader<'a>,
    i: usize,
    shape: Shape,
    code: ValueCode,
) -> Result<Dense<'a>, ParseError> {
    let flags = r.u8()?;
    let act_code = r.u8()?;
    let in_bits = r.u8()?;
    let out_bits = r.u8()?;
    let shift = r.u8()? as u32;
    let p = r.u16()? as usize;
    let rows = r.u32()? as usize;
    let m = r.u32()? as usize;
    let q = r.u32()? as usize;
    let n_mult = r.u16()? as usize;
    let n_bias = r.u16()? as usize;
    let act = Activation::from_code(act_code).ok_or(ParseError::Invalid {
        stage: i,
        what: "activation",
        value: act_code as u64,
    })?;
    invalid_if(
        flags & !(FLAG_CONV | FLAG_IN_SIGNED | FLAG_FLOAT) != 0,
        i,
        "flags",
        flags as u64,
    )?;
    limit(i, "rows", rows, limits::MAX_ROWS)?;
    limit(i, "m", m, limits::MAX_M)?;
    limit(i, "q", q, limits::MAX_Q)?;
    limit(i, "p", p, limits::MAX_P)?;
    limit(i, "shift", shift as usize, limits::MAX_SHIFT as usize)?;
    invalid_if(
        rows == 0 || m == 0 || p == 0,
        i,
        "rows, m and p must be positive; rows",
        rows as u64,
    )?;
    // N = rows * m = p * q and q >= m (a row touches at most two copies).
    invalid_if(
        (rows as u64) * (m as u64) != (p as u64) * (q as u64),
        i,
        "q (rows * m != p * q)",
        q as u64,
    )?;
    invalid_if(q < m, i, "q (shorter than a row)", q as u64)?;
    let input = ValueCode {
        bits: in_bits,
        signed: flags & FLAG_IN_SIGNED != 0,
    };
    if in_bits != code.bits {
        return Err(ParseError::Mismatch {
            stage: i,
            what: "input bits",
            expected: code.bits as u64,
            found: in_bits as u64,
        });
    }
    if in_bits > 1 && input.signed != code.signed {
        return Err(ParseError::Mismatch {
            stage: i,
            what: "input signedness",
            expected: code.signed as u64,
            found: input.signed as u64,
        });
    }
    match act {
        Activation::Sign if out_bits != 1 => {
            return Err(ParseError::Invalid {
                stage: i,
                what: "out_bits of a sign stage",
                value: out_bits as u64,
            })
        }
        Activation::Relu | Activation::Signed if !(2..=8).contains(&out_bits) => {
            return Err(ParseError::Invalid {
                stage: i,
                what: "out_bits",
                value: out_bits as u64,
            })
        }
        _ => {}
    }
    invalid_if(
        n_mult != 1 && n_mult != rows,
        i,
        "multiplier count",
        n_mult as u64,
    )?;
    invalid_if(
        n_bias != 0 && n_bias != rows,
        i,
        "bias count",
        n_bias as u64,
    )?;
    let conv = if flags & FLAG_CONV != 0 {
        let in_c = r.u16()? as usize;
        let in_h = r.u16()? as usize;
        let in_w = r.u16()? as usize;
        let kh = r.u8()? as usize;
        let kw = r.u8()? as usize;
        let stride = r.u8()? as usize;
        let pad = r.u8()? as usize;
        let _ = r.u16()?;
        Some(ConvGeom {
            in_c,
            in_h,
            in_w,
            kh,
            kw,
            stride,
            pad,
        })
    } else {
        None
    };
    let (in_shape, out_shape) = match conv {
        Some(cg) => {
            let expect = Shape {
                c: cg.in_c,
                h: cg.in_h,
                w: cg.in_w,
            };
            if expect != shape {
                return Err(ParseError::Mismatch {
                    stage: i,
                    what: "conv input elements",
                    expected: shape.numel() as u64,
                    found: expect.numel() as u64,
                });
            }
            invalid_if(
                cg.in_c * cg.kh * cg.kw != m,
                i,
                "m (conv needs in_c * kh * kw)",
                m as u64,
            )?;
            let (oh, ow) = cg.out_hw().ok_or(ParseError::Invalid {
                stage: i,
                what: "conv kernel/stride",
                value: cg.kh as u64,
            })?;
            (
                shape,
                Shape {
                    c: rows,
                    h: oh,
                    w: ow,
                },
            )
        }
        None => {
            if shape.numel() != m {
                return Err(ParseError::Mismatch {
                    stage: i,
                    what: "linear input length",
                    expected: shape.numel() as u64,
                    found: m as u64,
                });
            }
            (
                shape,
                Shape {
                    c: rows,
                    h: 1,
                    w: 1,
                },
            )
        }
    };
    limit(i, "output elements", out_shape.numel(), limits::MAX_NUMEL)?;
    let float = if flags & FLAG_FLOAT != 0 {
        let n_gain = r.u16()? as usize;
        let n_off = r.u16()? as usize;
        invalid_if(
            n_gain != 0 && n_gain != rows,
            i,
            "float gain count",
            n_gain as u64,
        )?;
        invalid_if(
            n_off != 0 && n_off != rows,
            i,
            "float offset count",
            n_off as u64,
        )?;
        let alphas = LeArray {
            bytes: r.take(4 * p)?,
        };
        let gains = LeArray {
            bytes: r.take(4 * n_gain)?,
        };
        let offsets = LeArray {
            bytes: r.take(4 * n_off)?,
        };
        Some(FloatParams {
            alphas,
            gains,
            offsets,
        })
    } else {
        None
    };
    let alpha_q = LeArray {
        bytes: r.take(2 * p)?,
    };
    r.align4()?;
    let mult = LeArray {
        bytes: r.take(4 * n_mult)?,
    };
    for k in 0..n_mult {
        let v = mult.get_i32(k);
        if v <= -limits::MAX_MULT || v >= limits::MAX_MULT {
            return Err(ParseError::BeyondLimit {
                stage: i,
                what: "|multiplier|",
                value: v.unsigned_abs() as u64,
                limit: limits::MAX_MULT as u64 - 1,
            });
        }
    }
    let bias = LeArray {
        bytes: r.take(8 * n_bias)?,
    };
    let tile = words_in_place(r.take(4 * q.div_ceil(32))?)?;
    Ok(Dense {
        geom: RowGeometry { rows, m, q, p },
        conv,
        input,
        act,
        out_bits: if act == Activation::Logits {
            0
        } else {
            out_bits
        },
        shift,
        alpha_q,
        mult,
        bias,
        tile,
        float,
        in_shape,
        out_shape,
    })
}

#[cfg(feature = "std")]
pub use encode::*;

#[cfg(feature = "std")]
mod encode {
    use super::*;
    use std::vec::Vec;

    /// Why a program description cannot be encoded.
    #[derive(Clone, Debug, PartialEq, thiserror::Error)]
    pub enum EncodeError {
        /// A field does not fit the format.
        #[error("stage {stage}: {what}")]
        Field {
            /// Stage index (`usize::MAX` for the header).
            stage: usize,
            /// What is wrong.
            what: std::string::String,
        },
        /// The encoded bytes do not parse back (a description error caught by the parser).
        #[error("encoded program is invalid: {0}")]
        Invalid(#[from] ParseError),
    }

    /// Float parameters of a dense stage.
    #[derive(Clone, Debug, Default)]
    pub struct FloatSpec<'a> {
        /// Real alphas, one per copy.
        pub alphas: &'a [f32],
        /// Per-row gains (empty or all 1 = omitted).
        pub gains: &'a [f32],
        /// Per-row offsets (empty or all 0 = omitted).
        pub offsets: &'a [f32],
    }

    /// A dense stage described by plain slices.
    #[derive(Clone, Debug)]
    pub struct DenseSpec<'a> {
        /// Row geometry.
        pub geom: RowGeometry,
        /// Convolution geometry.
        pub conv: Option<ConvGeom>,
        /// Input coding.
        pub input: ValueCode,
        /// Activation.
        pub act: Activation,
        /// Output bits (ignored for logits).
        pub out_bits: u8,
        /// Shift S.
        pub shift: u32,
        /// Alpha codes (`p`).
        pub alpha_q: &'a [u16],
        /// Multipliers: 1 or one per row (uniform ones are stored once).
        pub mult: &'a [i32],
        /// Biases: none or one per row (all-zero ones are omitted).
        pub bias: &'a [i64],
        /// Tile words, LSB first (`ceil(q/32)`).
        pub tile: &'a [u32],
        /// Float parameters for the float path.
        pub float: Option<FloatSpec<'a>>,
    }

    /// A stage described by plain values.
    #[derive(Clone, Debug)]
    pub enum StageSpec<'a> {
        /// Dense stage.
        Dense(DenseSpec<'a>),
        /// Max pooling.
        MaxPool {
            /// Kernel.
            kernel: usize,
            /// Stride.
            stride: usize,
        },
        /// Flatten.
        Flatten,
    }

    /// A program described by plain values.
    #[derive(Clone, Debug)]
    pub struct ProgramSpec<'a> {
        /// Input shape.
        pub input_shape: Shape,
        /// Input coding.
        pub input: ValueCode,
        /// Input scale (float path).
        pub input_scale: f32,
        /// Stages.
        pub stages: &'a [StageSpec<'a>],
    }

    fn field(stage: usize, what: impl Into<std::string::String>) -> EncodeError {
        EncodeError::Field {
            stage,
            what: what.into(),
        }
    }

    fn u16_of(stage: usize, name: &str, v: usize) -> Result<u16, EncodeError> {
        u16::try_from(v)
            .map_err(|_| field(stage, std::format!("{name} = {v} does not fit 16 bits")))
    }

    fn u32_of(stage: usize, name: &str, v: usize) -> Result<u32, EncodeError> {
        u32::try_from(v)
            .map_err(|_| field(stage, std::format!("{name} = {v} does not fit 32 bits")))
    }

    fn u8_of(stage: usize, name: &str, v: usize) -> Result<u8, EncodeError> {
        u8::try_from(v).map_err(|_| field(stage, std::format!("{name} = {v} does not fit 8 bits")))
    }

    fn pad4(out: &mut Vec<u8>) {
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }

    /// Encodes a program. Uniform multipliers are stored once, all-zero
    /// biases and unit gains / zero offsets are omitted. The result is
    /// parsed back before it is returned.
    pub fn encode(spec: &ProgramSpec<'_>) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_NAME);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(
            &u16_of(HEADER_STAGE, "stage count", spec.stages.len())?.to_le_bytes(),
        );
        out.push(spec.input.bits);
        out.push(spec.input.signed as u8);
        out.extend_from_slice(&[0, 0]);
        let s = spec.input_shape;
        out.extend_from_slice(&u32_of(HEADER_STAGE, "input channels", s.c)?.to_le_bytes());
        out.extend_from_slice(&u16_of(HEADER_STAGE, "input height", s.h)?.to_le_bytes());
        out.extend_from_slice(&u16_of(HEADER_STAGE, "input width", s.w)?.to_le_bytes());
        out.extend_from_slice(&spec.input_scale.to_le_bytes());
        out.extend_from_slice(&[0; 8]); // length, patched below; reserved
        for (i, st) in spec.stages.iter().enumerate() {
            match st {
                StageSpec::Dense(d) => encode_dense(&mut out, i, d)?,
                StageSpec::MaxPool { kernel, stride } => {
                    out.extend_from_slice(&[
                        KIND_MAXPOOL,
                        u8_of(i, "kernel", *kernel)?,
                        u8_of(i, "stride", *stride)?,
                        0,
                    ]);
                }
                StageSpec::Flatten => out.extend_from_slice(&[KIND_FLATTEN, 0, 0, 0]),
            }
        }
        let len = u32_of(HEADER_STAGE, "program length", out.len())?;
        out[32..36].copy_from_slice(&len.to_le_bytes());
        let aligned = AlignedBytes::new(&out);
        Program::parse(aligned.as_bytes())?;
        Ok(out)
    }

    fn encode_dense(out: &mut Vec<u8>, i: usize, d: &DenseSpec<'_>) -> Result<(), EncodeError> {
        let g = d.geom;
        if d.alpha_q.len() != g.p {
            return Err(field(
                i,
                std::format!("{} alpha codes for p = {}", d.alpha_q.len(), g.p),
            ));
        }
        if d.tile.len() != g.q.div_ceil(32) {
            return Err(field(
                i,
                std::format!("{} tile words for q = {} bits", d.tile.len(), g.q),
            ));
        }
        let uniform = d.mult.iter().all(|&v| Some(&v) == d.mult.first());
        let mult: &[i32] = if uniform && !d.mult.is_empty() {
            &d.mult[..1]
        } else {
            d.mult
        };
        let bias: &[i64] = if d.bias.iter().all(|&b| b == 0) {
            &[]
        } else {
            d.bias
        };
        let mut flags = 0u8;
        if d.conv.is_some() {
            flags |= FLAG_CONV;
        }
        if d.input.signed && d.input.bits > 1 {
            flags |= FLAG_IN_SIGNED;
        }
        if d.float.is_some() {
            flags |= FLAG_FLOAT;
        }
        let out_bits = if d.act == Activation::Logits {
            0
        } else {
            d.out_bits
        };
        out.extend_from_slice(&[
            KIND_DENSE,
            flags,
            d.act.code(),
            d.input.bits,
            out_bits,
            u8_of(i, "shift", d.shift as usize)?,
        ]);
        out.extend_from_slice(&u16_of(i, "p", g.p)?.to_le_bytes());
        out.extend_from_slice(&u32_of(i, "rows", g.rows)?.to_le_bytes());
        out.extend_from_slice(&u32_of(i, "m", g.m)?.to_le_bytes());
        out.extend_from_slice(&u32_of(i, "q", g.q)?.to_le_bytes());
        out.extend_from_slice(&u16_of(i, "multiplier count", mult.len())?.to_le_bytes());
        out.extend_from_slice(&u16_of(i, "bias count", bias.len())?.to_le_bytes());
        if let Some(c) = d.conv {
            for v in [c.in_c, c.in_h, c.in_w] {
                out.extend_from_slice(&u16_of(i, "conv input dimension", v)?.to_le_bytes());
            }
            out.extend_from_slice(&[
                u8_of(i, "kh", c.kh)?,
                u8_of(i, "kw", c.kw)?,
                u8_of(i, "stride", c.stride)?,
                u8_of(i, "padding", c.pad)?,
                0,
                0,
            ]);
        }
        if let Some(f) = &d.float {
            if f.alphas.len() != g.p {
                return Err(field(
                    i,
                    std::format!("{} float alphas for p = {}", f.alphas.len(), g.p),
                ));
            }
            let gains: &[f32] = if f.gains.iter().all(|&v| v == 1.0) {
                &[]
            } else {
                f.gains
            };
            let offsets: &[f32] = if f.offsets.iter().all(|&v| v == 0.0) {
                &[]
            } else {
                f.offsets
            };
            out.extend_from_slice(&u16_of(i, "gain count", gains.len())?.to_le_bytes());
            out.extend_from_slice(&u16_of(i, "offset count", offsets.len())?.to_le_bytes());
            for v in f.alphas.iter().chain(gains).chain(offsets) {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        for a in d.alpha_q {
            out.extend_from_slice(&a.to_le_bytes());
        }
        pad4(out);
        for v in mult {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in bias {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in d.tile {
            out.extend_from_slice(&v.to_le_bytes());
        }
        Ok(())
    }

    /// Bytes stored 4-byte aligned (as [`Program::parse`] needs on the host).
    #[derive(Clone, Debug, Default)]
    pub struct AlignedBytes {
        words: Vec<u32>,
        len: usize,
    }

    impl AlignedBytes {
        /// Copies `bytes` into aligned storage.
        pub fn new(bytes: &[u8]) -> Self {
            let mut words = std::vec![0u32; bytes.len().div_ceil(4)];
            for (w, c) in words.iter_mut().zip(bytes.chunks(4)) {
                let mut b = [0u8; 4];
                b[..c.len()].copy_from_slice(c);
                *w = u32::from_ne_bytes(b);
            }
            AlignedBytes {
                words,
                len: bytes.len(),
            }
        }

        /// The bytes.
        pub fn as_bytes(&self) -> &[u8] {
            // SAFETY: u32 storage viewed as the bytes it holds; `len` <= 4 * words.len().
            let all = unsafe {
                core::slice::from_raw_parts(self.words.as_ptr() as *const u8, self.words.len() * 4)
            };
            &all[..self.len]
        }
    }
}
