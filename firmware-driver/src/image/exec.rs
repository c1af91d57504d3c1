//! The independent reference model of the whole-network engine: it runs a
//! model image using only the image's words (docs/model-image.md), element
//! by element, walking rows with the same counters the chip uses. It shares
//! no code with the golden model or the MCU kernel, and is what the RTL
//! engine is checked against; firmware-driver/tests/image_exec.rs proves it
//! bit-exact against the golden integer path.
//!
//! [`CycleModel`] is the engine's ideal cycle count beside it.

use std::vec::Vec;

use super::format::{
    check_image, decode_record, in_fmt as fmt_word, value_range, Descriptor, Header, Kind,
    LayerGeom, LoadError, MapShape, Op, Target, RECORD_WORDS, ROWC_ALIGN,
};

/// Why an image cannot be run (beyond the chip's own load checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// Refused by the `LOAD_END` checks (the chip reports the same code).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A descriptor is inconsistent (a compiler bug or a forged image whose
    /// checksum matches): the chip's behaviour is undefined for it.
    #[error("layer {layer}: descriptor field {what} is inconsistent")]
    Descriptor {
        /// Layer index.
        layer: usize,
        /// Field or relation.
        what: &'static str,
    },
    /// A layer's ROWC_BASE is not a multiple of [`ROWC_ALIGN`] (the record
    /// memory is 4 banks addressed by the row; docs/model-image.md 2.4).
    #[error("layer {layer}: ROWC_BASE = {rowc_base} is not a multiple of {ROWC_ALIGN}")]
    RecordAlignment {
        /// Layer index.
        layer: usize,
        /// The descriptor's ROWC_BASE.
        rowc_base: u32,
    },
}

/// Why an input cannot be run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Wrong number of inputs.
    #[error("the model takes {want} inputs, got {have}")]
    Length {
        /// Inputs given.
        have: usize,
        /// NUM_IN.
        want: usize,
    },
    /// An input outside the model's input range (the chip's INPUT_RANGE).
    #[error("input {index} = {value} is outside [{lo}, {hi}]")]
    Range {
        /// Index.
        index: usize,
        /// Value.
        value: i32,
        /// Smallest allowed.
        lo: i32,
        /// Largest allowed.
        hi: i32,
    },
    /// A value `v` outside the image's V_BITS (the compiler's bound is wrong).
    #[error("layer {layer} row {row}: v = {v} exceeds the image's V_BITS = {v_bits}")]
    ValueBits {
        /// Layer.
        layer: usize,
        /// Row.
        row: usize,
        /// Value.
        v: i128,
        /// Header V_BITS.
        v_bits: u32,
    },
}

/// The result of one inference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Outputs of the last layer (`v` for logits), as LOGITS holds them.
    pub logits: Vec<i64>,
    /// Index of the largest output, ties to the lowest (CLASS).
    pub class: usize,
}

/// The engine's ideal cycles: per dense layer `D * ceil(m / L) * A_in + rows`,
/// per conv layer `positions * D * ceil(m / L) * A_in` (lane-bound), per
/// max-pool layer `outputs * k * k` (one input value per cycle).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CycleModel {
    /// Ideal cycles of each layer.
    pub per_layer: Vec<u64>,
}

impl CycleModel {
    /// Ideal cycles of one inference (the sum over layers).
    pub fn total(&self) -> u64 {
        self.per_layer.iter().sum()
    }
}

/// A loaded model image, ready to run.
#[derive(Clone, Debug)]
pub struct Engine {
    header: Header,
    layers: Vec<Descriptor>,
    tiles: Vec<u32>,
    consts: Vec<u32>,
}

