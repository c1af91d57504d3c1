//! Misuse of the core, on its emitted Verilog under Icarus (Wishbone bus
//! scripts): start while busy, memory writes while busy, every capacity
//! check, unmapped addresses, soft reset in the middle of a layer, the
//! interrupt; after each error the next valid job must run bit-exactly
//! without a hardware reset.

mod common;

use rand::{Rng, SeedableRng};
use tbn_driver::regmap::{self, ErrorCode};
use tbn_hdl::testbench::{
    bad_jobs, have_tool, job_ops, reference_accumulators, run_icarus, BusOp, Job, UNMAPPED_PROBES,
};
use tbn_hdl::{core_verilog, Config};

const CFG: Config = Config {
    lanes: 8,
    tile_max: 1024,
    max_in: 256,
    max_rows: 32,
};

/// What a reported value must be.
#[derive(Clone, Debug)]
enum Check {
    Eq(u32),
    /// `value & mask == want`
    Masked(u32, u32),
    Any,
}

#[derive(Default)]
struct Script {
    ops: Vec<BusOp>,
    checks: Vec<(String, Check)>,
}

impl Script {
    fn w(&mut self, a: u32, d: u32) {
        self.ops.push(BusOp::Write(a, d));
    }
    fn r(&mut self, a: u32, c: Check, label: &str) {
        self.ops.push(BusOp::Read(a));
        self.checks.push((label.to_string(), c));
    }
    fn status(&mut self, busy: bool, done: bool, err: Option<ErrorCode>, label: &str) {
        let mut want = 0;
        if busy {
            want |= regmap::STATUS_BUSY;
        }
        if done {
            want |= regmap::STATUS_DONE;
        }
        if let Some(c) = err {
            want |= regmap::STATUS_ERROR | ((c as u32) << regmap::STATUS_ERROR_CODE_SHIFT);
        }
        self.r(regmap::STATUS, Check::Eq(want), label);
    }
    fn wait_idle(&mut self) {
        self.ops.push(BusOp::WaitIdle);
        self.checks.push(("polls".into(), Check::Any));
    }
    fn irq(&mut self, level: bool, label: &str) {
        // a write takes effect at the end of its ack cycle: irq follows one cycle later
        self.ops.push(BusOp::Idle(2));
        self.ops.push(BusOp::Irq);
        self.checks
            .push((label.to_string(), Check::Eq(level as u32)));
    }
    fn idle(&mut self, n: u32) {
        self.ops.push(BusOp::Idle(n));
    }
    /// Tile, activations and job registers of `job` (no start).
    fn load(&mut self, job: &Job) {
        let ops = job_ops(job, CFG.lanes);
        let start = ops
            .iter()
            .position(|o| *o == BusOp::Write(regmap::CTRL, regmap::CTRL_START))
            .unwrap();
        self.ops.extend_from_slice(&ops[..start]);
    }
    /// Read and check the outputs of `job`.
    fn outputs(&mut self, job: &Job, label: &str) {
        for (j, (a, b)) in reference_accumulators(job).into_iter().enumerate() {
            self.r(
                regmap::out_offset(j as u32, false),
                Check::Eq(a as u32),
                &format!("{label} row {j} dot_a"),
            );
            self.r(
                regmap::out_offset(j as u32, true),
                Check::Eq(b as u32),
                &format!("{label} row {j} dot_b"),
            );
        }
    }
    /// A whole valid job, checked.
    fn valid_job(&mut self, job: &Job, label: &str) {
        self.load(job);
        self.w(regmap::CTRL, regmap::CTRL_START);
        self.wait_idle();
        self.status(false, true, None, &format!("{label}: status after the job"));
        self.outputs(job, label);
        self.w(regmap::STATUS, regmap::STATUS_DONE);
    }
    fn run(&self) {
        let dir = tempfile::tempdir().unwrap();
        let vals = run_icarus(&core_verilog(&CFG).unwrap(), &self.ops, dir.path()).unwrap();
        assert_eq!(vals.len(), self.checks.len(), "reported values");
        for (v, (label, c)) in vals.iter().zip(&self.checks) {
            let ok = match *c {
                Check::Eq(w) => *v == w,
                Check::Masked(m, w) => v & m == w,
                Check::Any => true,
            };
            assert!(ok, "{label}: got {v:#x}, want {c:?}");
        }
    }
}

fn job(rng: &mut impl Rng, m: usize, q: usize, rows: usize, abits: usize, signed: bool) -> Job {
    Job {
        m,
        q,
        rows,
        abits,
        signed,
        tile: (0..q).map(|_| rng.gen_bool(0.5)).collect(),
        x: common::random_activations(rng, m, abits, signed),
    }
}

