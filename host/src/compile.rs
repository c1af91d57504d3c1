//! The compiler: a validated integer program ([`tbn_driver::program::Program`],
//! the compact binary the MCU also runs) into a model image for one
//! accelerator configuration ([`Target`]), applying the exact identities of
//! docs/model-image.md section 4.

use tbn_driver::image::format::{
    self, checksum, encode_record, tile_align, tile_words, value_range, Descriptor, Header, Kind,
    Limit, Misfit, Target, BIAS_LIMIT_BITS, CHECKSUM_WORDS, DESC_WORDS, HEADER_WORDS, RECORD_WORDS,
    ROWC_ALIGN,
};
use tbn_driver::image::Image;
use tbn_driver::program::{Activation, Dense, Program, Stage};
use tbn_driver::regmap;

/// Why a program cannot become an image for a configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The lane count is not 8, 16, 32, 64, 128 or 256.
    #[error("lanes must be 8, 16, 32, 64, 128 or 256, not {0}")]
    Lanes(u32),
    /// A stage the engine does not run (format 1.0: dense and flatten only).
    #[error(
        "stage {stage}: {what} is not supported by the model image (format 1.0 runs dense layers)"
    )]
    Unsupported {
        /// Stage index in the program.
        stage: usize,
        /// What it is.
        what: &'static str,
    },
    /// The program has no dense stage.
    #[error("the program has no dense stage")]
    NoDenseStage,
    /// A logits stage that is not the last dense stage.
    #[error("layer {layer}: a logits (no activation) stage must be the last layer")]
    HiddenLogits {
        /// Layer index.
        layer: usize,
    },
    /// A bias (rounding folded in) outside the record's range.
    #[error("layer {layer} row {row}: bias with rounding {bias} does not fit |B'| < 2^{BIAS_LIMIT_BITS}")]
    ConstantRange {
        /// Layer index.
        layer: usize,
        /// Row.
        row: usize,
        /// The folded bias.
        bias: i128,
    },
    /// A value beyond what the descriptor's 32-bit fields hold.
    #[error("layer {layer}: {what} = {value} does not fit a descriptor word")]
    FieldRange {
        /// Layer index.
        layer: usize,
        /// Field.
        what: &'static str,
        /// Value.
        value: u64,
    },
    /// The image is larger than the configuration (or the IMAGE window) holds.
    #[error(transparent)]
    DoesNotFit(#[from] Misfit),
    /// The image is larger than the IMAGE window addresses.
    #[error("the image has {words} words, the IMAGE window holds {limit}")]
    ImageTooLarge {
        /// Image words.
        words: u64,
        /// Window words.
        limit: u32,
    },
}

fn word(layer: usize, what: &'static str, v: u64) -> Result<u32, CompileError> {
    u32::try_from(v).map_err(|_| CompileError::FieldRange {
        layer,
        what,
        value: v,
    })
}

/// Bits of a signed register that holds every value in `[-v, v]`.
fn signed_bits(v: u128) -> u32 {
    (128 - v.leading_zeros() + 1).max(2)
}

/// One compiled layer before layout.
struct Layer {
    desc: Descriptor,
    tile: Vec<u32>,
    alphas: Vec<u32>,
    records: Vec<u32>,
    v_bits: u32,
}

fn kind_of(a: Activation) -> Kind {
    match a {
        Activation::Relu => Kind::Relu,
        Activation::Signed => Kind::Signed,
        Activation::Sign => Kind::Sign,
        Activation::Logits => Kind::Logits,
    }
}

