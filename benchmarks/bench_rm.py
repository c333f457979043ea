"""Batched against one-at-a-time reward-model scoring: same model, same inputs, one run.

The model is a real sequence-classification reward model run by the `transformers` backend:
the bundled all-MiniLM-L6-v2 weights (a 6-layer BERT) with a seeded one-output head (no RM
download is possible here; the encoder's cost is what batching changes, not the head). Inputs
are (prompt, response) pairs from RM-Bench chat, truncated to `--max-length` tokens.

- one at a time: `score_batch` called once per pair (what the original RewardAgent and
  reward_hub's HF backend do: tokenize, forward, read, repeat);
- batched: one `score_batch` call over all pairs with batch_size 8 and 32 (sorted by length,
  padded per batch).

Modes are interleaved round by round and the median of `--rounds` is reported, since a shared
machine is noisy. The scores of every mode are compared (they must agree).

    python benchmarks/bench_rm.py [--pairs 128] [--rounds 3] [--max-lengths 64,256]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "rm-bench" / "chat.json"


def build_model(path: Path) -> None:
    """MiniLM + a seeded one-output head, saved like any checkpoint."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from reward_agent.embedded import _quiet_transformers
    from reward_agent.rm.minilm import minilm_path

    with _quiet_transformers():
        torch.manual_seed(0)
        model = AutoModelForSequenceClassification.from_pretrained(minilm_path(), num_labels=1, local_files_only=True)
        AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True).save_pretrained(path)
        model.save_pretrained(path)


def load_pairs(path: Path, n: int) -> tuple[list[str], list[str]]:
    items = json.loads(path.read_text(encoding="utf-8"))
    prompts, responses = [], []
    for item in items:
        for text in item["chosen"] + item["rejected"]:
            prompts.append(item["prompt"])
            responses.append(text)
    return prompts[:n], responses[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pairs", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-lengths", default="64,256", help="Token limits to measure, comma-separated.")
    parser.add_argument("--out", type=Path, default=None, help="Result file (default: a fresh run directory under runs/; committed results only when named here).")
    args = parser.parse_args()

    import torch

    from reward_agent.rm import AutoRM

    prompts, responses = load_pairs(args.data, args.pairs)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        build_model(Path(tmp))
        for max_length in [int(x) for x in args.max_lengths.split(",")]:
            runs.append(measure(tmp, prompts, responses, max_length, args.rounds))
    import torch

    result = {
        "model": "all-MiniLM-L6-v2 + seeded 1-output head (transformers backend, float32, CPU)",
        "pairs": len(prompts),
        "rounds": args.rounds,
        "runs": runs,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    from reward_agent.bench.rundir import default_out

    args.out = args.out or default_out("rm_batching", "rm_batching.json", REPO)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print("| max tokens (mean) | one at a time | batch 8 | batch 32 |\n| --- | --- | --- | --- |")
    for run in runs:
        rate, speed = run["pairs_per_second"], run["speedup_vs_one_at_a_time"]
        cells = [f"{rate[k]:.1f} pairs/s" + ("" if k == "one_at_a_time" else f" ({speed[k]:.1f}x)")
                 for k in ("one_at_a_time", "batch_8", "batch_32")]
        print(f"| {run['max_length']} ({run['tokens_per_pair']['mean']:.0f}) | " + " | ".join(cells) + " |")
    print(f"wrote {args.out}")


def measure(model_dir: str, prompts: list[str], responses: list[str], max_length: int, rounds: int) -> dict:
    """Pairs/s of one-at-a-time and batched scoring, interleaved over `rounds`."""
    from reward_agent.rm import AutoRM
    from reward_agent.rm.base import as_items

    models = {bs: AutoRM.load(model_dir, backend="transformers", batch_size=bs, max_length=max_length)
              for bs in (1, 8, 32)}
    models[1].score_batch(prompts[:4], responses[:4])  # warm-up (first-call allocations)
    times: dict[str, list[float]] = {"one_at_a_time": [], "batch_8": [], "batch_32": []}
    scores: dict[str, list[float]] = {}
    for _ in range(rounds):
        started = time.perf_counter()
        scores["one_at_a_time"] = [models[1].score_batch(p, [r]).raw[0] for p, r in zip(prompts, responses)]
        times["one_at_a_time"].append(time.perf_counter() - started)
        for bs in (8, 32):
            started = time.perf_counter()
            scores[f"batch_{bs}"] = models[bs].score_batch(prompts, responses).raw
            times[f"batch_{bs}"].append(time.perf_counter() - started)
    tokens = [len(ids) for ids in models[1].encode(as_items(prompts, responses))]
    median = {k: statistics.median(v) for k, v in times.items()}
    rate = {k: len(prompts) / v for k, v in median.items()}
    base = scores["one_at_a_time"]
    return {
        "max_length": max_length,
        "tokens_per_pair": {"mean": sum(tokens) / len(tokens), "max": max(tokens)},
        "seconds_median": median,
        "pairs_per_second": rate,
        "speedup_vs_one_at_a_time": {k: rate[k] / rate["one_at_a_time"] for k in rate},
        "max_abs_score_difference_vs_one_at_a_time": {k: max(abs(a - b) for a, b in zip(v, base))
                                                       for k, v in scores.items()},
    }


if __name__ == "__main__":
    main()
