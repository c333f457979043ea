"""The parts of batch-on-Ray that need no cluster: options, the actor's row contract, aborting a run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reward_agent.batch.ray_pool import RaySettings, WorkerLost, _Worker, execute_batch
from reward_agent.batch.runner import RunAborted, error_row, run_batch
from reward_agent.cli_ray import ray_settings
from reward_agent.errors import ConfigError


def test_ray_options() -> None:
    assert ray_settings(False, None, 2, 1.0, 0.0, 4) is None
    with pytest.raises(ConfigError, match="--ray-address needs --ray"):
        ray_settings(False, "auto", 2, 1.0, 0.0, 4)
    s = ray_settings(True, "ray://head:10001", 3, 2.0, 0.5, 4)
    assert (s.address, s.workers, s.cpus_per_worker, s.gpus_per_worker) == ("ray://head:10001", 3, 2.0, 0.5)
    assert s.concurrency_per_worker == 2  # 4 items in flight over 3 workers: at most 2 on one
    with pytest.raises(ConfigError, match="--workers"):
        RaySettings(workers=0)


def test_address_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    assert RaySettings().resolved_address == "10.0.0.1:6379"
    assert RaySettings(address="auto").resolved_address == "auto"
    monkeypatch.delenv("RAY_ADDRESS")
    assert RaySettings().resolved_address is None  # a local Ray is started for the run


def _factory():
    async def work(item: int) -> dict[str, int]:
        if item % 3 == 2:
            raise ValueError(f"bad item {item}\nsecond line")
        return {"double": 2 * item}

    return work


def test_actor_returns_the_row_the_local_runner_writes(tmp_path: Path) -> None:
    worker = _Worker(_factory)
    assert asyncio.run(worker.run(1)) == {"double": 2}
    failed = asyncio.run(worker.run(2))
    assert {"id": "x", **failed} == error_row("x", ValueError("bad item 2\nsecond line"))


def test_execute_batch_without_ray_is_run_batch(tmp_path: Path) -> None:
    items = [(f"i{n}", n) for n in range(7)]
    execute_batch(items, _factory, tmp_path / "a", None, progress=False)
    run_batch(items, _factory(), tmp_path / "b", progress=False)
    assert (tmp_path / "a" / "results.jsonl").read_bytes() == (tmp_path / "b" / "results.jsonl").read_bytes()


def test_run_aborted_stops_the_run_without_error_rows_and_resumes(tmp_path: Path) -> None:
    items = [(f"i{n}", n) for n in range(6)]
    work = _factory()

    async def flaky(item: int) -> dict[str, int]:
        if item == 4:
            raise WorkerLost("worker died")
        return await work(item)

    assert issubclass(WorkerLost, RunAborted)
    with pytest.raises(WorkerLost):
        run_batch(items, flaky, tmp_path, concurrency=1, progress=False)
    partial = (tmp_path / "results.jsonl").read_text()
    assert partial.count("\n") == 4 and "worker died" not in partial
    run_batch(items, work, tmp_path, concurrency=1, progress=False)
    run_batch(items, work, tmp_path / "ref", concurrency=1, progress=False)
    assert (tmp_path / "results.jsonl").read_bytes() == (tmp_path / "ref" / "results.jsonl").read_bytes()