/// Checks one descriptor against what it must be (recomputed here, so a wrong
/// precomputed field in the compiler is caught before any chip sees it).
fn check_desc(
    l: usize,
    d: &Descriptor,
    h: &Header,
    in_fmt: u32,
    nl: usize,
) -> Result<(), ImageError> {
    if d.geom.op == Op::MaxPool {
        return check_pool(l, d, h, in_fmt);
    }
    let bad = |what| Err(ImageError::Descriptor { layer: l, what });
    check_geom(l, d)?;
    let (m, q, rows) = (u64::from(d.m), u64::from(d.q), u64::from(d.rows));
    let lanes = u64::from(h.lanes);
    if m == 0 || rows == 0 || q < m {
        return bad("m, q, rows");
    }
    if !(rows * m).is_multiple_of(q) {
        return bad("rows * m = p * q");
    }
    let period = crate::geometry::period(m, q);
    if u64::from(d.p) != period {
        return bad("P");
    }
    if u64::from(d.d) != rows.min(period) {
        return bad("D");
    }
    if u64::from(d.q_minus_m) != q - m {
        return bad("Q_MINUS_M");
    }
    if u64::from(d.chunks) != m.div_ceil(lanes) || u64::from(d.out_chunks) != rows.div_ceil(lanes) {
        return bad("CHUNKS / OUT_CHUNKS");
    }
    if u64::from(d.ideal_cycles) != ideal_cycles(d) {
        return bad("IDEAL_CYCLES");
    }
    if fmt_word(d.in_bits, d.in_signed) != in_fmt {
        return bad("IN_FMT (chaining)");
    }
    if !(1..=8).contains(&d.in_bits) || (d.in_bits == 1 && d.in_signed) {
        return bad("IN_FMT");
    }
    let out_ok = match d.kind {
        Kind::Sign => d.out_bits == 1,
        Kind::Logits => d.out_bits == 0 && d.last,
        Kind::Relu | Kind::Signed => (1..=8).contains(&d.out_bits),
    };
    if !out_ok || d.last != (l + 1 == nl) {
        return bad("OUT_FMT");
    }
    if d.shift > 62 || (matches!(d.kind, Kind::Sign | Kind::Logits) && d.shift != 0) {
        return bad("SHIFT");
    }
    let tile_end = u64::from(d.tile_base) + u64::from(super::format::tile_words(d.q, h.lanes));
    if tile_end > u64::from(h.tile_words) {
        return bad("TILE_BASE");
    }
    let p = rows * m / q;
    if u64::from(d.alpha_base) + p > u64::from(h.const_words) {
        return bad("ALPHA_BASE");
    }
    let nrec = if d.rowc_stride == 0 {
        1
    } else if d.rowc_stride as usize == RECORD_WORDS {
        rows
    } else {
        return bad("ROWC_STRIDE");
    };
    if !(d.rowc_base as usize).is_multiple_of(ROWC_ALIGN) {
        return Err(ImageError::RecordAlignment {
            layer: l,
            rowc_base: d.rowc_base,
        });
    }
    if u64::from(d.rowc_base) + nrec * RECORD_WORDS as u64 > u64::from(h.const_words) {
        return bad("ROWC_BASE");
    }
    Ok(())
}

/// The cycle model's ideal for one layer (recomputed here from the fields).
fn ideal_cycles(d: &Descriptor) -> u64 {
    let issue = u64::from(d.d) * u64::from(d.chunks) * u64::from(d.in_bits);
    match d.geom.op {
        Op::Dense => issue + u64::from(d.rows),
        Op::Conv => u64::from(d.geom.positions) * issue,
        Op::MaxPool => u64::from(d.rows) * u64::from(d.geom.kh) * u64::from(d.geom.kw),
    }
}

/// A dense layer has no geometry; a conv layer's geometry matches its
/// weights (`m = C_in kh kw`, `rows = C_out`) and its output shape.
fn check_geom(l: usize, d: &Descriptor) -> Result<(), ImageError> {
    let bad = |what| Err(ImageError::Descriptor { layer: l, what });
    let g = &d.geom;
    match g.op {
        Op::Dense => {
            if *g != LayerGeom::default() {
                return bad("geometry of a dense layer");
            }
        }
        Op::Conv => {
            if g.input.numel() == 0
                || u64::from(d.m) != u64::from(g.input.c) * u64::from(g.kh) * u64::from(g.kw)
            {
                return bad("conv M = IN_C * KH * KW");
            }
            if g.out_shape(d.rows) != Some(g.output) {
                return bad("conv KERNEL / OUT_C / OUT_HW");
            }
            if u64::from(g.positions) != u64::from(g.output.h) * u64::from(g.output.w) {
                return bad("POSITIONS");
            }
        }
        Op::MaxPool => unreachable!("max-pool layers are checked by check_pool"),
    }
    Ok(())
}

