"""One import for test modules that run under both tbnsim and real cocotb.

    from tbnsim.compat import cocotb, test, start_soon, Clock, RisingEdge, ...

Under a real cocotb simulation (1.8.1 or 2.x; cocotb's regression manager imports the module
inside Icarus or Verilator) these names are cocotb's own; everywhere else they
are tbnsim's. ``UNDER_COCOTB`` tells which. :func:`is_resolvable` and
:func:`value_int` smooth over the 4-state values of real simulators (tbnsim is
2-state: every value is resolvable).
"""

from __future__ import annotations

import sys


def _running_cocotb() -> bool:
    mod = sys.modules.get("cocotb")
    return mod is not None and getattr(mod, "top", None) is not None


UNDER_COCOTB = _running_cocotb()

if UNDER_COCOTB:
    # cocotb 1.8.1 (with Verilator 5.006) and cocotb 2.x (with Icarus): the
    # names below exist in both, except where 2.x moved them.
    import cocotb  # noqa: F401
    from cocotb import start_soon  # noqa: F401
    from cocotb.clock import Clock  # noqa: F401
    from cocotb.triggers import (  # noqa: F401
        ClockCycles,
        Combine,
        Edge,
        Event,
        FallingEdge,
        First,
        NextTimeStep,
        ReadOnly,
        ReadWrite,
        RisingEdge,
        Timer,
    )

    COCOTB_MAJOR = int(cocotb.__version__.split(".")[0])
    if COCOTB_MAJOR >= 2:
        from cocotb.simtime import get_sim_time  # noqa: F401
        from cocotb.task import Join  # noqa: F401
    else:
        from cocotb.triggers import Join  # noqa: F401
        from cocotb.utils import get_sim_time  # noqa: F401

    test = cocotb.test
    SIMULATOR = getattr(cocotb, "SIM_NAME", "cocotb")
else:
    COCOTB_MAJOR = 0  # not under cocotb
    from . import _cocotb_shim as cocotb  # noqa: F401
    from .scheduler import Clock, get_sim_time, start_soon  # noqa: F401
    from .testing import test  # noqa: F401
    from .triggers import (  # noqa: F401
        ClockCycles,
        Combine,
        Edge,
        Event,
        FallingEdge,
        First,
        Join,
        NextTimeStep,
        ReadOnly,
        ReadWrite,
        RisingEdge,
        Timer,
    )

    SIMULATOR = "tbnsim (Verilator 2-state)"


def is_resolvable(signal) -> bool:
    """Whether the port's value has no X or Z bit (always true under tbnsim)."""
    if not UNDER_COCOTB:
        return True
    return signal.value.is_resolvable


def value_int(signal) -> int:
    """The port's value as an int (raises ValueError naming X/Z bits under cocotb)."""
    v = signal.value
    if UNDER_COCOTB and not v.is_resolvable:
        # str() of a cocotb 2.x LogicArray is its bits; 1.x's BinaryValue has binstr.
        bits = getattr(v, "binstr", None) or str(v)
        raise ValueError(f"{getattr(signal, '_name', signal)} = {bits} has X or Z bits")
    return int(v)


__all__ = [
    "UNDER_COCOTB",
    "COCOTB_MAJOR",
    "SIMULATOR",
    "cocotb",
    "test",
    "start_soon",
    "Clock",
    "ClockCycles",
    "Combine",
    "Edge",
    "Event",
    "FallingEdge",
    "First",
    "Join",
    "NextTimeStep",
    "ReadOnly",
    "ReadWrite",
    "RisingEdge",
    "Timer",
    "get_sim_time",
    "is_resolvable",
    "value_int",
]
