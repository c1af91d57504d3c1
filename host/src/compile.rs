//! The compiler: a validated integer program ([`tbn_driver::program::Program`],
//! the compact binary the MCU also runs) into a model image for one
//! accelerator configuration ([`Target`]), applying the exact identities of
//! docs/model-image.md section 4.

use tbn_driver::image::format::{
    self, checksum, encode_record, tile_align, tile_words, value_range, Descriptor, Header,
    HeaderMaps, Kind, LayerGeom, Limit, MapShape, Misfit, Op, Target, BIAS_LIMIT_BITS,
    CHECKSUM_WORDS, RECORD_WORDS, ROWC_ALIGN,
};
use tbn_driver::image::Image;
use tbn_driver::program::{Activation, Dense, Program, Shape, Stage};
use tbn_driver::regmap;

/// Why a program cannot become an image for a configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The lane count is not 8, 16, 32, 64, 128 or 256.
    #[error("lanes must be 8, 16, 32, 64, 128 or 256, not {0}")]
    Lanes(u32),
    /// A stage the engine does not run.
    #[error("stage {stage}: {what} is not supported by the model image")]
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

fn map_shape(s: Shape) -> MapShape {
    MapShape {
        c: s.c as u32,
        h: s.h as u32,
        w: s.w as u32,
    }
}

/// A layer of the image before compilation: a dense or conv stage, or a
/// max-pool (also the 1x1 one that turns an HWC map into the CHW vector a
/// dense layer reads).
enum Planned<'a> {
    Rows(usize, Box<Dense<'a>>, bool),
    Pool(LayerGeom),
}

/// The program's stages as image layers, with each map's layout (conv
/// writes HWC; max-pool and the input are CHW; docs/model-image.md section 9).
fn plan<'a>(prog: &Program<'a>) -> Result<Vec<Planned<'a>>, CompileError> {
    let mut out = Vec::new();
    // The current map is HWC with more than one position.
    let mut hwc = false;
    let mut cur = None::<Shape>;
    for (i, st) in prog.stages().enumerate() {
        match st {
            Stage::Dense(d) if d.conv.is_some() => {
                out.push(Planned::Rows(i, Box::new(d), hwc));
                hwc = d.positions() > 1;
                cur = Some(d.out_shape);
            }
            Stage::Dense(d) => {
                if let (true, Some(s)) = (hwc, cur) {
                    out.push(Planned::Pool(pool_geom(1, 1, s, s, true)));
                }
                hwc = false;
                cur = None;
                out.push(Planned::Rows(i, Box::new(d), false));
            }
            Stage::MaxPool {
                kernel,
                stride,
                in_shape,
                out_shape,
            } => {
                out.push(Planned::Pool(pool_geom(
                    kernel, stride, in_shape, out_shape, hwc,
                )));
                hwc = false;
                cur = Some(out_shape);
            }
            Stage::Flatten => {}
        }
    }
    Ok(out)
}

fn pool_geom(kernel: usize, stride: usize, i: Shape, o: Shape, in_hwc: bool) -> LayerGeom {
    LayerGeom {
        op: Op::MaxPool,
        in_hwc,
        input: map_shape(i),
        kh: kernel as u32,
        kw: kernel as u32,
        stride: stride as u32,
        pad: 0,
        output: map_shape(o),
        positions: (o.h * o.w) as u32,
    }
}

