//! Word layout of the accelerator model image (docs/model-image.md): the
//! constants the compiler, the reference executor, the driver and the RTL
//! share, and typed views of the header and a layer descriptor.

/// Image word 0: bytes "TBNM" in a little-endian file.
pub const MAGIC: u32 = 0x4D4E_4254;
/// Image word 1: format version, major in bits 31:16, minor in 15:0. Format
/// 1.0 holds dense networks; every chip with the engine accepts it.
pub const VERSION: u32 = 0x0001_0000;
/// The dense format's major version.
pub const VERSION_MAJOR: u32 = VERSION >> 16;
/// Format 2.0: layers may be conv2d and max-pool (docs/model-image.md
/// section 9); accepted only by a chip with CFG_FEATURES.CONV.
pub const VERSION_CONV: u32 = 0x0002_0000;
/// The conv format's major version.
pub const VERSION_CONV_MAJOR: u32 = VERSION_CONV >> 16;

/// Words of the header (format 1).
pub const HEADER_WORDS: usize = 16;
/// Words of one layer descriptor (format 1).
pub const DESC_WORDS: usize = 16;
/// Words of the header in format 2 (words 16.. are [`hdr2`]).
pub const HEADER_WORDS_CONV: usize = 32;
/// Words of one layer descriptor in format 2 (words 16.. are [`geo`]).
pub const DESC_WORDS_CONV: usize = 32;
/// Words of the checksum trailer (S1, S2).
pub const CHECKSUM_WORDS: usize = 2;
/// Words of one row-constant record.
pub const RECORD_WORDS: usize = 4;
/// ROWC_BASE is a multiple of this (zero padding words before each layer's
/// records): record word `k` of row `r` is then word `ROWC_BASE / 4 + r` of
/// bank `k` of a plain 4-bank record memory (docs/model-image.md section 2.4).
pub const ROWC_ALIGN: usize = 4;

/// Header word indices.
pub mod hdr {
    /// [`super::MAGIC`].
    pub const MAGIC: usize = 0;
    /// [`super::VERSION`].
    pub const VERSION: usize = 1;
    /// Words in the whole image, checksum included.
    pub const TOTAL_WORDS: usize = 2;
    /// Lanes `L` the image was compiled for.
    pub const LANES: usize = 3;
    /// Number of layers.
    pub const NUM_LAYERS: usize = 4;
    /// Words of the tile section.
    pub const TILE_WORDS: usize = 5;
    /// Words of the constants section.
    pub const CONST_WORDS: usize = 6;
    /// Largest `m`.
    pub const MAX_M: usize = 7;
    /// Largest `q`.
    pub const MAX_Q: usize = 8;
    /// Largest `D`.
    pub const MAX_D: usize = 9;
    /// Largest `rows`.
    pub const MAX_ROWS: usize = 10;
    /// Largest activation width (inputs and hidden outputs).
    pub const MAX_ABITS: usize = 11;
    /// Network inputs.
    pub const NUM_IN: usize = 12;
    /// Network outputs (logits).
    pub const NUM_OUT: usize = 13;
    /// Input format (as [`super::desc::IN_FMT`]).
    pub const IN_FMT: usize = 14;
    /// Bits of the signed value `v` enough for every row and input.
    pub const V_BITS: usize = 15;
}

/// Header words 16.. of format 2 (feature-map capacities the image needs).
pub mod hdr2 {
    /// Channels of the network input.
    pub const IN_C: usize = 16;
    /// Input height (bits 31:16) and width (bits 15:0).
    pub const IN_HW: usize = 17;
    /// Most values of any layer's input or output (map or vector).
    pub const MAX_FMAP: usize = 18;
    /// Most channels of any conv or max-pool input or output map.
    pub const MAX_CHANNELS: usize = 19;
    /// Largest height or width of any conv or max-pool input or output map.
    pub const MAX_HW: usize = 20;
    /// Largest kernel side, stride or padding of any conv or max-pool layer.
    pub const MAX_KERNEL: usize = 21;
}

/// Descriptor words 16.. of format 2 (the layer's operation and geometry).
pub mod geo {
    /// Bits 1:0 the operation ([`super::Op`]); bit 8 the input map is HWC.
    pub const OP: usize = 16;
    /// Input channels.
    pub const IN_C: usize = 17;
    /// Input height (bits 31:16) and width (bits 15:0).
    pub const IN_HW: usize = 18;
    /// Bits 7:0 kernel height, 15:8 kernel width, 23:16 stride, 31:24 padding.
    pub const KERNEL: usize = 19;
    /// Output channels.
    pub const OUT_C: usize = 20;
    /// Output height (bits 31:16) and width (bits 15:0).
    pub const OUT_HW: usize = 21;
    /// Output positions, `OUT_H * OUT_W`.
    pub const POSITIONS: usize = 22;
}

