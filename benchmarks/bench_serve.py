"""Loopback load test of `reward-agent serve`, against the graph in-process on the same items.

    python benchmarks/bench_serve.py [--requests 2000] [--clients 200] [--out benchmarks/results/serve.json]

Starts the real server (`reward-agent serve`, its own process, loopback only), sends a fixed
number of constraint-verifier requests from `--clients` concurrent httpx.AsyncClient tasks, and
reports throughput, p50/p99 latency, errors (must be 0) and the server's RSS before/after.
Then the same items go through `graph.ainvoke` in this process with the same concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from reward_agent import RewardContext, build_graph
from reward_agent.bench.rundir import default_out
from reward_agent.serve.background import free_port

# Constraint-verifier requests only: the other verifiers are disabled on both sides.
DISABLE = ("preference", "factuality")

CASES = [
    ("Describe green tea in under 30 words, all lowercase, without commas.",
     ["green tea is grassy and calm and it tastes of spring", "Green tea, grassy and calm.",
      "green tea is calm", "GREEN TEA IS CALM AND GRASSY"]),
    ("Write a short poem about rain. Your entire response should be in English, and in all capital letters.",
     ["RAIN FALLS ON THE ROOF\nSOFT AND SLOW", "rain falls softly on the roof", "Rain Falls", "RAIN RAIN GO AWAY"]),
    ("List three fruits as markdown bullets. Do not use any commas.",
     ["* apple\n* pear\n* fig", "* apple, pear\n* fig", "apple pear fig", "* a\n* b\n* c"]),
    ("Answer with at least 20 words: why is the sky blue? End your response with 'Is there anything else I can help with?'",
     ["Sunlight scatters off air molecules and blue light scatters the most because its wavelength is short "
      "so the sky looks blue. Is there anything else I can help with?", "Rayleigh scattering.",
      "Because of scattering of light in the air.", "Blue light scatters more."]),
]


def items(n: int) -> list[dict[str, Any]]:
    """`n` requests cycling through CASES, each with a distinct id."""
    return [{"id": str(i), "prompt": CASES[i % len(CASES)][0], "responses": CASES[i % len(CASES)][1]} for i in range(n)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary(latencies: list[float], wall: float, errors: int) -> dict[str, Any]:
    return {"requests": len(latencies) + errors, "errors": errors, "wall_s": round(wall, 3),
            "throughput_rps": round((len(latencies) + errors) / wall, 1),
            "p50_ms": round(percentile(latencies, 50) * 1000, 2), "p99_ms": round(percentile(latencies, 99) * 1000, 2),
            "mean_ms": round(statistics.fmean(latencies) * 1000, 2)}


async def load(url: str, reqs: list[dict[str, Any]], clients: int) -> tuple[dict[str, Any], list[Any]]:
    """`clients` tasks, each with its own AsyncClient, pulling from one queue of requests."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for r in reqs:
        queue.put_nowait(r)
    latencies: list[float] = []
    errors: list[str] = []
    rewards: dict[str, Any] = {}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            while not queue.empty():
                req = queue.get_nowait()
                started = time.perf_counter()
                try:
                    resp = await http.post("/v1/score", json=req)
                    if resp.status_code != 200:
                        errors.append(f"{resp.status_code}: {resp.text[:200]}")
                        continue
                    rewards[req["id"]] = resp.json()["rewards"]
                except httpx.HTTPError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    out = summary(latencies, time.perf_counter() - started, len(errors))
    out["error_samples"] = errors[:5]
    return out, [rewards.get(r["id"]) for r in reqs]


async def in_process(reqs: list[dict[str, Any]], concurrency: int) -> tuple[dict[str, Any], list[Any]]:
    """The same requests through graph.ainvoke in this process, `concurrency` at a time."""
    graph, context = build_graph(), RewardContext(disable=DISABLE)
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    rewards: list[Any] = [None] * len(reqs)

    async def one(i: int, req: dict[str, Any]) -> None:
        async with gate:
            started = time.perf_counter()
            out = await graph.ainvoke({"request": req}, context=context)
            latencies.append(time.perf_counter() - started)
            rewards[i] = out["result"].rewards

    started = time.perf_counter()
    await asyncio.gather(*(one(i, r) for i, r in enumerate(reqs)))
    return summary(latencies, time.perf_counter() - started, 0), rewards


def start_server(port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "reward_agent.cli", "serve", "--port", str(port), "--log-level", "warning"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "REWARD_AGENT_DISABLE": ",".join(DISABLE)}
    env.pop("REWARD_AGENT_TOKEN", None)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited during startup")
        try:
            if httpx.get(url + "/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("server not ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None, help="Result file (default: a fresh run directory under runs/; committed results only when named here).")
    parser.add_argument("--port", type=int, default=None, help="Loopback port of the server (default: a free one).")
    args = parser.parse_args()
    reqs = items(args.requests)
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(port)
    try:
        wait_ready(url, proc)
        server_proc = psutil.Process(proc.pid)
        rss_before = server_proc.memory_info().rss
        server, server_rewards = asyncio.run(load(url, reqs, args.clients))
        rss_after = server_proc.memory_info().rss
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    local, local_rewards = asyncio.run(in_process(reqs, args.clients))
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "requests": args.requests, "clients": args.clients, "responses_per_request": 4,
        "server": {**server, "rss_mb_before": round(rss_before / 2**20, 1), "rss_mb_after": round(rss_after / 2**20, 1)},
        "in_process": local,
        "same_rewards": server_rewards == local_rewards,
        "server_vs_in_process_throughput": round(server["throughput_rps"] / local["throughput_rps"], 3),
    }
    args.out = args.out or default_out("serve", "serve.json", Path(__file__).resolve().parents[1])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if server["errors"] or not result["same_rewards"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
