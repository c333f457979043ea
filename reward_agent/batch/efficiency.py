"""Efficiency accounting of a batch run: items/s, model calls per item by role, cache hits.

Model calls come from the rows (`model_calls` by role, as `scoring.result_row` writes them), so
they cover the whole results file, resumed rows included. Cache hits are counted on the live
`Cache` objects of this process (the constraint verifier's extraction/codegen cache and any
`CachedRM`), as a difference between a snapshot before the run and one after: they describe this
invocation only, as do items/s.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from ..cache import Cache, shared_caches
from ..rm.auto import loaded_rm_caches

__all__ = ["CacheSnapshot", "cache_snapshot", "efficiency_summary", "model_calls_summary"]

CacheSnapshot = dict[str, tuple[int, int]]


def _live_caches() -> list[Cache]:
    """The caches the verifiers of this process use: the shared ones and the loaded RMs' (nothing is loaded)."""
    caches: dict[int, Cache] = {}
    for cache in [*shared_caches(), *loaded_rm_caches()]:
        caches[id(cache)] = cache
    return list(caches.values())


def cache_snapshot() -> CacheSnapshot:
    """(hits, misses) per cache namespace, summed over the live caches."""
    totals: dict[str, list[int]] = {}
    for cache in _live_caches():
        try:
            stats = cache.stats
        except Exception:  # noqa: BLE001 - a closed cache has nothing more to count
            continue
        for namespace, (hits, misses) in stats.by_namespace.items():
            entry = totals.setdefault(namespace, [0, 0])
            entry[0] += hits
            entry[1] += misses
    return {ns: (h, m) for ns, (h, m) in totals.items()}


def _cache_delta(before: CacheSnapshot, after: CacheSnapshot) -> dict[str, Any]:
    by_ns: dict[str, dict[str, int]] = {}
    for ns in sorted(set(before) | set(after)):
        h0, m0 = before.get(ns, (0, 0))
        h1, m1 = after.get(ns, (0, 0))
        if (h1 - h0) or (m1 - m0):
            by_ns[ns] = {"hits": h1 - h0, "misses": m1 - m0}
    hits = sum(v["hits"] for v in by_ns.values())
    misses = sum(v["misses"] for v in by_ns.values())
    return {"hits": hits, "misses": misses, "hit_rate": round(hits / (hits + misses), 4) if hits + misses else None,
            "by_namespace": by_ns}


def model_calls_summary(rows: Iterable[dict[str, Any]], requests_per_item: int = 1) -> dict[str, Any]:
    """Total and per-item model calls by role over rows that carry `model_calls`.

    A row may hold several scored requests (JudgeBench judges each pair in both orders); such rows
    keep a list of per-request call dicts under `model_calls`, which are summed here.
    """
    totals: Counter[str] = Counter()
    items = 0
    for row in rows:
        calls = row.get("model_calls")
        if calls is None:
            continue
        items += 1
        for part in calls if isinstance(calls, list) else [calls]:
            for role, n in (part or {}).items():
                totals[role] += int(n)
    per_item = {role: round(n / items, 4) for role, n in sorted(totals.items())} if items else {}
    return {"items_with_calls": items, "requests_per_item": requests_per_item,
            "total": int(sum(totals.values())), "by_role": dict(sorted(totals.items())),
            "per_item": per_item, "per_item_total": round(sum(totals.values()) / items, 4) if items else 0.0}


def efficiency_summary(report: Any, before: CacheSnapshot, after: CacheSnapshot | None = None,
                       requests_per_item: int = 1) -> dict[str, Any]:
    """The "efficiency" block of metrics.json for a `BatchReport`."""
    after = cache_snapshot() if after is None else after
    summary = {
        "run": {"new_items": report.done, "resumed_items": report.resumed, "elapsed_s": round(report.elapsed_s, 3),
                "items_per_s": round(report.items_per_s, 4),
                "requests_per_s": round(report.items_per_s * requests_per_item, 4)},
        "model_calls": model_calls_summary(report.rows, requests_per_item),
        "cache": _cache_delta(before, after),
    }
    runs = _run_log(report)
    if runs:
        # A resumed results file was made by several invocations: their rate together.
        done = sum(int(r.get("done", 0)) for r in runs)
        elapsed = sum(float(r.get("elapsed_s", 0.0)) for r in runs)
        summary["all_runs"] = {"invocations": len(runs), "items": done, "elapsed_s": round(elapsed, 3),
                               "items_per_s": round(done / elapsed, 4) if elapsed > 0 else 0.0}
    return summary


def _run_log(report: Any) -> list[dict[str, Any]]:
    """The runner's per-invocation timings (`{name}.run.json` beside the results), if any."""
    path = getattr(report, "path", None)
    if path is None:
        return []
    log = path.with_name(path.stem + ".run.json")
    try:
        return list(json.loads(log.read_text(encoding="utf-8")).get("runs", []))
    except (OSError, ValueError, AttributeError):
        return []