/// A max-pool layer: square kernel, no padding, values in = values out
/// format, no weights or constants.
fn check_pool(l: usize, d: &Descriptor, h: &Header, in_fmt: u32) -> Result<(), ImageError> {
    let bad = |what| Err(ImageError::Descriptor { layer: l, what });
    let g = &d.geom;
    if g.kh != g.kw
        || g.pad != 0
        || g.out_shape(g.input.c) != Some(g.output)
        || g.input.numel() == 0
    {
        return bad("max-pool KERNEL / OUT_HW");
    }
    if u64::from(g.positions) != u64::from(g.output.h) * u64::from(g.output.w) {
        return bad("POSITIONS");
    }
    if u64::from(d.m) != g.input.numel() || u64::from(d.rows) != g.output.numel() {
        return bad("max-pool M / ROWS");
    }
    let lanes = h.lanes;
    if d.chunks != d.m.div_ceil(lanes) || d.out_chunks != d.rows.div_ceil(lanes) {
        return bad("CHUNKS / OUT_CHUNKS");
    }
    let unused = [
        d.q,
        d.d,
        d.p,
        d.q_minus_m,
        d.shift,
        d.tile_base,
        d.alpha_base,
        d.rowc_base,
        d.rowc_stride,
    ];
    if unused.iter().any(|&w| w != 0) {
        return bad("max-pool weight fields (must be 0)");
    }
    if fmt_word(d.in_bits, d.in_signed) != in_fmt || !(1..=8).contains(&d.in_bits) {
        return bad("IN_FMT (chaining)");
    }
    let kind = if d.in_bits == 1 {
        Kind::Sign
    } else if d.in_signed {
        Kind::Signed
    } else {
        Kind::Relu
    };
    if d.out_bits != d.in_bits || d.kind != kind || d.last {
        return bad("OUT_FMT (a max-pool layer keeps its input format and is not last)");
    }
    if u64::from(d.ideal_cycles) != ideal_cycles(d) {
        return bad("IDEAL_CYCLES");
    }
    Ok(())
}

/// The tensor between two layers while checking the chain.
#[derive(Clone, Copy)]
struct Chain {
    values: u64,
    shape: MapShape,
    hwc: bool,
}

