"""A ``cocotb``-like namespace over tbnsim (``from tbnsim.compat import cocotb``):
``cocotb.test``, ``cocotb.start_soon``, ``cocotb.start``, ``cocotb.log``."""

import logging

from .scheduler import start, start_soon  # noqa: F401
from .testing import test  # noqa: F401

log = logging.getLogger("tbnsim")
SIM_NAME = "tbnsim"