/// Descriptor word indices.
pub mod desc {
    /// Row length `m`.
    pub const M: usize = 0;
    /// Tile length `q`.
    pub const Q: usize = 1;
    /// Output rows.
    pub const ROWS: usize = 2;
    /// Distinct rows computed, `min(rows, P)`.
    pub const D: usize = 3;
    /// Period `P = q / gcd(m, q)`.
    pub const P: usize = 4;
    /// `q - m`.
    pub const Q_MINUS_M: usize = 5;
    /// `ceil(m / L)`.
    pub const CHUNKS: usize = 6;
    /// Input format: bits 3:0 `A_in`, bit 8 signed.
    pub const IN_FMT: usize = 7;
    /// Output format: bits 3:0 `A_out`, bits 17:16 kind, bit 24 last.
    pub const OUT_FMT: usize = 8;
    /// Shift `S`.
    pub const SHIFT: usize = 9;
    /// Word index of the extended tile image in the tile section.
    pub const TILE_BASE: usize = 10;
    /// Word index of the alpha table in the constants section.
    pub const ALPHA_BASE: usize = 11;
    /// Word index of the row-constant records in the constants section (a
    /// multiple of [`super::ROWC_ALIGN`]).
    pub const ROWC_BASE: usize = 12;
    /// 0 (uniform record) or [`super::RECORD_WORDS`] (one per row).
    pub const ROWC_STRIDE: usize = 13;
    /// `ceil(rows / L)`.
    pub const OUT_CHUNKS: usize = 14;
    /// `D * CHUNKS * A_in + rows` (the cycle model; the chip ignores it).
    pub const IDEAL_CYCLES: usize = 15;
}

/// IN_FMT / OUT_FMT: mask of the bit-width field (bits 3:0).
pub const FMT_BITS_MASK: u32 = 0xF;
/// IN_FMT: bit 8, two's complement values.
pub const FMT_SIGNED: u32 = 1 << 8;
/// OUT_FMT: shift of the kind field (bits 17:16).
pub const FMT_KIND_SHIFT: u32 = 16;
/// OUT_FMT: bit 24, the last layer.
pub const FMT_LAST: u32 = 1 << 24;

/// What a layer's output is (OUT_FMT bits 17:16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// Unsigned `A_out` bits: `clamp(v >> S, 0, 2^A - 1)`.
    Relu = 0,
    /// Signed `A_out` bits: `clamp(v >> S, -2^(A-1), 2^(A-1) - 1)`.
    Signed = 1,
    /// One bit: `v > 0`.
    Sign = 2,
    /// `v` itself (last layer only).
    Logits = 3,
}

impl Kind {
    /// Decodes the 2-bit kind field.
    pub const fn from_code(c: u32) -> Kind {
        match c & 3 {
            0 => Kind::Relu,
            1 => Kind::Signed,
            2 => Kind::Sign,
            _ => Kind::Logits,
        }
    }
}

/// What a layer computes (format 2, descriptor word [`geo::OP`] bits 1:0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Op {
    /// A dense layer on the input vector (format 1's only operation).
    #[default]
    Dense = 0,
    /// conv2d as im2col: per output position a dense layer on its patch.
    Conv = 1,
    /// Max pooling of the integer values.
    MaxPool = 2,
}

/// [`geo::OP`] bit 8: the input map is stored HWC (channel-minor).
pub const OP_IN_HWC: u32 = 1 << 8;

/// A feature map's shape, channels x height x width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MapShape {
    /// Channels.
    pub c: u32,
    /// Height.
    pub h: u32,
    /// Width.
    pub w: u32,
}

impl MapShape {
    /// Values of the map (u64: no overflow on garbage).
    pub const fn numel(&self) -> u64 {
        self.c as u64 * self.h as u64 * self.w as u64
    }

    const fn hw_word(&self) -> u32 {
        (self.h << 16) | (self.w & 0xFFFF)
    }

    const fn from_words(c: u32, hw: u32) -> MapShape {
        MapShape {
            c,
            h: hw >> 16,
            w: hw & 0xFFFF,
        }
    }
}

/// A format-2 layer's operation and geometry (descriptor words 16..23; all
/// zero for a dense layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LayerGeom {
    /// The operation.
    pub op: Op,
    /// The input map is HWC: value `(c, y, x)` at `(y W + x) C + c`; else CHW,
    /// at `(c H + y) W + x`.
    pub in_hwc: bool,
    /// Input map shape.
    pub input: MapShape,
    /// Kernel height.
    pub kh: u32,
    /// Kernel width.
    pub kw: u32,
    /// Stride (both directions).
    pub stride: u32,
    /// Zero padding on every side (conv only).
    pub pad: u32,
    /// Output map shape.
    pub output: MapShape,
    /// `output.h * output.w`.
    pub positions: u32,
}

