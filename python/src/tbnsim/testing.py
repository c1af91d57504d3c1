"""``@tbnsim.test()``: cocotb-style test functions, their discovery and running.

A test is an ``async def`` taking the design (``dut``). Which design a test gets:
the decorator's ``design`` argument, else the test module's ``TBNSIM_DESIGN``
attribute, else the 32-lane accelerator core. A design is a dict of
:meth:`tbnsim.Dut.core` keyword arguments, or a callable returning a
:class:`tbnsim.Dut`.

Tests run under pytest (the ``tbnsim`` pytest plugin collects them like ordinary
test functions), with ``python -m tbnsim module.py [...]``, or with :func:`run`.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import os
import sys
import time

from .dut import Dut
from .scheduler import Scheduler, SimTimeoutError
from .triggers import to_ps

__all__ = ["test", "TbnTest", "run", "discover", "make_dut", "SimTimeoutError", "main"]

DEFAULT_DESIGN = {"lanes": 32}


class TbnTest:
    """A decorated test function (see :func:`test`)."""

    def __init__(self, func, *, timeout_time=None, timeout_unit="step", expect_fail=False,
                 expect_error=(), skip=False, design=None, stage=0):
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"@tbnsim.test needs an async def function, not {func!r}")
        functools.update_wrapper(self, func)
        self.func = func
        self.name = func.__name__
        self.timeout_ps = None if timeout_time is None else to_ps(timeout_time, timeout_unit)
        self.expect_fail = expect_fail
        self.expect_error = expect_error if isinstance(expect_error, tuple) else (expect_error,)
        self.skip = skip
        self.design = design
        self.stage = stage
        self._tbnsim_test = True

    def __call__(self, dut):
        """Calling the test gives the coroutine (as with a plain async function)."""
        return self.func(dut)

    def module_design(self):
        mod = sys.modules.get(self.func.__module__)
        return getattr(mod, "TBNSIM_DESIGN", None) if mod is not None else None

    def run(self, dut: Dut | None = None):
        """Runs the test on ``dut`` (or a fresh instance of its design); raises on failure."""
        if dut is None:
            dut = make_dut(self.design if self.design is not None else self.module_design())
        sched = Scheduler(dut, max_time_ps=self.timeout_ps)
        try:
            result = sched.run(self.func(dut))
        except self.expect_error if self.expect_error else () as e:  # noqa: B030
            return e
        except AssertionError:
            if self.expect_fail:
                return None
            raise
        if self.expect_fail or self.expect_error:
            raise AssertionError(f"{self.name} was expected to fail but passed")
        return result

    def __repr__(self):
        return f"<tbnsim test {self.func.__module__}.{self.name}>"


def test(_func=None, *, timeout_time=None, timeout_unit="step", expect_fail=False,
         expect_error=(), skip=False, design=None, stage=0):
    """Marks an ``async def test(dut)`` as a test (usable as ``@test`` or ``@test()``).

    ``timeout_time``/``timeout_unit``: simulated-time limit; ``expect_fail``: an
    assertion failure is the expected outcome; ``expect_error``: exception
    type(s) that count as a pass; ``skip``; ``design``: see the module docs.
    """
    def wrap(func):
        return TbnTest(func, timeout_time=timeout_time, timeout_unit=timeout_unit,
                       expect_fail=expect_fail, expect_error=expect_error, skip=skip,
                       design=design, stage=stage)

    if _func is not None:
        return wrap(_func)
    return wrap


_dut_cache: dict = {}


def make_dut(design=None) -> Dut:
    """A fresh design instance: ``None`` = the 32-lane core, a dict = ``Dut.core``
    keyword arguments, a callable = called."""
    if design is None:
        design = DEFAULT_DESIGN
    if callable(design):
        d = design()
        if not isinstance(d, Dut):
            raise TypeError(f"design factory {design!r} returned {d!r}, not a tbnsim.Dut")
        return d
    if isinstance(design, dict):
        return Dut.core(**design)
    raise TypeError(f"a design is a dict of Dut.core arguments or a callable, not {design!r}")


def discover(module) -> list:
    """The tests of a module (object, dotted name or file path), in definition order."""
    if isinstance(module, str):
        if module.endswith(".py") or os.path.sep in module:
            name = os.path.splitext(os.path.basename(module))[0]
            spec = importlib.util.spec_from_file_location(name, module)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot import {module}")
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
            module = mod
        else:
            module = importlib.import_module(module)
    tests = [v for v in vars(module).values() if isinstance(v, TbnTest)]
    order = {id(t): inspect.getsourcelines(t.func)[1] for t in tests}
    return sorted(tests, key=lambda t: (t.stage, order[id(t)]))


def run(tests, dut: Dut | None = None, verbose: bool = True) -> dict:
    """Runs tests (a module, a list of tests, or one test); returns
    ``{name: None | exception}`` (None = passed)."""
    if isinstance(tests, TbnTest):
        tests = [tests]
    elif not isinstance(tests, (list, tuple)):
        tests = discover(tests)
    results = {}
    for t in tests:
        if t.skip:
            if verbose:
                print(f"SKIP {t.name}")
            results[t.name] = None
            continue
        t0 = time.perf_counter()
        try:
            t.run(dut)
            results[t.name] = None
            if verbose:
                print(f"PASS {t.name} ({time.perf_counter() - t0:.2f} s)")
        except Exception as e:  # noqa: BLE001 - reported per test
            results[t.name] = e
            if verbose:
                print(f"FAIL {t.name}: {type(e).__name__}: {e}")
    return results


def main(argv=None) -> int:
    """``python -m tbnsim MODULE.py [...]``: runs every test of the modules."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m tbnsim MODULE.py|module.name [...]\n"
              "Runs the @tbnsim.test functions of each module; exit status 1 on any failure.")
        return 0 if argv else 2
    failed = 0
    for m in argv:
        res = run(m)
        failed += sum(1 for e in res.values() if e is not None)
    print(f"{failed} failed" if failed else "all passed")
    return 1 if failed else 0
