//! The row sequencer (`tbn_hdl::seq`): its Rust model and its emitted Verilog
//! run in lockstep under Icarus, and every cycle of the model's outputs is
//! compared with an independent model of the issue sequence
//! ([`expected_issues`], [`SeqRef`]): which (row, chunk, plane) it issues in
//! each cycle with the window start, lane counts and flags, and when it
//! signals done. Random job shapes (row lengths below, at and above L, tiles
//! shorter than L, m = q, one-issue rows, A = 1..8), random aborts, random
//! engine drain times and job inputs that change while a job runs (for
//! [`Sequencer::with_stable_job`] they hold until the job is done).

#[path = "common/lockstep.rs"]
mod lockstep;

use lockstep::{icarus_or_skip, run_lockstep};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tbn_hdl::rtlsim::Lockstep;
use tbn_hdl::seq::{Sequencer, SEQ_NARROW, SEQ_WIDE};

/// A job as the control block hands it over (already validated:
/// `1 <= m <= q <= TILE_MAX`, `D >= 1`, `1 <= A <= 8`).
#[derive(Clone, Copy, Debug)]
struct Job {
    m: usize,
    q: usize,
    rows: usize,
    abits: usize,
    signed: bool,
}

/// One issue: the engine's inputs for one (row, chunk, plane).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Issue {
    tile_bit: usize,
    act_bit: usize,
    plane: usize,
    nvalid: usize,
    segb: usize,
    neg: bool,
    xnor: bool,
    first: bool,
    last: bool,
    row: usize,
}

/// The issue sequence of `job` written from the definition (docs/hdl.md,
/// "Blocks"): row `j` starts at tile offset `o_j = j m mod q`; its chunk `k`
/// covers row positions `kL ..` and starts at tile bit `(o_j + kL) mod q`;
/// the lanes whose tile position `o_j + kL + i` is at or past `q` (wrapped)
/// form segment b; each chunk is issued once per bit-plane, planes innermost.
fn expected_issues(lanes: usize, job: &Job) -> Vec<Issue> {
    let chunks = job.m.div_ceil(lanes);
    let mut out = Vec::new();
    for j in 0..job.rows {
        let o = (j * job.m) % job.q;
        for k in 0..chunks {
            let pos = o + k * lanes;
            let segb = (job.q as i64 - pos as i64).clamp(0, lanes as i64) as usize;
            for b in 0..job.abits {
                out.push(Issue {
                    tile_bit: pos % job.q,
                    act_bit: k * lanes,
                    plane: b,
                    nvalid: (job.m - k * lanes).min(lanes),
                    segb,
                    neg: job.signed && job.abits > 1 && b + 1 == job.abits,
                    xnor: job.abits == 1,
                    first: k == 0 && b == 0,
                    last: k + 1 == chunks && b + 1 == job.abits,
                    row: j,
                });
            }
        }
    }
    out
}

/// Reference of the sequencer's handshake: issuing from the cycle after
/// `start`, one issue per cycle with no bubble; then draining until the
/// engine is idle; `done` for one cycle after that; an abort stops at once.
#[derive(Default)]
enum SeqRef {
    #[default]
    Idle,
    Issuing(Vec<Issue>, usize),
    Draining,
}

/// Outputs of one cycle: busy, done, the issue (if any).
type Cycle = (bool, bool, Option<Issue>);

impl SeqRef {
    fn outputs(&self, done: bool) -> Cycle {
        match self {
            SeqRef::Idle => (false, done, None),
            SeqRef::Issuing(v, i) => (true, done, Some(v[*i])),
            SeqRef::Draining => (true, done, None),
        }
    }

    /// Next state and done flag from this cycle's inputs.
    fn step(&mut self, start: Option<Vec<Issue>>, abort: bool, engine_active: bool) -> bool {
        let mut done = false;
        *self = match std::mem::take(self) {
            SeqRef::Issuing(v, i) if i + 1 < v.len() => SeqRef::Issuing(v, i + 1),
            SeqRef::Issuing(..) => SeqRef::Draining,
            SeqRef::Draining if !engine_active => {
                done = true;
                SeqRef::Idle
            }
            s => s,
        };
        if let Some(v) = start {
            *self = SeqRef::Issuing(v, 0);
        }
        if abort {
            *self = SeqRef::Idle;
            done = false;
        }
        done
    }
}

fn random_job(rng: &mut impl Rng, lanes: usize, tile_max: usize) -> Job {
    let m = match rng.gen_range(0..6) {
        0 => rng.gen_range(1..=lanes),
        1 => lanes * rng.gen_range(1..=4),
        _ => rng.gen_range(1..=5 * lanes),
    };
    let q = match rng.gen_range(0..5) {
        0 => m,
        1 => m * rng.gen_range(2..=4),
        2 => rng.gen_range(m..=tile_max.min(m + 3 * lanes)),
        3 => rng.gen_range(m..=tile_max),
        _ => rng.gen_range(m..=2 * m),
    };
    Job {
        m,
        q,
        rows: if rng.gen_bool(0.2) {
            1
        } else {
            rng.gen_range(2..=7)
        },
        abits: rng.gen_range(1..=8),
        signed: rng.gen_bool(0.5),
    }
}

