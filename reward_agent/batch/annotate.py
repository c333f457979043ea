"""`reward-agent annotate`: score N on-policy responses per prompt and write DPO-ready pairs.

Each prompt is scored once with all its responses; a selection rule turns the rewards into
(chosen, rejected) pairs:

- `best-worst`: the highest reward against the lowest (first index on ties), one pair per prompt;
- `all-pairs`: every pair of responses whose rewards differ, the higher one chosen.

A pair needs both rewards known, different, and a margin of at least `min_margin`. Prompts
that yield no pair are counted and listed by reason in the metrics, never dropped silently.
Every pair keeps the full signals (each verifier's status, scores, raw scores, evidence
summaries) so that a training set can be audited back to why each answer was preferred.
When the data carries external ratings or IFEval gold constraints, the metrics also say how
often the chosen answer is the better one by those (a check of the annotator, not used by it).
"""

from __future__ import annotations

import functools
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..context import RewardContext
from .ifeval_metrics import ifeval_quality
from .inputs import BatchItem
from .ray_pool import RaySettings

__all__ = ["RULES", "Pair", "annotate_paths", "pair_rows", "run_annotate", "select_pairs"]

Rule = Literal["best-worst", "all-pairs"]
RULES: tuple[str, ...] = ("best-worst", "all-pairs")

SKIP_TOO_FEW = "fewer than 2 responses have a reward"
SKIP_EQUAL = "all rewards are equal"
SKIP_MARGIN = "no pair reaches the margin threshold"
SKIP_FAILED = "scoring failed"


@dataclass(frozen=True)
class Pair:
    """One preference pair by response index, with the rewards it was chosen on."""

    chosen_index: int
    rejected_index: int
    chosen_score: float
    rejected_score: float

    @property
    def margin(self) -> float:
        return round(self.chosen_score - self.rejected_score, 6)


def select_pairs(
    rewards: Sequence[float | None], rule: str = "best-worst", min_margin: float = 0.0
) -> tuple[list[Pair], str | None]:
    """The pairs a rule selects from one prompt's rewards, or ([], why none qualified)."""
    if rule not in RULES:
        raise ValueError(f"selection rule {rule!r} must be one of {', '.join(RULES)}")
    if min_margin < 0:
        raise ValueError(f"min_margin must be >= 0, got {min_margin}")
    scored = [(i, float(r)) for i, r in enumerate(rewards) if r is not None]
    if len(scored) < 2:
        return [], SKIP_TOO_FEW
    values = [r for _, r in scored]
    if max(values) == min(values):
        return [], SKIP_EQUAL
    if rule == "best-worst":
        best = max(scored, key=lambda x: (x[1], -x[0]))  # highest reward, first index on ties
        worst = min(scored, key=lambda x: (x[1], x[0]))  # lowest reward, first index on ties
        candidates = [Pair(best[0], worst[0], best[1], worst[1])]
    else:
        candidates = []
        for a, (i, ri) in enumerate(scored):
            for j, rj in scored[a + 1:]:
                if ri != rj:
                    hi, lo = ((i, ri), (j, rj)) if ri > rj else ((j, rj), (i, ri))
                    candidates.append(Pair(hi[0], lo[0], hi[1], lo[1]))
    kept = [p for p in candidates if p.margin > 0 and p.margin >= min_margin]
    return (kept, None) if kept else ([], SKIP_MARGIN)


def _signals_for_audit(row: dict[str, Any], pair: Pair) -> dict[str, Any]:
    """Each verifier's full entry, plus the chosen and rejected responses' scores and summaries."""
    out: dict[str, Any] = {}
    for vid, entry in row.get("verifiers", {}).items():
        scores = entry.get("scores")
        summaries = (entry.get("evidence") or {}).get("summaries")
        out[vid] = {
            **entry,
            "chosen_score": scores[pair.chosen_index] if scores else None,
            "rejected_score": scores[pair.rejected_index] if scores else None,
            **({"chosen_summary": summaries[pair.chosen_index], "rejected_summary": summaries[pair.rejected_index]}
               if summaries else {}),
        }
    return out


def pair_rows(item: BatchItem, row: dict[str, Any], pairs: Sequence[Pair], rule: str) -> list[dict[str, Any]]:
    """DPO rows for one prompt: TRL's standard format (prompt string) or conversational one (messages)."""
    out = []
    for pair in pairs:
        chosen, rejected = item.responses[pair.chosen_index], item.responses[pair.rejected_index]
        if item.messages is not None:
            prompt: Any = [m.model_dump() for m in item.messages]
            chosen_v: Any = [{"role": "assistant", "content": chosen}]
            rejected_v: Any = [{"role": "assistant", "content": rejected}]
        else:
            prompt, chosen_v, rejected_v = item.prompt, chosen, rejected
        out.append({
            "id": item.id if len(pairs) == 1 else f"{item.id}:{pair.chosen_index}>{pair.rejected_index}",
            "prompt_id": item.id,
            "prompt": prompt,
            "chosen": chosen_v,
            "rejected": rejected_v,
            "chosen_score": pair.chosen_score,
            "rejected_score": pair.rejected_score,
            "margin": pair.margin,
            "chosen_index": pair.chosen_index,
            "rejected_index": pair.rejected_index,
            "rule": rule,
            "rewards": row["rewards"],
            "plan": row.get("plan"),
            "signals": _signals_for_audit(row, pair),
        })
    return out