impl LayerGeom {
    /// Decodes descriptor words 16..23 (`w` has at least [`DESC_WORDS_CONV`] words).
    pub fn decode(w: &[u32]) -> LayerGeom {
        let op = match w[geo::OP] & 3 {
            1 => Op::Conv,
            2 => Op::MaxPool,
            // 3 is reserved: read as dense, whose geometry check refuses it.
            _ => Op::Dense,
        };
        let k = w[geo::KERNEL];
        LayerGeom {
            op,
            in_hwc: w[geo::OP] & OP_IN_HWC != 0,
            input: MapShape::from_words(w[geo::IN_C], w[geo::IN_HW]),
            kh: k & 0xFF,
            kw: (k >> 8) & 0xFF,
            stride: (k >> 16) & 0xFF,
            pad: k >> 24,
            output: MapShape::from_words(w[geo::OUT_C], w[geo::OUT_HW]),
            positions: w[geo::POSITIONS],
        }
    }

    /// Writes descriptor words 16..23 into `w`.
    pub fn encode_into(&self, w: &mut [u32]) {
        w[geo::OP] = self.op as u32 | if self.in_hwc { OP_IN_HWC } else { 0 };
        w[geo::IN_C] = self.input.c;
        w[geo::IN_HW] = self.input.hw_word();
        w[geo::KERNEL] = (self.kh & 0xFF)
            | ((self.kw & 0xFF) << 8)
            | ((self.stride & 0xFF) << 16)
            | ((self.pad & 0xFF) << 24);
        w[geo::OUT_C] = self.output.c;
        w[geo::OUT_HW] = self.output.hw_word();
        w[geo::POSITIONS] = self.positions;
    }

    /// The output map of this geometry, if the kernel fits the padded input.
    pub const fn out_shape(&self, out_c: u32) -> Option<MapShape> {
        let ph = self.input.h as u64 + 2 * self.pad as u64;
        let pw = self.input.w as u64 + 2 * self.pad as u64;
        if self.stride == 0
            || self.kh == 0
            || self.kw == 0
            || ph < self.kh as u64
            || pw < self.kw as u64
        {
            return None;
        }
        Some(MapShape {
            c: out_c,
            h: ((ph - self.kh as u64) / self.stride as u64 + 1) as u32,
            w: ((pw - self.kw as u64) / self.stride as u64 + 1) as u32,
        })
    }

    /// Index of value `(c, y, x)` of the input map in its layout.
    pub const fn in_index(&self, c: u32, y: u32, x: u32) -> u64 {
        let s = &self.input;
        if self.in_hwc {
            (y as u64 * s.w as u64 + x as u64) * s.c as u64 + c as u64
        } else {
            (c as u64 * s.h as u64 + y as u64) * s.w as u64 + x as u64
        }
    }
}

/// Value of an IN_FMT word.
pub const fn in_fmt(bits: u32, signed: bool) -> u32 {
    (bits & FMT_BITS_MASK) | if signed { FMT_SIGNED } else { 0 }
}

/// Value of an OUT_FMT word.
pub const fn out_fmt(bits: u32, kind: Kind, last: bool) -> u32 {
    (bits & FMT_BITS_MASK) | ((kind as u32) << FMT_KIND_SHIFT) | if last { FMT_LAST } else { 0 }
}

/// Tile alignment in words for `lanes`: `max(1, L / 32)`.
pub const fn tile_align(lanes: u32) -> u32 {
    if lanes >= 32 {
        lanes / 32
    } else {
        1
    }
}

/// Padded words of a layer's extended tile image: `ceil((q + L) / 32)`
/// rounded up to a multiple of [`tile_align`].
pub const fn tile_words(q: u32, lanes: u32) -> u32 {
    let w = (q + lanes).div_ceil(32);
    w.div_ceil(tile_align(lanes)) * tile_align(lanes)
}

/// The Fletcher-style checksum `(s1, s2)` of `words` (docs/model-image.md 2.5).
pub fn checksum(words: &[u32]) -> (u32, u32) {
    let mut s = Checksum::default();
    for &w in words {
        s.push(w);
    }
    (s.s1, s.s2)
}

/// Running checksum, one word at a time (as the chip accumulates it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    /// Sum of the words (mod 2^32).
    pub s1: u32,
    /// Sum of the running `s1` values (mod 2^32).
    pub s2: u32,
}

impl Checksum {
    /// Adds the next word.
    pub fn push(&mut self, w: u32) {
        self.s1 = self.s1.wrapping_add(w);
        self.s2 = self.s2.wrapping_add(self.s1);
    }
}

/// The 16 header words, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Word 0.
    pub magic: u32,
    /// Word 1.
    pub version: u32,
    /// Words in the whole image.
    pub total_words: u32,
    /// Lanes the image was compiled for.
    pub lanes: u32,
    /// Layers.
    pub num_layers: u32,
    /// Tile section words.
    pub tile_words: u32,
    /// Constants section words.
    pub const_words: u32,
    /// Largest `m`.
    pub max_m: u32,
    /// Largest `q`.
    pub max_q: u32,
    /// Largest `D`.
    pub max_d: u32,
    /// Largest `rows`.
    pub max_rows: u32,
    /// Largest activation width.
    pub max_abits: u32,
    /// Network inputs.
    pub num_in: u32,
    /// Network outputs.
    pub num_out: u32,
    /// Input format word.
    pub in_fmt: u32,
    /// Bits of the signed value `v` enough for every row and input.
    pub v_bits: u32,
    /// Format 2's feature-map words (zero in format 1).
    pub maps: HeaderMaps,
}