/// Stimulus and the reference's outputs for `cycles` cycles of random jobs.
/// Inputs: abort, start, job_m, job_q, job_rows, job_abits, job_signed,
/// engine_active. The control's guarantees are kept: START only when the
/// sequencer was idle in that cycle and the one before, the job inputs
/// stable for the two cycles before START and in its cycle (the sequencer
/// precomputes job constants from them); they are random while a job runs,
/// unless `stable` (then they hold until the job is done).
fn scenario(
    rng: &mut impl Rng,
    lanes: usize,
    tile_max: usize,
    cycles: usize,
    stable_job: bool,
) -> (Vec<Vec<u128>>, Vec<Cycle>, usize) {
    let mut stim = Vec::new();
    let mut want = Vec::new();
    let mut model = SeqRef::Idle;
    let mut done = false;
    let mut was_idle = false;
    let mut job = random_job(rng, lanes, tile_max);
    let mut stable = 0usize;
    let mut jobs = 0;
    let mut drain_left = 0usize;
    let mut abort_rate = 0.0;
    while stim.len() < cycles {
        let out = model.outputs(done);
        let idle = !out.0;
        // a new job is chosen (and its registers written) in an idle cycle
        if idle && stable == 0 {
            job = random_job(rng, lanes, tile_max);
            abort_rate = if rng.gen_bool(0.2) { 0.01 } else { 0.0 };
        }
        let start = idle && was_idle && stable >= 2 && rng.gen_bool(0.7);
        let (m, q, rows, abits, signed) = if idle || start {
            stable += 1;
            (job.m, job.q, job.rows, job.abits, job.signed)
        } else if stable_job {
            // the job's inputs hold while it runs (a new job is chosen in
            // the first idle cycle)
            stable = 0;
            (job.m, job.q, job.rows, job.abits, job.signed)
        } else {
            stable = 0;
            (
                rng.gen_range(0..1 << 12),
                rng.gen_range(0..1 << 12),
                rng.gen_range(0..1 << 14),
                rng.gen_range(0..16),
                rng.gen_bool(0.5),
            )
        };
        let abort = rng.gen_bool(abort_rate) || (rng.gen_ratio(1, 4000));
        // the engine drains for a random number of cycles after the last issue
        if matches!(model, SeqRef::Issuing(..)) {
            drain_left = rng.gen_range(0..8);
        }
        let active = if matches!(model, SeqRef::Draining) {
            if drain_left > 0 {
                drain_left -= 1;
                true
            } else {
                false
            }
        } else {
            rng.gen_bool(0.5)
        };
        stim.push(vec![
            abort as u128,
            start as u128,
            m as u128,
            q as u128,
            rows as u128,
            abits as u128,
            signed as u128,
            active as u128,
        ]);
        want.push(out);
        if start {
            jobs += 1;
            stable = 0;
        }
        was_idle = idle;
        done = model.step(start.then(|| expected_issues(lanes, &job)), abort, active);
    }
    (stim, want, jobs)
}

fn check<const N: usize>(seed: u64, lanes: usize, tile_max: usize, cycles: usize)
where
    Sequencer<N>: Lockstep,
{
    check_variant::<N>(seed, lanes, tile_max, cycles, false);
    check_variant::<N>(seed + 100, lanes, tile_max, cycles, true);
}

fn check_variant<const N: usize>(
    seed: u64,
    lanes: usize,
    tile_max: usize,
    cycles: usize,
    stable_job: bool,
) where
    Sequencer<N>: Lockstep,
{
    println!(
        "seed = {seed}, L = {lanes}, TILE_MAX = {tile_max}, width {N}, stable job {stable_job}"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (stim, want, jobs) = scenario(&mut rng, lanes, tile_max, cycles, stable_job);
    // (outputs: busy, done, issue, tile_bit, act_bit, plane, nvalid, segb,
    // neg, xnor_mode, first, last, row; checked for the Verilog too, which
    // `run_lockstep` holds equal to the model in every cycle)
    let out = run_lockstep(
        || {
            if stable_job {
                Sequencer::<N>::with_stable_job(lanes, tile_max, 5 * lanes, 7)
            } else {
                Sequencer::<N>::new(lanes, tile_max)
            }
        },
        &stim,
        0,
    );
    let mut dones = 0;
    for (c, (o, w)) in out.iter().zip(&want).enumerate() {
        let got_issue = (o[2] == 1).then(|| Issue {
            tile_bit: o[3] as usize,
            act_bit: o[4] as usize,
            plane: o[5] as usize,
            nvalid: o[6] as usize,
            segb: o[7] as usize,
            neg: o[8] == 1,
            xnor: o[9] == 1,
            first: o[10] == 1,
            last: o[11] == 1,
            row: o[12] as usize,
        });
        let got = (o[0] == 1, o[1] == 1, got_issue);
        assert_eq!(
            got, *w,
            "cycle {c} (seed {seed}, L {lanes}): (busy, done, issue) differ; inputs {:?}",
            stim[c]
        );
        dones += got.1 as usize;
    }
    println!("{jobs} jobs, {dones} done, {} cycles", stim.len());
    assert!(jobs >= 20, "too few jobs: {jobs}");
}

#[test]
fn sequencer_issue_sequence_l8_narrow() {
    if icarus_or_skip() {
        check::<SEQ_NARROW>(41, 8, 1024, 8000);
    }
}

#[test]
fn sequencer_issue_sequence_l32_wide() {
    if icarus_or_skip() {
        check::<SEQ_WIDE>(42, 32, 1 << 16, 8000);
    }
}

#[test]
fn sequencer_issue_sequence_l128_narrow() {
    if icarus_or_skip() {
        check::<SEQ_NARROW>(43, 128, 1 << 15, 8000);
    }
}
