"""The batch runner locally vs on Ray (1 and 2 actors): items/s, start-up, Ray's per-item overhead.

One process, one run: the local runner first, then a local Ray (`ray.init(num_cpus=2)`) with an
actor pool of 1 and of 2 workers, all on the same first `--limit` items of `bench ifbench-pairs`
(embedded RM + constraint checkers through the graph), each mode with its own fresh cache file so no
mode is served by another's cache. For each mode:

- warm-up: the time to load the models (locally: the first item in this process; on Ray: the first
  item on every actor, concurrently), reported apart, since it is paid once per worker;
- throughput: items/s of the runner over all items after the warm-up (the runner's own elapsed time);
- the results file is compared byte for byte with the local one.

The local runner runs first and again last, each in a fresh process (in-process memos would serve
a second run), bracketing the Ray modes; ratios are against the mean of those two local runs. A
third local run with OMP_NUM_THREADS=1 matches what Ray gives an actor of 1 CPU.

Ray's per-item overhead is measured on a no-op work function (returns its item): the same runner
with the same concurrency, locally and through a 1-actor pool; the difference per item is what Ray
adds (serialisation, scheduling, the round trip to the actor).

The machine is shared and loaded by other jobs: compare the modes of one run (ratios), not runs.

    python benchmarks/bench_ray.py [--limit 40] [--out DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "ifbench-arm" / "pairs.json"
NAME = "ifbench-pairs"


def echo_factory():
    """A work function that does nothing (for Ray's per-item overhead)."""

    async def work(item: Any) -> dict[str, Any]:
        return {"value": item}

    return work


def _context(cache_dir: Path):
    from reward_agent.context import load_context

    cache_dir.mkdir(parents=True, exist_ok=True)
    return load_context(None).model_copy(update={"cache_path": str(cache_dir / "cache.sqlite3")})


def _rate(run_json: Path) -> dict[str, Any]:
    info = json.loads(run_json.read_text())["runs"][-1]
    return {"items": info["done"], "elapsed_s": info["elapsed_s"], "items_per_s": info["items_per_s"]}


def run_local(items, out: Path, scratch: Path, concurrency: int, label: str = "local") -> dict[str, Any]:
    from reward_agent.batch.runner import arun_batch
    from reward_agent.bench.suite import bench_work

    work = bench_work(NAME, _context(scratch / f"cache-{out.name}"), 0)
    started = time.perf_counter()
    asyncio.run(work(items[0][1]))  # loads the models in this process
    warmup = time.perf_counter() - started
    asyncio.run(arun_batch(items, work, out, concurrency=concurrency, progress=True, desc="local"))
    return {"mode": label, "warmup_s": round(warmup, 2), **_rate(out / "results.run.json")}


def run_local_fresh(args: argparse.Namespace, out: Path, scratch: Path, label: str,
                    env: dict[str, str] | None = None) -> dict[str, Any]:
    """`run_local` in a fresh Python process: the first run of the process fills in-process memos
    (RM scores, checker results), so a second local run in one process would not measure scoring."""
    cmd = [sys.executable, __file__, "--local-only", "--data", str(args.data), "--limit", str(args.limit),
           "--concurrency", str(args.concurrency), "--out", str(out), "--scratch", str(scratch), "--label", label]
    done = subprocess.run(cmd, env={**os.environ, **(env or {})}, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_ray(items, out: Path, scratch: Path, workers: int, concurrency: int) -> dict[str, Any]:
    import ray

    from reward_agent.batch.ray_pool import RaySettings, ray_work
    from reward_agent.batch.runner import arun_batch
    from reward_agent.bench.suite import bench_work

    settings = RaySettings(workers=workers, concurrency_per_worker=max(1, -(-concurrency // workers)))
    factory = functools.partial(bench_work, NAME, _context(scratch / f"cache-ray{workers}"), 0)

    async def go() -> float:
        async with ray_work(factory, settings) as (work, actors):
            started = time.perf_counter()
            await asyncio.gather(*(a.run.remote(items[0][1]) for a in actors))  # models loaded on every actor
            warmup = time.perf_counter() - started
            await arun_batch(items, work, out, concurrency=concurrency, progress=True, desc=f"ray x{workers}")
            return warmup

    warmup = asyncio.run(go())
    assert ray.is_initialized()
    return {"mode": f"ray, {workers} worker(s)", "warmup_s": round(warmup, 2), **_rate(out / "results.run.json")}


def overhead(scratch: Path, n: int) -> dict[str, Any]:
    """Seconds per item that the Ray round trip adds to a no-op work function (concurrency 1 and 4)."""
    from reward_agent.batch.ray_pool import RaySettings, ray_work
    from reward_agent.batch.runner import arun_batch

    items = [(str(i), i) for i in range(n)]
    result: dict[str, Any] = {"items": n}
    for concurrency in (1, 4):
        local_out, ray_out = scratch / f"echo-local-c{concurrency}", scratch / f"echo-ray-c{concurrency}"
        asyncio.run(arun_batch(items, echo_factory(), local_out, concurrency=concurrency, progress=False))

        async def go() -> None:
            settings = RaySettings(workers=1, concurrency_per_worker=concurrency)
            async with ray_work(echo_factory, settings) as (work, actors):
                await actors[0].run.remote(-1)  # actor started
                await arun_batch(items, work, ray_out, concurrency=concurrency, progress=False)

        asyncio.run(go())
        local, on_ray = _rate(local_out / "results.run.json"), _rate(ray_out / "results.run.json")
        assert (local_out / "results.jsonl").read_bytes() == (ray_out / "results.jsonl").read_bytes()
        result[f"concurrency_{concurrency}"] = {
            "local_ms_per_item": round(1000 * local["elapsed_s"] / n, 3),
            "ray_ms_per_item": round(1000 * on_ray["elapsed_s"] / n, 3),
            "ray_overhead_ms_per_item": round(1000 * (on_ray["elapsed_s"] - local["elapsed_s"]) / n, 3),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--overhead-items", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None,
                        help="Output directory (default: a fresh runs/bench_ray-<time> directory).")
    parser.add_argument("--local-only", action="store_true", help=argparse.SUPPRESS)  # the child of run_local_fresh
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--label", default="local", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.local_only:
        from reward_agent.bench.registry import BENCHMARKS

        items = BENCHMARKS.get(NAME).load(args.data)[: args.limit]
        print(json.dumps(run_local(items, args.out, args.scratch, args.concurrency, args.label)))
        return
    from reward_agent.bench.rundir import default_out

    # A directory (the runs of every mode go under it); by default a fresh runs/bench_ray-* one.
    out = args.out if args.out is not None else default_out("bench_ray", "bench_ray.json", REPO).parent
    out.mkdir(parents=True, exist_ok=True)

    import ray

    from reward_agent.bench.registry import BENCHMARKS

    items = BENCHMARKS.get(NAME).load(args.data)[: args.limit]
    scratch = out / "runs"
    scratch.mkdir(parents=True, exist_ok=True)
    modes = [run_local_fresh(args, scratch / "local", scratch, "local")]
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray_start_s = time.perf_counter() - started
    try:
        for workers in (1, 2):
            modes.append(run_ray(items, scratch / f"ray{workers}", scratch, workers, args.concurrency))
        over = overhead(scratch, args.overhead_items)
    finally:
        ray.shutdown()
    # Local once more, last: the load of a shared machine drifts, and bracketing the Ray modes between
    # two local runs shows how much. Ray runs an actor's torch with OMP_NUM_THREADS = its CPUs (1);
    # the last local run does the same, to separate "Ray" from "one BLAS thread" on 2 loaded cores.
    modes.append(run_local_fresh(args, scratch / "local-again", scratch, "local, again (last)"))
    modes.append(run_local_fresh(args, scratch / "local-1thread", scratch, "local, OMP_NUM_THREADS=1",
                                 env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}))
    reference = (scratch / "local" / "results.jsonl").read_bytes()
    for mode, folder in zip(modes[1:], ("ray1", "ray2", "local-again", "local-1thread")):
        mode["results_identical_to_local"] = (scratch / folder / "results.jsonl").read_bytes() == reference
    base = (modes[0]["items_per_s"] + modes[-2]["items_per_s"]) / 2  # mean of the two default local runs
    for mode in modes:
        mode["ratio_to_mean_local"] = round(mode["items_per_s"] / base, 3) if base else None
    result = {
        "bench": NAME, "data": str(args.data), "limit": args.limit, "concurrency": args.concurrency,
        "ray_init_s": round(ray_start_s, 2), "modes": modes, "per_item_overhead": over,
        "machine": {"cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg(), "python": platform.python_version()},
        "note": "shared, loaded machine: compare the modes of this run (ratios), not absolute numbers across runs",
    }
    (out / "bench_ray.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {out / 'bench_ray.json'}")


if __name__ == "__main__":
    main()