/// Header words 16..21 of format 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct HeaderMaps {
    /// The network input's shape.
    pub input: MapShape,
    /// Most values of any layer's input or output.
    pub max_fmap: u32,
    /// Most channels of any map.
    pub max_channels: u32,
    /// Largest map height or width.
    pub max_hw: u32,
    /// Largest kernel side, stride or padding.
    pub max_kernel: u32,
}

/// Whether `version` is format 2 (conv and max-pool layers).
pub const fn is_conv_format(version: u32) -> bool {
    version >> 16 == VERSION_CONV_MAJOR
}

impl Header {
    /// Decodes header words: the first [`HEADER_WORDS`] of `w`, and for a
    /// format-2 version words 16..21 when `w` has them.
    pub fn decode(w: &[u32]) -> Header {
        let maps = if is_conv_format(w[hdr::VERSION]) && w.len() >= HEADER_WORDS_CONV {
            HeaderMaps {
                input: MapShape::from_words(w[hdr2::IN_C], w[hdr2::IN_HW]),
                max_fmap: w[hdr2::MAX_FMAP],
                max_channels: w[hdr2::MAX_CHANNELS],
                max_hw: w[hdr2::MAX_HW],
                max_kernel: w[hdr2::MAX_KERNEL],
            }
        } else {
            HeaderMaps::default()
        };
        Header {
            maps,
            magic: w[hdr::MAGIC],
            version: w[hdr::VERSION],
            total_words: w[hdr::TOTAL_WORDS],
            lanes: w[hdr::LANES],
            num_layers: w[hdr::NUM_LAYERS],
            tile_words: w[hdr::TILE_WORDS],
            const_words: w[hdr::CONST_WORDS],
            max_m: w[hdr::MAX_M],
            max_q: w[hdr::MAX_Q],
            max_d: w[hdr::MAX_D],
            max_rows: w[hdr::MAX_ROWS],
            max_abits: w[hdr::MAX_ABITS],
            num_in: w[hdr::NUM_IN],
            num_out: w[hdr::NUM_OUT],
            in_fmt: w[hdr::IN_FMT],
            v_bits: w[hdr::V_BITS],
        }
    }

    /// The header words (the first [`Header::header_words`] of them).
    pub fn encode(&self) -> [u32; HEADER_WORDS_CONV] {
        let mut w = [0u32; HEADER_WORDS_CONV];
        if self.is_conv() {
            let m = &self.maps;
            w[hdr2::IN_C] = m.input.c;
            w[hdr2::IN_HW] = m.input.hw_word();
            w[hdr2::MAX_FMAP] = m.max_fmap;
            w[hdr2::MAX_CHANNELS] = m.max_channels;
            w[hdr2::MAX_HW] = m.max_hw;
            w[hdr2::MAX_KERNEL] = m.max_kernel;
        }
        w[hdr::MAGIC] = self.magic;
        w[hdr::VERSION] = self.version;
        w[hdr::TOTAL_WORDS] = self.total_words;
        w[hdr::LANES] = self.lanes;
        w[hdr::NUM_LAYERS] = self.num_layers;
        w[hdr::TILE_WORDS] = self.tile_words;
        w[hdr::CONST_WORDS] = self.const_words;
        w[hdr::MAX_M] = self.max_m;
        w[hdr::MAX_Q] = self.max_q;
        w[hdr::MAX_D] = self.max_d;
        w[hdr::MAX_ROWS] = self.max_rows;
        w[hdr::MAX_ABITS] = self.max_abits;
        w[hdr::NUM_IN] = self.num_in;
        w[hdr::NUM_OUT] = self.num_out;
        w[hdr::IN_FMT] = self.in_fmt;
        w[hdr::V_BITS] = self.v_bits;
        w
    }

    /// Format 2 (conv and max-pool layers).
    pub const fn is_conv(&self) -> bool {
        is_conv_format(self.version)
    }

    /// Words of the header in this image's format.
    pub const fn header_words(&self) -> usize {
        if self.is_conv() {
            HEADER_WORDS_CONV
        } else {
            HEADER_WORDS
        }
    }

    /// Words of a descriptor in this image's format.
    pub const fn desc_words(&self) -> usize {
        if self.is_conv() {
            DESC_WORDS_CONV
        } else {
            DESC_WORDS
        }
    }

    /// Word index of the first descriptor.
    pub const fn desc_start(&self) -> u32 {
        self.header_words() as u32
    }

    /// Word index of layer `l`'s descriptor.
    pub const fn desc_at(&self, l: usize) -> usize {
        self.header_words() + self.desc_words() * l
    }

    /// Word index of the tile section.
    pub const fn tile_start(&self) -> u32 {
        (self.header_words() + self.desc_words() * self.num_layers as usize) as u32
    }

    /// Word index of the constants section.
    pub const fn const_start(&self) -> u32 {
        self.tile_start() + self.tile_words
    }

