#!/usr/bin/env bash
# The GPU benchmark (docs/gpu.md): images per second of the TBN float and
# integer kernels against a dense f32 kernel on the same adapter, and the
# weight bytes resident on the GPU. Runs on whatever adapter wgpu picks (a
# real GPU when there is one; Mesa's lavapipe on the CPU otherwise).
# Choose one with WGPU_ADAPTER_NAME=<part of its name> or WGPU_BACKEND=vulkan|metal|dx12.
# Extra arguments go to `tbn gpu bench` (e.g. --images 10000 --batch 1024 --json).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
cargo build --release --quiet --bin tbn
for model in data/reference/tbn_mnist_mlp_p4.json data/models/cnn_16c3_p2_32c3_p2_fc128_10_p4.json; do
    echo "== $model"
    # The square layer once, with the first model.
    extra=()
    [ "$model" != data/reference/tbn_mnist_mlp_p4.json ] && extra=(--layer 0)
    target/release/tbn gpu bench --model "$model" "${extra[@]}" "$@"
done
