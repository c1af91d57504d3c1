//! Seeded random TBN layers and programs shared by the driver's tests
//! (`golden.rs`: the MCU kernels, `driver_mock.rs`: the driver on a mock
//! core). Each test prints its seed through [`rng`].

// each test file uses a part of this module
#![allow(dead_code)]

pub mod spi_bridge;

use std::ops::RangeInclusive;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_golden::integer::{self, Activation, ConvGeom, DenseStage, InputSpec, Program, Stage};
use tbn_golden::layout::RowGeometry;
use tbn_golden::tile::Tile;

/// The activations a hidden stage may have.
pub const ACTS: [Activation; 3] = [Activation::Relu, Activation::Sign, Activation::Signed];

/// The generator of `test` for `seed` (printed, to reproduce a failure).
pub fn rng(test: &str, seed: u64) -> ChaCha8Rng {
    println!("{test}: seed {seed}");
    ChaCha8Rng::seed_from_u64(seed)
}

/// A random geometry with `p | rows * m` and `p <= rows` (straddles included).
pub fn geometry(r: &mut ChaCha8Rng, rows: usize, m: usize) -> RowGeometry {
    let n = rows * m;
    let ps: Vec<usize> = (1..=rows).filter(|p| n.is_multiple_of(*p)).collect();
    let p = ps[r.gen_range(0..ps.len())];
    RowGeometry {
        rows,
        m,
        q: n / p,
        p,
    }
}

/// A random tile of `q` bits.
pub fn random_tile(r: &mut ChaCha8Rng, q: usize) -> Tile {
    Tile::from_bools(&(0..q).map(|_| r.gen_bool(0.5)).collect::<Vec<_>>())
}

/// Value ranges of a random dense stage's requantization.
pub struct Requant {
    /// Biases are drawn from `[-2^bias_bits, 2^bias_bits)`.
    pub bias_bits: u32,
    /// Right shift.
    pub shift: RangeInclusive<u32>,
}

/// The stage's input and output.
pub struct Io {
    /// Input bits.
    pub in_bits: u8,
    /// Signed input (only with `in_bits > 1`).
    pub in_signed: bool,
    /// Activation.
    pub act: Activation,
    /// Output bits (1 for `Sign`).
    pub out_bits: u8,
}

/// Shorthand for [`Io`].
pub fn io(in_bits: u8, in_signed: bool, act: Activation, out_bits: u8) -> Io {
    Io {
        in_bits,
        in_signed,
        act,
        out_bits,
    }
}

/// A random dense stage of `rows x m` (a convolution when `conv` is set).
pub fn random_dense(
    r: &mut ChaCha8Rng,
    rows: usize,
    m: usize,
    conv: Option<ConvGeom>,
    io: Io,
    rq: &Requant,
) -> DenseStage {
    let geom = geometry(r, rows, m);
    let mult: Vec<i32> = if r.gen_bool(0.5) {
        (0..rows).map(|_| r.gen_range(-32767..=32767)).collect()
    } else {
        vec![r.gen_range(1..=32767)]
    };
    let bias: Vec<i64> = if r.gen_bool(0.5) {
        (0..rows)
            .map(|_| r.gen_range(-(1i64 << rq.bias_bits)..(1i64 << rq.bias_bits)))
            .collect()
    } else {
        vec![]
    };
    DenseStage {
        name: "d".into(),
        geom,
        conv,
        tile: random_tile(r, geom.q),
        alpha_q: (0..geom.p).map(|_| r.gen_range(0..=32767)).collect(),
        mult,
        bias,
        shift: r.gen_range(rq.shift.clone()),
        in_bits: io.in_bits,
        in_signed: io.in_signed && io.in_bits > 1,
        act: io.act,
        out_bits: if io.act == Activation::Sign {
            1
        } else {
            io.out_bits
        },
        out_scale: 1.0,
    }
}

/// `n` random input values of `bits` bits.
pub fn random_input(r: &mut ChaCha8Rng, n: usize, bits: u8, signed: bool) -> Vec<i32> {
    let (lo, hi) = integer::value_range(bits, signed);
    (0..n).map(|_| r.gen_range(lo..=hi) as i32).collect()
}

/// A validated program over inputs of `shape`.
pub fn program(shape: Vec<usize>, bits: u8, signed: bool, stages: Vec<Stage>) -> Program {
    let prog = Program {
        name: "t".into(),
        input: InputSpec {
            bits,
            signed,
            scale: 1.0,
            shape,
        },
        stages,
    };
    prog.validate().expect("valid program");
    prog
}

/// A random convolutional program and the facts the tests check against.
pub struct ConvProgram {
    /// conv (k x k, stride 1-2) -> [maxpool 2x2] -> flatten -> dense logits.
    pub prog: Program,
    /// Input channels, height, width.
    pub chw: (usize, usize, usize),
    /// Output positions of the convolution.
    pub out_hw: (usize, usize),
    /// Padding.
    pub pad: usize,
}

/// A random convolutional program with inputs of `in_bits` bits, sides up
/// to `max_side`, and padding `pad` (random 0 or 1 when `None`).
pub fn random_conv_program(
    r: &mut ChaCha8Rng,
    in_bits: u8,
    in_signed: bool,
    max_side: usize,
    pad: Option<usize>,
    rq: &Requant,
) -> ConvProgram {
    let (c, h, w) = (
        r.gen_range(1..=3),
        r.gen_range(4..=max_side),
        r.gen_range(4..=max_side),
    );
    let k = r.gen_range(1..=3usize);
    let stride = r.gen_range(1..=2);
    let pad = pad.unwrap_or_else(|| r.gen_range(0..=1));
    let (oh, ow) = (
        (h + 2 * pad - k) / stride + 1,
        (w + 2 * pad - k) / stride + 1,
    );
    let oc = r.gen_range(1..=6);
    let act = ACTS[r.gen_range(0..3)];
    let cg = ConvGeom {
        in_channels: c,
        in_hw: (h, w),
        kernel: (k, k),
        stride,
        padding: pad,
        out_hw: (oh, ow),
    };
    let out_bits = r.gen_range(2..=8);
    let io = Io {
        in_bits,
        in_signed,
        act,
        out_bits,
    };
    let s1 = random_dense(r, oc, c * k * k, Some(cg), io, rq);
    let mut stages = vec![Stage::Dense(s1.clone())];
    let (mut ph, mut pw) = (oh, ow);
    if oh >= 2 && ow >= 2 {
        stages.push(Stage::MaxPool {
            kernel: 2,
            stride: 2,
            in_chw: (oc, oh, ow),
        });
        ph = (oh - 2) / 2 + 1;
        pw = (ow - 2) / 2 + 1;
    }
    stages.push(Stage::Flatten);
    let rows2 = r.gen_range(1..=10);
    let io2 = Io {
        in_bits: s1.out_bits,
        in_signed: act == Activation::Signed,
        act: Activation::Logits,
        out_bits: 8,
    };
    stages.push(Stage::Dense(random_dense(
        r,
        rows2,
        oc * ph * pw,
        None,
        io2,
        rq,
    )));
    ConvProgram {
        prog: program(vec![c, h, w], in_bits, in_signed, stages),
        chw: (c, h, w),
        out_hw: (oh, ow),
        pad,
    }
}
