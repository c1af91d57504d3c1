"""High level: tiled layers from NumPy, the accelerator, models and programs.

Everything here checks bit-exactness against the golden model (``tbn_golden``,
docs/numerics.md) through the same Rust code the CLI uses.
"""

from __future__ import annotations

import operator
import os
from dataclasses import dataclass

import numpy as np

from . import _native

__all__ = [
    "TiledLayer",
    "LayerResult",
    "Accelerator",
    "compress",
    "load_model",
    "load_program",
    "quantize",
    "read_mnist",
    "tile_bits",
    "tile_words",
]


def tile_words(bits) -> list:
    """Packs a boolean tile (bit 1 = +1) into u32 words, bit ``j`` at bit ``j % 32``
    of word ``j // 32``."""
    b = np.asarray(bits, dtype=bool).ravel()
    pad = (-len(b)) % 32
    b = np.concatenate([b, np.zeros(pad, dtype=bool)])
    return np.packbits(b.reshape(-1, 8), axis=1, bitorder="little").reshape(-1).view("<u4").tolist() \
        if len(b) else []


def tile_bits(words, q: int) -> np.ndarray:
    """Unpacks u32 words into ``q`` booleans (inverse of :func:`tile_words`)."""
    w = np.asarray(words, dtype="<u4")
    return np.unpackbits(w.view(np.uint8), bitorder="little")[:q].astype(bool)


def _int_vector(x, what: str) -> list:
    a = np.asarray(x)
    if a.dtype.kind not in "iub":
        if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            a = a.astype(np.int64)
        else:
            raise TypeError(f"{what} must be integers, not {a.dtype}")
    return a.astype(np.int64).ravel().tolist()


