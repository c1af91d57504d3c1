"""tbnsim: Python harness of the Tiled Bit Network accelerator.

- Low level: :class:`Dut` (a Verilated design; ports as attributes with ``.value``),
  ``Dut.tick(n)``, waveforms.
- cocotb-style: ``@tbnsim.test()``, ``RisingEdge``, ``FallingEdge``, ``ClockCycles``,
  ``Timer``, ``ReadOnly``, ``Clock`` + ``start_soon``, tasks, events; a pytest plugin.
- High level: :class:`Accelerator` (the single-layer core), :class:`Engine` (the
  whole-network engine: ``load_model(program)``, ``infer(x) -> (logits, class)``),
  :func:`compress` (NumPy float weights to a tile),
  golden models and programs (float and integer inference), MNIST loading.

Errors from Rust arrive as :class:`TbnError` subclasses carrying the Rust message.
"""

from . import _native
from ._native import (
    CORE_TOP,
    REGMAP,
    AcceleratorError,
    BusError,
    Engine,
    GoldenError,
    Model,
    PortError,
    Program,
    Stage,
    TbnError,
    ToolError,
    alpha_codes,
    alphas_from,
    distinct_rows,
    emit_core,
    extended_tile,
    tile_from_scores,
)
from .dut import Dut
from .layers import (
    Accelerator,
    LayerResult,
    TiledLayer,
    compress,
    load_model,
    load_program,
    quantize,
    read_mnist,
    tile_bits,
    tile_words,
)
from .scheduler import Clock, Deadlock, Scheduler, SimTimeoutError, Task, get_sim_time, start, start_soon
from .testing import discover, make_dut, run, test
from .triggers import (
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

__version__ = _native.__version__

__all__ = [
    "CORE_TOP", "REGMAP", "AcceleratorError", "BusError", "Engine", "GoldenError", "Model", "PortError",
    "Program", "Stage", "TbnError", "ToolError", "alpha_codes", "alphas_from", "distinct_rows",
    "emit_core", "extended_tile", "tile_from_scores", "Dut", "Accelerator", "LayerResult",
    "TiledLayer", "compress", "load_model", "load_program", "quantize", "read_mnist", "tile_bits",
    "tile_words", "Clock", "Deadlock", "Scheduler", "SimTimeoutError", "Task", "get_sim_time",
    "start", "start_soon", "discover", "make_dut", "run", "test", "ClockCycles", "Combine", "Edge",
    "Event", "FallingEdge", "First", "Join", "NextTimeStep", "ReadOnly", "ReadWrite", "RisingEdge",
    "Timer",
]
