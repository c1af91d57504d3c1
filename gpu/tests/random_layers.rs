//! Random single layers (linear and conv2d with stride and padding,
//! straddling rows, p = 1..8, A = 1..8 signed and unsigned, every
//! activation) on the GPU's integer path, bit-exact against the golden
//! model. Layer k uses seed `first + k`; set TBN_GPU_SEED to change `first`.

mod common;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_golden::integer::{
    value_range, Activation, ConvGeom, DenseStage, InputSpec, Program, Stage,
};
use tbn_golden::layout::RowGeometry;
use tbn_golden::tile::Tile;
use tbn_gpu::bench::linear_logits_program;
use tbn_gpu::GpuProgram;

const LAYERS: u64 = 240;
const INPUTS: usize = 3;

/// A random valid p for `rows x m` (p | rows * m, p <= rows), or None.
fn pick_p(rng: &mut ChaCha8Rng, rows: usize, m: usize) -> Option<usize> {
    let ok: Vec<usize> = (1..=8usize)
        .filter(|&p| p <= rows && (rows * m).is_multiple_of(p))
        .collect();
    let straddling: Vec<usize> = ok
        .iter()
        .copied()
        .filter(|&p| !(rows * m / p).is_multiple_of(m))
        .collect();
    // Favour geometries with straddling rows half of the time.
    if !straddling.is_empty() && rng.gen_bool(0.5) {
        return Some(straddling[rng.gen_range(0..straddling.len())]);
    }
    (!ok.is_empty()).then(|| ok[rng.gen_range(0..ok.len())])
}

fn random_program(seed: u64) -> Program {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    loop {
        let conv = rng.gen_bool(0.4);
        let (rows, m, conv_geom, shape) = if conv {
            let in_c = rng.gen_range(1..=4);
            let kernel = (rng.gen_range(1..=3), rng.gen_range(1..=3));
            let stride = rng.gen_range(1..=2);
            let padding = rng.gen_range(0..=1);
            let in_hw = (rng.gen_range(3..=7), rng.gen_range(3..=7));
            let oh = (in_hw.0 + 2 * padding - kernel.0) / stride + 1;
            let ow = (in_hw.1 + 2 * padding - kernel.1) / stride + 1;
            let cg = ConvGeom {
                in_channels: in_c,
                in_hw,
                kernel,
                stride,
                padding,
                out_hw: (oh, ow),
            };
            let rows = rng.gen_range(1..=12);
            (
                rows,
                in_c * kernel.0 * kernel.1,
                Some(cg),
                vec![in_c, in_hw.0, in_hw.1],
            )
        } else {
            let m = rng.gen_range(1..=200);
            (rng.gen_range(1..=40), m, None, vec![m])
        };
        let Some(p) = pick_p(&mut rng, rows, m) else {
            continue;
        };
        let q = rows * m / p;
        let in_bits: u8 = rng.gen_range(1..=8);
        let in_signed = in_bits > 1 && rng.gen_bool(0.5);
        let act = [
            Activation::Relu,
            Activation::Sign,
            Activation::Signed,
            Activation::Logits,
        ][rng.gen_range(0..4)];
        let out_bits = if act == Activation::Sign {
            1
        } else {
            rng.gen_range(1..=8)
        };
        let mult = if rng.gen_bool(0.5) {
            vec![rng.gen_range(-32767..=32767)]
        } else {
            (0..rows).map(|_| rng.gen_range(-32767..=32767)).collect()
        };
        let bias = if rng.gen_bool(0.5) {
            vec![]
        } else {
            (0..rows)
                .map(|_| rng.gen_range(-(1i64 << 40)..=(1i64 << 40)))
                .collect()
        };
        // Mostly shifts that bring |v| = |alpha acc M| near the output range
        // (so rounding and clamping both matter), sometimes any shift.
        let magnitude = f64::from(
            mult.iter()
                .map(|v: &i32| v.unsigned_abs())
                .max()
                .unwrap_or(1)
                .max(1),
        )
        .log2()
            + 14.0
            + 0.5 * (m as f64).log2()
            + f64::from(in_bits - 1);
        let shift = if rng.gen_bool(0.2) {
            rng.gen_range(0..=62)
        } else {
            (magnitude as i64 - i64::from(out_bits) + rng.gen_range(-2..=2)).clamp(0, 62) as u32
        };
        let stage = DenseStage {
            name: format!("random{seed}"),
            geom: RowGeometry { rows, m, q, p },
            conv: conv_geom,
            tile: Tile::from_bools(&(0..q).map(|_| rng.gen_bool(0.5)).collect::<Vec<_>>()),
            alpha_q: (0..p).map(|_| rng.gen_range(0..=32767)).collect(),
            mult,
            bias,
            shift,
            in_bits,
            in_signed,
            act,
            out_bits,
            out_scale: 1.0,
        };
        return Program {
            name: format!("random{seed}"),
            input: InputSpec {
                bits: in_bits,
                signed: in_signed,
                scale: 1.0,
                shape,
            },
            stages: vec![Stage::Dense(stage)],
        };
    }
}

