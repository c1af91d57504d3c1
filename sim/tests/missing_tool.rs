//! A missing Verilator is reported with installation advice (own test binary:
//! it changes the process environment).

use std::path::PathBuf;

#[test]
fn missing_verilator_says_how_to_install_it() {
    std::env::set_var("TBN_VERILATOR", "/nonexistent/verilator-for-tbn-test");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("verilog/counter_regs.v");
    let err = tbn_sim::build_model(&[src], &tbn_sim::BuildOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, tbn_sim::SimError::ToolMissing { .. }),
        "{msg}"
    );
    assert!(msg.contains("verilator"), "{msg}");
    assert!(msg.contains("apt-get install verilator"), "{msg}");
    std::env::set_var("TBN_VERILATOR", "verilator");
    std::env::set_var("TBN_CXX", "/nonexistent/gxx");
    let err = tbn_sim::build_model(
        &[PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("verilog/counter_regs.v")],
        &tbn_sim::BuildOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("apt-get install g++"), "{err}");
}
