"""`reward-agent best-of-n`: pick the best of the first n sampled responses by the reward, for each n.

Protocol (the standard one, at the cost of one scoring pass): each prompt is scored once with
all its responses; the pick for n is the highest reward among the *first* n responses (a prefix
of the sampled list, so n=1 is the first sample), ties going to the first index. Responses
whose reward is None are never picked; when none of the first n has a reward the first sample
is used and the fallback is counted in the metrics.

The picks are evaluated with the quality the data carries: IFEval's strict/loose prompt- and
instruction-level accuracy (gold constraints, our checkers) and/or the mean external rating of
the picks. Two baselines give the curves meaning: `random` (the expected quality of a uniformly
random pick among the first n, computed exactly as the mean over the prefix) and `oracle` (the
best quality among the first n: what a perfect reward would reach).
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..context import RewardContext
from .ifeval_metrics import Quality, aggregate, ifeval_quality, merge, rating_quality
from .inputs import BatchItem
from .ray_pool import RaySettings
from .signal_sets import make_work, safe_name

__all__ = ["BASELINES", "evaluate_picks", "parse_ns", "pick_index", "qualities", "run_best_of_n"]

BASELINES = ("oracle", "random")


def parse_ns(text: str) -> list[int]:
    """`1,2,4,8` -> [1, 2, 4, 8] (sorted, distinct, each >= 1); raises ValueError otherwise."""
    try:
        ns = sorted({int(p) for p in text.split(",") if p.strip()})
    except ValueError:
        raise ValueError(f"--n {text!r} must be comma-separated integers, e.g. 1,2,4,8") from None
    if not ns or ns[0] < 1:
        raise ValueError(f"--n {text!r} must list integers >= 1")
    return ns


def pick_index(rewards: Sequence[float | None], n: int) -> int | None:
    """Index of the highest reward among the first n (first on ties); None if none has a reward."""
    best: int | None = None
    for i, reward in enumerate(rewards[:n]):
        if reward is not None and (best is None or reward > rewards[best]):  # type: ignore[operator]
            best = i
    return best


def qualities(items: Sequence[BatchItem], progress: bool = True) -> dict[str, Quality]:
    """The quality of every response of every item that has gold constraints or ratings."""
    out: dict[str, Quality] = {}
    for item in tqdm(items, desc="evaluating responses", unit="prompt", disable=not progress):
        q_if = ifeval_quality(item.gold, item.responses) if item.gold else None
        q_rt = rating_quality(item.ratings) if item.ratings is not None else None
        quality = merge(q_if, q_rt)
        if quality is not None:
            out[item.id] = quality
    return out


@dataclass
class Curves:
    """Metric -> n -> value, for the picks of one configuration or one baseline."""

    values: dict[str, dict[int, float | None]]

    def as_json(self) -> dict[str, dict[str, float | None]]:
        return {m: {str(n): v for n, v in by_n.items()} for m, by_n in self.values.items()}


def evaluate_picks(
    picks: dict[str, dict[int, int]], quality: dict[str, Quality], ns: Sequence[int]
) -> Curves:
    """Each metric, for each n, over the items of `picks` (item id -> n -> picked index)."""
    metrics = _metric_names(quality, picks)
    values: dict[str, dict[int, float | None]] = {m: {} for m in metrics}
    for m in metrics:
        for n in ns:
            values[m][n] = aggregate([(quality[i].num[m][by_n[n]], quality[i].den[m])
                                      for i, by_n in picks.items() if m in quality[i].num])
    return Curves(values)


def baseline_curves(item_ids: Sequence[str], quality: dict[str, Quality], ns: Sequence[int]) -> dict[str, Curves]:
    """`oracle` (best of the first n) and `random` (expected value of a random pick among them)."""
    ids = [i for i in item_ids if i in quality]
    metrics = _metric_names(quality, ids)
    out = {b: Curves({m: {} for m in metrics}) for b in BASELINES}
    for m in metrics:
        for n in ns:
            oracle, random = [], []
            for i in ids:
                if m not in quality[i].num:
                    continue
                known = [x for x in quality[i].num[m][:n] if x is not None]
                den = quality[i].den[m]
                oracle.append((max(known) if known else None, den))
                random.append((sum(known) / len(known) if known else None, den))
            out["oracle"].values[m][n] = aggregate(oracle)
            out["random"].values[m][n] = aggregate(random)
    return out


def _metric_names(quality: dict[str, Quality], ids: Any) -> list[str]:
    names: dict[str, None] = {}
    for i in ids:
        if i in quality:
            names.update(dict.fromkeys(quality[i].num))
    return list(names)


def picks_of(rows: dict[str, dict[str, Any]], ns: Sequence[int]) -> tuple[dict[str, dict[int, int]], dict[int, int]]:
    """Picked index per item and n, and per n how many items fell back to the first sample."""
    picks: dict[str, dict[int, int]] = {}
    fallbacks = dict.fromkeys(ns, 0)
    for item_id, row in rows.items():
        picks[item_id] = {}
        for n in ns:
            index = pick_index(row["rewards"], n)
            if index is None:
                fallbacks[n] += 1
                index = 0
            picks[item_id][n] = index
    return picks, fallbacks


def _write_picks(folder: Path, items: Sequence[BatchItem], picks: dict[str, dict[int, int]], ns: Sequence[int]) -> None:
    """`picks_n{n}.jsonl` in IFEval's input_response format, plus an index table for audit."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen = [it for it in items if it.id in picks]
    for n in ns:
        with open(folder / f"picks_n{n}.jsonl", "w", encoding="utf-8") as fh:
            for it in chosen:
                fh.write(json.dumps({"prompt": it.user_prompt, "response": it.responses[picks[it.id][n]]}) + "\n")
    with open(folder / "pick_indices.jsonl", "w", encoding="utf-8") as fh:
        for it in chosen:
            fh.write(json.dumps({"id": it.id, **{f"n{n}": picks[it.id][n] for n in ns}}) + "\n")