fn random_inputs(program: &Program, seed: u64) -> Vec<Vec<i32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let (lo, hi) = value_range(program.input.bits, program.input.signed);
    let n: usize = program.input.shape.iter().product();
    (0..INPUTS)
        .map(|_| (0..n).map(|_| rng.gen_range(lo..=hi) as i32).collect())
        .collect()
}

#[test]
fn random_layers_are_bit_exact_on_the_integer_path() {
    let Some(gpu) = common::gpu_or_skip() else {
        return;
    };
    let first: u64 = std::env::var("TBN_GPU_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    eprintln!(
        "random GPU layers: seeds {first}..{} (TBN_GPU_SEED={first})",
        first + LAYERS
    );
    let (mut straddling, mut convs, mut strided) = (0, 0, 0);
    let mut seen_bits = [[false; 2]; 9];
    let mut seen_p = [false; 9];
    // Requantized outputs strictly inside the clamp range (rounding visible).
    let mut unclamped = 0usize;
    for seed in first..first + LAYERS {
        let program = random_program(seed);
        let Stage::Dense(d) = &program.stages[0] else {
            unreachable!()
        };
        straddling += usize::from(d.geom.has_straddles());
        convs += usize::from(d.conv.is_some());
        strided += usize::from(d.conv.is_some_and(|c| c.stride > 1 && c.padding > 0));
        seen_bits[d.in_bits as usize][usize::from(d.in_signed)] = true;
        seen_p[d.geom.p] = true;
        let inputs = random_inputs(&program, seed);
        // Batch of 2 for 3 inputs: exercises a padded last batch too.
        let on_gpu = GpuProgram::new(&gpu, &program, 2)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
            .run(&inputs)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let (lo, hi) = value_range(d.out_bits, d.act == Activation::Signed);
        for (i, x) in inputs.iter().enumerate() {
            let golden = program.run(x).unwrap();
            if matches!(d.act, Activation::Relu | Activation::Signed) {
                unclamped += golden.iter().filter(|&&v| v > lo && v < hi).count();
            }
            assert_eq!(
                on_gpu[i], golden,
                "seed {seed}, input {i}: GPU differs from golden ({:?}, conv {:?}, A = {} signed {}, {:?})",
                d.geom, d.conv, d.in_bits, d.in_signed, d.act
            );
        }
    }
    eprintln!(
        "{LAYERS} layers: {straddling} with straddling rows, {convs} conv ({strided} strided and padded), {unclamped} requantized outputs inside the clamp range"
    );
    assert!(unclamped >= 1000, "too few unclamped outputs: {unclamped}");
    assert!(straddling >= 40 && convs >= 40 && strided >= 10);
    assert!(seen_p[1..].iter().all(|&s| s), "every p in 1..=8");
    assert!(seen_bits[1][0] && seen_bits[2..].iter().all(|b| b[0] && b[1]));
}

#[test]
fn large_layer_keeps_only_tile_and_alphas() {
    let Some(gpu) = common::gpu_or_skip() else {
        return;
    };
    // 4096 x 4096, p = 4: the tile is 4096 * 4096 / 4 bits.
    let (rows, m, p) = (4096, 4096, 4);
    let q = rows * m / p;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let tile = Tile::from_bools(&(0..q).map(|_| rng.gen_bool(0.5)).collect::<Vec<_>>());
    let alpha_q = vec![30000, 20000, 10000, 32767];
    let program = linear_logits_program("fc4096".into(), m, p, tile, alpha_q, 3);
    let gp = GpuProgram::new(&gpu, &program, 1).unwrap();
    let mem = &gp.memory()[0];
    eprintln!(
        "4096x4096 p=4: tile {} B + alphas {} B = {} B resident vs {} B dense f32 (1/{:.3})",
        mem.tile_bytes,
        mem.alpha_bytes,
        mem.weight_bytes(),
        mem.dense_f32_bytes,
        1.0 / mem.fraction_of_dense()
    );
    assert_eq!(mem.tile_bytes, (q / 8) as u64);
    assert_eq!(mem.alpha_bytes, 16);
    // Tile alone is exactly 1/128 of the f32 weights; alphas add 16 bytes.
    assert_eq!(mem.tile_bytes * 128, mem.dense_f32_bytes);
    let x: Vec<i32> = (0..m).map(|_| rng.gen_range(0..=255)).collect();
    assert_eq!(
        gp.run(std::slice::from_ref(&x)).unwrap()[0],
        program.run(&x).unwrap()
    );
}
