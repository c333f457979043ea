"""Batch runs on Ray, on a real two-node cluster on this machine: same bytes as the local runner,
also when a worker is killed with SIGKILL mid-run (retried on the restarted actor) and when a lost
worker stops the run (resumed, then the same bytes as an uninterrupted run).

The work is the real `bench ifbench-pairs` (embedded RM + constraint checkers through the graph)
on the first items of the shared IFBench pairs.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is in the `ray` extra (make setup installs it)")

import ray.cloudpickle  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from reward_agent.batch.ray_pool import RaySettings, WorkerLost, ray_work  # noqa: E402
from reward_agent.batch.ray_pool import run_batch_ray  # noqa: E402
from reward_agent.batch.runner import arun_batch, run_batch  # noqa: E402
from reward_agent.batch.scoring import run_config  # noqa: E402
from reward_agent.bench.registry import BENCHMARKS  # noqa: E402
from reward_agent.bench.suite import bench_work, run_bench  # noqa: E402
from reward_agent.context import load_context  # noqa: E402

pytestmark = pytest.mark.integration
# The small work functions below travel to the actors by value (tests/ is not importable there).
ray.cloudpickle.register_pickle_by_value(__import__(__name__))

REPO = Path(__file__).resolve().parents[2]
LIMIT = 6
NAME = "ifbench-pairs"


@pytest.fixture(scope="module")
def data(data_dir: Path) -> Path:
    return data_dir / "ifbench-arm" / "pairs.json"


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("cache") / "cache.sqlite3"
    return load_context(None).model_copy(update={"cache_path": str(cache)})


@pytest.fixture(scope="module")
def local_bytes(data: Path, context, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """results.jsonl of the local (asyncio, in-process) runner: the reference."""
    out = tmp_path_factory.mktemp("local")
    run_bench(NAME, data, out, limit=LIMIT, concurrency=2, progress=False, context=context)
    return (out / "results.jsonl").read_bytes()


@pytest.fixture(scope="module")
def cluster():
    """Two Ray nodes of one CPU each on this machine; the test process connects as the driver."""
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    c.add_node(num_cpus=1)
    env = {k: os.environ[k] for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if k in os.environ}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    ray.init(address=c.address, runtime_env={"env_vars": env}, log_to_driver=False)
    c.wait_for_nodes()
    try:
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        yield c
    finally:
        ray.shutdown()
        c.shutdown()


def _items(data: Path):
    return BENCHMARKS.get(NAME).load(data)[:LIMIT]


def _config(context, data: Path):
    # What run_bench pins, so that run_bench can resume what these tests start.
    return run_config(context, bench=NAME, data=str(data.resolve()), seed=0)


async def _run_killing_worker(data: Path, context, out: Path, settings: RaySettings) -> None:
    """A Ray run that SIGKILLs actor 0's process right after the first row arrives (items in flight)."""
    factory = functools.partial(bench_work, NAME, context, 0)
    async with ray_work(factory, settings) as (work, actors):
        pid = await actors[0].pid.remote()
        killed = asyncio.Event()

        async def work_then_kill(item):
            row = await work(item)
            if not killed.is_set():
                killed.set()
                # A moment later, so that the runner has handed both actors their next items.
                asyncio.get_running_loop().call_later(0.3, os.kill, pid, signal.SIGKILL)
            return row

        await arun_batch(_items(data), work_then_kill, out, concurrency=2, config=_config(context, data),
                         progress=False)
        assert killed.is_set()
    return pid


def test_ray_run_on_two_nodes_equals_local_run(cluster, data: Path, context, local_bytes: bytes, tmp_path: Path) -> None:
    run_bench(NAME, data, tmp_path, limit=LIMIT, concurrency=2, progress=False, context=context,
              ray=RaySettings(workers=2))
    assert (tmp_path / "results.jsonl").read_bytes() == local_bytes
    runs = json.loads((tmp_path / "results.run.json").read_text())["runs"]
    assert runs[-1]["executor"] == "ray" and runs[-1]["complete"] is True
    assert json.loads((tmp_path / "metrics.json").read_text())["items"] == LIMIT


def test_worker_killed_mid_run_is_restarted_and_rows_are_identical(cluster, data: Path, context, local_bytes: bytes,
                                                                    tmp_path: Path) -> None:
    pid = asyncio.run(_run_killing_worker(data, context, tmp_path, RaySettings(workers=2)))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the worker really died
    assert (tmp_path / "results.jsonl").read_bytes() == local_bytes