    /// `TOTAL_WORDS` implied by the section sizes (u64: no overflow on garbage).
    pub const fn implied_total(&self) -> u64 {
        self.header_words() as u64
            + self.desc_words() as u64 * self.num_layers as u64
            + self.tile_words as u64
            + self.const_words as u64
            + CHECKSUM_WORDS as u64
    }
}

/// One layer descriptor, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// Row length `m`.
    pub m: u32,
    /// Tile length `q`.
    pub q: u32,
    /// Output rows.
    pub rows: u32,
    /// Distinct rows `D`.
    pub d: u32,
    /// Period `P`.
    pub p: u32,
    /// `q - m`.
    pub q_minus_m: u32,
    /// `ceil(m / L)`.
    pub chunks: u32,
    /// Input width `A_in`.
    pub in_bits: u32,
    /// Input is two's complement.
    pub in_signed: bool,
    /// Output width `A_out`.
    pub out_bits: u32,
    /// Output kind.
    pub kind: Kind,
    /// The last layer.
    pub last: bool,
    /// Shift `S`.
    pub shift: u32,
    /// Tile base (word index in the tile section).
    pub tile_base: u32,
    /// Alpha table base (word index in the constants section).
    pub alpha_base: u32,
    /// Row-constant records base (word index in the constants section, a
    /// multiple of [`ROWC_ALIGN`]).
    pub rowc_base: u32,
    /// 0 (uniform) or [`RECORD_WORDS`].
    pub rowc_stride: u32,
    /// `ceil(rows / L)`.
    pub out_chunks: u32,
    /// The cycle model's ideal (docs/model-image.md sections 7 and 9).
    pub ideal_cycles: u32,
    /// Operation and geometry (format 2; dense and zero in format 1).
    pub geom: LayerGeom,
}

impl Descriptor {
    /// Decodes descriptor words: words 0..15 of `w`, and the geometry when
    /// `w` has [`DESC_WORDS_CONV`] words (a format-2 descriptor).
    pub fn decode(w: &[u32]) -> Descriptor {
        let out = w[desc::OUT_FMT];
        Descriptor {
            geom: if w.len() >= DESC_WORDS_CONV {
                LayerGeom::decode(w)
            } else {
                LayerGeom::default()
            },
            m: w[desc::M],
            q: w[desc::Q],
            rows: w[desc::ROWS],
            d: w[desc::D],
            p: w[desc::P],
            q_minus_m: w[desc::Q_MINUS_M],
            chunks: w[desc::CHUNKS],
            in_bits: w[desc::IN_FMT] & FMT_BITS_MASK,
            in_signed: w[desc::IN_FMT] & FMT_SIGNED != 0,
            out_bits: out & FMT_BITS_MASK,
            kind: Kind::from_code(out >> FMT_KIND_SHIFT),
            last: out & FMT_LAST != 0,
            shift: w[desc::SHIFT],
            tile_base: w[desc::TILE_BASE],
            alpha_base: w[desc::ALPHA_BASE],
            rowc_base: w[desc::ROWC_BASE],
            rowc_stride: w[desc::ROWC_STRIDE],
            out_chunks: w[desc::OUT_CHUNKS],
            ideal_cycles: w[desc::IDEAL_CYCLES],
        }
    }

    /// The descriptor words (the first 16 in format 1, all in format 2).
    pub fn encode(&self) -> [u32; DESC_WORDS_CONV] {
        let mut w = [0u32; DESC_WORDS_CONV];
        self.geom.encode_into(&mut w);
        w[desc::M] = self.m;
        w[desc::Q] = self.q;
        w[desc::ROWS] = self.rows;
        w[desc::D] = self.d;
        w[desc::P] = self.p;
        w[desc::Q_MINUS_M] = self.q_minus_m;
        w[desc::CHUNKS] = self.chunks;
        w[desc::IN_FMT] = in_fmt(self.in_bits, self.in_signed);
        w[desc::OUT_FMT] = out_fmt(self.out_bits, self.kind, self.last);
        w[desc::SHIFT] = self.shift;
        w[desc::TILE_BASE] = self.tile_base;
        w[desc::ALPHA_BASE] = self.alpha_base;
        w[desc::ROWC_BASE] = self.rowc_base;
        w[desc::ROWC_STRIDE] = self.rowc_stride;
        w[desc::OUT_CHUNKS] = self.out_chunks;
        w[desc::IDEAL_CYCLES] = self.ideal_cycles;
        w
    }

    /// Values the layer reads: the input map (conv, max-pool) or `m`.
    pub const fn in_values(&self) -> u64 {
        match self.geom.op {
            Op::Dense => self.m as u64,
            _ => self.geom.input.numel(),
        }
    }

    /// Values the layer writes: `rows` per position (conv), else `rows`.
    pub const fn out_values(&self) -> u64 {
        match self.geom.op {
            Op::Conv => self.rows as u64 * self.geom.positions as u64,
            _ => self.rows as u64,
        }
    }

