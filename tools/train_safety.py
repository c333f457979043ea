"""Train the safety verifier's classifiers (seeded; see reward_agent/verifiers/safety/train.py).

    python tools/train_safety.py --data ../shared/data --out /tmp/train-safety \
        --export reward_agent/verifiers/safety/weights/safety_classifiers.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reward_agent.errors import RewardAgentError  # noqa: E402
from reward_agent.verifiers.safety.train import TrainSafetyConfig, train_safety  # noqa: E402


def _cache_dir() -> Path:
    return Path(os.environ.get("REWARD_AGENT_CACHE") or Path.home() / ".cache" / "reward-agent")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder (holds safety/, preference/, ifeval/)")
    parser.add_argument("--out", type=Path, required=True, help="folder for metrics.json and the weights")
    parser.add_argument("--export", type=Path, default=None, help="also write the weights file here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=None,
                        help="MiniLM embeddings cache (.npz); default $REWARD_AGENT_CACHE/safety_embeddings.npz")
    parser.add_argument("--handwritten", type=Path, default=REPO / "benchmarks" / "data" / "safety_handwritten.jsonl")
    args = parser.parse_args()
    handwritten = None
    if args.handwritten and args.handwritten.is_file():
        handwritten = [json.loads(line) for line in args.handwritten.read_text(encoding="utf-8").splitlines() if line.strip()]
    try:
        metrics = train_safety(TrainSafetyConfig(data=args.data, out=args.out, export=args.export, seed=args.seed,
                                                 cache=args.cache or _cache_dir() / "safety_embeddings.npz"),
                               handwritten)
    except RewardAgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({k: metrics[k] for k in ("risk", "harm", "refusal")}, indent=1)[:4000])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
