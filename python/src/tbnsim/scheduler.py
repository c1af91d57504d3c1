"""The coroutine scheduler behind the cocotb-style API.

One :class:`Scheduler` runs one test against one :class:`tbnsim.Dut`. Time is
kept in integer picoseconds. A :class:`Clock` started on the design's clock port
(``dut.clk``) is *native*: its cycles run inside the Verilated model
(``Dut.tick``), as many at once as no coroutine needs to see, so ``await
ClockCycles(dut.clk, 1000)`` costs one call. Each native cycle is: rising edge,
evaluate, falling edge, evaluate (the waveform is sampled after each half);
coroutines waiting for ``RisingEdge`` resume after it, ``FallingEdge`` waiters at
the falling edge's time. Designs that are purely rising-edge clocked (all of this
project's RTL) behave exactly as under an event-driven simulator. For other
designs, drive the clock yourself (``dut.clk.value = 1``; ``await Timer(...)``):
every write is settled with ``eval`` and edges of any port are detected, at
half-cycle resolution (the waveform then only records native ``tick`` calls).
"""

from __future__ import annotations

import collections
import heapq
import inspect

from .triggers import (
    ClockCycles,
    Combine,
    Edge,
    FallingEdge,
    First,
    Join,
    NextTimeStep,
    ReadOnly,
    ReadWrite,
    RisingEdge,
    Timer,
    Trigger,
    _EventWait,
    from_ps,
    to_ps,
)

__all__ = ["Scheduler", "Task", "Clock", "start_soon", "start", "get_sim_time", "current_scheduler"]

_INF = float("inf")
_current: "Scheduler | None" = None


class SimTimeoutError(Exception):
    """A test ran past its ``timeout_time``."""


class Deadlock(RuntimeError):
    """Every task waits for something that can no longer happen."""


def current_scheduler() -> "Scheduler":
    """The scheduler of the running test (raises outside a test)."""
    if _current is None:
        raise RuntimeError("no tbnsim test is running (start_soon and triggers need one)")
    return _current


def start_soon(coro) -> "Task":
    """Schedules a coroutine (or a ``Clock.start()``) to run concurrently; returns its Task."""
    return current_scheduler().start_soon(coro)


async def start(coro) -> "Task":
    """Schedules a coroutine and lets it run until its first ``await``."""
    task = current_scheduler().start_soon(coro)
    await ReadWrite()
    return task


def get_sim_time(units: str = "step"):
    """Current simulation time in ``units`` (1 step = 1 ps)."""
    return from_ps(current_scheduler().now, units)


class Task:
    """A running coroutine. ``await task`` waits for its result."""

    __slots__ = ("_coro", "name", "_done", "_result", "_exc", "_joiners", "_sched", "_clock")

    def __init__(self, sched: "Scheduler", coro, name: str):
        self._sched = sched
        self._coro = coro
        self.name = name
        self._done = False
        self._result = None
        self._exc = None
        self._joiners = []
        self._clock = None

    # waiter protocol
    @property
    def _alive(self) -> bool:
        return not self._done

    def _wake(self, value):
        if not self._done:
            self._sched._ready.append((self, value))

    def done(self) -> bool:
        """Whether the task finished (returned, raised or was killed)."""
        return self._done

    def result(self):
        """The return value (raises the task's exception, or if it is not done)."""
        if not self._done:
            raise RuntimeError(f"task {self.name} is not done")
        if self._exc is not None:
            raise self._exc
        return self._result

    def exception(self):
        """The exception the task raised, if any."""
        return self._exc

    def kill(self):
        """Stops the task (its coroutine is closed; joiners resume with None)."""
        if self._done:
            return
        self._done = True
        if self._clock is not None:
            self._sched._stop_clock(self._clock)
        try:
            self._coro.close()
        except Exception:  # noqa: BLE001 - a coroutine refusing to close is ignored
            pass
        self._finish_joiners()

    cancel = kill

    def join(self):
        """A trigger that fires when the task is done."""
        return Join(self)

    def _finish_joiners(self):
        joiners, self._joiners = self._joiners, []
        for j in joiners:
            j._wake(self._result)

    def _returned(self, value):
        """The coroutine returned `value`: the task is done, joiners resume."""
        self._done = True
        self._result = value
        self._finish_joiners()

    def _raised(self, exc):
        """The coroutine raised `exc`: joiners see it, else the test fails with it."""
        self._done = True
        self._exc = exc
        if self._joiners:
            self._finish_joiners()
        else:
            self._sched._fail(exc)

    def __await__(self):
        if not self._done:
            yield Join(self)
        return self.result()

    def __repr__(self):
        state = "done" if self._done else "running"
        return f"<Task {self.name} {state}>"


