"""The benchmark registry: what `reward-agent bench NAME` can run.

A benchmark is a loader (data path -> `(id, item)` pairs in dataset order), a work function
(item -> row, through the reward graph), a metrics function over the rows and, optionally, a
report (summary rows, markdown sections, plots). The shared driver (`bench.suite.run_bench`)
runs any of them resumably and writes `metrics.json`, `results.jsonl` and `report.md`; the CLI
makes one `bench NAME` command per entry, with `help` as its one line and `summary_keys` as the
metrics its table prints.

Built-ins are registered lazily by "module:object" (this module imports nothing heavy); users
register their own with `register_benchmark`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..registry import Registry

if TYPE_CHECKING:  # annotations only
    from ..context import RewardContext

__all__ = ["BENCHMARKS", "BenchmarkSpec", "Plot", "Report", "Rows", "register_benchmark"]

Rows = list[dict[str, Any]]
Plot = tuple[str, Path]
Item = dict[str, Any]
# (rows, metrics, out) -> (summary rows, markdown sections, plots) for report.md
Report = Callable[[Rows, dict[str, Any], Path], tuple[list[tuple[str, Any]], list[tuple[str, str]], list[Plot]]]


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark the driver and the CLI can run.

    - `load(data)`: `(id, item)` pairs in dataset order; ids must be unique (resumption keys on them).
    - `make_work(context, seed)`: an async `item -> row` function. A row is JSON; a row whose work
      raised is written as `{"error": ...}` by the runner, so metrics should count those as failed.
    - `metrics(rows, tie_credit)`: the numbers written to metrics.json (`tie_credit` is `--tie-credit`,
      None when not given).
    - `report(rows, metrics, out)`: summary rows, markdown sections and plots of report.md; None
      reports the `summary_keys` present in the metrics.
    - `summary_keys` / `summary_groups`: the top-level metrics, and the per-group dicts (each entry's
      "average" or "accuracy"), that `reward-agent bench NAME` prints in its table.
    - `no_tie_credit`: why `--tie-credit` does not apply (rejected with that reason), None if it does.
    """

    name: str
    help: str
    title: str
    load: Callable[[Path], list[tuple[str, Item]]]
    make_work: Callable[[RewardContext, int], Callable[[Item], Awaitable[dict[str, Any]]]]
    metrics: Callable[[Rows, float | None], dict[str, Any]]
    report: Report | None = None
    summary_keys: tuple[str, ...] = ("items", "accuracy", "failed")
    summary_groups: tuple[str, ...] = ()
    requests_per_item: int = 1
    no_tie_credit: str | None = None


BENCHMARKS: Registry[BenchmarkSpec] = Registry("benchmark")

# Built-ins, in the order `reward-agent bench --help` lists them.
BENCHMARKS.register("rm-bench", "reward_agent.bench.suite:RM_BENCH")
BENCHMARKS.register("judgebench", "reward_agent.bench.suite:JUDGEBENCH")
BENCHMARKS.register("ifbench-pairs", "reward_agent.bench.suite:IFBENCH_PAIRS")
BENCHMARKS.register("pairs", "reward_agent.bench.suite:PAIRS")


def register_benchmark(spec: BenchmarkSpec, *, replace: bool = False) -> None:
    """Make a benchmark runnable by name (`run_bench(spec.name, ...)`, `reward-agent bench NAME`)."""
    BENCHMARKS.register(spec.name, spec, replace=replace)