class TiledLayer:
    """A tiled linear layer ``rows x m``: one ``q``-bit tile used ``p`` times, with
    ``p`` alphas (docs/numerics.md section 1). Make one with :func:`compress`.
    """

    def __init__(self, tile, rows: int, m: int, p: int, alphas, name: str = "layer"):
        self.rows, self.m, self.p = int(rows), int(m), int(p)
        if self.rows <= 0 or self.m <= 0 or self.p <= 0 or (self.rows * self.m) % self.p:
            raise ValueError(f"p = {p} does not divide rows x m = {rows} x {m}")
        self.q = self.rows * self.m // self.p
        tile = np.asarray(tile, dtype=bool).ravel()
        if tile.shape != (self.q,):
            raise ValueError(f"tile has {tile.size} bits, q = {self.q}")
        self.tile = tile
        a = np.asarray(alphas, dtype=np.float32).ravel()
        if a.size not in (1, self.p):
            raise ValueError(f"{a.size} alphas for p = {self.p} (give 1 or p)")
        self.alphas = a
        self.name = name
        self._words = tile_words(tile)
        self._stages = {}

    @property
    def tile_words(self) -> list:
        """The tile as u32 words (bit ``j`` at bit ``j % 32`` of word ``j // 32``)."""
        return list(self._words)

    def dense(self) -> np.ndarray:
        """The float weight matrix ``rows x m`` the tile and alphas stand for."""
        k = np.arange(self.rows * self.m)
        alpha = np.broadcast_to(self.alphas, (self.p,)) if self.alphas.size == 1 else self.alphas
        w = alpha[k // self.q] * np.where(self.tile[k % self.q], 1.0, -1.0)
        return w.astype(np.float32).reshape(self.rows, self.m)

    def signs(self) -> np.ndarray:
        """The ±1 matrix ``rows x m`` (int8)."""
        k = np.arange(self.rows * self.m)
        return np.where(self.tile[k % self.q], 1, -1).astype(np.int8).reshape(self.rows, self.m)

    def stage(self, abits: int = 8, signed: bool = False) -> "_native.Stage":
        """The golden dense stage for ``abits``-bit inputs (logits output:
        ``v_r = alpha code * dot``, unscaled)."""
        key = (int(abits), bool(signed) and abits > 1)
        st = self._stages.get(key)
        if st is None:
            st = _native.Stage.linear(self._words, self.rows, self.m, self.p,
                                      self.alphas.tolist(), key[0], key[1], self.name)
            self._stages[key] = st
        return st

    def accumulators(self, x, abits: int = 8, signed: bool = False) -> np.ndarray:
        """Golden accumulator pairs ``(dot_a, dot_b)`` of the distinct rows, shape (D, 2)."""
        acc = self.stage(abits, signed).accumulators(_int_vector(x, "x"))
        return np.asarray(acc, dtype=np.int32).reshape(-1, 2)

    def outputs(self, x, abits: int = 8, signed: bool = False) -> np.ndarray:
        """Golden integer outputs of every row: ``alpha_q[c] * dot_a + alpha_q[c+1] * dot_b``."""
        st = self.stage(abits, signed)
        return np.asarray(st.requantize(st.accumulators(_int_vector(x, "x"))), dtype=np.int64)

    def model(self, bias=None) -> "_native.Model":
        """A one-layer golden float model of this layer."""
        b = None if bias is None else np.asarray(bias, dtype=np.float32).ravel().tolist()
        return _native.Model.linear(self._words, self.rows, self.m, self.p,
                                    self.alphas.tolist(), b, self.name)

    def forward(self, x, bias=None) -> np.ndarray:
        """Golden float inference ``W x (+ bias)``."""
        xs = np.asarray(x, dtype=np.float32).ravel().tolist()
        return np.asarray(self.model(bias).forward(xs), dtype=np.float32)

    def __repr__(self):
        return f"<TiledLayer {self.name} {self.rows}x{self.m} p={self.p} q={self.q}>"


def compress(weights, p: int, alpha_mode: str = "per_copy", scores=None, name: str = "layer") -> TiledLayer:
    """Compresses a float weight matrix ``rows x m`` (or ``out x in x kh x kw``,
    flattened to ``out x in*kh*kw``) into a tile: ``t_j = sum_c S[c*q + j] > 0``
    with ``S = scores`` (default: the weights), alphas = mean ``|W|`` per copy
    (``per_copy``) or overall (``single``)."""
    w = np.asarray(weights, dtype=np.float32)
    if w.ndim < 2:
        raise ValueError(f"weights must be a matrix (rows x m), got shape {w.shape}")
    rows, m = w.shape[0], int(np.prod(w.shape[1:]))
    s = w if scores is None else np.asarray(scores, dtype=np.float32)
    if s.size != w.size:
        raise ValueError(f"scores have {s.size} elements, weights {w.size}")
    p = _count(p, "p")
    q, words = _native.tile_from_scores(s.ravel().tolist(), p)
    alphas = _native.alphas_from(w.ravel().tolist(), p, alpha_mode)
    return TiledLayer(tile_bits(words, q), rows, m, p, alphas, name)


def _count(v, what: str) -> int:
    """``v`` as a positive integer; a float such as 4.7 (or 4.0) is refused, not truncated."""
    try:
        n = operator.index(v)
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {v!r}") from None
    if n < 1:
        raise ValueError(f"{what} must be >= 1, got {n}")
    return n


@dataclass
class LayerResult:
    """One job's outcome on the RTL."""

    acc: np.ndarray
    """Accumulator pairs ``(dot_a, dot_b)`` of the distinct rows, shape (D, 2), int32."""
    cycles: int
    """The CYCLES register: clock cycles from START to DONE."""
    stage: object
    """The golden stage the job ran."""

    @property
    def distinct_rows(self) -> int:
        """Rows the hardware computed."""
        return int(self.acc.shape[0])

    @property
    def outputs(self) -> np.ndarray:
        """Every row's output, requantized by the golden rules (int64)."""
        return np.asarray(self.stage.requantize([tuple(map(int, r)) for r in self.acc]),
                          dtype=np.int64)


class Accelerator:
    """The TBN accelerator RTL (Verilated) behind a Wishbone bus model.

    ``Accelerator(lanes=32)`` builds (or loads from the cache) the core, resets it
    and checks its ID registers; ``link="spi"`` drives the standalone top (SPI to
    Wishbone bridge + core) through its SPI pins instead.
    """

    def __init__(self, lanes: int = 32, *, tile_max=None, max_in=None, max_rows=None,
                 trace: bool | None = None, cache_dir=None, link: str = "wishbone",
                 _native_acc=None):
        if _native_acc is not None:
            self._n = _native_acc
            return
        if trace is None:
            trace = bool(os.environ.get("TBN_TRACE"))
        self._n = _native.Accelerator(lanes, tile_max, max_in, max_rows, trace, cache_dir, link)

    @property
    def link(self) -> str:
        """``wishbone`` (the core's bus port) or ``spi`` (the standalone top's bridge)."""
        return self._n.link

    @classmethod
    def from_verilog(cls, sources, top: str = "tbn_core", prefix: str = "wb_", trace: bool = False):
        """An accelerator from Verilog files with the core's ports."""
        if isinstance(sources, (str, os.PathLike)):
            sources = [sources]
        return cls(_native_acc=_native.Accelerator.from_verilog(
            [os.fspath(s) for s in sources], top, prefix, trace, None))

    @property
    def info(self) -> dict:
        """Capacities: ``lanes``, ``tile_max``, ``max_in``, ``max_rows``, ``max_abits``."""
        return self._n.info

    @property
    def native(self):
        """The underlying ``_native.Accelerator`` (register-level methods)."""
        return self._n

    def read32(self, offset: int) -> int:
        """Reads a register (byte offset)."""
        return self._n.read32(offset)

    def write32(self, offset: int, value: int):
        """Writes a register (byte offset)."""
        self._n.write32(offset, value)

    def run_layer(self, layer, x, abits: int = 8, signed: bool = False) -> LayerResult:
        """Runs one layer (a :class:`TiledLayer` or a golden ``Stage``) on input ``x``:
        tile, activations, job registers, START, wait, readback."""
        st = layer.stage(abits, signed) if isinstance(layer, TiledLayer) else layer
        acc, cycles = self._n.run_stage(st, _int_vector(x, "x"))
        return LayerResult(np.asarray(acc, dtype=np.int32).reshape(-1, 2), int(cycles), st)

    def run_program(self, program, inputs):
        """Runs an integer program (linear stages) on each input (rows of a 2-D
        array); returns ``(outputs as int64 array (n, outputs), per-stage stats)``."""
        xs = np.asarray(inputs)
        if xs.ndim == 1:
            xs = xs[None, :]
        rows = [_int_vector(r, "input") for r in xs.reshape(xs.shape[0], -1)]
        outs, stats = self._n.run_program(program, rows)
        return np.asarray(outs, dtype=np.int64), stats

    @property
    def sim_cycles(self) -> int:
        """Clock cycles simulated so far."""
        return self._n.sim_cycles

    @property
    def jobs(self) -> int:
        """Jobs completed."""
        return self._n.jobs

    def __repr__(self):
        return repr(self._n)


def load_model(path) -> "_native.Model":
    """Loads a float model (project JSON/binary or the authors' reference JSON)."""
    return _native.Model.load(os.fspath(path))


def load_program(path) -> "_native.Program":
    """Loads an integer program (JSON)."""
    return _native.Program.load(os.fspath(path))


def quantize(model, calib, act_bits: int = 8, input_bits: int = 8, input_scale=None) -> "_native.Program":
    """Compiles a float model into an integer program; ``calib`` is a 2-D array of
    float inputs (one per row)."""
    c = np.asarray(calib, dtype=np.float32)
    c = c.reshape(c.shape[0], -1)
    return _native.Program.quantize(model, c.tolist(), act_bits, input_bits, input_scale)


def read_mnist(images_path, labels_path=None, count: int | None = None):
    """Reads IDX images (``uint8`` array ``(n, rows, cols)``) and optionally labels."""
    n, r, c, pix = _native.read_images(os.fspath(images_path))
    imgs = np.frombuffer(pix, dtype=np.uint8).reshape(n, r, c)
    if count is not None:
        imgs = imgs[:_count(count, "count")]
    if labels_path is None:
        return imgs
    labels = np.frombuffer(_native.read_labels(os.fspath(labels_path)), dtype=np.uint8)
    if labels.shape[0] != n:
        raise ValueError(f"{os.fspath(images_path)} holds {n} images but "
                         f"{os.fspath(labels_path)} holds {labels.shape[0]} labels")
    if count is not None:
        labels = labels[:count]
    return imgs, labels
