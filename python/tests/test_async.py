"""The cocotb-style layer: triggers, clocks, tasks, time, errors."""

import pytest

import tbnsim
from tbnsim import (
    Clock,
    ClockCycles,
    Edge,
    Event,
    FallingEdge,
    First,
    ReadOnly,
    RisingEdge,
    Timer,
    get_sim_time,
    start_soon,
)
from conftest import COUNTER_V


def counter_dut():
    return tbnsim.Dut.from_verilog(COUNTER_V, "counter")


async def reset(dut, cycles=2):
    dut.rst.value = 1
    start_soon(Clock(dut.clk, 10, "ns").start())
    await ClockCycles(dut.clk, cycles)
    dut.rst.value = 0


@tbnsim.test(design=counter_dut)
async def test_clock_edges_and_time(dut):
    await reset(dut)
    t0 = get_sim_time("ns")
    assert t0 == 10  # rising edges at 0 and 10 ns
    dut.en.value = 1
    dut.step.value = 1
    await RisingEdge(dut.clk)
    assert dut.count.value == 1
    await FallingEdge(dut.clk)
    assert get_sim_time("ns") == 25
    await ClockCycles(dut.clk, 100)
    assert dut.count.value == 101
    assert get_sim_time("ns") == 1020
    await Timer(3, "ns")
    assert get_sim_time("ps") == 1023_000
    await RisingEdge(dut.clk)
    assert get_sim_time("ns") == 1030 and dut.count.value == 102


@tbnsim.test(design=counter_dut)
async def test_writes_settle_and_readonly(dut):
    await reset(dut)
    dut.a.value = 0x00F0
    await ReadOnly()
    assert dut.not_a.value == 0xFF0F
    await RisingEdge(dut.clk)
    dut.a.value = 1
    await FallingEdge(dut.clk)
    assert dut.not_a.value == 0xFFFE


@tbnsim.test(design=counter_dut)
async def test_concurrent_tasks_and_edges_of_outputs(dut):
    await reset(dut)
    dut.en.value = 1
    dut.step.value = 5
    seen = []

    async def watch_wrap():
        await RisingEdge(dut.wrap)
        seen.append(int(dut.count.value))
        return "wrapped"

    async def count_changes(n):
        for _ in range(n):
            await Edge(dut.count)
        return n

    t1 = start_soon(watch_wrap())
    t2 = start_soon(count_changes(7))
    assert await t2 == 7
    dut.step.value = 1
    dut.rst.value = 1
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    assert await t1 == "wrapped"
    assert seen == [0xFF]


@tbnsim.test(design=counter_dut)
async def test_first_event_and_kill(dut):
    await reset(dut)
    ev = Event()

    async def setter():
        await ClockCycles(dut.clk, 3)
        ev.set("hello")

    start_soon(setter())
    t = Timer(1, "us")
    r = await First(ev.wait(), t)
    assert r is not t and ev.data == "hello"
    r = await First(ClockCycles(dut.clk, 1000), Timer(20, "ns"))
    assert isinstance(r, Timer)

    async def forever():
        while True:
            await RisingEdge(dut.clk)

    task = start_soon(forever())
    await ClockCycles(dut.clk, 5)
    task.kill()
    assert task.done()
    await ClockCycles(dut.clk, 5)


@tbnsim.test(design=counter_dut)
async def test_manual_clock_without_clock_object(dut):
    """Driving the clock by writes: edges are detected at half-cycle resolution."""
    dut.rst.value = 1
    for _ in range(2):
        dut.clk.value = 1
        await Timer(5, "ns")
        dut.clk.value = 0
        await Timer(5, "ns")
    dut.rst.value = 0
    dut.en.value = 1
    dut.step.value = 2
    edges = []

    async def count_edges():
        while True:
            await RisingEdge(dut.clk)
            edges.append(get_sim_time("ns"))

    await tbnsim.start(count_edges())  # runs it up to its first await
    for _ in range(3):
        dut.clk.value = 1
        await Timer(5, "ns")
        dut.clk.value = 0
        await Timer(5, "ns")
    assert dut.count.value == 6
    assert edges == [20, 30, 40]


@tbnsim.test(design=counter_dut, timeout_time=100, timeout_unit="ns",
             expect_error=tbnsim.SimTimeoutError)
async def test_timeout_is_enforced(dut):
    await reset(dut)
    await ClockCycles(dut.clk, 1000)


def test_deadlock_is_reported():
    @tbnsim.test(design=counter_dut)
    async def waits_forever(dut):
        await RisingEdge(dut.clk)  # no clock running

    with pytest.raises(tbnsim.Deadlock, match="nothing drives|no clock"):
        waits_forever.run()


def test_task_exception_fails_the_test():
    @tbnsim.test(design=counter_dut)
    async def child_fails(dut):
        async def bad():
            await Timer(1, "ns")
            raise ValueError("boom in a child task")

        start_soon(bad())
        await Timer(10, "ns")

    with pytest.raises(ValueError, match="boom in a child task"):
        child_fails.run()


def test_misuse_of_triggers():
    with pytest.raises(ValueError, match="unknown time unit"):
        Timer(1, "parsecs")
    with pytest.raises(ValueError, match="Timer\\(0\\)"):
        Timer(0)
    with pytest.raises(ValueError, match="num_cycles >= 1"):
        ClockCycles(counter_dut().clk, 0)
    with pytest.raises(TypeError, match="port of a tbnsim Dut"):
        RisingEdge(42)
    with pytest.raises(RuntimeError, match="no tbnsim test is running"):
        start_soon(None)

    @tbnsim.test(design=counter_dut)
    async def awaits_garbage(dut):
        await _Garbage()

    with pytest.raises(TypeError, match="cannot await"):
        awaits_garbage.run()


class _Garbage:
    def __await__(self):
        return (yield 42)


def test_discovery_and_runner():
    import sys

    mod = sys.modules[__name__]
    tests = tbnsim.discover(mod)
    names = [t.name for t in tests]
    assert names[:2] == ["test_clock_edges_and_time", "test_writes_settle_and_readonly"]
    res = tbnsim.run([t for t in tests if t.name == "test_clock_edges_and_time"], verbose=False)
    assert res == {"test_clock_edges_and_time": None}


def test_waveform_of_a_coroutine_test(tmp_path):
    vcd = tmp_path / "async.vcd"

    def traced():
        d = tbnsim.Dut.from_verilog(COUNTER_V, "counter", trace=True)
        d.trace_open(vcd)
        return d

    @tbnsim.test(design=traced)
    async def run_some_cycles(dut):
        await reset(dut)
        dut.en.value = 1
        dut.step.value = 1
        await ClockCycles(dut.clk, 20)
        dut.trace_close()

    run_some_cycles.run()
    text = vcd.read_text()
    stamps = [ln for ln in text.splitlines() if ln.startswith("#")]
    assert len(stamps) >= 40, "two samples per native cycle"


def test_dut_is_bound_to_its_thread():
    import threading

    dut = counter_dut()
    errors = []

    def other():
        try:
            dut.tick()
        except BaseException as e:  # noqa: BLE001 - recorded for the assertion
            errors.append(e)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert errors and "thread" in str(errors[0]).lower(), errors