fn skip() -> bool {
    if have_tool("iverilog") {
        false
    } else {
        tbn_hdl::testbench::skip_missing_tool(format_args!("iverilog not found on PATH"));
        true
    }
}

#[test]
fn start_or_memory_write_while_busy() {
    if skip() {
        return;
    }
    let seed = 101;
    println!("seed = {seed}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // about 30 * 25 * 8 = 6000 cycles
    let long = job(&mut rng, 200, 1000, 30, 8, true);
    let mut s = Script::default();
    s.load(&long);
    s.w(regmap::CTRL, regmap::CTRL_START);
    s.idle(20);
    s.w(regmap::CTRL, regmap::CTRL_START);
    s.status(
        true,
        false,
        Some(ErrorCode::StartWhileBusy),
        "second start refused",
    );
    s.wait_idle();
    s.status(
        false,
        true,
        Some(ErrorCode::StartWhileBusy),
        "job done, error kept",
    );
    s.r(regmap::JOB_COUNT, Check::Eq(1), "one job");
    s.outputs(&long, "job after refused start");
    s.w(regmap::STATUS, regmap::STATUS_ERROR | regmap::STATUS_DONE);
    s.status(false, false, None, "W1C clears DONE, ERROR and the code");
    // tile and activation writes while busy are ignored
    s.w(regmap::CTRL, regmap::CTRL_START);
    s.idle(10);
    s.w(regmap::TILE_BASE, 0xFFFF_FFFF);
    s.w(regmap::TILE_BASE + 8, 0);
    s.w(regmap::act_word_offset(0, 0), 0x5555_5555);
    s.status(
        true,
        false,
        Some(ErrorCode::MemoryBusy),
        "memory write while busy",
    );
    s.wait_idle();
    s.outputs(&long, "job with ignored memory writes");
    s.r(regmap::JOB_COUNT, Check::Eq(2), "two jobs");
    s.w(regmap::STATUS, regmap::STATUS_ERROR | regmap::STATUS_DONE);
    // a different valid job runs normally
    let next = job(&mut rng, 37, 111, 3, 3, false);
    s.valid_job(&next, "next job");
    s.run();
}

#[test]
fn capacity_checks_refuse_and_recover() {
    if skip() {
        return;
    }
    let seed = 202;
    println!("seed = {seed}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let good = job(&mut rng, 40, 120, 3, 2, true);
    let mut s = Script::default();
    s.load(&good);
    let (m, q, rows) = (40u32, 120u32, 3u32);
    let ab = regmap::job_abits(2, true);
    // The invalid jobs shared with the Verilator harness (tbn_sim::misuse).
    let bad = bad_jobs(CFG.max_in as u32, CFG.tile_max as u32, CFG.max_rows as u32);
    for (k, b) in bad.iter().enumerate() {
        s.w(regmap::JOB_ABITS, regmap::job_abits(b.abits, b.signed));
        s.w(regmap::JOB_M, b.m);
        s.w(regmap::JOB_Q, b.q);
        s.w(regmap::JOB_ROWS, b.rows);
        s.w(regmap::CTRL, regmap::CTRL_START);
        s.idle(3);
        s.status(false, false, Some(b.code), &format!("case {k}: {b:?}"));
        s.r(
            regmap::JOB_COUNT,
            Check::Eq(0),
            &format!("case {k}: not started"),
        );
        // a second error keeps the first code
        s.w(regmap::CTRL, regmap::CTRL_START);
        s.status(
            false,
            false,
            Some(b.code),
            &format!("case {k}: first code kept"),
        );
        s.w(regmap::STATUS, regmap::STATUS_ERROR);
        s.status(false, false, None, &format!("case {k}: cleared"));
    }
    // the check order: A before m before q before rows
    s.w(regmap::JOB_ABITS, 0);
    s.w(regmap::JOB_M, 0);
    s.w(regmap::JOB_Q, 0);
    s.w(regmap::JOB_ROWS, 0);
    s.w(regmap::CTRL, regmap::CTRL_START);
    s.status(
        false,
        false,
        Some(ErrorCode::BadActivationBits),
        "A checked first",
    );
    s.w(regmap::STATUS, regmap::STATUS_ERROR);
    s.w(regmap::JOB_ABITS, ab);
    s.w(regmap::CTRL, regmap::CTRL_START);
    s.status(false, false, Some(ErrorCode::BadRowLength), "then m");
    s.w(regmap::STATUS, regmap::STATUS_ERROR);
    s.w(regmap::JOB_M, m);
    s.w(regmap::CTRL, regmap::CTRL_START);
    s.status(false, false, Some(ErrorCode::BadTileLength), "then q");
    s.w(regmap::STATUS, regmap::STATUS_ERROR);
    s.w(regmap::JOB_Q, q);
    s.w(regmap::CTRL, regmap::CTRL_START);
    s.status(false, false, Some(ErrorCode::BadRowCount), "then rows");
    // a valid start clears the error and runs (no hardware reset in between)
    s.w(regmap::JOB_ROWS, rows);
    s.w(regmap::CTRL, regmap::CTRL_START);
    s.wait_idle();
    s.status(false, true, None, "valid job after errors");
    s.outputs(&good, "after capacity errors");
    // boundary values are accepted: m = MAX_IN, q = TILE_MAX, rows = MAX_ROWS, A = 8
    let edge = job(&mut rng, CFG.max_in, CFG.tile_max, CFG.max_rows, 8, false);
    s.valid_job(&edge, "capacity limits");
    s.run();
}

#[test]
fn unmapped_addresses_soft_reset_and_irq() {
    if skip() {
        return;
    }
    let seed = 303;
    println!("seed = {seed}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let long = job(&mut rng, 256, 1024, 32, 8, false);
    let short = job(&mut rng, 50, 75, 3, 1, false);
    let mut s = Script::default();
    // unmapped: acknowledged, read 0, writes ignored
    for a in UNMAPPED_PROBES {
        s.w(a, 0xFFFF_FFFF);
        s.r(a, Check::Eq(0), &format!("unmapped {a:#x}"));
    }
    // write-only windows read 0; OUT beyond MAX_ROWS reads 0
    s.r(regmap::TILE_BASE, Check::Eq(0), "TILE reads 0");
    s.r(regmap::ACT_BASE, Check::Eq(0), "ACT reads 0");
    s.r(
        regmap::out_offset(CFG.max_rows as u32, false),
        Check::Eq(0),
        "OUT beyond MAX_ROWS",
    );
    s.r(
        regmap::ID_MAGIC,
        Check::Eq(regmap::MAGIC),
        "registers still fine",
    );
    // soft reset in the middle of a layer
    s.load(&long);
    s.w(regmap::CTRL, regmap::CTRL_START);
    s.idle(500);
    s.r(
        regmap::STATUS,
        Check::Masked(regmap::STATUS_BUSY, regmap::STATUS_BUSY),
        "busy before the soft reset",
    );
    s.w(regmap::CTRL, regmap::CTRL_SOFT_RESET);
    s.status(false, false, None, "soft reset: idle at once");
    s.r(
        regmap::JOB_COUNT,
        Check::Eq(0),
        "soft reset clears JOB_COUNT",
    );
    s.r(regmap::CYCLES, Check::Eq(0), "soft reset clears CYCLES");
    s.idle(40);
    s.status(false, false, None, "no late completion after the abort");
    // job parameters survive a soft reset; the memories too: the same job reruns correctly
    s.w(regmap::CTRL, regmap::CTRL_START);
    s.wait_idle();
    s.status(false, true, None, "job after soft reset");
    s.outputs(&long, "rerun after soft reset");
    s.w(regmap::STATUS, regmap::STATUS_DONE);
    // interrupt: done
    s.w(regmap::CTRL, regmap::CTRL_IRQ_ENABLE);
    s.irq(false, "irq idle");
    s.load(&short);
    s.w(regmap::CTRL, regmap::CTRL_IRQ_ENABLE | regmap::CTRL_START);
    s.irq(false, "irq while busy");
    s.wait_idle();
    s.irq(true, "irq on done");
    s.outputs(&short, "short job");
    s.w(regmap::STATUS, regmap::STATUS_DONE);
    s.irq(false, "irq cleared by W1C DONE");
    // interrupt: error
    s.w(regmap::JOB_ROWS, 0);
    s.w(regmap::CTRL, regmap::CTRL_IRQ_ENABLE | regmap::CTRL_START);
    s.irq(true, "irq on error");
    s.w(regmap::STATUS, regmap::STATUS_ERROR);
    s.irq(false, "irq cleared by W1C ERROR");
    // disabled interrupt stays low
    s.w(regmap::JOB_ROWS, short.rows as u32);
    s.w(regmap::CTRL, regmap::CTRL_START);
    s.wait_idle();
    s.irq(false, "irq disabled");
    s.status(false, true, None, "done without irq");
    s.w(regmap::CTRL, regmap::CTRL_IRQ_ENABLE);
    s.irq(true, "enabling with DONE set raises irq");
    s.w(regmap::CTRL, 0);
    s.irq(false, "disabling lowers irq");
    s.run();
}
