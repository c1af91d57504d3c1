//! Bit-exact end-to-end runs of the emitted core Verilog (Icarus) against
//! the golden model's accumulators, plus misuse handling and the cycle bound.

mod common;

use common::random_job;
use rand::SeedableRng;
use tbn_driver::regmap;
use tbn_hdl::testbench::{have_tool, job_ops, run_icarus};
use tbn_hdl::{core_verilog, Config};

fn small_config(lanes: usize) -> Config {
    Config {
        lanes,
        tile_max: 2048,
        max_in: 512,
        max_rows: 64,
    }
}

fn run_random(lanes: usize, jobs: usize, seed: u64) {
    if !have_tool("iverilog") {
        tbn_hdl::testbench::skip_missing_tool(format_args!("iverilog not found on PATH"));
        return;
    }
    println!("seed = {seed}, lanes = {lanes}");
    let cfg = small_config(lanes);
    let verilog = core_verilog(&cfg).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut ops = Vec::new();
    let mut expect = Vec::new();
    for _ in 0..jobs {
        let (job, acc) = random_job(&mut rng, &cfg, 200, 40);
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