    /// The output format of this layer as the next layer's IN_FMT
    /// (sign outputs are 1-bit, only `signed` outputs are two's complement).
    pub const fn next_in_fmt(&self) -> u32 {
        match self.kind {
            Kind::Sign => in_fmt(1, false),
            Kind::Signed => in_fmt(self.out_bits, self.out_bits > 1),
            _ => in_fmt(self.out_bits, false),
        }
    }
}

/// Row-constant record: `(M_r, B'_r)` from its words.
pub const fn decode_record(w: [u32; RECORD_WORDS]) -> (i32, i64) {
    (w[2] as i32, ((w[1] as u64) << 32 | w[0] as u64) as i64)
}

/// Row-constant record words for `(M_r, B'_r)`.
pub const fn encode_record(m: i32, b: i64) -> [u32; RECORD_WORDS] {
    [b as u64 as u32, (b as u64 >> 32) as u32, m as u32, 0]
}

/// `|B'_r|` must stay below `2^BIAS_LIMIT_BITS`.
pub const BIAS_LIMIT_BITS: u32 = 62;

/// The capacities of an accelerator configuration that an image must fit
/// (the chip's CFG_* registers; docs/model-image.md section 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// Lanes `L` (CFG_LANES).
    pub lanes: u32,
    /// Weight memory words (CFG_WEIGHT_WORDS).
    pub weight_words: u32,
    /// Constants memory words (CFG_CONST_WORDS).
    pub const_words: u32,
    /// Most layers (CFG_MAX_LAYERS).
    pub max_layers: u32,
    /// Largest `m` (CFG_MAX_IN).
    pub max_in: u32,
    /// Largest `q` (CFG_TILE_MAX).
    pub tile_max: u32,
    /// Largest `D` (CFG_MAX_ROWS).
    pub max_d: u32,
    /// Largest `rows` (CFG_MAX_OUT).
    pub max_out: u32,
    /// Largest activation width (CFG_MAX_ABITS).
    pub max_abits: u32,
    /// Most network outputs (CFG_MAX_LOGITS).
    pub max_logits: u32,
    /// Width of the signed value `v` (CFG_FEATURES.V_BITS).
    pub v_bits: u32,
    /// Feature-map capacities (all 0 without CFG_FEATURES.CONV).
    pub maps: MapLimits,
}

/// A configuration's feature-map capacities (CFG_MAX_FMAP, CFG_MAX_CHANNELS,
/// CFG_MAX_HW, CFG_MAX_KERNEL); all 0 when it runs no conv or max-pool layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MapLimits {
    /// Values of one feature-map buffer.
    pub max_fmap: u32,
    /// Channels of a map.
    pub max_channels: u32,
    /// Height or width of a map.
    pub max_hw: u32,
    /// Kernel side.
    pub max_kernel: u32,
}

impl MapLimits {
    /// No feature maps: a dense-only configuration.
    pub const NONE: MapLimits = MapLimits {
        max_fmap: 0,
        max_channels: 0,
        max_hw: 0,
        max_kernel: 0,
    };

    /// Whether the configuration runs conv and max-pool layers (format 2).
    pub const fn supports_conv(&self) -> bool {
        self.max_fmap > 0
    }
}

impl Target {
    /// A target limited only by what the register map can address, for `lanes`.
    pub const fn map_limits(lanes: u32) -> Target {
        use crate::regmap as rm;
        Target {
            lanes,
            weight_words: rm::MAP_IMAGE_WORDS_LIMIT,
            const_words: rm::MAP_IMAGE_WORDS_LIMIT,
            max_layers: rm::MAP_MAX_LAYERS_LIMIT,
            max_in: rm::MAP_MAX_INPUTS_LIMIT,
            tile_max: rm::MAP_IMAGE_WORDS_LIMIT * 32,
            max_d: 65_535,
            max_out: 65_535,
            max_abits: 8,
            max_logits: rm::MAP_MAX_LOGITS_LIMIT,
            v_bits: 64,
            maps: MapLimits {
                max_fmap: rm::MAP_MAX_INPUTS_LIMIT,
                max_channels: 65_535,
                max_hw: 65_535,
                max_kernel: 255,
            },
        }
    }

    /// The same target without feature maps (format 1 images only).
    pub const fn dense_only(self) -> Target {
        Target {
            maps: MapLimits::NONE,
            ..self
        }
    }

    /// The capacity register behind `what` (to raise it, e.g. to find
    /// every capacity an image exceeds).
    pub fn limit_mut(&mut self, what: Limit) -> &mut u32 {
        match what {
            Limit::Lanes => &mut self.lanes,
            Limit::Layers => &mut self.max_layers,
            Limit::WeightWords => &mut self.weight_words,
            Limit::ConstWords => &mut self.const_words,
            Limit::RowLength => &mut self.max_in,
            Limit::TileLength => &mut self.tile_max,
            Limit::DistinctRows => &mut self.max_d,
            Limit::Rows => &mut self.max_out,
            Limit::ActivationBits => &mut self.max_abits,
            Limit::Logits => &mut self.max_logits,
            Limit::ValueBits => &mut self.v_bits,
            Limit::FeatureMap => &mut self.maps.max_fmap,
            Limit::Channels => &mut self.maps.max_channels,
            Limit::MapSide => &mut self.maps.max_hw,
            Limit::Kernel => &mut self.maps.max_kernel,
        }
    }