def _summary(
    items: Sequence[BatchItem], ids: set[str], configs: dict[str, dict[str, dict[int, int]]],
    quality: dict[str, Quality], ns: Sequence[int],
) -> dict[str, Any]:
    """Curves of every configuration and the baselines over the items in `ids`."""
    ordered = [it.id for it in items if it.id in ids]
    with_quality = [i for i in ordered if i in quality]
    return {
        "items": len(ordered),
        "items_with_quality": len(with_quality),
        "configs": {name: evaluate_picks({i: p[i] for i in with_quality}, quality, ns).as_json()
                    for name, p in configs.items()},
        "baselines": {b: c.as_json() for b, c in baseline_curves(with_quality, quality, ns).items()},
    }


def run_best_of_n(
    items: Sequence[BatchItem],
    out: str | Path,
    *,
    ns: Sequence[int],
    signals: Sequence[str],
    context: RewardContext,
    concurrency: int = 4,
    progress: bool = True,
    source: dict[str, Any] | None = None,
    overwrite: bool = False,
    ray: RaySettings | None = None,
) -> dict[str, Any]:
    """Score, pick, evaluate, write `metrics.json`, `report.md`, `best_of_n.png`; return the metrics.

    `ray` scores on a pool of Ray actors (same rows as locally).
    """
    from .efficiency import cache_snapshot, efficiency_summary
    from .ray_pool import execute_batch, ray_session
    from .scoring import run_config

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ns = sorted(set(ns))
    by_id = {it.id: it for it in items}
    scored: dict[str, dict[str, dict[str, Any]]] = {}
    failures: dict[str, dict[str, str]] = {}
    efficiency: dict[str, Any] = {}
    # One Ray session for every configuration (each still gets its own actor pool).
    session = ray_session(ray) if ray is not None else contextlib.nullcontext()
    with session:
        for name in signals:
            folder = out / safe_name(name)
            # The scores do not depend on n, so n is not part of the pinned configuration.
            config = run_config(context, command="best-of-n", signals=name, source=source or {})
            before = cache_snapshot()
            report = execute_batch([(it.id, it) for it in items], functools.partial(make_work, name, context), folder,
                                   ray, name="scores", concurrency=concurrency, config=config,
                                   desc=f"scoring ({name})", progress=progress, overwrite=overwrite)
            rows = {str(r["id"]): r for r in report.rows}
            failures[name] = {i: str(r["error"]) for i, r in rows.items() if "error" in r}
            scored[name] = {i: r for i, r in rows.items() if "error" not in r and i in by_id}
            efficiency[name] = efficiency_summary(report, before)
    # Every configuration is judged on the same items: those that all of them scored.
    common = set.intersection(*(set(rows) for rows in scored.values())) if scored else set()
    quality = qualities([by_id[i] for i in by_id if i in common], progress=progress)
    picks: dict[str, dict[str, dict[int, int]]] = {}
    fallbacks: dict[str, dict[str, int]] = {}
    for name in signals:
        picks[name], fb = picks_of({i: scored[name][i] for i in common}, ns)
        fallbacks[name] = {str(n): c for n, c in fb.items()}
        _write_picks(out / safe_name(name), items, picks[name], ns)
    max_responses = max(len(it.responses) for it in items)
    metrics: dict[str, Any] = {
        "command": "best-of-n",
        "source": source or {},
        "n": list(ns),
        "signals": list(signals),
        "items": len(items),
        "evaluated_items": len(common),
        "failed": {name: {"count": len(f), "ids": sorted(f)[:50], "examples": dict(list(f.items())[:5])}
                   for name, f in failures.items()},
        "short_items": {str(n): sum(len(it.responses) < n for it in items) for n in ns if n > 1},
        "max_responses": max_responses,
        "no_reward_fallbacks": fallbacks,
        "check_errors": sum(sum(q.check_errors) for q in quality.values()),
        "overall": _summary(items, common, picks, quality, ns),
        "groups": {},
        "efficiency": efficiency,
    }
    if len(signals) >= 2 and common:
        # How often two configurations pick the same response: equal curves may just mean equal picks.
        a, b = signals[0], signals[1]
        metrics["same_pick_share"] = {"configs": [a, b], **{
            str(n): round(sum(picks[a][i][n] == picks[b][i][n] for i in common) / len(common), 4) for n in ns}}
    groups = sorted({it.group for it in items if it.group is not None})
    for group in groups if len(groups) > 1 else []:  # one group is the overall table again
        ids = {it.id for it in items if it.group == group} & common
        metrics["groups"][group] = _summary(items, ids, picks, quality, ns)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    from .bon_report import plot_curves, write_report

    plot_curves(metrics["overall"], ns, out / "best_of_n.png", title="best-of-n (all evaluated prompts)")
    for group, summary in metrics["groups"].items():
        plot_curves(summary, ns, out / f"best_of_n_{group}.png", title=f"best-of-n ({group} prompts)")
    write_report(metrics, out / "report.md")
    return metrics