class _Any:
    """Waiter of ``First``: fires once, with the first sub-trigger's value."""

    __slots__ = ("target", "_alive", "trigger")

    def __init__(self, target, trigger):
        self.target = target
        self.trigger = trigger
        self._alive = True

    def _wake(self, value):
        if self._alive and self.target._alive:
            self._alive = False
            self.target._wake(value)


class _All:
    """Waiter of ``Combine``: fires when every sub-trigger has fired."""

    __slots__ = ("target", "left", "trigger", "_alive")

    def __init__(self, target, n, trigger):
        self.target = target
        self.left = n
        self.trigger = trigger
        self._alive = True

    def _wake(self, value):
        self.left -= 1
        if self.left == 0 and self._alive and self.target._alive:
            self._alive = False
            self.target._wake(self.trigger)


class _Sub:
    """One sub-trigger's waiter forwarding to a combining waiter."""

    __slots__ = ("parent", "_fired", "trig")

    def __init__(self, parent, trig):
        self.parent = parent
        self.trig = trig
        self._fired = False

    @property
    def _alive(self):
        return not self._fired and self.parent._alive

    def _wake(self, value):
        if self._fired:
            return
        self._fired = True
        if isinstance(self.parent, _Any):
            self.parent._wake(value if isinstance(self.trig, (Join, Task)) else self.trig)
        else:
            self.parent._wake(value)


class _Cycles:
    __slots__ = ("left", "waiter", "trigger")

    def __init__(self, left, waiter, trigger):
        self.left = left
        self.waiter = waiter
        self.trigger = trigger


class _Watch:
    """Edge waiters of one port, with its last seen value."""

    __slots__ = ("index", "last", "rise", "fall", "change")

    def __init__(self, index, value):
        self.index = index
        self.last = value
        self.rise = []
        self.fall = []
        self.change = []


class Clock:
    """A clock on a port: ``start_soon(Clock(dut.clk, 10, "ns").start())``.

    On the design's clock port the cycles run natively (see the module docs); on
    any other 1-bit input the clock is a coroutine toggling the port.
    """

    def __init__(self, signal, period, units: str = "step"):
        self.signal = signal
        self.period_ps = to_ps(period, units)
        if self.period_ps < 2 or self.period_ps % 2:
            raise ValueError(
                f"clock period {period} {units} must be an even number of picoseconds (at least 2)"
            )
        self.half_ps = self.period_ps // 2

    def start(self, start_high: bool = True, cycles=None):
        """The object to pass to ``start_soon`` (or to await: it never returns)."""
        if cycles is not None:
            return self._toggle(start_high, int(cycles))
        return _ClockStart(self, start_high)

    async def _toggle(self, start_high, cycles):
        hi, lo = (1, 0) if start_high else (0, 1)
        n = 0
        while cycles is None or n < cycles:
            self.signal.value = hi
            await Timer(self.half_ps)
            self.signal.value = lo
            await Timer(self.half_ps)
            n += 1

    def __repr__(self):
        return f"Clock({self.signal.name}, {self.period_ps} ps)"


class _ClockStart(Trigger):
    __slots__ = ("clock", "start_high")

    def __init__(self, clock, start_high):
        self.clock = clock
        self.start_high = start_high


class _NativeClock:
    __slots__ = ("clock", "index", "period", "half", "next_rise", "fall_at")

    def __init__(self, clock, index, now):
        self.clock = clock
        self.index = index
        self.period = clock.period_ps
        self.half = clock.half_ps
        self.next_rise = now
        self.fall_at = None


