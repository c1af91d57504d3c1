#!/usr/bin/env bash
# The main job: set-up, build, then `tbn demo` on built-in defaults (the
# bundled reference model and MNIST test images).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo build --release --bin tbn
exec ./target/release/tbn demo "$@"
