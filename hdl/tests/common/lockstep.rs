//! Running one block's Rust model and its emitted Verilog in lockstep
//! (`tbn_hdl::rtlsim::lockstep`), shared by the per-block test files.

// each test file uses a part of this module
#![allow(dead_code)]

use tbn_hdl::rtlsim::{block_verilog, lockstep, Lockstep};
use tbn_hdl::testbench::have_tool;

/// Icarus is installed (else SKIP, or a failure under TBN_REQUIRE_TOOLS).
pub fn icarus_or_skip() -> bool {
    if have_tool("iverilog") {
        true
    } else {
        tbn_hdl::testbench::skip_missing_tool(format_args!("iverilog not found on PATH"));
        false
    }
}

/// The outputs of the block built by `mk` for each cycle of `stim`, after
/// checking that its Rust model and its Verilog agree in every cycle from
/// cycle `skip` on.
pub fn run_lockstep<B: Lockstep>(
    mk: impl Fn() -> B,
    stim: &[Vec<u128>],
    skip: usize,
) -> Vec<Vec<u128>> {
    let mut b = mk();
    let v = block_verilog(&mut b);
    let mut b = mk();
    b.connect_all();
    let dir = tempfile::tempdir().unwrap();
    lockstep(&mut b, &v, "top", stim, skip, dir.path()).unwrap_or_else(|e| panic!("{e}"))
}

/// The low `w` bits of `v`.
pub fn bits(v: u128, w: usize) -> u128 {
    if w >= 128 {
        v
    } else {
        v & ((1u128 << w) - 1)
    }
}