fn compile_layer(l: usize, d: &Dense<'_>, last: bool, lanes: u32) -> Result<Layer, CompileError> {
    let g = d.geom;
    let (m, q, rows) = (g.m as u64, g.q as u64, g.rows as u64);
    let period = tbn_driver::geometry::period(m, q);
    let kind = kind_of(d.act);
    let in_bits = u32::from(d.input.bits);
    let in_signed = d.input.signed && in_bits > 1;
    let chunks = m.div_ceil(u64::from(lanes));
    let dd = rows.min(period);
    let desc = Descriptor {
        m: word(l, "m", m)?,
        q: word(l, "q", q)?,
        rows: word(l, "rows", rows)?,
        d: word(l, "D", dd)?,
        p: word(l, "P", period)?,
        q_minus_m: word(l, "q - m", q - m)?,
        chunks: word(l, "chunks", chunks)?,
        in_bits,
        in_signed,
        out_bits: match kind {
            Kind::Sign => 1,
            Kind::Logits => 0,
            _ => u32::from(d.out_bits),
        },
        kind,
        last,
        // Identity 2: sign and logits layers need no shift.
        shift: match kind {
            Kind::Relu | Kind::Signed => d.shift,
            _ => 0,
        },
        tile_base: 0,
        alpha_base: 0,
        rowc_base: 0,
        rowc_stride: 0,
        out_chunks: word(l, "out chunks", rows.div_ceil(u64::from(lanes)))?,
        ideal_cycles: word(l, "ideal cycles", dd * chunks * u64::from(in_bits) + rows)?,
    };

    // Extended tile image, padded to the lane alignment.
    let n = tile_words(desc.q, lanes);
    let tile: Vec<u32> = (0..n)
        .map(|w| regmap::extended_tile_word(d.tile, desc.q, lanes, w))
        .collect();

    let alphas: Vec<u32> = (0..g.p).map(|c| u32::from(d.alpha_q.get(c))).collect();

    // Identity 1: round-half-up folded into the bias.
    let half: i128 = if matches!(kind, Kind::Relu | Kind::Signed) && desc.shift > 0 {
        1i128 << (desc.shift - 1)
    } else {
        0
    };
    let mut recs: Vec<(i32, i64)> = Vec::with_capacity(g.rows);
    for r in 0..g.rows {
        let b = i128::from(d.bias(r)) + half;
        if b.unsigned_abs() >= 1u128 << BIAS_LIMIT_BITS {
            return Err(CompileError::ConstantRange {
                layer: l,
                row: r,
                bias: b,
            });
        }
        recs.push((d.mult(r), b as i64));
    }
    // Identity 3: one record for every row when they are all equal.
    let uniform = recs.iter().all(|x| *x == recs[0]);
    let records: Vec<u32> = if uniform {
        encode_record(recs[0].0, recs[0].1).to_vec()
    } else {
        recs.iter()
            .flat_map(|&(mm, b)| encode_record(mm, b))
            .collect()
    };

    // Worst case |v| over all rows and inputs in range (docs/model-image.md section 4).
    let (lo, hi) = value_range(in_bits, in_signed);
    let x_max: u128 = if in_bits == 1 {
        1
    } else {
        lo.unsigned_abs().max(hi.unsigned_abs()).into()
    };
    let mut v_max: u128 = 0;
    for (r, &(mm, b)) in recs.iter().enumerate() {
        let s = g.segment(r);
        let len_a = s.len_a as u128;
        let mut w = u128::from(d.alpha_q.get(s.copy)) * len_a;
        if s.len_a < g.m {
            w += u128::from(d.alpha_q.get(s.copy + 1)) * (m as u128 - len_a);
        }
        let v = w * x_max * u128::from(mm.unsigned_abs()) + b.unsigned_abs() as u128;
        v_max = v_max.max(v);
    }
    Ok(Layer {
        desc: Descriptor {
            rowc_stride: if uniform { 0 } else { RECORD_WORDS as u32 },
            ..desc
        },
        tile,
        alphas,
        records,
        v_bits: signed_bits(v_max),
    })
}