class Scheduler:
    """Runs coroutines against one design (see the module docs)."""

    def __init__(self, dut, max_time_ps: int | None = None):
        self.dut = dut
        self.native = dut._native
        self.now = 0
        self._ready = collections.deque()
        self._timers = []
        self._seq = 0
        self._clock: _NativeClock | None = None
        self._rise = []
        self._fall = []
        self._cycles = []
        self._watch: dict[int, _Watch] = {}
        self._readonly = []
        self._readwrite = []
        self._nextstep = []
        self._tasks = []
        self._error = None
        self._max_time = max_time_ps
        self._ntask = 0

    # -- tasks -------------------------------------------------------------
    def start_soon(self, coro, name: str | None = None) -> Task:
        """Creates a task for a coroutine (or ``Clock.start()``) and makes it ready."""
        if isinstance(coro, _ClockStart):
            gen = coro.__await__()
            name = name or repr(coro.clock)
        elif inspect.iscoroutine(coro):
            gen = coro
            name = name or getattr(coro, "__qualname__", "task")
        elif inspect.iscoroutinefunction(coro):
            raise TypeError(f"start_soon needs a coroutine: call {coro.__qualname__}(...) first")
        else:
            raise TypeError(f"start_soon needs a coroutine, not {coro!r}")
        self._ntask += 1
        task = Task(self, gen, f"{name}#{self._ntask}")
        self._tasks.append(task)
        if isinstance(coro, _ClockStart):
            # A clock starts at once (its task never resumes), so triggers
            # awaited right after start_soon already see it.
            task._coro.send(None)
            self._start_clock(task, coro)
        else:
            self._ready.append((task, None))
        return task

    def _fail(self, exc):
        if self._error is None:
            self._error = exc

    # -- the clock ---------------------------------------------------------
    def _start_clock(self, task, cs: _ClockStart):
        sig = cs.clock.signal
        native_clock = self.native.clock
        if sig.dut is not self.native or sig.name != native_clock or not cs.start_high:
            # Not the design's clock: toggle it from a coroutine.
            self.start_soon(cs.clock._toggle(cs.start_high, None), name=repr(cs.clock))
            return
        if self._clock is not None:
            raise RuntimeError(f"a clock already drives {sig.name}")
        self._clock = _NativeClock(cs.clock, sig.index, self.now)
        task._clock = self._clock
        # Edge waiters registered before the clock started now follow the clock.
        w = self._watch.pop(sig.index, None)
        if w is not None:
            self._rise.extend(w.rise)
            self._fall.extend(w.fall)
            for waiter, trig in w.change:
                a = _Any(waiter, trig)
                self._rise.append((a, trig))
                self._fall.append((a, trig))

    def _stop_clock(self, c):
        if self._clock is c:
            self._clock = None
            # Edge waiters on the port now wait for writes.
            for lst, kind in ((self._rise, "rise"), (self._fall, "fall")):
                for pair in lst:
                    self._watch_add(c.index, kind, pair)
            self._rise, self._fall = [], []

    # -- registration ------------------------------------------------------
    def _watch_add(self, index, kind, waiter):
        w = self._watch.get(index)
        if w is None:
            w = self._watch[index] = _Watch(index, self.native.get(index))
        getattr(w, kind).append(waiter)

    def _register(self, trig, waiter):
        cls = type(trig)
        clock = self._clock
        if cls is RisingEdge or cls is FallingEdge or cls is Edge:
            if clock is not None and trig.index == clock.index and trig.dut is self.native:
                if cls is RisingEdge:
                    self._rise.append((waiter, trig))
                elif cls is FallingEdge:
                    self._fall.append((waiter, trig))
                else:
                    a = _Any(waiter, trig)
                    self._rise.append((a, trig))
                    self._fall.append((a, trig))
                return
            if trig.dut is not self.native:
                raise ValueError(f"{trig!r}: the port belongs to another design")
            self._watch_add(trig.index, trig.kind, (waiter, trig))
        elif cls is ClockCycles:
            sig = trig.signal
            if clock is not None and sig.index == clock.index and sig.dut is self.native:
                self._cycles.append(_Cycles(trig.num_cycles, waiter, trig))
            else:
                self.start_soon(self._count_edges(trig, waiter), name=repr(trig))
        elif cls is Timer:
            self._seq += 1
            heapq.heappush(self._timers, (self.now + trig.ps, self._seq, waiter, trig))
        elif cls is ReadOnly:
            self._readonly.append((waiter, trig))
        elif cls is ReadWrite:
            self._readwrite.append((waiter, trig))
        elif cls is NextTimeStep:
            self._nextstep.append((waiter, trig))
        elif cls is Join:
            t = trig.task
            if t._done:
                waiter._wake(t._result)
            else:
                t._joiners.append(waiter)
        elif cls is _EventWait:
            if trig.event.is_set():
                waiter._wake(trig)
            else:
                trig.event._waiters.append(lambda _e, w=waiter, t=trig: w._wake(t))
        elif cls is First:
            anyw = _Any(waiter, trig)
            for sub in trig.triggers:
                self._register(_as_trigger(sub), _Sub(anyw, sub))
        elif cls is Combine:
            allw = _All(waiter, len(trig.triggers), trig)
            for sub in trig.triggers:
                self._register(_as_trigger(sub), _Sub(allw, sub))
        elif cls is _ClockStart:
            if not isinstance(waiter, Task):
                raise TypeError("a Clock.start() cannot be combined with other triggers")
            self._start_clock(waiter, trig)
        elif isinstance(trig, Task):
            self._register(Join(trig), waiter)
        else:
            raise TypeError(
                f"cannot await {trig!r}: await a trigger (RisingEdge, Timer, ...), a Task or a coroutine"
            )

    async def _count_edges(self, trig, waiter):
        edge = RisingEdge if trig.rising else FallingEdge
        for _ in range(trig.num_cycles):
            await edge(trig.signal)
        waiter._wake(trig)

    # -- the loop ----------------------------------------------------------
    def _run_ready(self):
        ready = self._ready
        register = self._register
        while ready:
            task, value = ready.popleft()
            if task._done:
                continue
            try:
                if type(value) is _Throw:
                    trig = task._coro.throw(value.exc)
                else:
                    trig = task._coro.send(value)
            except StopIteration as e:
                task._returned(e.value)
                continue
            except BaseException as e:  # noqa: BLE001 - reported as the test's failure
                task._raised(e)
                continue
            try:
                register(trig, task)
            except BaseException as e:  # noqa: BLE001
                ready.append((task, _Throw(e)))

    def _settle(self):
        """Evaluates pending writes and fires edge waiters of watched ports."""
        native = self.native
        if native.dirty:
            native.eval()
        if self._watch:
            self._check_watch()

    def _check_watch(self):
        get = self.native.get
        for idx, w in list(self._watch.items()):
            v = get(idx)
            old = w.last
            if v == old:
                continue
            w.last = v
            fired = w.change
            w.change = []
            if (v & 1) and not (old & 1):
                fired = fired + w.rise
                w.rise = []
            elif not (v & 1) and (old & 1):
                fired = fired + w.fall
                w.fall = []
            for waiter, trig in fired:
                waiter._wake(trig)
            if not (w.rise or w.fall or w.change):
                del self._watch[idx]

    def run(self, coro):
        """Runs ``coro`` (the test) to completion; returns its result."""
        global _current
        prev = _current
        _current = self
        try:
            root = self.start_soon(coro, name="test")
            self._loop(root)
            if self._error is not None:
                raise self._error
            return root.result()
        finally:
            for t in self._tasks:
                if not t._done:
                    t.kill()
            _current = prev

    def _loop(self, root):
        ready = self._ready
        while True:
            # 1. Deltas at the current time.
            while True:
                if ready:
                    self._run_ready()
                if self._error is not None or root._done:
                    return
                self._settle()
                if ready:
                    continue
                if self._readwrite:
                    rw, self._readwrite = self._readwrite, []
                    for w, t in rw:
                        w._wake(t)
                    continue
                if self._readonly:
                    ro, self._readonly = self._readonly, []
                    for w, t in ro:
                        w._wake(t)
                    self._run_ready()
                    if self._error is not None or root._done:
                        return
                    self._settle()
                    if ready:
                        continue
                break
            # 2. Advance time to the next event.
            if self._rise and self._clock is not None and self._fast_rises(root):
                if self._error is not None or root._done:
                    return
                continue
            self._advance(root)

    def _fast_rises(self, root) -> bool:
        """The hot path: while every waiting task waits only for rising edges of the
        native clock, run cycle after cycle here without the general machinery.
        Returns whether any cycle ran."""
        c = self._clock
        native = self.native
        tick = native.tick
        period, half, cidx = c.period, c.half, c.index
        ready = self._ready
        ran = False
        while True:
            rise = self._rise
            if (not rise or ready or self._fall or self._cycles or self._timers or self._watch
                    or self._readonly or self._readwrite or self._nextstep
                    or self._max_time is not None or self._clock is not c):
                return ran
            if native.dirty:
                native.eval()
            tick(1)
            ran = True
            now = c.next_rise
            self.now = now
            c.next_rise = now + period
            c.fall_at = now + half
            self._rise = newrise = []
            for w, t in rise:
                if type(w) is not Task:
                    w._wake(t)
                    continue
                if w._done:
                    continue
                try:
                    trig = w._coro.send(t)
                except StopIteration as e:
                    w._returned(e.value)
                    continue
                except BaseException as e:  # noqa: BLE001 - reported as the test's failure
                    w._raised(e)
                    continue
                if type(trig) is RisingEdge and trig.index == cidx and trig.dut is native:
                    newrise.append((w, trig))
                else:
                    try:
                        self._register(trig, w)
                    except BaseException as e:  # noqa: BLE001
                        ready.append((w, _Throw(e)))
            if root._done or self._error is not None:
                return True
            # Writes made by the tasks are settled before the next edge (above);
            # a falling edge nobody waits for needs no visit.
            if not self._fall:
                c.fall_at = None

    def _advance(self, root):
        timers = self._timers
        t_timer = timers[0][0] if timers else _INF
        c = self._clock
        nextstep = self._nextstep
        if nextstep:
            self._nextstep = []
        if c is not None:
            # Prune dead waiters.
            if self._cycles and not all(cw.waiter._alive for cw in self._cycles):
                self._cycles = [cw for cw in self._cycles if cw.waiter._alive]
            if c.fall_at is not None and c.fall_at <= t_timer:
                if self._fall or nextstep:
                    self._check_time(c.fall_at)
                    self.now = c.fall_at
                    c.fall_at = None
                    fall, self._fall = self._fall, []
                    for w, t in fall + nextstep:
                        w._wake(t)
                    return
                # Nobody looks at this falling edge: go on to the next event.
                c.fall_at = None
            if c.next_rise <= t_timer:
                self._clock_rises(c, t_timer, root)
                for w, t in nextstep:
                    w._wake(t)
                return
        if t_timer == _INF:
            if self._watch and c is None:
                raise Deadlock(
                    f"{root.name} waits for edges of ports that nothing drives "
                    "(start a Clock or write the ports)"
                )
            raise Deadlock(
                f"{root.name} (and every other task) waits for something that can no longer happen: "
                "no clock is running and no timer is pending"
            )
        t, _, waiter, trig = heapq.heappop(timers)
        self._check_time(t)
        self.now = t
        waiter._wake(trig)
        for w, tr in nextstep:
            w._wake(tr)
        while timers and timers[0][0] == t:
            _, _, waiter, trig = heapq.heappop(timers)
            waiter._wake(trig)

    def _check_time(self, t):
        if self._max_time is not None and t > self._max_time:
            raise SimTimeoutError(
                f"the test ran past its time limit of {from_ps(self._max_time, 'ns')} ns"
            )

    def _clock_rises(self, c, t_timer, root):
        # How many cycles can run before anyone must resume?
        k = _INF
        if self._rise or self._fall:
            k = 1
        elif self._cycles:
            k = min(cw.left for cw in self._cycles)
        if t_timer != _INF:
            k = min(k, (t_timer - c.next_rise) // c.period + 1)
        if self._max_time is not None:
            k = min(k, max(1, (self._max_time - c.next_rise) // c.period + 1))
        watched = self._watch
        if k == _INF:
            if not watched:
                raise Deadlock(
                    f"{root.name} (and every other task) waits for something that can no longer "
                    "happen: only the clock runs and nobody waits for it, a timer or a port"
                )
            k = 1 << 16
        k = int(k)
        if self.native.dirty:
            self.native.eval()
        if watched:
            ran = self.native.tick_until_change(k, list(watched))
        else:
            self.native.tick(k)
            ran = k
        t_rise = c.next_rise + (ran - 1) * c.period
        self._check_time(t_rise)
        self.now = t_rise
        c.next_rise = t_rise + c.period
        c.fall_at = t_rise + c.half
        if self._rise:
            rise, self._rise = self._rise, []
            for w, t in rise:
                w._wake(t)
        if self._cycles:
            keep = []
            for cw in self._cycles:
                cw.left -= ran
                if cw.left <= 0:
                    cw.waiter._wake(cw.trigger)
                else:
                    keep.append(cw)
            self._cycles = keep


class _Throw:
    """A resumption value meaning: throw this exception into the task."""

    __slots__ = ("exc",)

    def __init__(self, exc):
        self.exc = exc


def _as_trigger(obj):
    if isinstance(obj, (Trigger, Task)):
        return obj
    if inspect.iscoroutine(obj):
        return current_scheduler().start_soon(obj)
    raise TypeError(f"{obj!r} is not a trigger, task or coroutine")
