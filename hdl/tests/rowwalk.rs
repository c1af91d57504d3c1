//! The requantization row walker (`tbn_hdl::rowwalk`): its rust-hdl model
//! against its Verilog under Icarus cycle by cycle, and the rows it emits
//! (distinct row, alpha address of the copy; as many as the rows) against
//! `tbn_golden::layout::RowGeometry` on random valid geometries (straddling
//! rows, `P < rows`, `P >= rows`, one row) and alpha bases, with aborts
//! mid-walk.

mod common;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_golden::layout::RowGeometry;
use tbn_hdl::rowwalk::RowWalker;
use tbn_hdl::rtlsim::{block_verilog, lockstep, run_model, Lockstep};
use tbn_hdl::testbench::have_tool;

fn seed() -> u64 {
    std::env::var("TBN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0014)
}

fn geometry(rng: &mut impl Rng, tile_max: usize) -> RowGeometry {
    loop {
        let rows = if rng.gen_bool(0.1) {
            1
        } else {
            rng.gen_range(1..=300)
        };
        let m = rng.gen_range(1..=1000);
        let n = rows * m;
        let p = rng.gen_range(1..=8.min(rows));
        if n % p == 0 && n / p >= m && n / p <= tile_max {
            return RowGeometry {
                rows,
                m,
                q: n / p,
                p,
            };
        }
    }
}

/// Runs walks of `geoms` (aborting those flagged) and checks every row.
fn run<B: Lockstep>(mk: impl Fn() -> B, geoms: &[(RowGeometry, Option<usize>)], seed: u64) {
    let mut stim: Vec<Vec<u128>> = Vec::new();
    let mut starts = Vec::new();
    let mut bases = Vec::new();
    for (k, (g, abort_at)) in geoms.iter().enumerate() {
        // ALPHA_BASE: a few values, one near the address wrap
        let base = [0usize, 3, 1000, 65530][k % 4];
        bases.push(base);
        let d = vec![
            0,
            0,
            g.m as u128,
            (g.q - g.m) as u128,
            g.rows as u128,
            g.period() as u128,
            base as u128,
        ];
        starts.push(stim.len());
        let mut s = d.clone();
        s[0] = 1;
        stim.push(s);
        let n = abort_at.unwrap_or(g.rows) + 4;
        for k in 0..n {
            let mut s = d.clone();
            if Some(k) == *abort_at {
                s[1] = 1;
            }
            stim.push(s);
        }
    }
    let out = if have_tool("iverilog") {
        let mut b = mk();
        let v = block_verilog(&mut b);
        let mut b = mk();
        b.connect_all();
        let dir = tempfile::tempdir().unwrap();
        lockstep(&mut b, &v, "top", &stim, 0, dir.path()).unwrap_or_else(|e| panic!("{e}"))
    } else {
        tbn_hdl::testbench::skip_missing_tool("iverilog not found on PATH (the Verilog part)");
        let mut b = mk();
        b.connect_all();
        run_model(&mut b, &stim).unwrap()
    };
    // outputs: valid, distinct, alpha, busy
    for (k, (g, abort_at)) in geoms.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(stim.len());
        let first = starts[k] + 2;
        let rows: Vec<&Vec<u128>> = out[starts[k]..end].iter().filter(|o| o[0] == 1).collect();
        let expect_n = match abort_at {
            // an abort in cycle a + 1 after START (the rows start in cycle 2)
            // drops the rows from cycle a + 2 on
            Some(a) => (*a).min(g.rows),
            None => g.rows,
        };
        assert_eq!(rows.len(), expect_n, "seed {seed}: {g:?} rows emitted");
        // one row per cycle from the second cycle after the start
        for (t, o) in out.iter().enumerate().take(end).skip(starts[k]) {
            assert_eq!(
                o[0] == 1,
                t >= first && t < first + expect_n,
                "seed {seed}: {g:?} rows in cycles {first}.. only"
            );
        }
        for (r, o) in rows.iter().enumerate() {
            let s = g.segment(r);
            assert_eq!(
                o[1] as usize,
                g.distinct_of(r),
                "seed {seed}: {g:?} row {r} distinct"
            );
            assert_eq!(
                o[2] as usize,
                (bases[k] + s.copy) % 65536,
                "seed {seed}: {g:?} row {r} alpha address of copy {}",
                s.copy
            );
        }
        assert_eq!(out[end - 1][3], 0, "seed {seed}: idle after the walk");
        assert!(
            out[starts[k]..end]
                .iter()
                .skip(2)
                .all(|o| (o[3] == 1) == (o[0] == 1)),
            "seed {seed}: busy while walking"
        );
    }
}

#[test]
fn walker_matches_row_geometry() {
    let seed = seed();
    println!("seed {seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut geoms: Vec<(RowGeometry, Option<usize>)> = vec![
        // the reference MLP's layers
        (
            RowGeometry {
                rows: 128,
                m: 784,
                q: 25088,
                p: 4,
            },
            None,
        ),
        (
            RowGeometry {
                rows: 10,
                m: 128,
                q: 1280,
                p: 1,
            },
            None,
        ),
        // straddling rows (numerics section 2 example)
        (
            RowGeometry {
                rows: 5,
                m: 6,
                q: 10,
                p: 3,
            },
            None,
        ),
    ];
    for _ in 0..40 {
        let g = geometry(&mut rng, 32768);
        let abort = rng.gen_bool(0.15).then(|| rng.gen_range(0..g.rows + 1));
        geoms.push((g, abort));
    }
    assert!(geoms.iter().any(|(g, _)| g.has_straddles()));
    run(RowWalker::<18>::default, &geoms, seed);
    // wide offsets: long tiles
    let mut wide = Vec::new();
    for _ in 0..10 {
        wide.push((geometry(&mut rng, 1 << 20), None));
    }
    run(RowWalker::<24>::default, &wide, seed);
}

#[test]
fn verilator_lint_clean() {
    common::assert_lint_clean(&mut RowWalker::<18>::default());
}
