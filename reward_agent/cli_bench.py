"""`reward-agent bench NAME`: the benchmark commands, on `bench_app`, which this module owns and
`cli` mounts as `bench`.

`ifeval-verify`, then one command per entry of the benchmark registry (`bench.registry.BENCHMARKS`:
rm-bench, judgebench, ifbench-pairs, pairs and any registered later). The registry commands take
the same options and write `DIR/metrics.json`, `DIR/results.jsonl`, `DIR/report.md` and PNG plots;
a re-run of the same command resumes where the last one stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from .bench.registry import BENCHMARKS, BenchmarkSpec
from .cli_common import ConfigOpt, ProfileOpt, console, context_or_fail, fail
from .cli_ray import CpusOpt, GpusOpt, RayAddressOpt, RayOpt, WorkersOpt, ray_settings
from .errors import RewardAgentError

class _RegistryTyper(typer.Typer):
    """A Typer group whose command list is brought up to date with BENCHMARKS whenever it is read
    (Typer reads it when it builds the CLI), so a benchmark registered after this module was
    imported is a `bench` command too. `make_command` is set once this module has defined it."""

    make_command: Callable[[BenchmarkSpec], Callable[..., None]] | None = None

    @property
    def registered_commands(self) -> list[Any]:
        if self.make_command is not None and not self._syncing:
            self._syncing = True  # `self.command` below reads this property again
            try:
                for name in BENCHMARKS:
                    if name not in self._from_registry:
                        self._from_registry.add(name)
                        self.command(name)(self.make_command(BENCHMARKS.get(name)))
            finally:
                self._syncing = False
        return self._commands

    @registered_commands.setter
    def registered_commands(self, value: list[Any]) -> None:  # Typer's __init__ sets it
        self._from_registry: set[str] = set()
        self._syncing = False
        self._commands = value


bench_app = _RegistryTyper(help="Benchmarks of the reward system.", no_args_is_help=True)


# Not a registry entry: it measures verdict agreement of the constraint verifier alone, not rewards
# through the suite driver, and takes its own options (--gold-constraints/--extract, --checkers).
@bench_app.command("ifeval-verify")
def bench_ifeval_verify(
    data: Annotated[Path, typer.Option(help="A *_verdicts.jsonl file of reference verdicts.")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    gold_constraints: Annotated[
        bool, typer.Option("--gold-constraints/--extract", help="Use the gold constraints instead of extracting them.")
    ] = False,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N items.")] = None,
    checkers: Annotated[
        Optional[str],
        typer.Option(help="builtin (default), generated (the coder writes every checker from the constraint's "
                     "description) or auto (built-in when registered, else generated)."),
    ] = None,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
) -> None:
    """Agreement of the constraint verifier with IFEval's reference verdicts (with coverage)."""
    from .bench.ifeval import run_ifeval_verify

    if not data.is_file():
        fail(f"--data {str(data)!r} is not a file")
    context = context_or_fail(config, profile=profile, checkers=checkers or "builtin")
    if context.checkers == "generated" and context.model_for("coder") is None:
        fail("--checkers generated needs a coder model: --profile agentic, or models.coder in --config")
    started = time.perf_counter()
    try:
        metrics = run_ifeval_verify(data, out, gold_constraints=gold_constraints, limit=limit, context=context)
    except (ValueError, RewardAgentError) as exc:
        fail(str(exc))
        return
    finish_ifeval_report(out, metrics, time.perf_counter() - started)  # report.md + efficiency
    table = Table(title=f"ifeval-verify ({'gold' if gold_constraints else 'extracted'} constraints)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        if isinstance(value, dict):
            continue  # per id and generated-checker details: in metrics.json and report.md
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    console.print(table)
    console.print(f"wrote {out / 'metrics.json'}, {out / 'results.jsonl'} and {out / 'report.md'}")


def _make_command(spec: BenchmarkSpec):
    """The `bench NAME` command of a registered benchmark (the options every suite benchmark takes)."""
    name = spec.name

    def command(
        data: Annotated[Path, typer.Option(help="Benchmark data file (rm-bench: a file or a folder of *.json).")],
        out: Annotated[Path, typer.Option(help="Output directory (resumed if it holds a partial run).")],
        limit: Annotated[Optional[int], typer.Option(help="Only the first N items.")] = None,
        concurrency: Annotated[int, typer.Option(help="Items scored at the same time.")] = 2,
        config: Annotated[Optional[Path], typer.Option("--config", help="YAML/JSON file of context settings.")] = None,
        profile: Annotated[Optional[str], typer.Option("--profile", help="Settings profile: default or agentic.")] = None,
        seed: Annotated[int, typer.Option(help="Seed of the per-item response positions.")] = 0,
        tie_credit: Annotated[
            Optional[float],
            typer.Option(help="What an exact tie is worth (rm-bench default 0 as the reference; pairs 0.5)."),
        ] = None,
        force: Annotated[bool, typer.Option("--force", help="Discard old results made under another configuration.")] = False,
        progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
        report_only: Annotated[
            bool, typer.Option("--report-only", help="Score nothing: rebuild metrics and report from DIR/results.jsonl.")
        ] = False,
        ray: RayOpt = False,
        ray_address: RayAddressOpt = None,
        workers: WorkersOpt = 2,
        cpus_per_worker: CpusOpt = 1.0,
        gpus_per_worker: GpusOpt = 0.0,
    ) -> None:
        from .bench.suite import run_bench

        try:
            settings = ray_settings(ray, ray_address, workers, cpus_per_worker, gpus_per_worker, concurrency)
            metrics = run_bench(name, data, out, limit=limit, concurrency=concurrency, config_file=config, seed=seed,
                                profile=profile, tie_credit=tie_credit, force=force, progress=progress,
                                report_only=report_only, ray=settings)
        except RewardAgentError as exc:
            fail(str(exc))
            return
        _print_summary(spec, metrics, out)

    command.__doc__ = spec.help
    command.__name__ = f"bench_{name.replace('-', '_')}"
    return command


bench_app.make_command = _make_command


def _print_summary(spec: BenchmarkSpec, metrics: dict[str, Any], out: Path) -> None:
    table = Table(title=f"bench {spec.name}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in spec.summary_keys:
        if key in metrics:
            value = metrics[key]
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    for group in spec.summary_groups:
        for sub, sm in metrics.get(group, {}).items():
            value = sm.get("average", sm.get("accuracy"))
            table.add_row(f"  {sub}", f"{value:.4f}")
    eff = metrics["efficiency"]
    table.add_row("items/s (this run)", f"{eff['run']['items_per_s']:.3f}")
    if "all_runs" in eff:
        table.add_row("items/s (all invocations)", f"{eff['all_runs']['items_per_s']:.3f}")
    table.add_row("model calls / item", str(eff["model_calls"]["per_item_total"]))
    console.print(table)
    console.print(f"wrote {out / 'metrics.json'}, {out / 'results.jsonl'} and {out / 'report.md'}")


def _per_id_table(per_id: dict[str, Any]) -> str:
    """Markdown table: per instruction id, count, coverage and agreement (strict, loose)."""
    lines = ["| id | n | coverage strict | agreement strict | agreement loose |", "|---|---:|---:|---:|---:|"]
    for cid, m in per_id.items():
        lines.append(f"| `{cid}` | {m['instructions']} | {m['coverage_strict']:.2f} | {m['agreement_strict']:.2f} | "
                     f"{m['agreement_loose']:.2f} |")
    return "\n".join(lines)


def finish_ifeval_report(out: Path, metrics: dict[str, Any], elapsed_s: float) -> dict[str, Any]:
    """Bring `bench ifeval-verify`'s outputs to the conventions of the other benchmarks: an
    "efficiency" block in metrics.json and a report.md beside it (its rows predate the runner)."""
    import json

    from .batch.efficiency import cache_snapshot, efficiency_summary
    from .batch.report import write_metrics, write_report
    from .batch.runner import BatchReport

    items = int(metrics.get("items", 0))
    report = BatchReport(rows=[], done=items, resumed=0, failed=0, elapsed_s=elapsed_s,
                         items_per_s=items / elapsed_s if elapsed_s > 0 else 0.0)
    snapshot = cache_snapshot()
    metrics = {**metrics, "efficiency": efficiency_summary(report, snapshot, snapshot)}
    calls = int(metrics.get("model_calls") or 0)
    metrics["efficiency"]["model_calls"]["note"] = (
        f"{calls} model call(s): extraction and checker generation (cached per constraint type)" if calls
        else "rule-based extraction and built-in checkers (or everything cached): no model calls")
    write_metrics(out, metrics)
    summary = [(k, v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    (out / "results.config.json").write_text(json.dumps({"args": {"bench": "ifeval-verify",
                                                                  "data": str(metrics.get("data")),
                                                                  "gold_constraints": metrics.get("gold_constraints"),
                                                                  "checkers": metrics.get("checkers"),
                                                                  "profile": metrics.get("profile")}},
                                                        indent=2) + "\n", encoding="utf-8")
    write_report(out, "IFEval: constraint verifier vs reference verdicts", summary,
                 [("Data", f"`{metrics.get('data')}`; constraints: "
                           f"{'gold' if metrics.get('gold_constraints') else 'extracted from the prompt'}; "
                           f"checkers: {metrics.get('checkers')}; profile: {metrics.get('profile')}."),
                  ("Per instruction id", _per_id_table(metrics.get("per_id") or {}))],
                 [], metrics)
    return metrics
