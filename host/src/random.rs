//! Seeded random integer programs for the bit-exact tests of the
//! whole-network engine: golden against the reference executor
//! (firmware-driver/tests/image_exec.rs), the RTL engine's model and Verilog
//! (hdl/tests/netcore.rs, nettop.rs) and the Verilated engine through the
//! driver (sim/tests/engine_rtl.rs). One generator, sized by each caller.
//!
//! Programs have 2 or more dense stages with `m` never a multiple of 32, `q`
//! mostly not a multiple of `m` (straddling rows), `p <= 8`, input widths 1..8
//! signed and unsigned, relu / signed / sign hidden stages, logits last,
//! uniform and per-row multipliers, biases and shifts.

use std::ops::RangeInclusive;

use rand::Rng;
use tbn_golden::integer::{
    value_range, Activation, ConvGeom, DenseStage, InputSpec, Program, Stage,
};
use tbn_golden::layout::RowGeometry;
use tbn_golden::tile::Tile;

/// The sizes of the programs a test wants (its engine configuration's limits).
#[derive(Clone, Debug)]
pub struct Sizes {
    /// Dense stages; the last computes logits.
    pub stages: RangeInclusive<usize>,
    /// Largest network input count.
    pub max_in: usize,
    /// Largest hidden stage width.
    pub max_hidden: usize,
    /// Largest output count.
    pub max_out: usize,
    /// Insert `flatten` stages between dense stages at random (the compiler
    /// drops them).
    pub flatten: bool,
}

/// Small programs for the engine tests that run whole driver sessions
/// (2-3 stages, at most 100 inputs, 60 hidden, 12 outputs).
pub const SMALL: Sizes = Sizes {
    stages: 2..=3,
    max_in: 100,
    max_hidden: 60,
    max_out: 12,
    flatten: false,
};

/// A width in `lo..=hi` that is not a multiple of 32 (32 gives 33).
pub fn width(r: &mut impl Rng, lo: usize, hi: usize) -> usize {
    let w = r.gen_range(lo..=hi);
    if w.is_multiple_of(32) {
        w + 1
    } else {
        w
    }
}

/// A geometry with `p <= 8`, preferring `q` not a multiple of `m` (straddles).
pub fn geometry(r: &mut impl Rng, rows: usize, m: usize) -> RowGeometry {
    let n = rows * m;
    let ps: Vec<usize> = (1..=rows.min(8)).filter(|p| n.is_multiple_of(*p)).collect();
    let straddling: Vec<usize> = ps
        .iter()
        .copied()
        .filter(|p| !(n / p).is_multiple_of(m))
        .collect();
    let pool = if !straddling.is_empty() && r.gen_bool(0.7) {
        &straddling
    } else {
        &ps
    };
    let p = pool[r.gen_range(0..pool.len())];
    RowGeometry {
        rows,
        m,
        q: n / p,
        p,
    }
}

/// A validated random program of the given sizes.
pub fn program(r: &mut impl Rng, sizes: &Sizes) -> Program {
    let nst = r.gen_range(sizes.stages.clone());
    let in_bits = r.gen_range(1..=8u8);
    let in_signed = in_bits > 1 && r.gen_bool(0.5);
    let n_in = width(r, 1, sizes.max_in);
    let (mut bits, mut signed, mut m) = (in_bits, in_signed, n_in);
    let mut stages = Vec::new();
    for s in 0..nst {
        let last = s + 1 == nst;
        let rows = if last {
            r.gen_range(1..=sizes.max_out)
        } else {
            width(r, 2, sizes.max_hidden)
        };
        // The compact program format ends with a logits stage.
        let act = if last {
            Activation::Logits
        } else {
            [Activation::Relu, Activation::Signed, Activation::Sign][r.gen_range(0..3)]
        };
        let out_bits = match act {
            Activation::Sign => 1,
            _ => r.gen_range(2..=8),
        };
        stages.push(Stage::Dense(dense_stage(
            r,
            format!("fc{s}"),
            (rows, m),
            None,
            (bits, signed),
            (act, out_bits),
        )));
        if sizes.flatten && !last && r.gen_bool(0.2) {
            stages.push(Stage::Flatten);
        }
        bits = out_bits;
        signed = act == Activation::Signed;
        m = rows;
    }
    let prog = Program {
        name: "random".into(),
        input: InputSpec {
            bits: in_bits,
            signed: in_signed,
            scale: 1.0,
            shape: vec![n_in],
        },
        stages,
    };
    prog.validate().expect("the generator makes valid programs");
    prog
}

