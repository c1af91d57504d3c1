"""Layer-level checks: random layers on the RTL against the golden model and an
independent NumPy reference; golden functions with NumPy in and out."""

import math

import numpy as np
import pytest

import tbnsim
from conftest import seed_from_env


def numpy_accumulators(layer, x, abits):
    """docs/numerics.md sections 2-3 with NumPy (independent of the Rust code)."""
    m, q, rows = layer.m, layer.q, layer.rows
    d = min(rows, q // math.gcd(m, q))
    t = np.where(layer.tile, 1, -1).astype(np.int64)
    xv = np.asarray(x, dtype=np.int64)
    if abits == 1:
        xv = 2 * xv - 1
    out = np.zeros((d, 2), dtype=np.int64)
    for j in range(d):
        o = (j * m) % q
        la = min(m, q - o)
        out[j, 0] = t[o:o + la] @ xv[:la]
        out[j, 1] = t[: m - la] @ xv[la:]
    return out


def random_case(rng, lanes=32):
    """A random valid layer within the 32-lane core's defaults, straddles included."""
    while True:
        m = int(rng.integers(1, 6 * lanes))
        rows = int(rng.integers(1, 40))
        divisors = [p for p in range(1, rows + 1) if (rows * m) % p == 0]
        p = int(rng.choice(divisors))
        q = rows * m // p
        if q >= m and q <= 32768:
            break
    abits = int(rng.choice([1, 2, 3, 4, 8]))
    signed = bool(abits > 1 and rng.random() < 0.4)
    w = rng.standard_normal((rows, m)).astype(np.float32)
    layer = tbnsim.compress(w, p)
    if abits == 1:
        x = rng.integers(0, 2, m)
    elif signed:
        x = rng.integers(-(1 << (abits - 1)), 1 << (abits - 1), m)
    else:
        x = rng.integers(0, 1 << abits, m)
    return layer, x, abits, signed


def test_random_layers_match_golden_and_numpy(accelerator):
    seed = seed_from_env(20240611)
    print(f"seed = {seed} (TBNSIM_SEED to reproduce)")
    rng = np.random.default_rng(seed)
    straddles = 0
    for i in range(40):
        layer, x, abits, signed = random_case(rng)
        desc = f"seed {seed} case {i}: {layer} A={abits} signed={signed}"
        res = accelerator.run_layer(layer, x, abits, signed)
        gold = layer.accumulators(x, abits, signed)
        ref = numpy_accumulators(layer, x, abits)
        assert np.array_equal(gold, ref), f"{desc}: golden != numpy"
        assert np.array_equal(res.acc, gold), f"{desc}: RTL != golden"
        assert np.array_equal(res.outputs, layer.outputs(x, abits, signed)), desc
        straddles += layer.stage(abits, signed).has_straddles
        assert res.cycles >= layer.stage(abits, signed).distinct_rows
    assert straddles > 0, "no straddling layer was generated"


def test_compress_follows_the_paper_rule():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((8, 12)).astype(np.float32)
    layer = tbnsim.compress(w, p=4)
    q = 8 * 12 // 4
    s = w.ravel().reshape(4, q).sum(axis=0)
    assert np.array_equal(layer.tile, s > 0)
    assert np.allclose(layer.alphas, np.abs(w.ravel().reshape(4, q)).mean(axis=1))
    dense = layer.dense()
    k = np.arange(w.size)
    assert np.allclose(dense.ravel(), layer.alphas[k // q] * np.where(layer.tile[k % q], 1, -1))
    single = tbnsim.compress(w, p=4, alpha_mode="single")
    assert single.alphas.shape == (1,) and np.isclose(single.alphas[0], np.abs(w).mean())
    with pytest.raises(tbnsim.GoldenError, match="does not divide"):
        tbnsim.compress(w, p=5)
    with pytest.raises(ValueError, match="alpha mode"):
        tbnsim.compress(w, p=4, alpha_mode="median")


def test_float_forward_matches_numpy():
    rng = np.random.default_rng(11)
    w = rng.standard_normal((16, 48)).astype(np.float32)
    layer = tbnsim.compress(w, p=2)
    x = rng.standard_normal(48).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    want = layer.dense() @ x + b
    np.testing.assert_allclose(layer.forward(x, bias=b), want, rtol=1e-5, atol=1e-5)


def test_tile_word_packing_round_trips():
    rng = np.random.default_rng(3)
    bits = rng.random(77) < 0.5
    words = tbnsim.tile_words(bits)
    assert len(words) == 3
    assert all(((words[j // 32] >> (j % 32)) & 1) == bits[j] for j in range(77))
    assert np.array_equal(tbnsim.tile_bits(words, 77), bits)


def test_reuse_loaded_stage_with_new_activations(accelerator):
    rng = np.random.default_rng(seed_from_env(99))
    layer = tbnsim.compress(rng.standard_normal((64, 100)).astype(np.float32), p=8)
    st = layer.stage(4, True)
    accelerator.native.run_stage(st, [0] * 100)
    for _ in range(3):
        x = rng.integers(-8, 8, 100)
        acc, cycles = accelerator.native.rerun_stage(st, x.tolist())
        assert np.array_equal(np.asarray(acc), layer.accumulators(x, 4, True))


def test_conv_shaped_weights_flatten():
    rng = np.random.default_rng(4)
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    layer = tbnsim.compress(w, p=2)
    assert (layer.rows, layer.m, layer.q) == (8, 27, 108)