/// Header words 16..21 that `layers` need (recomputed here from the fields).
fn map_maxima(layers: &[Descriptor], input: MapShape) -> super::format::HeaderMaps {
    let mut m = super::format::HeaderMaps {
        input,
        ..Default::default()
    };
    let clamp = |v: u64| v.min(u64::from(u32::MAX)) as u32;
    for d in layers {
        m.max_fmap = m.max_fmap.max(clamp(d.in_values().max(d.out_values())));
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
    m
}

impl Engine {
    /// Loads an image: the chip's `LOAD_END` checks for `target`, then the
    /// consistency of every descriptor and of the header's precomputed maxima.
    pub fn load(words: &[u32], target: &Target) -> Result<Engine, ImageError> {
        let h = check_image(words, target)?;
        let nl = h.num_layers as usize;
        let hdr_bad = |what| ImageError::Descriptor { layer: nl, what };
        let layers: Vec<Descriptor> = (0..nl)
            .map(|l| {
                let s = h.desc_at(l);
                Descriptor::decode(&words[s..s + h.desc_words()])
            })
            .collect();
        let mut in_fmt = h.in_fmt;
        let input = if h.is_conv() {
            h.maps.input
        } else {
            MapShape {
                c: h.num_in,
                h: 1,
                w: 1,
            }
        };
        let mut chain = Chain {
            values: input.numel(),
            shape: input,
            hwc: false,
        };
        for (l, d) in layers.iter().enumerate() {
            let bad = |what| ImageError::Descriptor { layer: l, what };
            check_desc(l, d, &h, in_fmt, nl)?;
            in_fmt = d.next_in_fmt();
            if d.in_values() != chain.values {
                return Err(bad("M (chaining)"));
            }
            let g = &d.geom;
            match g.op {
                Op::Dense if chain.hwc => return Err(bad("a dense layer after an HWC map")),
                Op::Dense => {}
                _ if g.input != chain.shape || g.in_hwc != chain.hwc => {
                    return Err(bad("IN_C / IN_HW / OP.IN_HWC (chaining)"))
                }
                _ => {}
            }
            if d.kind == Kind::Logits && g.op != Op::Dense {
                return Err(bad("logits from a conv layer"));
            }
            chain = match g.op {
                Op::Dense => Chain {
                    values: d.out_values(),
                    shape: MapShape {
                        c: d.rows,
                        h: 1,
                        w: 1,
                    },
                    hwc: false,
                },
                Op::Conv => Chain {
                    values: d.out_values(),
                    shape: g.output,
                    hwc: g.positions > 1,
                },
                Op::MaxPool => Chain {
                    values: d.out_values(),
                    shape: g.output,
                    hwc: false,
                },
            };
        }
        // Row-engine maxima over the dense and conv layers; map maxima over
        // every layer (format 2).
        let rowed = || layers.iter().filter(|d| d.geom.op != Op::MaxPool);
        let max = |f: fn(&Descriptor) -> u32| rowed().map(f).max().unwrap_or(0);
        let maxima = [
            (h.max_m, max(|d| d.m)),
            (h.max_q, max(|d| d.q)),
            (h.max_d, max(|d| d.d)),
            (h.max_rows, max(|d| d.rows)),
            (
                h.max_abits,
                layers
                    .iter()
                    .map(|d| d.in_bits.max(d.out_bits))
                    .max()
                    .unwrap_or(0),
            ),
            (
                h.num_in,
                layers[0].in_values().min(u64::from(u32::MAX)) as u32,
            ),
            (h.num_out, layers[nl - 1].rows),
        ];
        if maxima.iter().any(|(a, b)| a != b) || h.max_m == 0 {
            return Err(hdr_bad("header maxima"));
        }
        if h.is_conv() && h.maps != map_maxima(&layers, input) {
            return Err(hdr_bad("header map maxima (words 16..21)"));
        }
        if !(2..=64).contains(&h.v_bits) {
            return Err(hdr_bad("V_BITS"));
        }
        let t0 = h.tile_start() as usize;
        let c0 = h.const_start() as usize;
        Ok(Engine {
            header: h,
            tiles: words[t0..c0].to_vec(),
            consts: words[c0..c0 + h.const_words as usize].to_vec(),
            layers,
        })
    }

    /// The image header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The layer descriptors.
    pub fn layers(&self) -> &[Descriptor] {
        &self.layers
    }

    /// The ideal cycle model of one inference.
    pub fn cycle_model(&self) -> CycleModel {
        CycleModel {
            per_layer: self.layers.iter().map(ideal_cycles).collect(),
        }
    }

    /// Tile bit `i` of layer `d`'s extended tile image, as +1 / -1.
    fn weight(&self, d: &Descriptor, i: u32) -> i64 {
        let w = self.tiles[(d.tile_base + i / 32) as usize];
        if (w >> (i % 32)) & 1 == 1 {
            1
        } else {
            -1
        }
    }

    /// Runs one inference on `x` (NUM_IN values in the input format).
    pub fn infer(&self, x: &[i32]) -> Result<Outcome, InputError> {
        let h = &self.header;
        if x.len() != h.num_in as usize {
            return Err(InputError::Length {
                have: x.len(),
                want: h.num_in as usize,
            });
        }
        let first = &self.layers[0];
        let (lo, hi) = value_range(first.in_bits, first.in_signed);
        if let Some((index, &value)) = x.iter().enumerate().find(|(_, v)| **v < lo || **v > hi) {
            return Err(InputError::Range {
                index,
                value,
                lo,
                hi,
            });
        }
        let mut cur: Vec<i64> = x.iter().map(|&v| i64::from(v)).collect();
        for (l, d) in self.layers.iter().enumerate() {
            cur = match d.geom.op {
                Op::Dense => {
                    let x: Vec<Option<i64>> = cur.iter().map(|&v| Some(v)).collect();
                    self.layer(l, d, &x)?
                }
                Op::Conv => self.conv(l, d, &cur)?,
                Op::MaxPool => max_pool(&d.geom, &cur),
            };
        }
        // Ties go to the lowest index: keep the first maximum.
        let mut class = 0;
        for (i, v) in cur.iter().enumerate() {
            if *v > cur[class] {
                class = i;
            }
        }
        Ok(Outcome { logits: cur, class })
    }

    /// A conv layer: positions in row-major order, each the dense layer on
    /// its patch (gathered in `(c, ky, kx)` order, padding invalid), its
    /// `rows` outputs written channel-minor (HWC).
    fn conv(&self, l: usize, d: &Descriptor, x: &[i64]) -> Result<Vec<i64>, InputError> {
        let g = &d.geom;
        let mut out = Vec::with_capacity(d.out_values() as usize);
        let mut patch = Vec::with_capacity(d.m as usize);
        for oy in 0..g.output.h {
            for ox in 0..g.output.w {
                patch.clear();
                for c in 0..g.input.c {
                    for ky in 0..g.kh {
                        for kx in 0..g.kw {
                            let iy = (oy * g.stride + ky).checked_sub(g.pad);
                            let ix = (ox * g.stride + kx).checked_sub(g.pad);
                            patch.push(match (iy, ix) {
                                (Some(iy), Some(ix)) if iy < g.input.h && ix < g.input.w => {
                                    Some(x[g.in_index(c, iy, ix) as usize])
                                }
                                _ => None,
                            });
                        }
                    }
                }
                out.extend(self.layer(l, d, &patch)?);
            }
        }
        Ok(out)
    }

    /// The dense computation of one input vector (`None`: an invalid lane).
    fn layer(&self, l: usize, d: &Descriptor, x: &[Option<i64>]) -> Result<Vec<i64>, InputError> {
        let (m, q) = (d.m, d.q);
        // Input value as seen by the dot product (sign bits are +1 / -1; an
        // invalid lane contributes nothing).
        let xv = |i: u32| -> i64 {
            match x[i as usize] {
                None => 0,
                Some(v) if d.in_bits == 1 => 2 * v - 1,
                Some(v) => v,
            }
        };
        // Phase 1: the accumulator pairs of the D distinct rows.
        let mut pairs = Vec::with_capacity(d.d as usize);
        let mut o = 0u32;
        for _ in 0..d.d {
            let len_a = if o > d.q_minus_m { q - o } else { m };
            let a: i64 = (0..len_a).map(|i| self.weight(d, o + i) * xv(i)).sum();
            let b: i64 = (len_a..m).map(|i| self.weight(d, i - len_a) * xv(i)).sum();
            pairs.push((a, b));
            o += m;
            if o >= q {
                o -= q;
            }
        }
        // Phase 2: requantize every row from its distinct row.
        let (lo, hi) = value_range(d.out_bits, d.kind == Kind::Signed);
        let limit = 1i128 << (self.header.v_bits - 1);
        let (mut o, mut c, mut j) = (0u32, 0u32, 0u32);
        let mut out = Vec::with_capacity(d.rows as usize);
        for r in 0..d.rows {
            let alpha = |k: u32| i128::from(self.consts[(d.alpha_base + k) as usize] & 0xFFFF);
            let (da, db) = pairs[j as usize];
            let mut acc = alpha(c) * i128::from(da);
            if o > d.q_minus_m {
                acc += alpha(c + 1) * i128::from(db);
            }
            let rec = (d.rowc_base + d.rowc_stride * r) as usize;
            let mut w = [0u32; RECORD_WORDS];
            w.copy_from_slice(&self.consts[rec..rec + RECORD_WORDS]);
            let (mult, bias) = decode_record(w);
            let v = acc * i128::from(mult) + i128::from(bias);
            if v >= limit || v < -limit {
                return Err(InputError::ValueBits {
                    layer: l,
                    row: r as usize,
                    v,
                    v_bits: self.header.v_bits,
                });
            }
            let v = v as i64;
            out.push(match d.kind {
                Kind::Relu | Kind::Signed => (v >> d.shift).clamp(i64::from(lo), i64::from(hi)),
                Kind::Sign => i64::from(v > 0),
                Kind::Logits => v,
            });
            o += m;
            if o >= q {
                o -= q;
                c += 1;
            }
            j += 1;
            if j == d.p {
                j = 0;
            }
        }
        Ok(out)
    }
}

/// Max pooling of the stored values (for sign values the bits: +1 wins),
/// read in the input's layout, written CHW.
fn max_pool(g: &LayerGeom, x: &[i64]) -> Vec<i64> {
    let mut out = Vec::with_capacity(g.output.numel() as usize);
    for c in 0..g.output.c {
        for oy in 0..g.output.h {
            for ox in 0..g.output.w {
                let mut best = i64::MIN;
                for ky in 0..g.kh {
                    for kx in 0..g.kw {
                        let v = x[g.in_index(c, oy * g.stride + ky, ox * g.stride + kx) as usize];
                        best = best.max(v);
                    }
                }
                out.push(best);
            }
        }
    }
    out
}
