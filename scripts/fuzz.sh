#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser and loader (cargo-fuzz, libFuzzer,
# nightly toolchain; the fuzz crate lives in fuzz/, outside the workspace).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   fuzz each target for SECONDS (default 60),
#                                           new inputs go into fuzz/corpus/TARGET
#   scripts/fuzz.sh --smoke [SECONDS]       CI: replay the committed corpus and
#                                           regressions, then SECONDS (default 15)
#                                           of fresh fuzzing per target; writes nothing
#
# Targets: model (project JSON, binary, authors' JSON), program (program JSON,
# compact MCU program), idx (plain, gzip, multi-member gzip), tensors (npy,
# npz, safetensors). A crash, OOM (> 2 GB) or slow input (> 10 s) fails the run;
# libFuzzer writes it to fuzz/artifacts/TARGET/. Fix it and copy it into
# fuzz/regressions/TARGET/ so every later run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

ALL=(model program idx tensors)
smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; shift; fi
secs=${1:-$([ $smoke = 1 ] && echo 15 || echo 60)}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${ALL[@]}")

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "scripts/fuzz.sh: needs the nightly toolchain and cargo-fuzz (bash scripts/setup.sh installs both)" >&2
    exit 1
fi

cd fuzz
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "regressions/$t" "artifacts/$t"
    if [ $smoke = 1 ]; then
        work=$(mktemp -d)
        dirs=("$work" "corpus/$t" "regressions/$t")
    else
        dirs=("corpus/$t" "regressions/$t")
    fi
    echo "== fuzz $t: ${secs}s"
    if ! cargo +nightly fuzz run --release "$t" "${dirs[@]}" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
        -max_len=65536 -print_final_stats=1 2>&1 | tail -n 25; then
        status=1
    fi
    [ $smoke = 1 ] && rm -rf "$work"
done
exit $status
