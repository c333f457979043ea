"""`reward-agent bench judgebench`: JudgeBench pairs through the reward graph.

Each pair is judged twice, as two requests: (A, B) and (B, A). A decision is read off the rewards:
the higher one wins, equal rewards are "A=B", a missing reward is no decision (None). The second
decision is flipped back to the original labels. Scoring follows JudgeBench's reference
(ScalerLab/JudgeBench, utils/metrics.py, `compute_final_metrics` with reverse order): per pair,
+1 for each decision equal to the label, -1 for each equal to the flipped label (a tie or None
adds 0); the pair is correct when the sum is > 0, incorrect when < 0, and otherwise a tie, which
counts as not correct. Both orders are always judged, so no position is favoured and no seed is
needed for positions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..batch.runner import error_fields
from ..context import RewardContext
from ..errors import ConfigError
from ..jsonl import line_errors, read_jsonl
from ..types import RewardRequest

__all__ = ["decision_from_rewards", "flip", "judgebench_metrics", "judgebench_outcome", "load_judgebench",
           "make_judgebench_work"]

LABELS = ("A>B", "B>A")


def flip(decision: str | None) -> str | None:
    """The decision with A and B swapped ("A=B" and None unchanged)."""
    return {"A>B": "B>A", "B>A": "A>B"}.get(decision, decision) if decision else decision


def decision_from_rewards(rewards: list[float | None]) -> str | None:
    """'A>B' / 'B>A' from two rewards, 'A=B' when equal, None when either is missing."""
    a, b = rewards
    if a is None or b is None:
        return None
    return "A>B" if a > b else "B>A" if b > a else "A=B"


def judgebench_outcome(label: str, decision1: str | None, decision2_flipped_back: str | None) -> str:
    """correct / incorrect / tie for one pair, by the reference's +1/-1 rule."""
    counter = 0
    for decision in (decision1, decision2_flipped_back):
        if decision == label:
            counter += 1
        elif decision == flip(label):
            counter -= 1
    return "correct" if counter > 0 else "incorrect" if counter < 0 else "tie"


def category_of(source: str) -> str:
    """JudgeBench's four categories: knowledge (MMLU-Pro), reasoning, math, coding."""
    if source.startswith("mmlu-pro"):
        return "knowledge"
    if source.startswith("livebench-reasoning"):
        return "reasoning"
    if source.startswith("livebench-math"):
        return "math"
    if source.startswith("livecodebench"):
        return "coding"
    return source


def load_judgebench(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """(pair_id, item) from a JudgeBench JSONL file; both labels are kept (A>B and B>A)."""
    items = []
    for lineno, rec in read_jsonl(path, "a JudgeBench line", error=ConfigError):
        with line_errors(path, lineno, "a JudgeBench line", error=ConfigError):
            item = {"question": rec["question"], "a": rec["response_A"], "b": rec["response_B"],
                    "label": rec["label"], "source": rec.get("source", "unknown")}
            pid = str(rec.get("pair_id", f"line-{lineno}"))
        if item["label"] not in LABELS:
            raise ConfigError(f"{path}:{lineno}: label {item['label']!r} is not one of {LABELS}")
        items.append((pid, item))
    if not items:
        raise ConfigError(f"{path}: no pairs")
    return items


def make_judgebench_work(context: RewardContext | None,
                         score: Callable[..., Awaitable[dict[str, Any]]] | None = None,
                         ) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
    """The runner's work function: two requests per pair (both orders) -> its row."""
    if score is None:
        from ..batch.scoring import ascore_row as score

    async def work(item: dict[str, Any]) -> dict[str, Any]:
        forward = RewardRequest(prompt=item["question"], responses=[item["a"], item["b"]])
        backward = RewardRequest(prompt=item["question"], responses=[item["b"], item["a"]])
        try:
            first, second = await asyncio.gather(score(forward, context), score(backward, context))
        except Exception as exc:  # noqa: BLE001 - a failed pair is a row that keeps its source
            return {"source": item["source"], "category": category_of(item["source"]), "label": item["label"],
                    **error_fields(exc)}
        d1 = decision_from_rewards(first["rewards"])
        d2 = flip(decision_from_rewards(second["rewards"]))
        calls = [first.pop("model_calls"), second.pop("model_calls")]
        return {"source": item["source"], "category": category_of(item["source"]), "label": item["label"],
                "decisions": [d1, d2], "outcome": judgebench_outcome(item["label"], d1, d2),
                # rewards of (A, B) in each order, mapped back to the original A and B
                "rewards_ab": [first["rewards"], list(reversed(second["rewards"]))],
                "judgments": [first, second], "model_calls": calls}

    return work


def judgebench_metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy (reference rule), consistency counts, per source and per category."""

    def tally(group: list[dict[str, Any]]) -> dict[str, Any]:
        c = {"correct": 0, "incorrect": 0, "tie": 0, "failed": 0, "inconsistent": 0, "both_correct": 0,
             "both_incorrect": 0, "no_decision": 0}
        for row in group:
            if "error" in row:
                c["failed"] += 1
                continue
            c[row["outcome"]] += 1
            d1, d2 = row["decisions"]
            label = row["label"]
            c["inconsistent"] += d1 != d2
            c["both_correct"] += d1 == label and d2 == label
            c["both_incorrect"] += d1 != label and d2 != label
            c["no_decision"] += d1 is None or d2 is None
        n = len(group)
        return {"pairs": n, "accuracy": c["correct"] / n if n else 0.0, **c}

    by_source: dict[str, list[dict[str, Any]]] = {}
    by_category: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_source.setdefault(str(row.get("source", "unknown")), []).append(row)
        by_category.setdefault(str(row.get("category") or category_of(str(row.get("source", "")))), []).append(row)
    return {
        **tally(rows),
        "per_source": {s: tally(g) for s, g in sorted(by_source.items())},
        "per_category": {s: tally(g) for s, g in sorted(by_category.items())},
        "labels": {lab: sum(r.get("label") == lab for r in rows) for lab in LABELS},
        "tie_rule": "JudgeBench reference: +1 per decision equal to the label, -1 per decision equal to the "
                    "flipped label, equal rewards ('A=B') or no reward add 0; correct iff the sum > 0 "
                    "(a pair summing to 0 is a tie and not correct); a failed pair counts as not correct",
    }
