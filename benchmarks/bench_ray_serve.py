"""`serve --ray` under a trainer's traffic: the RM deployment with dynamic batching vs without.

    python benchmarks/bench_ray_serve.py [--clients 64] [--requests-per-client 2] [--max-batch-size 64] \\
        [--replicas 2] [--cpus 2] [--port P] [--out runs/.../ray_serve.json]

Starts a local Ray (`--cpus`), deploys what `reward-agent serve --ray` deploys (default context: the
embedded RM; `--replicas` app replicas, one RM replica) on loopback, and sends `--clients` concurrent
clients' requests to `/v1/score`, each request one RM-Bench chat prompt with N=4 responses (every
request a different prompt, so no text is answered from the encoder's memo). Each client sends its
requests one after the other, as a trainer's rollout worker does. The same requests run twice, on a
fresh deployment each time: RM `max_batch_size` = `--max-batch-size` (dynamic batching) and = 1 (none).

Reported per run: throughput, latency p50/p99, errors, and the batch sizes the RM deployment reached
(calls and pairs per model call: histogram, mean, max; read from its `/v1/rm/batching`); then the
throughput ratio and the largest reward difference between the two runs (float rounding only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("REWARD_AGENT_DATA", REPO.parent / "shared" / "data")) / "rm-bench" / "chat.json"
RESPONSES_PER_REQUEST = 4


def load_requests(path: Path, n: int) -> list[dict[str, Any]]:
    """`n` requests, one RM-Bench chat prompt each, with two chosen and two rejected responses."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    if n > len(rows):
        raise SystemExit(f"{path} has {len(rows)} prompts; {n} requests would repeat texts (lower --clients or "
                         "--requests-per-client)")
    return [{"id": str(row["id"]), "prompt": row["prompt"],
             "responses": [row["chosen"][0], row["rejected"][0], row["chosen"][1], row["rejected"][1]]}
            for row in rows[:n]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def drive(url: str, per_client: list[list[dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Each client sends its requests one after the other; all clients at once."""
    latencies: list[float] = []
    errors: list[str] = []
    rewards: dict[str, list[float]] = {}

    async def client(requests: list[dict[str, Any]]) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=600) as http:
            for request in requests:
                started = time.perf_counter()
                try:
                    answer = await http.post("/v1/score", json=request)
                except httpx.HTTPError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                latencies.append(time.perf_counter() - started)
                body = answer.json()
                if answer.status_code != 200 or body["signals"].get("preference", {}).get("status") != "ok":
                    errors.append(f"{answer.status_code}: {str(body)[:200]}")
                    continue
                rewards[request["id"]] = body["rewards"]

    started = time.perf_counter()
    await asyncio.gather(*(client(requests) for requests in per_client))
    wall = time.perf_counter() - started
    n = sum(len(r) for r in per_client)
    return {"requests": n, "errors": len(errors), "error_examples": errors[:3], "wall_s": round(wall, 2),
            "requests_per_s": round(n / wall, 3), "pairs_per_s": round(n * RESPONSES_PER_REQUEST / wall, 2),
            "p50_s": round(percentile(latencies, 50), 3) if latencies else None,
            "p99_s": round(percentile(latencies, 99), 3) if latencies else None,
            "mean_s": round(statistics.fmean(latencies), 3) if latencies else None}, rewards


def run_once(context: Any, options: Any, port: int, per_client: list[list[dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, list[float]]]:
    from reward_agent.serve import ServeSettings
    from reward_agent.serve.ray_app import ray_served

    print(f"deploying (RM max_batch_size={options.max_batch_size}) ...", file=sys.stderr, flush=True)
    deploy_started = time.perf_counter()
    with ray_served(context, ServeSettings(max_batch_items=4096), options, port=port) as url:
        deploy_s = time.perf_counter() - deploy_started
        # One request through the route first (its lazy imports), then the RM's counts start from zero.
        httpx.post(url + "/v1/score", json={"prompt": "hi", "responses": ["hello"]}, timeout=300)
        from ray import serve

        from reward_agent.serve.ray_app import RM_DEPLOYMENT

        serve.get_deployment_handle(RM_DEPLOYMENT, app_name=options.app_name).reset_stats.remote().result()
        print(f"  up in {deploy_s:.0f} s; sending {sum(map(len, per_client))} requests from {len(per_client)} clients",
              file=sys.stderr, flush=True)
        load, rewards = asyncio.run(drive(url, per_client))
        batching = httpx.get(url + "/v1/rm/batching", timeout=60).json()
    print(f"  {load['requests_per_s']} req/s, mean {batching['mean_calls_per_batch']} calls per RM batch "
          f"(max {batching['max_calls_per_batch']})", file=sys.stderr, flush=True)
    return {"max_batch_size": options.max_batch_size, "deploy_s": round(deploy_s, 1), "load": load,
            "rm_batching": batching}, rewards


def main() -> None:
    from reward_agent.bench.rundir import default_out

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="JSON result file (default: runs/ray-serve-<time>/ray_serve.json).")
    parser.add_argument("--port", type=int, default=None, help="Serve's HTTP port on 127.0.0.1 (default: a free one).")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="RM-Bench chat.json.")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--requests-per-client", type=int, default=2)
    parser.add_argument("--max-batch-size", type=int, default=64, help="RM batch size of the batched run.")
    parser.add_argument("--batch-wait-timeout", type=float, default=0.01)
    parser.add_argument("--replicas", type=int, default=2, help="App replicas.")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray.")
    args = parser.parse_args()
    out = args.out or default_out("ray-serve", "ray_serve.json")

    import ray

    from reward_agent.context import load_context
    from reward_agent.serve.background import free_port
    from reward_agent.serve.ray_options import RayServeOptions

    requests = load_requests(args.data, args.clients * args.requests_per_client)
    per_client = [requests[c::args.clients] for c in range(args.clients)]
    port = args.port or free_port()
    env = {k: os.environ[k] for k in ("PYTHONPATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if k in os.environ}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    context = load_context(None)
    share = args.cpus / (args.replicas + 1)  # app replicas and the RM replica split the CPUs evenly
    runs = {}
    rewards = {}
    try:
        for label, size in (("batched", args.max_batch_size), ("unbatched", 1)):
            options = RayServeOptions(replicas=args.replicas, cpus_per_replica=share, rm_cpus=share, max_batch_size=size,
                                      batch_wait_timeout_s=args.batch_wait_timeout)
            runs[label], rewards[label] = run_once(context, options, port, per_client)
    finally:
        from ray import serve

        serve.shutdown()
        ray.shutdown()
    common = sorted(set(rewards["batched"]) & set(rewards["unbatched"]))
    diffs = [abs(a - b) for rid in common for a, b in zip(rewards["batched"][rid], rewards["unbatched"][rid])
             if a is not None and b is not None]
    result = {
        "setup": {"clients": args.clients, "requests_per_client": args.requests_per_client,
                  "responses_per_request": RESPONSES_PER_REQUEST, "route": "/v1/score", "context": "default (embedded RM)",
                  "data": str(args.data), "replicas": args.replicas, "rm_replicas": 1, "ray_cpus": args.cpus,
                  "cpus_per_replica": round(share, 3), "batch_wait_timeout_s": args.batch_wait_timeout,
                  "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)", "python": platform.python_version()},
        "runs": runs,
        "throughput_ratio_batched_over_unbatched": round(
            runs["batched"]["load"]["requests_per_s"] / runs["unbatched"]["load"]["requests_per_s"], 3),
        "rewards_compared": len(common), "max_reward_difference": max(diffs) if diffs else None,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
