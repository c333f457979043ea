"""Checker throughput and the graph's own overhead, measured in one run.

For every IFEval reference response (541 items, gold constraints) we time:
  direct: calling the checkers on the item (what the constraint verifier does inside);
  graph:  `graph.invoke` of the compiled reward graph on the same item (constraints-only plan).
The difference per item is the graph's overhead (planning, Send fan-out, judging, result
building). Each measurement is the median of several rounds, since machines are noisy.

    python benchmarks/bench_checkers.py [--data ../shared/data/ifeval/gpt4_verdicts.jsonl] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from reward_agent.bench.ifeval import read_verdicts  # noqa: E402
from reward_agent.bench.rundir import default_out  # noqa: E402
from reward_agent.graph import build_graph  # noqa: E402
from reward_agent.types import RewardRequest  # noqa: E402
from reward_agent.verifiers.constraints.checking import run_check  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "ifeval" / "gpt4_verdicts.jsonl"


def time_direct(items) -> float:
    started = time.perf_counter()
    for item in items:
        for c in item.gold:
            run_check(c, item.response, "strict")
    return time.perf_counter() - started


def time_graph(graph, requests) -> float:
    started = time.perf_counter()
    for req in requests:
        graph.invoke({"request": req})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="Result file (default: a fresh run directory under runs/; committed results only when named here).")
    args = parser.parse_args()

    items = list(read_verdicts(args.data))
    requests = [
        # Constraints only: the preference RM is measured by bench_rm.py.
        RewardRequest(prompt=i.prompt, responses=[i.response], constraints=i.gold, disable=["preference"])
        for i in items
    ]
    graph = build_graph()
    # Warm up: one full pass loads NLTK's tokenizers, Punkt and the language profiles (a
    # one-time cost of about 3 s that would otherwise land on whichever side runs first).
    time_direct(items), time_graph(graph, requests[:50])

    direct, through_graph = [], []
    for _ in range(args.rounds):  # interleave so drift affects both equally
        direct.append(time_direct(items))
        through_graph.append(time_graph(graph, requests))
    d, g = statistics.median(direct), statistics.median(through_graph)
    n = len(items)
    checks = sum(len(i.gold) for i in items)
    result = {
        "items": n,
        "checks": checks,
        "rounds": args.rounds,
        "direct_seconds_all_items": round(d, 4),
        "graph_seconds_all_items": round(g, 4),
        "direct_items_per_s": round(n / d, 1),
        "graph_items_per_s": round(n / g, 1),
        "checks_per_s": round(checks / d, 1),
        "graph_overhead_ms_per_item": round((g - d) / n * 1000, 3),
        "graph_over_direct_ratio": round(g / d, 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    args.out = args.out or default_out("checkers", "checkers.json", REPO)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
