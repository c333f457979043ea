"""The measures `train-rm` reports for a trained reward model and for the one it may replace.

All on data the model never trained on: the held-out arena questions (every pair, and the
largest-gap pair per question), RM-Bench (when given) and JudgeBench (when given). The same
function measures the "before" head and the "after" head, so the report's columns compare like
with like.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..rm.base import RewardModel
from .data import PreferencePair
from .report import PairEval, evaluate_pairs

__all__ = ["largest_gap_pairs", "judgebench_pointwise", "evaluate_rm", "pair_eval"]


def largest_gap_pairs(pairs: list[PreferencePair]) -> list[PreferencePair]:
    """Per question, the pair with the largest rating gap (the first such pair in order)."""
    best: dict[str, PreferencePair] = {}
    for p in pairs:
        if p.question_id not in best or p.margin > best[p.question_id].margin:
            best[p.question_id] = p
    return [best[q] for q in sorted(best)]


def pair_eval(rm: RewardModel, pairs: list[PreferencePair]) -> PairEval:
    """Score both answers of every pair (one batched call)."""
    prompts = [p.prompt for p in pairs] * 2
    responses = [p.chosen for p in pairs] + [p.rejected for p in pairs]
    raw = rm.score_batch(prompts, responses).raw
    n = len(pairs)
    return PairEval(chosen=raw[:n], rejected=raw[n:], chosen_len=[len(p.chosen) for p in pairs],
                    rejected_len=[len(p.rejected) for p in pairs], gaps=[p.margin for p in pairs])


def judgebench_pointwise(rm: RewardModel, path: str | Path) -> dict[str, Any]:
    """JudgeBench accuracy of a pointwise RM. A pointwise score makes the same decision in both
    orders, so the reference +1/-1 rule reduces to: correct when the labelled-better response
    scores higher, a tie (equal scores) counts as not correct."""
    from ..bench.judgebench import category_of, load_judgebench

    items = [item for _, item in load_judgebench(path)]
    prompts = [it["question"] for it in items for _ in (0, 1)]
    responses = [x for it in items for x in (it["a"], it["b"])]
    raw = rm.score_batch(prompts, responses).raw
    per: dict[str, list[float]] = {}
    for k, it in enumerate(items):
        a, b = raw[2 * k], raw[2 * k + 1]
        ok = 1.0 if (a > b if it["label"] == "A>B" else b > a) else 0.0
        per.setdefault(category_of(it["source"]), []).append(ok)
    right = [x for v in per.values() for x in v]
    return {"file": Path(path).name, "pairs": len(right), "accuracy": sum(right) / len(right),
            "by_category": {k: {"pairs": len(v), "accuracy": sum(v) / len(v)} for k, v in sorted(per.items())}}


def evaluate_rm(rm: RewardModel, test: list[PreferencePair], *,
                rmbench: Path | None = None, judgebench: Path | None = None) -> tuple[PairEval, dict[str, Any]]:
    """(held-out scores, measures): held-out pairs; the largest-gap pair of each held-out question
    (best against worst answer); RM-Bench and JudgeBench when given. Training questions are left
    out on purpose: a head scored on its own training questions says little."""
    from ..bench.rmbench import rmbench_accuracy

    ev = pair_eval(rm, test)
    metrics: dict[str, Any] = {"heldout": evaluate_pairs(ev)}
    e = evaluate_pairs(pair_eval(rm, largest_gap_pairs(test)))
    metrics["largest_gap_heldout"] = {"pairs": e["pairs"], "accuracy": e["accuracy"]}
    metrics["rmbench"] = rmbench_accuracy(rm, rmbench) if rmbench else None
    metrics["judgebench"] = judgebench_pointwise(rm, judgebench) if judgebench else None
    return ev, metrics