/// A max-pool layer: no weights; its format is its input's.
fn pool_layer(l: usize, g: LayerGeom, in_fmt: u32, lanes: u32) -> Result<Layer, CompileError> {
    let in_bits = in_fmt & format::FMT_BITS_MASK;
    let in_signed = in_fmt & format::FMT_SIGNED != 0;
    let (m, rows) = (g.input.numel(), g.output.numel());
    let k = u64::from(g.kh) * u64::from(g.kw);
    Ok(Layer {
        desc: Descriptor {
            m: word(l, "max-pool inputs", m)?,
            q: 0,
            rows: word(l, "max-pool outputs", rows)?,
            d: 0,
            p: 0,
            q_minus_m: 0,
            chunks: word(l, "chunks", m.div_ceil(u64::from(lanes)))?,
            in_bits,
            in_signed,
            out_bits: in_bits,
            kind: if in_bits == 1 {
                Kind::Sign
            } else if in_signed {
                Kind::Signed
            } else {
                Kind::Relu
            },
            last: false,
            shift: 0,
            tile_base: 0,
            alpha_base: 0,
            rowc_base: 0,
            rowc_stride: 0,
            out_chunks: word(l, "out chunks", rows.div_ceil(u64::from(lanes)))?,
            ideal_cycles: word(l, "ideal cycles", rows * k)?,
            geom: g,
        },
        tile: Vec::new(),
        alphas: Vec::new(),
        records: Vec::new(),
        v_bits: 0,
    })
}

