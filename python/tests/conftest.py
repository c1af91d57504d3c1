"""Shared fixtures of the tbnsim Python tests."""

import os
import pathlib

import pytest

import tbnsim

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = ROOT / "data"
COUNTER_V = HERE / "data" / "counter.v"


def seed_from_env(default: int) -> int:
    """TBNSIM_SEED overrides the default seed of randomized tests."""
    return int(os.environ.get("TBNSIM_SEED", default))


@pytest.fixture(scope="session")
def accelerator():
    """One 32-lane accelerator for the whole session (jobs run back to back, as
    firmware would run them; tests that need a fresh core make their own)."""
    return tbnsim.Accelerator(32)


@pytest.fixture
def counter():
    """A fresh instance of the small counter design."""
    return tbnsim.Dut.from_verilog(COUNTER_V, "counter")