/// A random dense (or, with `conv`, conv2d) stage of `rows x m` reading
/// `(bits, signed)` values, with activation and output bits `out`.
fn dense_stage(
    r: &mut impl Rng,
    name: String,
    (rows, m): (usize, usize),
    conv: Option<ConvGeom>,
    (bits, signed): (u8, bool),
    (act, out_bits): (Activation, u8),
) -> DenseStage {
    let geom = geometry(r, rows, m);
    let mult: Vec<i32> = if r.gen_bool(0.5) {
        (0..rows).map(|_| r.gen_range(-32767..=32767)).collect()
    } else {
        vec![r.gen_range(-32767..=32767)]
    };
    let bias: Vec<i64> = if r.gen_bool(0.5) {
        let bb = r.gen_range(0..=44);
        (0..rows)
            .map(|_| r.gen_range(-(1i64 << bb)..=(1i64 << bb)))
            .collect()
    } else {
        vec![]
    };
    let shift = if r.gen_bool(0.15) {
        0
    } else {
        r.gen_range(1..=40)
    };
    let tile: Vec<bool> = (0..geom.q).map(|_| r.gen_bool(0.5)).collect();
    DenseStage {
        name,
        geom,
        conv,
        tile: Tile::from_bools(&tile),
        alpha_q: (0..geom.p).map(|_| r.gen_range(0..=32767)).collect(),
        mult,
        bias,
        shift,
        in_bits: bits,
        in_signed: signed && bits > 1,
        act,
        out_bits,
        out_scale: 1.0,
    }
}

/// A hidden activation and its output bits, at random.
fn hidden_act(r: &mut impl Rng) -> (Activation, u8) {
    let act = [Activation::Relu, Activation::Signed, Activation::Sign][r.gen_range(0..3)];
    let bits = match act {
        Activation::Sign => 1,
        _ => r.gen_range(2..=8),
    };
    (act, bits)
}

/// The sizes of random convolutional programs.
#[derive(Clone, Debug)]
pub struct ConvSizes {
    /// Conv layers (each optionally followed by a max-pool).
    pub convs: RangeInclusive<usize>,
    /// Input channels.
    pub in_c: RangeInclusive<usize>,
    /// Input height and width (drawn separately: non-square inputs).
    pub in_side: RangeInclusive<usize>,
    /// Output channels of a conv layer.
    pub out_c: RangeInclusive<usize>,
    /// Kernel side (kernels are non-square a quarter of the time).
    pub kernel: RangeInclusive<usize>,
    /// Padding.
    pub pad: RangeInclusive<usize>,
    /// Most multiply-accumulates of one conv layer (larger draws get fewer
    /// output channels).
    pub max_macs: usize,
    /// Dense stages after the flatten; the last computes logits.
    pub dense: RangeInclusive<usize>,
}

/// The sizes issue 13 asks of the random conv programs: C_in 1..16, C_out
/// 1..64, kernels 1..5, stride 1..2 (drawn), padding 0..2, non-square inputs.
pub const CONV: ConvSizes = ConvSizes {
    convs: 1..=2,
    in_c: 1..=16,
    in_side: 4..=13,
    out_c: 1..=64,
    kernel: 1..=5,
    pad: 0..=2,
    max_macs: 150_000,
    dense: 1..=2,
};