fn compile_layer(
    l: usize,
    d: &Dense<'_>,
    in_hwc: bool,
    last: bool,
    lanes: u32,
) -> Result<Layer, CompileError> {
    let g = d.geom;
    let geom = match d.conv {
        None => LayerGeom::default(),
        Some(c) => LayerGeom {
            op: Op::Conv,
            in_hwc,
            input: map_shape(d.in_shape),
            kh: c.kh as u32,
            kw: c.kw as u32,
            stride: c.stride as u32,
            pad: c.pad as u32,
            output: map_shape(d.out_shape),
            positions: word(l, "positions", d.positions() as u64)?,
        },
    };
    if geom.op == Op::Conv
        && [geom.kh, geom.kw, geom.stride, geom.pad]
            .iter()
            .any(|&v| v > 255)
    {
        return Err(CompileError::FieldRange {
            layer: l,
            what: "kernel, stride or padding (8-bit fields)",
            value: u64::from(geom.kh.max(geom.kw).max(geom.stride).max(geom.pad)),
        });
    }
    let per_position = if geom.op == Op::Conv {
        u64::from(geom.positions)
    } else {
        1
    };
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
        ideal_cycles: word(
            l,
            "ideal cycles",
            if geom.op == Op::Conv {
                per_position * dd * chunks * u64::from(in_bits)
            } else {
                dd * chunks * u64::from(in_bits) + rows
            },
        )?,
        geom,
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
    let planned = plan(prog)?;
    let Some(input_code) = planned.iter().find_map(|p| match p {
        Planned::Rows(_, d, _) => Some(d.input),
        Planned::Pool(_) => None,
    }) else {
        return Err(CompileError::NoDenseStage);
    };
    let nl = planned.len();
    let mut layers: Vec<Layer> = Vec::with_capacity(nl);
    let mut in_fmt = format::in_fmt(
        u32::from(input_code.bits),
        input_code.signed && input_code.bits > 1,
    );
    for (l, p) in planned.iter().enumerate() {
        let last = l + 1 == nl;
        let ly = match p {
            Planned::Rows(stage, d, in_hwc) => {
                if d.act == Activation::Logits && !last {
                    return Err(CompileError::HiddenLogits { layer: l });
                }
                if d.act == Activation::Logits && d.conv.is_some() {
                    return Err(CompileError::Unsupported {
                        stage: *stage,
                        what: "a conv2d stage with logits outputs",
                    });
                }
                compile_layer(l, d, *in_hwc, last, lanes)?
            }
            Planned::Pool(_) if last => {
                return Err(CompileError::Unsupported {
                    stage: prog.stages().count() - 1,
                    what: "a max-pool as the last layer",
                })
            }
            Planned::Pool(g) => pool_layer(l, *g, in_fmt, lanes)?,
        };
        in_fmt = ly.desc.next_in_fmt();
        layers.push(ly);
    }
    let conv = layers.iter().any(|ly| ly.desc.geom.op != Op::Dense);

    // Layout: tiles in order (aligned), constants in order (alpha table, zero
    // padding to ROWC_ALIGN, records).
    let align = tile_align(lanes);
    let (mut tile_pos, mut const_pos) = (0u64, 0u64);
    for (l, ly) in layers.iter_mut().enumerate() {
        if ly.desc.geom.op == Op::MaxPool {
            // no weights or constants: the bases stay 0
            continue;
        }
        debug_assert_eq!(tile_pos % u64::from(align), 0);
        ly.desc.tile_base = word(l, "tile base", tile_pos)?;
        tile_pos += ly.tile.len() as u64;
        ly.desc.alpha_base = word(l, "alpha base", const_pos)?;
        const_pos += ly.alphas.len() as u64;
        const_pos = const_pos.next_multiple_of(ROWC_ALIGN as u64);
        ly.desc.rowc_base = word(l, "row constants base", const_pos)?;
        const_pos += ly.records.len() as u64;
    }
    let version = if conv {
        format::VERSION_CONV
    } else {
        format::VERSION
    };
    let (header_words, desc_words) = if conv {
        (format::HEADER_WORDS_CONV, format::DESC_WORDS_CONV)
    } else {
        (format::HEADER_WORDS, format::DESC_WORDS)
    };
    let total = (header_words + desc_words * nl + CHECKSUM_WORDS) as u64 + tile_pos + const_pos;
    if total > u64::from(regmap::MAP_IMAGE_WORDS_LIMIT) {
        return Err(CompileError::ImageTooLarge {
            words: total,
            limit: regmap::MAP_IMAGE_WORDS_LIMIT,
        });
    }
    let first = &layers[0].desc;
    let num_in = word(0, "network inputs", first.in_values())?;
    let rowed = || layers.iter().filter(|l| l.desc.geom.op != Op::MaxPool);
    let max = |f: fn(&Layer) -> u32| rowed().map(f).max().unwrap_or(0);
    let maps = if conv {
        map_maxima(&layers, first)?
    } else {
        HeaderMaps::default()
    };
    let header = Header {
        maps,
        magic: format::MAGIC,
        version,
        total_words: total as u32,
        lanes,
        num_layers: nl as u32,
        tile_words: tile_pos as u32,
        const_words: const_pos as u32,
        max_m: max(|l| l.desc.m),
        max_q: max(|l| l.desc.q),
        max_d: max(|l| l.desc.d),
        max_rows: max(|l| l.desc.rows),
        max_abits: layers
            .iter()
            .map(|l| {
                l.desc.in_bits.max(if l.desc.kind == Kind::Logits {
                    0
                } else {
                    l.desc.out_bits
                })
            })
            .max()
            .unwrap_or(0),
        num_in,
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
    words.extend_from_slice(&header.encode()[..header_words]);
    for ly in &layers {
        words.extend_from_slice(&ly.desc.encode()[..desc_words]);
    }
    for ly in &layers {
        words.extend_from_slice(&ly.tile);
    }
    let c0 = words.len();
    for ly in layers.iter().filter(|ly| ly.desc.geom.op != Op::MaxPool) {
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

/// Header words 16..21 of a format-2 image: the input map and the largest
/// map, channel count, side and kernel of any layer.
fn map_maxima(layers: &[Layer], first: &Descriptor) -> Result<HeaderMaps, CompileError> {
    let input = match first.geom.op {
        Op::Dense => MapShape {
            c: first.m,
            h: 1,
            w: 1,
        },
        _ => first.geom.input,
    };
    let mut m = HeaderMaps {
        input,
        ..Default::default()
    };
    for (l, ly) in layers.iter().enumerate() {
        let d = &ly.desc;
        m.max_fmap = m.max_fmap.max(word(
            l,
            "feature-map values",
            d.in_values().max(d.out_values()),
        )?);
        let g = &d.geom;
        if g.op != Op::Dense {
            m.max_channels = m.max_channels.max(g.input.c).max(g.output.c);
            m.max_hw = m
                .max_hw
                .max(g.input.h)
                .max(g.input.w)
                .max(g.output.h)
                .max(g.output.w);
            // strides and paddings count as kernel sides (one capacity bounds
            // the walker's counters)
            m.max_kernel = m.max_kernel.max(g.kh).max(g.kw).max(g.stride).max(g.pad);
        }
    }
    Ok(m)
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