    /// The first capacity `h` exceeds, in the order of docs/model-image.md
    /// section 6 (then section 9's map capacities), or `None` when the image
    /// fits. A format-2 image on a target without feature maps: FeatureMap.
    pub fn misfit(&self, h: &Header) -> Option<Misfit> {
        // A format-2 image on a configuration without feature maps: that is
        // the misfit to name (the chip refuses it with BAD_VERSION first).
        if h.is_conv() && !self.maps.supports_conv() {
            return Some(Misfit {
                what: Limit::FeatureMap,
                need: h.maps.max_fmap,
                limit: 0,
            });
        }
        let checks = [
            (Limit::Lanes, h.lanes, self.lanes, h.lanes != self.lanes),
            (
                Limit::Layers,
                h.num_layers,
                self.max_layers,
                h.num_layers == 0 || h.num_layers > self.max_layers,
            ),
            (
                Limit::WeightWords,
                h.tile_words,
                self.weight_words,
                h.tile_words > self.weight_words,
            ),
            (
                Limit::ConstWords,
                h.const_words,
                self.const_words,
                h.const_words > self.const_words,
            ),
            (
                Limit::RowLength,
                h.max_m,
                self.max_in,
                h.max_m > self.max_in,
            ),
            (
                Limit::TileLength,
                h.max_q,
                self.tile_max,
                h.max_q > self.tile_max,
            ),
            (
                Limit::DistinctRows,
                h.max_d,
                self.max_d,
                h.max_d > self.max_d,
            ),
            (
                Limit::Rows,
                h.max_rows,
                self.max_out,
                h.max_rows > self.max_out,
            ),
            (
                Limit::ActivationBits,
                h.max_abits,
                self.max_abits,
                h.max_abits > self.max_abits,
            ),
            (
                Limit::Logits,
                h.num_out,
                self.max_logits,
                h.num_out > self.max_logits,
            ),
            (
                Limit::ValueBits,
                h.v_bits,
                self.v_bits,
                h.v_bits > self.v_bits,
            ),
        ];
        let (m, t) = (&h.maps, &self.maps);
        let maps = [
            (
                Limit::FeatureMap,
                m.max_fmap,
                t.max_fmap,
                m.max_fmap > t.max_fmap,
            ),
            (
                Limit::Channels,
                m.max_channels,
                t.max_channels,
                m.max_channels > t.max_channels,
            ),
            (Limit::MapSide, m.max_hw, t.max_hw, m.max_hw > t.max_hw),
            (
                Limit::Kernel,
                m.max_kernel,
                t.max_kernel,
                m.max_kernel > t.max_kernel,
            ),
        ];
        let n_maps = if h.is_conv() { maps.len() } else { 0 };
        checks
            .into_iter()
            .chain(maps.into_iter().take(n_maps))
            .find(|c| c.3)
            .map(|(what, need, limit, _)| Misfit { what, need, limit })
    }
}

/// Which capacity an image exceeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// The image was compiled for another lane count.
    Lanes,
    /// Layers (0, or more than CFG_MAX_LAYERS).
    Layers,
    /// Tile section words.
    WeightWords,
    /// Constants section words.
    ConstWords,
    /// Row length `m`.
    RowLength,
    /// Tile length `q`.
    TileLength,
    /// Distinct rows `D`.
    DistinctRows,
    /// Rows of a layer.
    Rows,
    /// Activation width.
    ActivationBits,
    /// Network outputs.
    Logits,
    /// Width of the value `v`.
    ValueBits,
    /// Values of a feature map (format 2).
    FeatureMap,
    /// Channels of a map (format 2).
    Channels,
    /// Height or width of a map (format 2).
    MapSide,
    /// Kernel side (format 2).
    Kernel,
}

impl Limit {
    /// Name of the capacity, as in the register map.
    pub const fn name(self) -> &'static str {
        match self {
            Limit::Lanes => "lanes (CFG_LANES)",
            Limit::Layers => "layers (CFG_MAX_LAYERS)",
            Limit::WeightWords => "weight memory words (CFG_WEIGHT_WORDS)",
            Limit::ConstWords => "constants memory words (CFG_CONST_WORDS)",
            Limit::RowLength => "row length m (CFG_MAX_IN)",
            Limit::TileLength => "tile length q (CFG_TILE_MAX)",
            Limit::DistinctRows => "distinct rows D (CFG_MAX_ROWS)",
            Limit::Rows => "rows of a layer (CFG_MAX_OUT)",
            Limit::ActivationBits => "activation bits (CFG_MAX_ABITS)",
            Limit::Logits => "network outputs (CFG_MAX_LOGITS)",
            Limit::ValueBits => "value bits (CFG_FEATURES.V_BITS)",
            Limit::FeatureMap => "feature-map values (CFG_MAX_FMAP)",
            Limit::Channels => "feature-map channels (CFG_MAX_CHANNELS)",
            Limit::MapSide => "feature-map height or width (CFG_MAX_HW)",
            Limit::Kernel => "kernel side, stride or padding (CFG_MAX_KERNEL)",
        }
    }
}

