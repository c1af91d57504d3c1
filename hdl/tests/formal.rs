//! Formal properties of the Wishbone slave and the control block (issue 17,
//! item 3): yosys-smtbmc with z3 on the emitted control and sequencer of the
//! recommended UP5K core (`Config::up5k()`). Every property group is proved
//! for a bounded depth of 24 cycles from reset; the Wishbone and window
//! groups also by k-induction (k = 8; with the bounded proof, for every
//! reachable state). Mutants
//! with the bugs (a) and (c) put back must fail. The whole-network
//! engine's top (`tbn_net_core`, its engine a stub with free outputs): its
//! Wishbone rules and its command / window decode, bounded and by induction,
//! with two mutants. Properties: hdl/formal/ctrl_props.v,
//! hdl/formal/nettop_props.vh, hdl/formal/wb_props.vh; runner:
//! `tbn_hdl::formal`.

use tbn_hdl::formal::{
    check, check_design, design_verilog, net_design_verilog, Group, Mode, Outcome,
};
use tbn_hdl::testbench::{have_tool, skip_missing_tool};
use tbn_hdl::Config;

/// Depth of the bounded proofs (cycles from reset).
const BMC_DEPTH: usize = 24;

/// The tools are present; a missing one fails under CI / TBN_REQUIRE_TOOLS
/// and prints SKIP elsewhere.
fn tools() -> bool {
    let missing: Vec<&str> = ["yosys", "yosys-smtbmc", "z3"]
        .into_iter()
        .filter(|t| !have_tool(t))
        .collect();
    if missing.is_empty() {
        return true;
    }
    skip_missing_tool(format!(
        "{missing:?} not found on PATH (apt-get install yosys z3; scripts/setup.sh)"
    ));
    false
}

fn run(group: Group, mode: Mode, depth: usize) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let out = check(&Config::up5k(), group, mode, depth, dir.path())
        .unwrap_or_else(|e| panic!("{group:?} {mode:?}: {e}"));
    println!(
        "{group:?} {mode:?} depth {depth}: {} in {:.1} s",
        if out.passed { "PROVED" } else { "FAILED" },
        out.seconds
    );
    if !out.passed {
        // keep the counterexample for inspection
        let keep = dir.keep();
        panic!(
            "{group:?} {mode:?} depth {depth} failed (files in {}):\n{}",
            keep.display(),
            out.log_tail
        );
    }
    out
}

/// k of the induction proofs.
const K: usize = 8;

/// Bounded proof from reset, and k-induction where it closes.
fn prove(group: Group, induction: bool) {
    if tools() {
        run(group, Mode::Bounded, BMC_DEPTH);
        if induction {
            run(group, Mode::Induction, K);
        }
    }
}

#[test]
fn wishbone_rules() {
    prove(Group::Wishbone, true);
}

/// (k-induction does not close for this group up to k = 24: it would need
/// invariants of the control's internal state; bounded proof only)
#[test]
fn status_invariants() {
    prove(Group::Status, false);
}

#[test]
fn decoded_windows() {
    prove(Group::Windows, true);
}

/// (k-induction does not close up to k = 24; bounded proof only)
#[test]
fn sequencer_handshake() {
    prove(Group::Sequencer, false);
}

/// The design with `from` replaced by `to` (which must occur).
fn mutant(from: &str, to: &str) -> String {
    let d = design_verilog(&Config::up5k()).unwrap();
    assert!(d.contains(from), "mutation site {from:?} not found");
    d.replace(from, to)
}

fn must_fail(design: &str, group: Group, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = check_design(design, group, Mode::Bounded, BMC_DEPTH, dir.path()).unwrap();
    println!(
        "mutant {what}: {} in {:.1} s",
        if out.passed { "not caught" } else { "caught" },
        out.seconds
    );
    assert!(!out.passed, "the {group:?} properties miss {what}");
}

/// Bug (c) put back (the read ack not cancelled by an abandoned cycle, the
/// ack output not gated by the live cycle): the bus rules fail.
#[test]
fn mutant_stale_ack_is_caught() {
    if tools() {
        let d = mutant("(read_wait$q & wb_stb & wb_cyc)", "read_wait$q");
        let d = d.replace("wb_ack = ack$q & wb_stb & wb_cyc;", "wb_ack = ack$q;");
        must_fail(
            &d,
            Group::Wishbone,
            "bug (c), stale ack after an abandoned read",
        );
    }
}

/// Bug (a) put back (DONE only from the registered flag): the STATUS
/// invariant fails.
#[test]
fn mutant_status_gap_is_caught() {
    if tools() {
        let d = mutant("(done_flag$q | seq_done)", "done_flag$q");
        must_fail(&d, Group::Status, "bug (a), STATUS neither BUSY nor DONE");
    }
}

/// The engine top's Wishbone slave keeps the bus rules whatever the engine
/// answers (bounded and k-induction).
#[test]
fn engine_top_wishbone_rules() {
    prove(Group::NetWishbone, true);
}

/// The engine top hands the engine exactly the commands and window writes
/// the register map defines (bounded and k-induction).
#[test]
fn engine_top_command_decode() {
    prove(Group::NetCommands, true);
}

fn net_mutant(from: &str, to: &str) -> String {
    let d = net_design_verilog(&Config::up5k()).unwrap();
    assert!(d.contains(from), "mutation site {from:?} not found");
    d.replace(from, to)
}

/// The engine top with its ack not gated by the live cycle: the bus rules fail.
#[test]
fn engine_top_mutant_stale_ack_is_caught() {
    if tools() {
        let d = net_mutant("wb_ack = ack_q$q & wb_stb & wb_cyc;", "wb_ack = ack_q$q;");
        must_fail(&d, Group::NetWishbone, "an ack outside the live cycle");
    }
}

/// The engine top passing INFER on together with SOFT_RESET: the decode fails.
#[test]
fn engine_top_mutant_infer_with_reset_is_caught() {
    if tools() {
        let d = net_mutant(
            "net$h_infer = wr_ctrl$q & ~request$data[32'h1] & request$data[32'h4];",
            "net$h_infer = wr_ctrl$q & request$data[32'h4];",
        );
        must_fail(&d, Group::NetCommands, "INFER acting with SOFT_RESET");
    }
}
