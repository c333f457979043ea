"""The bounded pool: order kept, concurrency bounded, the event loop never blocked."""

from __future__ import annotations

import asyncio
import time

from reward_agent.sandbox import Job, Limits, SandboxPool
from reward_agent.sandbox import pool as pool_module

SLEEPY = "def check(r):\n    n = 0\n    for _ in range(3_000_000):\n        n += 1\n    return r == 'yes'\n"


def test_results_come_back_in_job_order() -> None:
    pool = SandboxPool(max_workers=2)
    jobs = [Job(f"def check(r):\n    return r == '{i}'\n", [str(i), "x"]) for i in range(5)]
    results = asyncio.run(pool.run_all(jobs))
    assert [r.verdicts for r in results] == [[True, False]] * 5


def test_the_bound_is_respected_and_the_loop_keeps_running(monkeypatch) -> None:
    pool = SandboxPool(max_workers=2, limits=Limits(per_response_timeout_s=5))
    live = peak = 0
    ticks = 0
    real_execute = pool_module.execute_batch

    async def counted_execute(code, responses, limits=None):
        # Counts sandboxes that are really running: this is what the pool calls inside its semaphore.
        nonlocal live, peak
        live += 1
        peak = max(peak, live)
        try:
            return await real_execute(code, responses, limits=limits)
        finally:
            live -= 1

    monkeypatch.setattr(pool_module, "execute_batch", counted_execute)

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    async def main():
        stop = asyncio.Event()
        tick_task = asyncio.create_task(ticker(stop))
        started = time.perf_counter()
        sem = pool._semaphore()
        results = await pool.run_all([Job(SLEEPY, ["yes"]) for _ in range(4)])
        elapsed = time.perf_counter() - started
        stop.set()
        await tick_task
        return results, elapsed, sem

    results, elapsed, sem = asyncio.run(main())
    assert all(r.verdicts == [True] for r in results)
    # Four jobs, two slots: never more than two sandboxes at once, and two did run side by side
    # (the first two enter before either can finish, since starting a process awaits).
    assert peak == 2
    assert live == 0
    assert sem._value == 2  # every slot given back
    # The loop kept ticking while the sandboxes ran. Had the pool blocked the loop, the ticker could
    # only run between the four runs (a handful of ticks); a fixed floor, not a rate, so that a
    # loaded machine (fewer ticks per second) cannot fail a loop that was never blocked.
    assert ticks >= 10, (ticks, elapsed)


def test_semaphore_is_per_event_loop() -> None:
    pool = SandboxPool(max_workers=1)
    for _ in range(2):  # two loops in a row: a loop-bound semaphore would fail on the second
        result = asyncio.run(pool.run("def check(r):\n    return True\n", ["a"]))
        assert result.verdicts == [True]