def test_lost_worker_stops_the_run_and_resuming_gives_the_same_bytes(cluster, data: Path, context, local_bytes: bytes,
                                                                     tmp_path: Path) -> None:
    no_restarts = RaySettings(workers=2, max_restarts=0, max_task_retries=0)
    with pytest.raises(WorkerLost, match="run the command again to resume"):
        asyncio.run(_run_killing_worker(data, context, tmp_path, no_restarts))
    partial = (tmp_path / "results.jsonl").read_bytes()
    # A clean prefix in dataset order, no error rows. It may be empty: when the killed actor held item 0,
    # no later row can be written before it (on a loaded machine that is the common case).
    assert partial.count(b"\n") < LIMIT and local_bytes.startswith(partial)
    # Resume by running the command again; here without --ray (the executor is not part of the pinned
    # configuration, and this process has the models loaded already, which keeps the test short).
    run_bench(NAME, data, tmp_path, limit=LIMIT, concurrency=2, progress=False, context=context)
    assert (tmp_path / "results.jsonl").read_bytes() == local_bytes


def _failing_factory():
    async def work(item: int) -> dict[str, int]:
        if item % 4 == 3:
            raise KeyError(f"no field {item}")
        return {"square": item * item}

    return work


def test_failures_are_the_same_rows_on_ray(cluster, tmp_path: Path) -> None:
    items = [(f"item-{n}", n) for n in range(12)]
    run_batch(items, _failing_factory(), tmp_path / "local", concurrency=3, progress=False)
    report = run_batch_ray(items, _failing_factory, tmp_path / "ray", RaySettings(workers=2, concurrency_per_worker=2),
                           concurrency=3, progress=False)
    assert report.failed == 3
    assert (tmp_path / "ray" / "results.jsonl").read_bytes() == (tmp_path / "local" / "results.jsonl").read_bytes()


def _codegen_factory(url: str, log_path: str):
    """Work that 'generates a checker' per prompt through the shared cache; each real generation is logged."""
    import time

    from reward_agent.cache import shared_cache

    def generate(prompt: int) -> dict[str, str]:
        with open(log_path, "a") as fh:
            fh.write(f"{prompt}\n")
        time.sleep(0.3)
        return {"code": f"def check_{prompt}(r): return True"}

    async def work(prompt: int) -> dict[str, str]:
        cache = shared_cache(url)
        return await asyncio.to_thread(cache.get_or_compute, "codegen", {"prompt": prompt}, lambda: generate(prompt))

    return work


def test_two_workers_share_generated_checkers_through_redis(cluster, redis_server, tmp_path: Path) -> None:
    log_path = tmp_path / "generations.log"
    items = [(f"response-{n}", n % 2) for n in range(8)]  # 8 responses to 2 prompts, on 2 nodes
    factory = functools.partial(_codegen_factory, redis_server.url, str(log_path))
    report = run_batch_ray(items, factory, tmp_path / "out", RaySettings(workers=2, concurrency_per_worker=2),
                           concurrency=4, progress=False)
    assert [r["code"] for r in report.rows] == [f"def check_{n % 2}(r): return True" for n in range(8)]
    assert sorted(log_path.read_text().split()) == ["0", "1"]  # one generation per prompt, cluster-wide


def test_annotate_on_ray_writes_the_same_pairs(cluster, context, local_bytes: bytes, tmp_path: Path) -> None:
    """best-of-n and annotate share `execute_batch`; annotate (scores, then DPO pairs) checks that path."""
    from reward_agent.batch.annotate import run_annotate
    from reward_agent.batch.inputs import load_items

    items = load_items(REPO / "benchmarks" / "data" / "ifeval_smollm2_samples.jsonl")[:2]
    local = run_annotate(items, tmp_path / "local" / "pairs.jsonl", context=context, concurrency=2, progress=False)
    on_ray = run_annotate(items, tmp_path / "ray" / "pairs.jsonl", context=context, concurrency=2, progress=False,
                          ray=RaySettings(workers=1))
    assert local["pairs_written"] == on_ray["pairs_written"] >= 1
    for rel in ("pairs.jsonl", "pairs_scores/scores.jsonl"):
        assert (tmp_path / "ray" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes()
