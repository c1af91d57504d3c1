//! The no_std driver must build for the three Cortex-M targets.
//! Skipped (with a message) when a target's standard library is not installed.

use std::process::Command;

#[test]
fn builds_for_thumb_targets() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    let installed = installed
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    let target_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/thumb-check");
    for t in [
        "thumbv7em-none-eabihf",
        "thumbv7m-none-eabi",
        "thumbv6m-none-eabi",
    ] {
        if !installed.contains(t) {
            eprintln!("SKIPPED {t}: not installed (rustup target add {t})");
            continue;
        }
        let st = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "tbn-driver", "--target", t])
            .env("CARGO_TARGET_DIR", target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build");
        assert!(st.success(), "tbn-driver does not build for {t}");
    }
}
