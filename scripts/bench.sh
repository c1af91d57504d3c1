#!/usr/bin/env bash
# Runs the golden-model kernel benchmarks (criterion, single-threaded) and
# writes the ratios measured in that one run to target/bench-report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p tbn-golden --bench kernels -- --noplot
python3 - <<'PY'
import json, pathlib
root = pathlib.Path("target/criterion")
def mean_ns(rel):
    est = json.loads((root / rel / "new" / "estimates.json").read_text())
    return est["mean"]["point_estimate"]
g = "linear_4096x4096_p4_batch16"
f32 = mean_ns(f"{g}/f32_matrixmultiply/sgemm")
a1 = mean_ns(f"{g}/tbn_int/A1")
a8 = mean_ns(f"{g}/tbn_int/A8")
mn = mean_ns("mnist_reference/integer_1000_images")
report = {
    "linear_4096x4096_p4_batch16_ms": {"f32_matrixmultiply": f32 / 1e6, "tbn_A1": a1 / 1e6, "tbn_A8": a8 / 1e6},
    "speedup_vs_f32": {"A1": f32 / a1, "A8": f32 / a8},
    "mnist_integer_images_per_second": 1000 / (mn / 1e9),
}
pathlib.Path("target/bench-report.json").write_text(json.dumps(report, indent=2))
print(json.dumps(report, indent=2))
PY
