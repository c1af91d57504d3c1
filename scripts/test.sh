#!/usr/bin/env bash
# The whole test suite: set-up, formatting, lints, Rust tests (golden, RTL in
# Verilator, driver, MCU firmware in QEMU, training), and the Python tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
export CARGO_TERM_COLOR=never

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (workspace, all targets)"
cargo clippy --workspace --all-targets --release -- -D warnings

# (The no_std driver's builds for the three thumb targets are a cargo test:
# firmware-driver/tests/thumb_targets.rs.)

step "cargo test (workspace)"
mkdir -p target
cargo test --workspace --release --no-fail-fast 2>&1 | tee target/cargo-test.log
grep -E "^test result: " target/cargo-test.log | awk '{p+=$4; f+=$6; s+=$8} END {printf "cargo: %d passed, %d failed, %d skipped\n", p, f, s}'

if [ -d python/tests ]; then
    step "pytest"
    .venv/bin/python -m pytest -q python/tests
fi
