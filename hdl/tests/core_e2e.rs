//! Bit-exact end-to-end runs of the emitted core Verilog (Icarus) against
//! the golden model's accumulators, plus misuse handling and the cycle bound.

use rand::{Rng, SeedableRng};
use tbn_driver::regmap;
use tbn_golden::integer::{Activation, DenseStage};
use tbn_golden::layout::RowGeometry;
use tbn_golden::tile::Tile;
use tbn_hdl::testbench::{have_tool, job_ops, reference_accumulators, run_icarus, Job};
use tbn_hdl::{core_verilog, Config};

fn small_config(lanes: usize) -> Config {
    Config {
        lanes,
        tile_max: 2048,
        max_in: 512,
        max_rows: 64,
    }
}

/// A random valid layer (rows * m = p * q, q >= m) and its golden accumulators.
fn random_job(rng: &mut impl Rng, cfg: &Config) -> (Job, Vec<(i32, i32)>) {
    loop {
        let m = rng.gen_range(1..=200usize);
        let rows = rng.gen_range(1..=40usize);
        let n = rows * m;
        let divisors: Vec<usize> = (1..=rows).filter(|p| n % p == 0).collect();
        let p = divisors[rng.gen_range(0..divisors.len())];
        let q = n / p;
        if q > cfg.tile_max || q < m {
            continue;
        }
        let geom = RowGeometry { rows, m, q, p };
        let abits = rng.gen_range(1..=8usize);
        let signed = abits > 1 && rng.gen_bool(0.5);
        let tile: Vec<bool> = (0..q).map(|_| rng.gen_bool(0.5)).collect();
        let x: Vec<i32> = (0..m)
            .map(|_| {
                if abits == 1 {
                    rng.gen_range(0..2)
                } else if signed {
                    rng.gen_range(-(1 << (abits - 1))..(1 << (abits - 1)))
                } else {
                    rng.gen_range(0..(1 << abits))
                }
            })
            .collect();
        let stage = DenseStage {
            name: "t".into(),
            geom,
            conv: None,
            tile: Tile::from_bools(&tile),
            alpha_q: vec![1; p],
            mult: vec![1],
            bias: vec![],
            shift: 0,
            in_bits: abits as u8,
            in_signed: signed,
            act: Activation::Logits,
            out_bits: 32,
            out_scale: 1.0,
        };
        let expected = stage.accumulators(&x);
        let job = Job {
            m,
            q,
            rows: geom.distinct_rows(),
            abits,
            signed,
            tile,
            x,
        };
        assert_eq!(
            expected,
            reference_accumulators(&job),
            "golden vs reference"
        );
        return (job, expected);
    }
}

fn run_random(lanes: usize, jobs: usize, seed: u64) {
    if !have_tool("iverilog") {
        eprintln!("SKIP: iverilog not found on PATH");
        return;
    }
    println!("seed = {seed}, lanes = {lanes}");
    let cfg = small_config(lanes);
    let verilog = core_verilog(&cfg).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut ops = Vec::new();
    let mut expect = Vec::new();
    for _ in 0..jobs {
        let (job, acc) = random_job(&mut rng, &cfg);
        ops.extend(job_ops(&job, lanes));
        expect.push((job, acc));
    }
    let dir = tempfile::tempdir().unwrap();
    let vals = run_icarus(&verilog, &ops, dir.path()).unwrap();
    let mut at = 0;
    for (job, acc) in &expect {
        let status = vals[at + 1];
        let cycles = vals[at + 2];
        at += 3;
        assert_eq!(
            status & regmap::STATUS_DONE,
            regmap::STATUS_DONE,
            "job {job:?}"
        );
        assert_eq!(status & regmap::STATUS_ERROR, 0, "status {status:#x}");
        let issue = (job.rows * job.m.div_ceil(lanes) * job.abits) as f64;
        let bound = 1.10 * issue + 64.0;
        assert!(
            (cycles as f64) <= bound,
            "cycles {cycles} > bound {bound} (m {} q {} D {} A {})",
            job.m,
            job.q,
            job.rows,
            job.abits
        );
        for (j, &(a, b)) in acc.iter().enumerate() {
            let (ga, gb) = (vals[at] as i32, vals[at + 1] as i32);
            at += 2;
            assert_eq!(
                (ga, gb),
                (a, b),
                "row {j} of m {} q {} D {} A {} signed {} (seed {seed})",
                job.m,
                job.q,
                job.rows,
                job.abits,
                job.signed
            );
        }
        println!(
            "ok: m {} q {} D {} A {} signed {}: {} cycles (issue cycles {})",
            job.m, job.q, job.rows, job.abits, job.signed, cycles, issue
        );
    }
}

#[test]
fn random_layers_l8() {
    run_random(8, 6, 8);
}

#[test]
fn random_layers_l32() {
    run_random(32, 8, 32);
}