/// Compiles `prog` into a model image for `target`.
pub fn compile(prog: &Program<'_>, target: &Target) -> Result<Image, CompileError> {
    let lanes = target.lanes;
    if !regmap::LANE_CHOICES.contains(&lanes) {
        return Err(CompileError::Lanes(lanes));
    }
    let mut dense: Vec<Dense<'_>> = Vec::new();
    for (i, st) in prog.stages().enumerate() {
        match st {
            Stage::Dense(d) if d.conv.is_some() => {
                return Err(CompileError::Unsupported {
                    stage: i,
                    what: "a conv2d stage",
                })
            }
            Stage::Dense(d) => dense.push(d),
            Stage::MaxPool { .. } => {
                return Err(CompileError::Unsupported {
                    stage: i,
                    what: "a max-pool stage",
                })
            }
            Stage::Flatten => {}
        }
    }
    if dense.is_empty() {
        return Err(CompileError::NoDenseStage);
    }
    let nl = dense.len();
    let mut layers = Vec::with_capacity(nl);
    for (l, d) in dense.iter().enumerate() {
        if d.act == Activation::Logits && l + 1 != nl {
            return Err(CompileError::HiddenLogits { layer: l });
        }
        layers.push(compile_layer(l, d, l + 1 == nl, lanes)?);
    }

    // Layout: tiles in order (aligned), constants in order (alpha table, zero
    // padding to ROWC_ALIGN, records).
    let align = tile_align(lanes);
    let (mut tile_pos, mut const_pos) = (0u64, 0u64);
    for (l, ly) in layers.iter_mut().enumerate() {
        debug_assert_eq!(tile_pos % u64::from(align), 0);
        ly.desc.tile_base = word(l, "tile base", tile_pos)?;
        tile_pos += ly.tile.len() as u64;
        ly.desc.alpha_base = word(l, "alpha base", const_pos)?;
        const_pos += ly.alphas.len() as u64;
        const_pos = const_pos.next_multiple_of(ROWC_ALIGN as u64);
        ly.desc.rowc_base = word(l, "row constants base", const_pos)?;
        const_pos += ly.records.len() as u64;
    }
    let total = (HEADER_WORDS + DESC_WORDS * nl + CHECKSUM_WORDS) as u64 + tile_pos + const_pos;
    if total > u64::from(regmap::MAP_IMAGE_WORDS_LIMIT) {
        return Err(CompileError::ImageTooLarge {
            words: total,
            limit: regmap::MAP_IMAGE_WORDS_LIMIT,
        });
    }
    let first = &layers[0].desc;
    let max = |f: fn(&Layer) -> u32| layers.iter().map(f).max().unwrap_or(0);
    let header = Header {
        magic: format::MAGIC,
        version: format::VERSION,
        total_words: total as u32,
        lanes,
        num_layers: nl as u32,
        tile_words: tile_pos as u32,
        const_words: const_pos as u32,
        max_m: max(|l| l.desc.m),
        max_q: max(|l| l.desc.q),
        max_d: max(|l| l.desc.d),
        max_rows: max(|l| l.desc.rows),
        max_abits: max(|l| {
            l.desc.in_bits.max(if l.desc.kind == Kind::Logits {
                0
            } else {
                l.desc.out_bits
            })
        }),
        num_in: first.m,
        num_out: layers[nl - 1].desc.rows,
        in_fmt: format::in_fmt(first.in_bits, first.in_signed),
        v_bits: max(|l| l.v_bits),
    };
    if let Some(m) = target.misfit(&header) {
        return Err(CompileError::DoesNotFit(m));
    }
    if u64::from(header.num_in) > u64::from(regmap::MAP_MAX_INPUTS_LIMIT) {
        return Err(CompileError::DoesNotFit(Misfit {
            what: Limit::RowLength,
            need: header.num_in,
            limit: regmap::MAP_MAX_INPUTS_LIMIT,
        }));
    }
    let mut words: Vec<u32> = Vec::with_capacity(total as usize);
    words.extend_from_slice(&header.encode());
    for ly in &layers {
        words.extend_from_slice(&ly.desc.encode());
    }
    for ly in &layers {
        words.extend_from_slice(&ly.tile);
    }
    let c0 = words.len();
    for ly in &layers {
        words.extend_from_slice(&ly.alphas);
        words.resize(c0 + ly.desc.rowc_base as usize, 0);
        words.extend_from_slice(&ly.records);
    }
    let (s1, s2) = checksum(&words);
    words.push(s1);
    words.push(s2);
    debug_assert_eq!(words.len() as u64, total);
    Ok(Image::from_words(words))
}

/// Why a golden program cannot become a model image.
#[derive(Debug, thiserror::Error)]
pub enum ProgramImageError {
    // (the message includes the cause, which is therefore not also a
    // `source`: an error chain would print it twice)
    /// The program has no compact encoding (e.g. a stage the format lacks).
    #[error("encoding the integer program: {0}")]
    Encode(tbn_driver::program::EncodeError),
    /// The encoding does not parse back (a bug of the encoder).
    #[error("parsing the integer program: {0}")]
    Parse(tbn_driver::program::ParseError),
    /// The program does not fit the configuration or the image format.
    #[error("compiling the model image: {0}")]
    Compile(CompileError),
}

impl From<tbn_driver::program::EncodeError> for ProgramImageError {
    fn from(e: tbn_driver::program::EncodeError) -> Self {
        ProgramImageError::Encode(e)
    }
}

impl From<tbn_driver::program::ParseError> for ProgramImageError {
    fn from(e: tbn_driver::program::ParseError) -> Self {
        ProgramImageError::Parse(e)
    }
}

impl From<CompileError> for ProgramImageError {
    fn from(e: CompileError) -> Self {
        ProgramImageError::Compile(e)
    }
}

/// The model image of a golden integer program for `target`: its compact
/// encoding ([`crate::convert::program_bytes`]), parsed and [`compile`]d.
pub fn program_image(
    program: &tbn_golden::integer::Program,
    target: &Target,
) -> Result<Image, ProgramImageError> {
    let bytes = crate::convert::program_bytes(program, None)?;
    let aligned = tbn_driver::program::AlignedBytes::new(&bytes);
    let compact = Program::parse(aligned.as_bytes())?;
    Ok(compile(&compact, target)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misfit_is_named_once_in_the_error_chain() {
        let e = ProgramImageError::from(CompileError::DoesNotFit(Misfit {
            what: Limit::ConstWords,
            need: 12_356,
            limit: 8_192,
        }));
        let text = e.to_string();
        assert_eq!(
            text,
            "compiling the model image: the image needs 12356 for constants memory words \
             (CFG_CONST_WORDS), the configuration allows 8192"
        );
        // the cause is in the message, not repeated as a source
        assert!(std::error::Error::source(&e).is_none());
    }
}
