"""The built-in benchmarks `reward-agent bench NAME` runs, and the driver they share.

A benchmark is a `BenchmarkSpec` in `bench.registry.BENCHMARKS`: a loader (data -> (id, item) in
dataset order), a work function (item -> row, via the reward graph), a metrics function over the
rows, and its report. `run_bench` wires one through the resumable runner and writes
`metrics.json`, `results.jsonl`, `report.md` and PNGs into `out`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..batch.efficiency import cache_snapshot, efficiency_summary
from ..batch.report import accuracy_bars, reward_histogram, style_heatmap, write_metrics, write_report
from ..batch.ray_pool import RaySettings, execute_batch
from ..batch.runner import BatchReport, read_rows
from ..batch.scoring import run_config
from ..context import RewardContext, load_context
from ..errors import ConfigError
from . import judgebench, pairs, rm_bench_run
from .registry import BENCHMARKS, BenchmarkSpec, Rows

__all__ = ["IFBENCH_PAIRS", "JUDGEBENCH", "PAIRS", "RM_BENCH", "bench_work", "run_bench"]


# -- RM-Bench ---------------------------------------------------------------------------------------

def _rmbench_report(rows: Rows, m: dict[str, Any], out: Path):
    summary: list[tuple[str, Any]] = [("items", m["items"]), ("failed", m["failed"]), ("accuracy", m["accuracy"]),
                                      ("hard", m["hard"]), ("normal", m["normal"]), ("easy", m["easy"])]
    table = ["| domain | items | hard | normal | easy | average | ties | no reward |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for d, dm in m["per_domain"].items():
        table.append(f"| {d} | {dm['items']} | {dm['hard']:.4f} | {dm['normal']:.4f} | {dm['easy']:.4f} | "
                     f"{dm['average']:.4f} | {dm['tied_comparisons']} | {dm['comparisons_without_reward']} |")
    sections = [("Per domain", "\n".join(table)), ("How it is counted", m["tie_rule"] + ". " + m["accuracy_definition"] + ".")]
    ok = [r for r in rows if "error" not in r]
    plots = [("Rewards of chosen vs rejected responses (all styles)",
              reward_histogram(out / "rewards.png", [v for r in ok for v in r["chosen_rewards"]],
                               [v for r in ok for v in r["rejected_rewards"]], "RM-Bench rewards")),
             ("Average accuracy per domain",
              accuracy_bars(out / "accuracy_by_domain.png", {d: dm["average"] for d, dm in m["per_domain"].items()},
                            "RM-Bench accuracy by domain", {d: dm["items"] for d, dm in m["per_domain"].items()})),
             ("Accuracy by chosen style x rejected style, all domains pooled (upper triangle = hard)",
              style_heatmap(out / "style_matrix.png", m["pooled"]["matrix"], "RM-Bench 3x3 (pooled)"))]
    for d, dm in m["per_domain"].items():
        plots.append((f"3x3 matrix, {d}", style_heatmap(out / f"style_matrix_{d}.png", dm["matrix"], f"RM-Bench {d}")))
    return summary, sections, plots


# -- JudgeBench -------------------------------------------------------------------------------------

def _judgebench_report(rows: Rows, m: dict[str, Any], out: Path):
    summary: list[tuple[str, Any]] = [("pairs", m["pairs"]), ("accuracy", m["accuracy"]), ("correct", m["correct"]),
                                      ("incorrect", m["incorrect"]), ("tie (sum 0)", m["tie"]),
                                      ("inconsistent orders", m["inconsistent"]), ("failed", m["failed"])]
    table = ["| category / source | pairs | accuracy | correct | incorrect | tie |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for key in ("per_category", "per_source"):
        for s, sm in m[key].items():
            table.append(f"| {s} | {sm['pairs']} | {sm['accuracy']:.4f} | {sm['correct']} | {sm['incorrect']} | {sm['tie']} |")
    ok = [r for r in rows if "error" not in r]
    better, worse = [], []
    for r in ok:  # the reward of the label's better response and of the other, in both orders
        for a, b in r["rewards_ab"]:
            (better if r["label"] == "A>B" else worse).append(a)
            (worse if r["label"] == "A>B" else better).append(b)
    plots = [("Rewards of the better vs the worse response (both orders)",
              reward_histogram(out / "rewards.png", better, worse, "JudgeBench rewards", ("better", "worse"))),
             ("Accuracy per category", accuracy_bars(out / "accuracy_by_category.png",
                                                     {s: v["accuracy"] for s, v in m["per_category"].items()},
                                                     "JudgeBench accuracy by category",
                                                     {s: v["pairs"] for s, v in m["per_category"].items()})),
             ("Accuracy per source", accuracy_bars(out / "accuracy_by_source.png",
                                                   {s: v["accuracy"] for s, v in m["per_source"].items()},
                                                   "JudgeBench accuracy by source",
                                                   {s: v["pairs"] for s, v in m["per_source"].items()}))]
    return summary, [("Per category and source", "\n".join(table)), ("How it is counted", m["tie_rule"] + ".")], plots


# -- pairs ------------------------------------------------------------------------------------------

def _pairs_report(rows: Rows, m: dict[str, Any], out: Path):
    summary: list[tuple[str, Any]] = [("pairs", m["items"]), ("accuracy", m["accuracy"]), ("correct", m["correct"]),
                                      ("wrong", m["wrong"]), ("tie", m["tie"]), ("no reward", m["no_reward"]),
                                      ("failed", m["failed"]), ("chosen at position A", m["chosen_at_a"])]
    table = ["| subset | pairs | accuracy | correct | wrong | tie | no reward | failed |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s, sm in m["per_subset"].items():
        table.append(f"| {s} | {sm['items']} | {sm['accuracy']:.4f} | {sm['correct']} | {sm['wrong']} | {sm['tie']} | "
                     f"{sm['no_reward']} | {sm['failed']} |")
    vtable = ["| verifier alone | correct | wrong | tie | no reward | accuracy |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for v, vm in m["per_verifier"].items():
        vtable.append(f"| {v} | {vm['correct']} | {vm['wrong']} | {vm['tie']} | {vm['no_reward']} | {vm['accuracy_alone']:.4f} |")
    ok = [r for r in rows if "error" not in r]
    plots = [("Rewards of chosen vs rejected responses",
              reward_histogram(out / "rewards.png", [r["chosen_reward"] for r in ok], [r["rejected_reward"] for r in ok],
                               "Pair rewards")),
             ("Accuracy per subset", accuracy_bars(out / "accuracy_by_subset.png",
                                                   {s: v["accuracy"] for s, v in m["per_subset"].items()},
                                                   "Accuracy by subset", {s: v["items"] for s, v in m["per_subset"].items()}))]
    return summary, [("Per subset", "\n".join(table)), ("Each verifier alone", "\n".join(vtable)),
                     ("How it is counted", m["tie_rule"] + ".")], plots


def _tie(default: float) -> Callable[[float | None], float]:
    return lambda given: default if given is None else given


RM_BENCH = BenchmarkSpec(
    "rm-bench",
    "RM-Bench (chat/code/... files or a folder of them): all 6 responses of an item in one request; "
    "3x3 style matrix and easy/normal/hard per domain, ties wrong as in the reference.",
    "RM-Bench", rm_bench_run.load_rmbench,
    lambda ctx, seed: rm_bench_run.make_rmbench_work(ctx, seed),
    lambda rows, tie: rm_bench_run.rmbench_metrics(rows, _tie(0.0)(tie)), _rmbench_report,
    summary_keys=("items", "accuracy", "hard", "normal", "easy", "failed"), summary_groups=("per_domain",))
JUDGEBENCH = BenchmarkSpec(
    "judgebench",
    "JudgeBench pairs judged in both orders; reference +1/-1 rule; accuracy per source and category.",
    "JudgeBench", judgebench.load_judgebench,
    lambda ctx, seed: judgebench.make_judgebench_work(ctx),
    lambda rows, tie: judgebench.judgebench_metrics(rows), _judgebench_report, requests_per_item=2,
    summary_keys=("pairs", "accuracy", "correct", "incorrect", "tie", "failed"), summary_groups=("per_category",),
    no_tie_credit="its reference rule scores a tied decision 0 in the +1/-1 sum")
IFBENCH_PAIRS = BenchmarkSpec(
    "ifbench-pairs",
    "RewardAgent's IFBench pairs (text_chosen/text_rejected chats); accuracy per level, "
    "chosen position drawn per item from --seed.",
    "IFBench pairs (RewardAgent)", lambda p: pairs.with_keys(pairs.load_ifbench_pairs(p)),
    lambda ctx, seed: pairs.make_pair_work(ctx, seed),
    lambda rows, tie: pairs.pairwise_metrics(rows, _tie(0.5)(tie)), _pairs_report,
    summary_keys=("items", "accuracy", "correct", "wrong", "tie", "no_reward", "failed"),
    summary_groups=("per_subset",))
PAIRS = BenchmarkSpec(
    "pairs",
    "Any JSONL of prompt, chosen, rejected (optional id, subset); accuracy per subset.",
    "Preference pairs", lambda p: pairs.with_keys(pairs.load_pairs(p)),
    lambda ctx, seed: pairs.make_pair_work(ctx, seed),
    lambda rows, tie: pairs.pairwise_metrics(rows, _tie(0.5)(tie)), _pairs_report,
    summary_keys=IFBENCH_PAIRS.summary_keys, summary_groups=IFBENCH_PAIRS.summary_groups)


def summary_report(spec: BenchmarkSpec) -> Callable[[Rows, dict[str, Any], Path], Any]:
    """The report of a benchmark that names none: its summary keys present in the metrics, no plots."""

    def report(rows: Rows, m: dict[str, Any], out: Path):
        return [(k, m[k]) for k in spec.summary_keys if k in m], [], []

    return report


def bench_work(name: str, context: RewardContext, seed: int) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
    """The work function of benchmark `name` (module level so that a Ray actor can build it by reference)."""
    return BENCHMARKS.get(name).make_work(context, seed)


def _existing(out: Path, items: list[tuple[str, dict[str, Any]]]) -> BatchReport:
    """A BatchReport over the rows already written (for `report_only`)."""
    path = out / "results.jsonl"
    rows = read_rows(path)
    if not rows:
        raise ConfigError(f"--report-only: {path} holds no rows to report on")
    known = {i for i, _ in items}
    stray = [r["id"] for r in rows if str(r["id"]) not in known]
    if stray:
        raise ConfigError(f"--report-only: {path} has rows that are not in --data (e.g. {stray[0]!r})")
    return BatchReport(rows=rows, done=0, resumed=len(rows), failed=sum("error" in r for r in rows),
                       elapsed_s=0.0, items_per_s=0.0, path=path)


def run_bench(name: str, data: str | Path, out: str | Path, *, limit: int | None = None, concurrency: int = 2,
              config_file: str | Path | None = None, seed: int = 0, profile: str | None = None, tie_credit: float | None = None,
              force: bool = False, progress: bool = True, context: RewardContext | None = None,
              report_only: bool = False, ray: RaySettings | None = None) -> dict[str, Any]:
    """Run benchmark `name` on `data` into `out`; returns the metrics written to metrics.json.

    `ray` scores the items on a pool of Ray actors instead of in this process; the rows are the same.

    `report_only` scores nothing: metrics, plots and report are recomputed from the rows already in
    `out/results.jsonl` (another `tie_credit`, a newer report layout), whatever configuration made them.
    """
    bench = BENCHMARKS.get(name)  # an unknown name fails with the known ones and "did you mean"
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be >= 1, got {limit}")
    if tie_credit is not None and not 0.0 <= tie_credit <= 1.0:
        raise ConfigError(f"--tie-credit must be in [0, 1], got {tie_credit}")
    if tie_credit is not None and bench.no_tie_credit:
        raise ConfigError(f"--tie-credit does not apply to {name}: {bench.no_tie_credit}")
    data, out = Path(data), Path(out)
    if not data.exists():
        raise ConfigError(f"--data {str(data)!r} does not exist")
    context = context if context is not None else load_context(config_file, profile=profile)
    items = bench.load(data)[:limit]
    # limit and concurrency change which rows exist and how fast, never a row's content: resuming with
    # another --limit extends the same file, so they stay out of the pinned configuration.
    config = run_config(context, bench=name, data=str(data.resolve()), seed=seed)
    before = cache_snapshot()
    if report_only:
        report = _existing(out, items)
    else:
        report = execute_batch(items, functools.partial(bench_work, name, context, seed), out, ray,
                               name="results", concurrency=concurrency, config=config, desc=name,
                               progress=progress, overwrite=force)
    metrics: dict[str, Any] = {"bench": name, "data": str(data), "seed": seed, "limit": limit,
                               **bench.metrics(report.rows, tie_credit)}
    metrics["efficiency"] = efficiency_summary(report, before, requests_per_item=bench.requests_per_item)
    summary, sections, plots = (bench.report or summary_report(bench))(report.rows, metrics, out)
    write_metrics(out, metrics)
    rate = metrics["efficiency"].get("all_runs", metrics["efficiency"]["run"])["items_per_s"]
    summary.append(("items/s (all invocations)", rate))
    write_report(out, f"{bench.title}: {data.name}", summary, sections, plots, metrics)
    return metrics