/// A validated random convolutional program: conv layers (stride 1 or 2;
/// relu / signed / sign), each followed by nothing, max-pool 2/2 or 3/2,
/// then flatten and dense stages, logits last.
pub fn conv_program(r: &mut impl Rng, sizes: &ConvSizes) -> Program {
    let in_bits = r.gen_range(1..=8u8);
    let in_signed = in_bits > 1 && r.gen_bool(0.5);
    let mut c = r.gen_range(sizes.in_c.clone());
    let mut h = r.gen_range(sizes.in_side.clone());
    let mut w = r.gen_range(sizes.in_side.clone());
    let shape = vec![c, h, w];
    let (mut bits, mut signed) = (in_bits, in_signed);
    let mut stages = Vec::new();
    let nconv = r.gen_range(sizes.convs.clone());
    for s in 0..nconv {
        let k = r.gen_range(sizes.kernel.clone());
        let (kh, kw) = if r.gen_bool(0.25) {
            (k, r.gen_range(sizes.kernel.clone()))
        } else {
            (k, k)
        };
        let pad = r.gen_range(sizes.pad.clone());
        let stride = r.gen_range(1..=2);
        if h + 2 * pad < kh || w + 2 * pad < kw {
            break;
        }
        let (oh, ow) = (
            (h + 2 * pad - kh) / stride + 1,
            (w + 2 * pad - kw) / stride + 1,
        );
        let m = c * kh * kw;
        let per_row = m * oh * ow;
        let most = (sizes.max_macs / per_row).clamp(1, *sizes.out_c.end());
        let oc = r.gen_range(*sizes.out_c.start()..=most.max(*sizes.out_c.start()));
        let conv = ConvGeom {
            in_channels: c,
            in_hw: (h, w),
            kernel: (kh, kw),
            stride,
            padding: pad,
            out_hw: (oh, ow),
        };
        let (act, out_bits) = hidden_act(r);
        stages.push(Stage::Dense(dense_stage(
            r,
            format!("conv{s}"),
            (oc, m),
            Some(conv),
            (bits, signed),
            (act, out_bits),
        )));
        (c, h, w, bits, signed) = (oc, oh, ow, out_bits, act == Activation::Signed);
        let pool = [None, Some((2, 2)), Some((3, 2))][r.gen_range(0..3)];
        if let Some((k, st)) = pool.filter(|&(k, _)| h >= k && w >= k) {
            stages.push(Stage::MaxPool {
                kernel: k,
                stride: st,
                in_chw: (c, h, w),
            });
            (h, w) = ((h - k) / st + 1, (w - k) / st + 1);
        }
    }
    stages.push(Stage::Flatten);
    let mut m = c * h * w;
    let nd = r.gen_range(sizes.dense.clone());
    for s in 0..nd {
        let last = s + 1 == nd;
        let (act, out_bits) = if last {
            (Activation::Logits, r.gen_range(2..=8))
        } else {
            hidden_act(r)
        };
        let rows = if last {
            r.gen_range(1..=10)
        } else {
            width(r, 2, 40)
        };
        stages.push(Stage::Dense(dense_stage(
            r,
            format!("fc{s}"),
            (rows, m),
            None,
            (bits, signed),
            (act, out_bits),
        )));
        (m, bits, signed) = (rows, out_bits, act == Activation::Signed);
    }
    let prog = Program {
        name: "random-conv".into(),
        input: InputSpec {
            bits: in_bits,
            signed: in_signed,
            scale: 1.0,
            shape,
        },
        stages,
    };
    prog.validate().expect("the generator makes valid programs");
    prog
}

/// `n` random input values of `bits` bits (two's complement when `signed`).
pub fn input(r: &mut impl Rng, n: usize, bits: u8, signed: bool) -> Vec<i32> {
    let (lo, hi) = value_range(bits, signed);
    (0..n).map(|_| r.gen_range(lo..=hi) as i32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn programs_have_the_asked_sizes() {
        let sizes = Sizes {
            stages: 2..=4,
            max_in: 150,
            max_hidden: 90,
            max_out: 12,
            flatten: true,
        };
        for seed in 0..50 {
            let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let p = program(&mut r, &sizes);
            let dense: Vec<_> = p.dense_stages().collect();
            assert!((2..=4).contains(&dense.len()), "seed {seed}");
            assert!(dense
                .iter()
                .all(|d| !d.geom.m.is_multiple_of(32) && d.geom.p <= 8));
            assert!(p.input.shape[0] <= 151 && dense.last().unwrap().geom.rows <= 12);
        }
    }
}
