"""cocotb-style triggers and tasks for the tbnsim scheduler.

Coroutines ``await`` these objects; the scheduler (:mod:`tbnsim.scheduler`)
resumes them when the event happens. The names and semantics follow cocotb 1.8
(``RisingEdge``, ``FallingEdge``, ``Edge``, ``ClockCycles``, ``Timer``,
``ReadOnly``, ``ReadWrite``, ``NextTimeStep``, ``First``, ``Combine``, ``Event``,
``Join``) so that test code runs unchanged under both.
"""

from __future__ import annotations

from fractions import Fraction

__all__ = [
    "Trigger",
    "RisingEdge",
    "FallingEdge",
    "Edge",
    "ClockCycles",
    "Timer",
    "ReadOnly",
    "ReadWrite",
    "NextTimeStep",
    "First",
    "Combine",
    "Event",
    "Join",
    "to_ps",
    "from_ps",
]

_UNITS_PS = {
    "fs": Fraction(1, 1000),
    "ps": Fraction(1),
    "ns": Fraction(1000),
    "us": Fraction(1000_000),
    "ms": Fraction(1000_000_000),
    "sec": Fraction(1000_000_000_000),
    "s": Fraction(1000_000_000_000),
    "step": Fraction(1),
}


def to_ps(value, units: str = "step") -> int:
    """Converts a time in ``units`` to integer picoseconds (one step = 1 ps).

    Raises ``ValueError`` for unknown units and for times that are not a whole
    number of picoseconds.
    """
    try:
        scale = _UNITS_PS[units]
    except KeyError:
        raise ValueError(f"unknown time unit {units!r} (use one of {', '.join(_UNITS_PS)})") from None
    t = Fraction(value) * scale
    if t.denominator != 1:
        raise ValueError(f"time {value} {units} is not a whole number of picoseconds")
    if t < 0:
        raise ValueError(f"time {value} {units} is negative")
    return int(t)


def from_ps(ps: int, units: str = "step"):
    """Converts integer picoseconds to ``units`` (an int when exact, else a float)."""
    try:
        scale = _UNITS_PS[units]
    except KeyError:
        raise ValueError(f"unknown time unit {units!r}") from None
    v = Fraction(ps) / scale
    return int(v) if v.denominator == 1 else float(v)


class Trigger:
    """Base class: ``await trigger`` suspends the current task until it fires."""

    __slots__ = ()

    def __await__(self):
        return (yield self)


class _SignalTrigger(Trigger):
    """Edge triggers are cached like cocotb's: ``RisingEdge(dut.clk)`` in a loop
    returns the same object (the last one made per class), which keeps the hot
    ``await RisingEdge(dut.clk)`` path cheap."""

    __slots__ = ("signal", "index", "dut")
    kind = "edge"
    _last = (None, None)

    def __new__(cls, signal):
        last_sig, last_trig = cls._last
        if signal is last_sig:
            return last_trig
        if not hasattr(signal, "index") or not hasattr(signal, "dut"):
            raise TypeError(
                f"{cls.__name__} needs a port of a tbnsim Dut (e.g. dut.clk), not {signal!r}"
            )
        self = object.__new__(cls)
        self.signal = signal
        self.index = signal.index
        self.dut = signal.dut
        cls._last = (signal, self)
        return self

    def __init__(self, signal):
        pass

    def __repr__(self):
        return f"{type(self).__name__}({self.signal.name})"


class RisingEdge(_SignalTrigger):
    """Fires after the signal's next 0 -> 1 transition (bit 0 of the value)."""

    __slots__ = ()
    kind = "rise"


class FallingEdge(_SignalTrigger):
    """Fires after the signal's next 1 -> 0 transition (bit 0 of the value)."""

    __slots__ = ()
    kind = "fall"


class Edge(_SignalTrigger):
    """Fires after the signal's next value change."""

    __slots__ = ()
    kind = "change"


class ClockCycles(Trigger):
    """Fires after ``num_cycles`` rising (or falling) edges of ``signal``."""

    __slots__ = ("signal", "num_cycles", "rising")

    def __init__(self, signal, num_cycles: int, rising: bool = True):
        if not hasattr(signal, "index"):
            raise TypeError(f"ClockCycles needs a port of a tbnsim Dut, not {signal!r}")
        num_cycles = int(num_cycles)
        if num_cycles < 1:
            raise ValueError(f"ClockCycles needs num_cycles >= 1, not {num_cycles}")
        self.signal = signal
        self.num_cycles = num_cycles
        self.rising = rising

    def __repr__(self):
        return f"ClockCycles({self.signal.name}, {self.num_cycles})"


class Timer(Trigger):
    """Fires after ``time`` in ``units`` (``fs``, ``ps``, ``ns``, ``us``, ``ms``,
    ``sec``, ``step`` = 1 ps). ``Timer(0)`` is not allowed (as in cocotb 1.8 it is
    deprecated); use :class:`NextTimeStep` or ``ReadWrite``."""

    __slots__ = ("ps",)

    def __init__(self, time=None, units: str = "step", *, round_mode=None):
        if time is None:
            raise TypeError("Timer needs a time")
        self.ps = to_ps(time, units)
        if self.ps == 0:
            raise ValueError("Timer(0) does not advance time; await ReadWrite() instead")

    def __repr__(self):
        return f"Timer({self.ps} ps)"


class ReadOnly(Trigger):
    """Fires at the end of the current time step, when every signal has settled.
    Do not write signals after it (until the next time step)."""

    __slots__ = ()

    def __repr__(self):
        return "ReadOnly()"


class ReadWrite(Trigger):
    """Fires after the current delta: pending writes are applied and settled."""

    __slots__ = ()

    def __repr__(self):
        return "ReadWrite()"


class NextTimeStep(Trigger):
    """Fires at the next time at which anything is scheduled."""

    __slots__ = ()

    def __repr__(self):
        return "NextTimeStep()"


class First(Trigger):
    """Fires when the first of its triggers fires; the result is that trigger (or
    the awaited task's result for tasks)."""

    __slots__ = ("triggers",)

    def __init__(self, *triggers):
        if not triggers:
            raise ValueError("First needs at least one trigger")
        self.triggers = triggers


class Combine(Trigger):
    """Fires when all of its triggers have fired."""

    __slots__ = ("triggers",)

    def __init__(self, *triggers):
        if not triggers:
            raise ValueError("Combine needs at least one trigger")
        self.triggers = triggers


class Event:
    """A flag coroutines can wait for: ``await event.wait()``; ``event.set()``."""

    def __init__(self, name: str | None = None):
        self.name = name
        self._set = False
        self._waiters: list = []
        self.data = None

    def set(self, data=None):
        """Sets the flag and wakes every waiter."""
        self._set = True
        self.data = data
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            w(self)

    def clear(self):
        """Clears the flag."""
        self._set = False

    def is_set(self) -> bool:
        """Whether the flag is set."""
        return self._set

    def wait(self):
        """A trigger that fires when the flag is set (immediately if it already is)."""
        return _EventWait(self)


class _EventWait(Trigger):
    __slots__ = ("event",)

    def __init__(self, event: Event):
        self.event = event


class Join(Trigger):
    """Fires when a task finishes; the result is the task's return value."""

    __slots__ = ("task",)

    def __init__(self, task):
        self.task = task
