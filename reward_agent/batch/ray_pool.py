"""Batch work on Ray: a pool of actors that each load the models once and score items for the driver.

The driver keeps running `runner.arun_batch` unchanged (dataset order, stable ids, progress, failure
rows, pinned configuration, resumption): `ray_work(factory, settings)` only swaps the `work`
callable it is given for one that sends each item to the least busy actor and awaits its row. So a
Ray run writes the same bytes as a local one, and only the driver ever writes rows, which is why
Ray's retries cannot duplicate or lose one.

* **Item failures are rows, as locally.** The actor catches an exception of the work and returns
  `error_fields(exc)`, the same text the local runner writes (a Ray-wrapped exception would carry
  another type name).
* **Worker failures are not item failures.** A killed actor is restarted by Ray and its in-flight
  items are retried on it (`max_restarts`, `max_task_retries`). When that is exhausted the run
  stops with `WorkerLost` after writing the finished prefix, so that running the command again
  resumes the missing items instead of recording the crash as their results.

`factory` is a picklable zero-argument callable that builds the async work function inside the
actor (e.g. `functools.partial(bench_work, "ifbench-pairs", context, seed)`): models are then loaded
once per actor, on its first item.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, RewardAgentError
from .runner import BatchReport, RunAborted, arun_batch, error_fields, run_batch

__all__ = ["RaySettings", "WorkerLost", "execute_batch", "ray_session", "ray_work", "run_batch_ray"]

log = logging.getLogger(__name__)
Work = Callable[[Any], Awaitable[dict[str, Any]]]


class WorkerLost(RunAborted, RewardAgentError):
    """A Ray worker died and could not be restarted; the run stops (rerun the command to resume)."""


@dataclass(frozen=True)
class RaySettings:
    """How a batch run uses Ray.

    address: an existing cluster (`ray start --head` prints it; `auto` finds a local one); None reads
        `$RAY_ADDRESS`, and without it a local Ray is started for the run with `local_cpus` CPUs.
    workers: actors in the pool, each holding its own copy of the models.
    cpus_per_worker / gpus_per_worker: Ray resources each actor reserves (GPUs for a local RM/vLLM).
    concurrency_per_worker: items one actor scores at the same time (async, in its own event loop).
    max_restarts / max_task_retries: how often a dead actor is restarted and its items retried.
    """

    address: str | None = None
    workers: int = 2
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    concurrency_per_worker: int = 1
    local_cpus: int = 2
    max_restarts: int = 3
    max_task_retries: int = 3

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError(f"--workers must be >= 1, got {self.workers}")
        if self.concurrency_per_worker < 1:
            raise ConfigError(f"concurrency per worker must be >= 1, got {self.concurrency_per_worker}")
        if self.cpus_per_worker < 0 or self.gpus_per_worker < 0:
            raise ConfigError("CPUs and GPUs per worker must be >= 0")

    @property
    def resolved_address(self) -> str | None:
        return self.address or os.environ.get("RAY_ADDRESS") or None


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ConfigError("--ray needs Ray: pip install 'reward-agent[ray]'") from exc
    return ray


@contextlib.contextmanager
def ray_session(settings: RaySettings) -> Iterator[Any]:
    """Connect to the cluster (or start a local Ray); shut down only what this call started.

    A Ray already initialised in this process (a test's cluster, a notebook) is used as it is.
    """
    ray = _import_ray()
    if ray.is_initialized():
        yield ray
        return
    address = settings.resolved_address
    # The driver's import path travels to the workers, so a source checkout is importable there too.
    env = {k: os.environ[k] for k in ("PYTHONPATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "REWARD_AGENT_CACHE")
           if k in os.environ}
    kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}, "log_to_driver": False}
    if address:
        ray.init(address=address, **kwargs)
    else:
        # At least the pool's reservation, so that every actor can be placed.
        cpus = max(settings.local_cpus, math.ceil(settings.workers * settings.cpus_per_worker))
        ray.init(num_cpus=cpus, include_dashboard=False, **kwargs)
    try:
        yield ray
    finally:
        ray.shutdown()


class _Worker:
    """A Ray actor (async): builds the work function once, then scores items on request."""

    def __init__(self, factory: Callable[[], Work]) -> None:
        self._factory = factory
        self._work: Work | None = None
        self._build = asyncio.Lock()

    async def run(self, item: Any) -> dict[str, Any]:
        if self._work is None:
            async with self._build:
                if self._work is None:
                    self._work = self._factory()
        try:
            row = await self._work(item)
        except Exception as exc:  # noqa: BLE001 - the same error row the local runner would write
            return error_fields(exc)
        return row

    def pid(self) -> int:
        return os.getpid()


@contextlib.asynccontextmanager
async def ray_work(factory: Callable[[], Work], settings: RaySettings) -> AsyncIterator[tuple[Work, list[Any]]]:
    """A pool of `settings.workers` actors; yields (work callable for `arun_batch`, the actor handles).

    Call inside `ray_session`. The work callable sends each item to the actor with the fewest items in
    flight and returns its row; a worker lost beyond its retries raises `WorkerLost`.
    """
    ray = _import_ray()
    from ray.exceptions import RayActorError, WorkerCrashedError

    actor_cls = ray.remote(_Worker).options(
        num_cpus=settings.cpus_per_worker, num_gpus=settings.gpus_per_worker,
        max_concurrency=settings.concurrency_per_worker, max_restarts=settings.max_restarts,
        max_task_retries=settings.max_task_retries,
    )
    wanted = settings.workers * settings.cpus_per_worker
    have = ray.cluster_resources().get("CPU", 0.0)
    if wanted > have:
        # Not an error: an autoscaling cluster (KubeRay) adds nodes for pending actors.
        log.warning("the Ray pool asks for %g CPUs, the cluster has %g now: actors wait until nodes join", wanted, have)
    actors = [actor_cls.remote(factory) for _ in range(settings.workers)]
    in_flight = [0] * len(actors)
    order = itertools.count()

    async def work(item: Any) -> dict[str, Any]:
        # Least busy first; ties broken round robin so a pool of idle actors all get work.
        start = next(order) % len(actors)
        idx = min(range(len(actors)), key=lambda i: (in_flight[i], (i - start) % len(actors)))
        in_flight[idx] += 1
        try:
            return await actors[idx].run.remote(item)
        except (RayActorError, WorkerCrashedError) as exc:
            raise WorkerLost(f"Ray worker {idx} died beyond its {settings.max_restarts} restart(s): "
                             f"{type(exc).__name__}; run the command again to resume") from exc
        finally:
            in_flight[idx] -= 1

    try:
        yield work, actors
    finally:
        for actor in actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)


def run_batch_ray(items: Sequence[tuple[str, Any]], factory: Callable[[], Work], out_dir: str | Path,
                  settings: RaySettings, **batch: Any) -> BatchReport:
    """`runner.run_batch` with the work done by a pool of Ray actors built from `factory`.

    `batch` takes run_batch's keyword arguments (name, concurrency, config, desc, progress, overwrite).
    """

    async def run() -> BatchReport:
        async with ray_work(factory, settings) as (work, _actors):
            info = {"executor": "ray", "workers": settings.workers}
            return await arun_batch(items, work, out_dir, run_info=info, **batch)

    with ray_session(settings):
        return asyncio.run(run())


def execute_batch(items: Sequence[tuple[str, Any]], factory: Callable[[], Work], out_dir: str | Path,
                  ray: RaySettings | None = None, **batch: Any) -> BatchReport:
    """One entry for the batch commands: locally (`ray=None`: the work built here) or on Ray.

    The executor, like concurrency, changes how fast rows come, never their content: it is not part
    of the pinned configuration, so a local run can be resumed on Ray and the other way round.
    """
    if ray is None:
        return run_batch(items, factory(), out_dir, **batch)
    return run_batch_ray(items, factory, out_dir, ray, **batch)
