"""pytest plugin (registered as the ``tbnsim`` entry point): collects
``@tbnsim.test`` functions from test modules and runs each on a fresh design.

Fixtures: ``tbnsim_dut`` (a fresh 32-lane core) and ``tbnsim_accelerator``
(a fresh :class:`tbnsim.Accelerator`, 32 lanes).
"""

from __future__ import annotations

import pytest

from .testing import TbnTest


def _runner(t: TbnTest):
    def run_tbnsim_test():
        if t.skip:
            pytest.skip("marked skip in @tbnsim.test")
        t.run()

    run_tbnsim_test.__name__ = t.name
    run_tbnsim_test.__doc__ = t.func.__doc__
    return run_tbnsim_test


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector, name, obj):
    """Turns each TbnTest into a pytest test item, whatever its name."""
    if isinstance(obj, TbnTest):
        return pytest.Function.from_parent(collector, name=name, callobj=_runner(obj))
    return None


@pytest.fixture
def tbnsim_dut():
    """A fresh instance of the 32-lane accelerator core."""
    from .dut import Dut

    return Dut.core(32)


@pytest.fixture
def tbnsim_accelerator():
    """A fresh 32-lane accelerator behind the Wishbone bus model."""
    from .layers import Accelerator

    return Accelerator(32)