/// An image that does not fit a [`Target`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the image needs {need} for {}, the configuration allows {limit}", .what.name())]
pub struct Misfit {
    /// The capacity.
    pub what: Limit,
    /// What the image needs.
    pub need: u32,
    /// What the configuration has.
    pub limit: u32,
}

/// Why the chip refuses an image at `LOAD_END` (one per error code).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Word 0 is not [`MAGIC`].
    #[error("image magic {0:#010x} is not {MAGIC:#010x} (\"TBNM\")")]
    BadMagic(u32),
    /// The major version is neither [`VERSION_MAJOR`] nor, on a chip with
    /// feature maps, [`VERSION_CONV_MAJOR`].
    #[error("image format version {0:#010x} is not supported by this configuration (major {VERSION_MAJOR}; major {VERSION_CONV_MAJOR}, conv and max-pool layers, only with CFG_FEATURES.CONV)")]
    BadVersion(u32),
    /// The image has not `TOTAL_WORDS` words, or its sections do not add up.
    #[error("image has {have} words, its header says {total} (sections add up to {implied})")]
    LoadSequence {
        /// Words present.
        have: u64,
        /// TOTAL_WORDS.
        total: u32,
        /// Header + descriptors + sections + checksum.
        implied: u64,
    },
    /// The checksum words do not match.
    #[error("image checksum ({stored_s1:#010x}, {stored_s2:#010x}) does not match the words ({s1:#010x}, {s2:#010x})")]
    BadChecksum {
        /// Stored S1.
        stored_s1: u32,
        /// Stored S2.
        stored_s2: u32,
        /// Computed S1.
        s1: u32,
        /// Computed S2.
        s2: u32,
    },
    /// The image does not fit the configuration.
    #[error(transparent)]
    Fit(#[from] Misfit),
}

impl LoadError {
    /// The register map's error code for this refusal.
    pub const fn code(&self) -> crate::regmap::ErrorCode {
        use crate::regmap::ErrorCode;
        match self {
            LoadError::BadMagic(_) => ErrorCode::BadMagic,
            LoadError::BadVersion(_) => ErrorCode::BadVersion,
            LoadError::LoadSequence { .. } => ErrorCode::LoadSequence,
            LoadError::BadChecksum { .. } => ErrorCode::BadChecksum,
            LoadError::Fit(_) => ErrorCode::ImageFit,
        }
    }
}

/// The chip's `LOAD_END` checks on a whole image, in their order (docs/model-image.md
/// section 6): magic, version, length, checksum, fit. Returns the header.
pub fn check_image(words: &[u32], target: &Target) -> Result<Header, LoadError> {
    let mut head = [0u32; HEADER_WORDS_CONV];
    for (d, s) in head.iter_mut().zip(words) {
        *d = *s;
    }
    let h = Header::decode(&head);
    if h.magic != MAGIC {
        return Err(LoadError::BadMagic(h.magic));
    }
    let major = h.version >> 16;
    if major != VERSION_MAJOR && !(major == VERSION_CONV_MAJOR && target.maps.supports_conv()) {
        return Err(LoadError::BadVersion(h.version));
    }
    let have = words.len() as u64;
    if have != u64::from(h.total_words) || h.implied_total() != have {
        return Err(LoadError::LoadSequence {
            have,
            total: h.total_words,
            implied: h.implied_total(),
        });
    }
    let body = words.len() - CHECKSUM_WORDS;
    let (s1, s2) = checksum(&words[..body]);
    if (s1, s2) != (words[body], words[body + 1]) {
        return Err(LoadError::BadChecksum {
            stored_s1: words[body],
            stored_s2: words[body + 1],
            s1,
            s2,
        });
    }
    match target.misfit(&h) {
        Some(m) => Err(LoadError::Fit(m)),
        None => Ok(h),
    }
}

/// The ranges of one value format: `(lo, hi)` of the stored value
/// (`bits == 1`: the stored bit, 0 or 1).
pub const fn value_range(bits: u32, signed: bool) -> (i32, i32) {
    if bits <= 1 {
        (0, 1)
    } else if signed {
        (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    } else {
        (0, (1 << bits) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        for (m, b) in [
            (0, 0),
            (-32767, -(1i64 << 47)),
            (32767, (1i64 << 47) - 1),
            (-1, -1),
            (5, 1 << 40),
        ] {
            assert_eq!(decode_record(encode_record(m, b)), (m, b));
        }
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(&MAGIC.to_le_bytes(), b"TBNM");
        assert_eq!(tile_words(40, 8), 2);
        assert_eq!(tile_words(25088, 128), 788);
        assert_eq!(checksum(&[1, 2]), (3, 4));
    }
}
