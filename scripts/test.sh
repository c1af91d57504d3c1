#!/usr/bin/env bash
# The whole test suite: set-up, formatting, lints, Rust tests (golden, RTL in
# Verilator, driver, MCU firmware in QEMU, training), and the Python tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
export CARGO_TERM_COLOR=never
# A test that needs a missing tool fails here (it prints SKIP and passes
# elsewhere); TBN_REQUIRE_TOOLS=0 scripts/test.sh lets such tests skip, and
# the summary counts them from the skip log.
export TBN_REQUIRE_TOOLS=${TBN_REQUIRE_TOOLS:-1}
mkdir -p target
export TBN_SKIP_LOG="$PWD/target/skips.log"
rm -f "$TBN_SKIP_LOG"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "rust-version (inherited by every crate, not above the toolchain)"
bash scripts/check-rust-version.sh

step "cargo clippy (workspace, all targets)"
cargo clippy --workspace --all-targets --release -- -D warnings

# (The no_std driver's builds for the three thumb targets are a cargo test:
# firmware-driver/tests/thumb_targets.rs.)

step "cargo test (workspace)"
mkdir -p target
failed=0
cargo test --workspace --release --no-fail-fast 2>&1 | tee target/cargo-test.log || failed=1
skipped=0
[ -f "$TBN_SKIP_LOG" ] && skipped=$(wc -l < "$TBN_SKIP_LOG")
grep -E "^test result: " target/cargo-test.log | awk -v k="$skipped" \
    '{p+=$4; f+=$6; i+=$8} END {printf "cargo: %d passed, %d failed, %d ignored, %d skipped (tool missing)\n", p-k, f, i, k}'
if [ "$skipped" -gt 0 ]; then cat "$TBN_SKIP_LOG"; fi

step "fuzz smoke (corpora and regressions replayed, then 15 s per target)"
bash scripts/fuzz.sh --smoke 15 || failed=1

if [ -d python/tests ]; then
    step "pytest"
    .venv/bin/python -m pytest -q -rs python/tests || failed=1
fi
exit $failed
