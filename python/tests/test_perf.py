"""Python-driven cycle stepping speed of the 32-lane core (printed; a floor is asserted)."""

import os
import time

import tbnsim
from tbnsim import Clock, ClockCycles, RisingEdge, start_soon

# Acceptance: Python-driven stepping of the 32-lane core >= 300k cycles/s (release
# build, python/install.sh). `dut.tick()` per cycle must reach FLOOR; the full
# coroutine path (await RisingEdge) half of it, so that a heavily loaded machine does
# not fail spuriously. TBNSIM_PERF_FLOOR overrides (e.g. 0 for a debug build).
FLOOR = float(os.environ.get("TBNSIM_PERF_FLOOR", "300000"))


def rate(fn, cycles, repeats=3):
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(cycles)
        best = max(best, cycles / (time.perf_counter() - t0))
    return best


def test_cycles_per_second():
    dut = tbnsim.Dut.core(32)
    dut.rst.value = 1
    dut.tick(4)
    dut.rst.value = 0

    def tick_loop(n):
        t = dut.tick
        for _ in range(n):
            t()

    def bulk(n):
        dut.tick(n)

    def await_edges(n):
        @tbnsim.test(design=lambda: dut)
        async def loop(d):
            start_soon(Clock(d.clk, 10, "ns").start())
            edge = RisingEdge(d.clk)
            for _ in range(n):
                await edge
        loop.run(dut)

    def await_cycles(n):
        @tbnsim.test(design=lambda: dut)
        async def loop(d):
            start_soon(Clock(d.clk, 10, "ns").start())
            await ClockCycles(d.clk, n)
        loop.run(dut)

    results = {
        "dut.tick() per cycle from Python": rate(tick_loop, 200_000),
        "await RisingEdge(dut.clk) per cycle": rate(await_edges, 100_000),
        "await ClockCycles(dut.clk, n) (bulk)": rate(await_cycles, 1_000_000),
        "dut.tick(n) (bulk)": rate(bulk, 1_000_000),
    }
    for k, v in results.items():
        print(f"{k:40s} {v:12,.0f} cycles/s")
    assert results["dut.tick() per cycle from Python"] >= FLOOR
    assert results["await RisingEdge(dut.clk) per cycle"] >= FLOOR / 2