def annotate_paths(out: Path) -> dict[str, Path]:
    """Where an annotate run writes: the pairs, its metrics and plot beside them, the scores folder."""
    stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.stem
    return {"pairs": out, "metrics": out.with_name(f"{stem}.metrics.json"),
            "plot": out.with_name(f"{stem}.margins.png"), "scores": out.with_name(f"{stem}_scores")}


def _agreement(items: dict[str, BatchItem], pairs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How often the chosen response is also the better one by the data's ratings / IFEval gold."""
    out: dict[str, Any] = {}
    tallies: dict[str, Counter[str]] = defaultdict(Counter)
    gold_cache: dict[str, list[float | None]] = {}
    for p in pairs:
        item = items[p["prompt_id"]]
        c, r = p["chosen_index"], p["rejected_index"]
        if item.ratings is not None and item.ratings[c] is not None and item.ratings[r] is not None:
            a, b = item.ratings[c], item.ratings[r]
            tallies["ratings"]["agree" if a > b else "tie" if a == b else "disagree"] += 1
        if item.gold:
            if item.id not in gold_cache:
                gold_cache[item.id] = ifeval_quality(item.gold, item.responses).num["instruction_strict"]
            a, b = gold_cache[item.id][c], gold_cache[item.id][r]
            tallies["ifeval_instructions_strict"]["agree" if a > b else "tie" if a == b else "disagree"] += 1  # type: ignore[operator]
    for name, t in tallies.items():
        decided = t["agree"] + t["disagree"]
        out[name] = {"pairs": sum(t.values()), "agree": t["agree"], "tie": t["tie"], "disagree": t["disagree"],
                     "accuracy_on_decided": round(t["agree"] / decided, 4) if decided else None}
    return out


def _margin_stats(margins: Sequence[float]) -> dict[str, Any]:
    if not margins:
        return {"count": 0}
    return {"count": len(margins), "mean": round(statistics.fmean(margins), 6),
            "median": round(statistics.median(margins), 6), "min": min(margins), "max": max(margins)}


def _plot_margins(margins: Sequence[float], path: Path, min_margin: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(margins, bins=20, range=(0, max(1.0, max(margins, default=1.0))), color="tab:blue", alpha=0.8)
    if min_margin > 0:
        ax.axvline(min_margin, color="red", linestyle="--", label=f"--min-margin {min_margin:g}")
        ax.legend()
    ax.set_xlabel("reward margin (chosen - rejected)")
    ax.set_ylabel("pairs")
    ax.set_title(f"annotate: {len(margins)} pairs")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_annotate(
    items: Sequence[BatchItem],
    out: str | Path,
    *,
    context: RewardContext,
    signals: str = "rm+verifiers",
    rule: str = "best-worst",
    min_margin: float = 0.0,
    concurrency: int = 4,
    progress: bool = True,
    source: dict[str, Any] | None = None,
    overwrite: bool = False,
    ray: RaySettings | None = None,
) -> dict[str, Any]:
    """Score every prompt once, select pairs, write them with metrics and a margin histogram.

    `ray` scores on a pool of Ray actors (same rows as locally).
    """
    from .efficiency import cache_snapshot, efficiency_summary
    from .ray_pool import execute_batch
    from .scoring import run_config
    from .signal_sets import make_work

    if rule not in RULES:
        raise ValueError(f"--rule {rule!r} must be one of {', '.join(RULES)}")
    if min_margin < 0:
        raise ValueError(f"--min-margin must be >= 0, got {min_margin}")
    paths = annotate_paths(Path(out))
    paths["pairs"].parent.mkdir(parents=True, exist_ok=True)
    # The rule and margin only select among scores, so they are not pinned: re-selecting is free.
    config = run_config(context, command="annotate", signals=signals, source=source or {})
    before = cache_snapshot()
    report = execute_batch([(it.id, it) for it in items], functools.partial(make_work, signals, context, audit=True),
                           paths["scores"], ray, name="scores", concurrency=concurrency, config=config,
                           desc=f"annotating ({signals})", progress=progress, overwrite=overwrite)
    by_id = {it.id: it for it in items}
    written: list[dict[str, Any]] = []
    skipped: dict[str, list[str]] = defaultdict(list)
    for row in report.rows:
        item = by_id[str(row["id"])]
        if "error" in row:
            skipped[SKIP_FAILED].append(item.id)
            continue
        pairs, why = select_pairs(row["rewards"], rule, min_margin)
        if why:
            skipped[why].append(item.id)
        written += pair_rows(item, row, pairs, rule)
    with open(paths["pairs"], "w", encoding="utf-8") as fh:
        for p in written:
            fh.write(json.dumps(p, ensure_ascii=False) + "\n")
    margins = [p["margin"] for p in written]
    metrics: dict[str, Any] = {
        "command": "annotate",
        "source": source or {},
        "signals": signals,
        "rule": rule,
        "min_margin": min_margin,
        "prompts": len(items),
        "prompts_with_pairs": len({p["prompt_id"] for p in written}),
        "pairs_written": len(written),
        "skipped": {why: {"count": len(ids), "ids": ids} for why, ids in sorted(skipped.items())},
        "margin": _margin_stats(margins),
        "chosen_index_counts": {str(k): v for k, v in sorted(Counter(p["chosen_index"] for p in written).items())},
        "agreement_with_data": _agreement(by_id, written),
        "outputs": {k: str(v) for k, v in paths.items()},
        "efficiency": efficiency_summary(report, before),
    }
    paths["metrics"].write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    _plot_margins(margins, paths["plot"], min_margin)
    return metrics
