//! The start checks (`tbn_hdl::startcheck`) in lockstep with their emitted
//! Verilog, every cycle against a reference written from the register map's
//! error codes: busy first, then A, m, q, D; the capacity verdict is that of
//! the job registers one cycle earlier (registered), busy that of the cycle.

#[path = "common/lockstep.rs"]
mod lockstep;

use lockstep::{icarus_or_skip, run_lockstep};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_hdl::control::IdValues;
use tbn_hdl::startcheck::StartCheck;

/// The error code of a START with these job registers (0: accepted).
fn verdict(id: &IdValues, m: u32, q: u32, rows: u32, abits: u32, busy: bool) -> u32 {
    if busy {
        1
    } else if abits == 0 || abits > id.max_abits {
        2
    } else if m == 0 || m > id.max_in {
        3
    } else if q < m || q > id.tile_max {
        4
    } else if rows == 0 || rows > id.max_rows {
        5
    } else {
        0
    }
}

/// A value near the interesting boundaries of `cap` (and of `other`).
fn near(rng: &mut impl Rng, cap: u32, other: u32) -> u32 {
    match rng.gen_range(0..10) {
        0 => 0,
        1 => 1,
        2 => cap,
        3 => cap - 1,
        4 => cap + 1,
        5 => other.wrapping_add(rng.gen_range(0..3)).wrapping_sub(1),
        6 => rng.gen(),
        7 => 1 << rng.gen_range(0..32),
        _ => rng.gen_range(1..=cap),
    }
}

fn check(id: IdValues, seed: u64) {
    println!("seed = {seed}, {id:?}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // inputs: job_m, job_q, job_rows, job_abits, seq_busy
    let mut stim: Vec<Vec<u128>> = Vec::new();
    for _ in 0..3000 {
        let m = near(&mut rng, id.max_in, 0);
        let q = near(&mut rng, id.tile_max, m);
        let rows = near(&mut rng, id.max_rows, 0);
        let abits = rng.gen_range(0..16u32);
        let busy = rng.gen_bool(0.2);
        // the registers hold their value for a few cycles, as between bus writes
        for _ in 0..rng.gen_range(1..=3) {
            stim.push(vec![
                m as u128,
                q as u128,
                rows as u128,
                abits as u128,
                busy as u128,
            ]);
        }
    }
    let out = run_lockstep(|| StartCheck::new(&id), &stim, 1);
    let mut codes = [0usize; 6];
    for c in 1..stim.len() {
        let (p, s) = (&stim[c - 1], &stim[c]);
        let want = verdict(
            &id,
            p[0] as u32,
            p[1] as u32,
            p[2] as u32,
            p[3] as u32,
            s[4] == 1,
        );
        assert_eq!(
            (out[c][0], out[c][1]),
            ((want != 0) as u128, want as u128),
            "cycle {c}: registers {p:?}, busy {}",
            s[4]
        );
        codes[want as usize] += 1;
    }
    println!("verdicts by code 0..5: {codes:?}");
    assert!(
        codes.iter().all(|&n| n > 50),
        "every code exercised: {codes:?}"
    );
}

#[test]
fn start_checks_against_the_error_codes() {
    if !icarus_or_skip() {
        return;
    }
    check(
        IdValues {
            lanes: 8,
            tile_max: 1024,
            max_in: 256,
            max_rows: 32,
            max_abits: 8,
        },
        51,
    );
    // the recommended UP5K capacities
    check(
        IdValues {
            lanes: 32,
            tile_max: 32768,
            max_in: 1024,
            max_rows: 256,
            max_abits: 8,
        },
        52,
    );
}
