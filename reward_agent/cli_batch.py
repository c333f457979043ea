"""`reward-agent best-of-n` and `reward-agent annotate`: batch commands over sampled responses.

Registered on the main typer app by `reward_agent.cli` (`register(app)`). Errors become messages
here, at the CLI edge; the work lives in `reward_agent.batch`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from .cli_ray import CpusOpt, GpusOpt, RayAddressOpt, RayOpt, WorkersOpt, ray_settings
from .errors import RewardAgentError

console = Console()
err_console = Console(stderr=True)

DataOpt = Annotated[Path, typer.Option("--data", help="Input JSONL: prompt or messages, responses, optional "
                                       "IFEval fields / ratings; or arena rated answers with --from arena.")]
FromOpt = Annotated[str, typer.Option("--from", help="Input format: 'jsonl' (default), 'arena' (arena-bench "
                                      "rated answers) or 'ifeval-verdicts' (a folder of IFEval *_verdicts.jsonl "
                                      "files, one model each), converted at run time.")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="YAML/JSON file of context settings.")]
ConcurrencyOpt = Annotated[int, typer.Option(help="Prompts scored at the same time.")]
LimitOpt = Annotated[Optional[int], typer.Option(help="Only the first N prompts.")]
SeedOpt = Annotated[int, typer.Option(help="--from arena: seed of the order of each question's answers.")]
GroupOpt = Annotated[Optional[str], typer.Option("--group", help="Only prompts of this group (--from arena: "
                                                "'heldout' = questions the embedded RM never saw in training, or 'train').")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Discard saved scores made under another configuration.")]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")]


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=2)


def _load(data: Path, fmt: str, limit: int | None, seed: int, group: str | None = None) -> tuple[list[Any], dict[str, Any]]:
    """The items and a description of where they came from (saved with the results)."""
    from .batch.inputs import embedded_rm_split, from_arena, from_ifeval_verdicts, load_items

    if limit is not None and limit < 1:
        _fail(f"--limit must be >= 1, got {limit}")
    source: dict[str, Any] = {"data": str(data), "adapter": fmt, **({"group": group} if group else {})}
    if fmt == "jsonl":
        items = load_items(data)
    elif fmt == "arena":
        heldout, note = embedded_rm_split(data)
        source |= {"seed": seed, "groups": note}
        items = from_arena(data, seed=seed, heldout=sorted(heldout) if heldout else None)
    elif fmt == "ifeval-verdicts":
        source["seed"] = seed
        items = from_ifeval_verdicts(data, seed=seed)
    else:
        _fail(f"--from {fmt!r} must be 'jsonl', 'arena' or 'ifeval-verdicts'")
    if group is not None:
        groups = sorted({str(it.group) for it in items if it.group is not None})
        items = [it for it in items if it.group == group]
        if not items:
            _fail(f"--group {group!r} matches no prompt; groups in the data: {groups or 'none'}")
    return items[:limit] if limit is not None else items, source


ProfileOpt = Annotated[Optional[str], typer.Option("--profile", help="Settings profile: default or agentic.")]


def _context(config: Path | None, profile: str | None = None) -> Any:
    from .context import load_context

    return load_context(config, profile=profile)


def best_of_n(
    data: DataOpt,
    out: Annotated[Path, typer.Option(help="Output directory.")],
    n: Annotated[str, typer.Option("--n", help="Values of n, comma separated.")] = "1,2,4,8,16",
    signals: Annotated[str, typer.Option(help="Configurations to compare: rm, rm+verifiers (comma separated).")] = "rm,rm+verifiers",
    fmt: FromOpt = "jsonl",
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    concurrency: ConcurrencyOpt = 4,
    limit: LimitOpt = None,
    group: GroupOpt = None,
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    progress: ProgressOpt = True,
    ray: RayOpt = False,
    ray_address: RayAddressOpt = None,
    workers: WorkersOpt = 2,
    cpus_per_worker: CpusOpt = 1.0,
    gpus_per_worker: GpusOpt = 0.0,
) -> None:
    """Pick the best of the first n responses by the reward for each n; evaluate and plot the picks."""
    from .batch.best_of_n import parse_ns, run_best_of_n
    from .batch.bon_report import METRIC_LABELS
    from .batch.signal_sets import parse_signals

    try:
        ns, configs = parse_ns(n), parse_signals(signals)
        if concurrency < 1:
            raise ValueError(f"--concurrency must be >= 1, got {concurrency}")
        items, source = _load(data, fmt, limit, seed, group)
        settings = ray_settings(ray, ray_address, workers, cpus_per_worker, gpus_per_worker, concurrency)
        metrics = run_best_of_n(items, out, ns=ns, signals=configs, context=_context(config, profile),
                                concurrency=concurrency, progress=progress, source=source, overwrite=force,
                                ray=settings)
    except (RewardAgentError, ValueError) as exc:
        _fail(str(exc))
        return
    overall = metrics["overall"]
    for metric in next(iter(overall["baselines"].values()), {}):
        table = Table(title=f"{METRIC_LABELS.get(metric, metric)} ({overall['items_with_quality']} prompts)")
        table.add_column("picked by")
        for k in ns:
            table.add_column(f"n={k}", justify="right")
        for name, curves in list(overall["configs"].items()) + list(overall["baselines"].items()):
            table.add_row(name, *("-" if curves[metric][str(k)] is None else f"{curves[metric][str(k)]:.3f}" for k in ns))
        console.print(table)
    for name, eff in metrics["efficiency"].items():
        console.print(f"{name}: {eff['run']['items_per_s']:.3f} prompts/s, "
                      f"{eff['model_calls']['per_item_total']:g} model calls per prompt, "
                      f"{metrics['failed'][name]['count']} failed")
    console.print(f"wrote {out / 'metrics.json'}, {out / 'report.md'}, {out / 'best_of_n.png'} and picks_n*.jsonl")


def annotate(
    data: DataOpt,
    out: Annotated[Path, typer.Option(help="Output JSONL of DPO pairs (metrics and plot are written beside it).")],
    rule: Annotated[str, typer.Option(help="Selection rule: best-worst or all-pairs.")] = "best-worst",
    min_margin: Annotated[float, typer.Option(help="Least reward margin (chosen - rejected) a pair needs.")] = 0.0,
    signals: Annotated[str, typer.Option(help="rm (reward model only) or rm+verifiers (the planner's choice).")] = "rm+verifiers",
    fmt: FromOpt = "jsonl",
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    concurrency: ConcurrencyOpt = 4,
    limit: LimitOpt = None,
    group: GroupOpt = None,
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    progress: ProgressOpt = True,
    ray: RayOpt = False,
    ray_address: RayAddressOpt = None,
    workers: WorkersOpt = 2,
    cpus_per_worker: CpusOpt = 1.0,
    gpus_per_worker: GpusOpt = 0.0,
) -> None:
    """Score N responses per prompt and write DPO pairs (prompt, chosen, rejected, scores, margin, signals)."""
    from .batch.annotate import RULES, run_annotate
    from .batch.signal_sets import parse_signals

    try:
        if rule not in RULES:
            raise ValueError(f"--rule {rule!r} must be one of {', '.join(RULES)}")
        configs = parse_signals(signals)
        if len(configs) != 1:
            raise ValueError(f"--signals {signals!r}: annotate takes one configuration (rm or rm+verifiers)")
        config_name = configs[0]
        if concurrency < 1:
            raise ValueError(f"--concurrency must be >= 1, got {concurrency}")
        items, source = _load(data, fmt, limit, seed, group)
        settings = ray_settings(ray, ray_address, workers, cpus_per_worker, gpus_per_worker, concurrency)
        metrics = run_annotate(items, out, context=_context(config, profile), signals=config_name, rule=rule,
                               min_margin=min_margin, concurrency=concurrency, progress=progress, source=source,
                               overwrite=force, ray=settings)
    except (RewardAgentError, ValueError) as exc:
        _fail(str(exc))
        return
    table = Table(title=f"annotate ({rule}, min margin {min_margin:g}, {config_name})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("prompts", str(metrics["prompts"]))
    table.add_row("pairs written", str(metrics["pairs_written"]))
    for why, entry in metrics["skipped"].items():
        table.add_row(f"skipped: {why}", str(entry["count"]))
    if metrics["margin"]["count"]:
        table.add_row("mean margin", f"{metrics['margin']['mean']:.3f}")
    for name, agreement in metrics["agreement_with_data"].items():
        acc = agreement["accuracy_on_decided"]
        table.add_row(f"chosen better by {name}", "-" if acc is None else f"{acc:.3f} ({agreement['pairs']} pairs)")
    eff = metrics["efficiency"]
    table.add_row("prompts/s", f"{eff['run']['items_per_s']:.3f}")
    table.add_row("model calls per prompt", f"{eff['model_calls']['per_item_total']:g}")
    console.print(table)
    console.print(f"wrote {metrics['outputs']['pairs']}, {metrics['outputs']['metrics']}, {metrics['outputs']['plot']}")


def register(app: typer.Typer) -> None:
    """Add the batch commands to the main `reward-agent` app."""
    app.command("best-of-n")(best_of_n)
    app.command("annotate")(annotate)
