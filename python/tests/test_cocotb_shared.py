"""The real-cocotb test module (python/cocotb/test_tbn_core.py) run by tbnsim:
the same source, collected by the tbnsim pytest plugin."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "cocotb"))

from test_tbn_core import (  # noqa: E402,F401  (collected by the tbnsim plugin)
    test_bad_job_reports_error_code,
    test_id_registers,
    test_irq_and_soft_reset,
    test_random_layers,
)
