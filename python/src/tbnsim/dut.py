"""The low-level design handle: ports as attributes, clock stepping, waveforms."""

from __future__ import annotations

import os

from . import _native

__all__ = ["Dut"]


class Dut:
    """A Verilated design instance.

    Ports are attributes with a ``.value`` (``dut.clk.value = 1``,
    ``int(dut.wb_dat_r.value)``); ``dut["name"]`` reaches ports whose names clash
    with the methods below. A ``Dut`` must be used from the thread that created it.

    Create one with :meth:`Dut.core` (the accelerator for a configuration) or
    :meth:`Dut.from_verilog` (any design).
    """

    __slots__ = ("_native", "_signals", "__dict__")

    def __init__(self, native: _native.Dut):
        object.__setattr__(self, "_native", native)
        object.__setattr__(self, "_signals", {})

    # -- construction --------------------------------------------------------
    @classmethod
    def core(cls, lanes: int = 32, *, tile_max=None, max_in=None, max_rows=None,
             trace: bool | None = None, coverage: bool = False, cache_dir=None) -> "Dut":
        """The accelerator core (top ``tbn_core``) for a configuration, Verilated
        into the model cache. ``trace`` defaults to whether ``TBN_TRACE`` is set."""
        if trace is None:
            trace = bool(os.environ.get("TBN_TRACE"))
        return cls(_native.Dut.core(lanes, tile_max, max_in, max_rows, trace, coverage, cache_dir))

    @classmethod
    def from_verilog(cls, sources, top: str, *, trace: bool | None = None, coverage: bool = False,
                     verilator_args=(), cache_dir=None, clock: str | None = None) -> "Dut":
        """Any Verilog design: ``sources`` (a path or a list of paths), top module ``top``.
        ``clock`` names the clock port when it is not ``clk``, ``clock`` or ``clk_i``."""
        if isinstance(sources, (str, os.PathLike)):
            sources = [sources]
        if trace is None:
            trace = bool(os.environ.get("TBN_TRACE"))
        d = cls(_native.Dut.from_verilog([os.fspath(s) for s in sources], top, trace, coverage,
                                         list(verilator_args), cache_dir))
        if clock is not None:
            d._native.set_clock(clock)
        return d

    # -- ports ---------------------------------------------------------------
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._signal(name)

    def _signal(self, name):
        sig = self._signals.get(name)
        if sig is None:
            try:
                sig = _native.Signal(self._native, name)
            except AttributeError as e:
                raise AttributeError(str(e)) from None
            self._signals[name] = sig
            # Cache as an instance attribute: later lookups skip __getattr__.
            self.__dict__[name] = sig
        return sig

    def __getitem__(self, name):
        return self._signal(name)

    def __setattr__(self, name, value):
        if self._native.has_port(name):
            raise AttributeError(
                f"assign to the port's value instead: dut.{name}.value = {value!r}"
            )
        raise AttributeError(f"cannot set attribute {name!r} on a Dut")

    def __dir__(self):
        return sorted(set(super().__dir__()) | {p[0] for p in self._native.ports()})

    def ports(self):
        """``[(name, width, direction)]`` of every port."""
        return self._native.ports()

    @property
    def top(self) -> str:
        """Top module name."""
        return self._native.top

    @property
    def clock(self):
        """The clock port's Signal (the port ``tick`` and native Clocks drive)."""
        name = self._native.clock
        return None if name is None else self._signal(name)

    def set_clock(self, name: str):
        """Chooses the clock port."""
        self._native.set_clock(name)

    # -- stepping --------------------------------------------------------------
    def tick(self, n: int = 1):
        """Runs ``n`` full clock cycles inside the simulator."""
        self._native.tick(n)

    def eval(self):
        """Settles combinational logic after writes."""
        self._native.eval()

    def run_until(self, port: str, mask: int = 1, max_cycles: int = 1_000_000) -> int:
        """Runs cycles until ``port & mask`` is non-zero after a cycle; returns cycles run."""
        return self._native.run_until(port, mask, max_cycles)

    @property
    def cycles(self) -> int:
        """Cycles run by ``tick`` / ``run_until`` / native clocks."""
        return self._native.cycles

    # -- waveforms and coverage --------------------------------------------------
    def trace_open(self, path):
        """Starts a VCD waveform (built with ``trace=True`` or ``TBN_TRACE`` set)."""
        self._native.trace_open(os.fspath(path))

    def trace_close(self):
        """Closes the waveform."""
        self._native.trace_close()

    def trace_flush(self):
        """Flushes the waveform."""
        self._native.trace_flush()

    def coverage_write(self, path):
        """Writes the coverage database (built with ``coverage=True``)."""
        self._native.coverage_write(os.fspath(path))

    def __repr__(self):
        return repr(self._native)
