"""The `reward-agent` command line (typer + rich). Errors become messages only here."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from pydantic import ValidationError
from rich.table import Table

from .cli_bench import bench_app
from .cli_common import ConfigOpt, ProfileOpt, console
from .cli_common import context_or_fail as _context
from .cli_common import fail as _fail
from .cli_index import index_app
from .cli_models import models_app
from .cli_ray import RayAddressOpt, ray_serve_options
from .context import RewardContext
from .errors import RewardAgentError
from .retrieval.base import SOURCES
from .types import ConstraintSpec, RewardRequest, RewardResult
from .verifiers.base import VERIFIERS

app = typer.Typer(help="Turn a prompt and candidate responses into rewards, with the evidence.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(index_app, name="index")
app.add_typer(models_app, name="models")


def _parse_constraint(text: str) -> ConstraintSpec:
    """`id` or `id={"kwarg": value}` from the command line."""
    cid, sep, raw = text.partition("=")
    try:
        kwargs = json.loads(raw) if sep else {}
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"arguments of {cid!r} are not JSON: {exc}") from None
    if not isinstance(kwargs, dict):
        raise typer.BadParameter(f"arguments of {cid!r} must be a JSON object")
    return ConstraintSpec(id=cid.strip(), kwargs=kwargs, source="request")


def check_models(context: RewardContext) -> None:
    """Load the preference reward model up front, so a model that cannot be loaded (a path that
    does not exist, weights missing) is a one-line error and exit 2, not a run whose rewards are
    all None. Loaded models are kept per process, so scoring reuses this one."""
    from .llamacpp import resolve_gguf

    for role, spec in context.models.items():  # a local GGUF that was never pulled: say how to get it
        if spec.provider == "llamacpp":
            try:
                resolve_gguf(spec.model)
            except RewardAgentError as exc:
                _fail(f"the {role} model cannot be loaded: {_first_line(str(exc))}")
    if not _uses_reward_model(context):
        return
    from .rm.auto import load_rm

    try:
        load_rm(context.rm)
    except RewardAgentError as exc:
        _fail(f"the preference reward model cannot be loaded: {_first_line(str(exc))}")


def _uses_reward_model(context: RewardContext) -> bool:
    """Whether a verifier this context may run scores with `context.rm` (as the spec declares)."""
    return any(VERIFIERS.get(vid).uses_reward_model for vid in VERIFIERS if vid not in context.disable)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _run(request: RewardRequest, context: RewardContext) -> RewardResult:
    from . import score

    check_models(context)
    try:
        return score(request, context)
    except RewardAgentError as exc:
        _fail(str(exc))
        raise


def print_result(request: RewardRequest, result: RewardResult) -> None:
    """A readable table of rewards, per-verifier scores and evidence summaries."""
    verifier_ids = list(result.signals)
    table = Table(title="Rewards", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("reward", justify="right")
    for vid in verifier_ids:
        table.add_column(vid, justify="right")
    table.add_column("evidence")
    table.add_column("response", max_width=48, overflow="ellipsis")
    for i, response in enumerate(request.responses):
        reward = result.rewards[i]
        cells = [str(i) + (" *" if i == result.best_index else ""), "-" if reward is None else f"{reward:.3f}"]
        evidence = []
        for vid in verifier_ids:
            signal = result.signals[vid]
            score = signal.scores[i] if signal.scores else None
            cells.append(signal.status if score is None else f"{score:.2f}")
            summaries = signal.evidence.get("summaries") if signal.evidence else None
            if summaries:
                evidence.append(f"{vid}: {summaries[i]}")
        cells += ["\n".join(evidence), response.replace("\n", " ")]
        table.add_row(*cells)
    console.print(table)
    console.print(f"[bold]plan[/] ({result.plan.planner}): {', '.join(result.plan.verifiers) or '(none)'}")
    for vid, why in result.plan.reasons.items():
        console.print(f"  {vid}: {why}")
    for vid, signal in result.signals.items():
        if signal.status != "ok":
            console.print(f"[yellow]{vid} {signal.status}:[/] {signal.error}")
    for vid, signal in result.signals.items():  # per-item detail a verifier declares (a hook on its spec)
        render = VERIFIERS.get(vid).render_evidence if vid in VERIFIERS else None
        if render is not None and signal.status == "ok":
            for line in render(signal):
                console.print(line.text, markup=line.markup)
    console.print(f"judger: {result.judger}  weights: {result.weights}  model calls: {result.model_calls}")
    for note in result.notes:
        console.print(f"[dim]note: {note}[/]")


@app.command()
def score(
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="The user prompt.")],
    response: Annotated[list[str], typer.Option("--response", "-r", help="A candidate response (repeat).")],
    constraint: Annotated[
        Optional[list[str]],
        typer.Option("--constraint", "-c", help='A constraint: ID or ID=\'{"kwarg": value}\' (repeat).'),
    ] = None,
    reference: Annotated[Optional[str], typer.Option(
        help="A reference answer (runs the correctness verifier): a number, LaTeX, a short answer, "
        "or a worked solution ending in '#### X' / 'A: X'.")] = None,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    planner: Annotated[Optional[str], typer.Option(help="rules or llm.")] = None,
    judger: Annotated[Optional[str], typer.Option(help="weighted_sum, gated or llm.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    index: Annotated[
        Optional[Path], typer.Option("--index", help="Local evidence index (reward-agent index build) for factuality.")
    ] = None,
    sources: Annotated[
        Optional[str], typer.Option("--sources", help="Evidence sources in order, e.g. local,web,llm (default with --index: local).")
    ] = None,
) -> None:
    """Reward one prompt's responses and show the evidence."""
    try:
        request = RewardRequest(
            prompt=prompt, responses=response, reference=reference,
            constraints=[_parse_constraint(c) for c in constraint] if constraint else None,
        )
    except ValidationError as exc:
        _fail(f"bad request: {exc}")
        return
    context = _context(config, profile=profile, planner=planner, judger=judger)
    if index is not None or sources is not None:
        context = _context(config, profile=profile, planner=planner, judger=judger,
                           retrieval=_retrieval_settings(context, index, sources))
    result = _run(request, context)
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        print_result(request, result)


def _retrieval_settings(context: RewardContext, index: Path | None, sources: str | None) -> dict[str, Any]:
    """The context's retrieval settings with --index / --sources applied.

    An index given on the command line without --sources means "check against this index only"
    (the sources that use an index): the run stays offline instead of also trying web search.
    """
    settings = context.retrieval.model_dump(exclude_unset=True)
    if index is not None:
        if not index.is_dir():
            _fail(f"--index {str(index)!r} is not a directory (build one with `reward-agent index build`)")
        settings["index"] = str(index)
    if sources is not None:
        settings["sources"] = [s.strip() for s in sources.split(",") if s.strip()]
        unknown = [s for s in settings["sources"] if s not in SOURCES]
        if unknown:
            _fail(f"--sources {sources!r}: {SOURCES.unknown(unknown[0])}")
        if not settings["sources"]:
            _fail(f"--sources {sources!r}: name at least one source, a comma list of {', '.join(SOURCES)}")
    elif index is not None:
        settings["sources"] = [s for s in SOURCES if SOURCES.get(s).uses_index]
    return settings


@app.command()
def demo(
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    agentic: Annotated[
        bool, typer.Option("--agentic", help="A constraint no built-in covers: the embedded coder model writes its "
                           "checker, run in the sandbox (profile agentic; minutes on first run, cached after).")
    ] = False,
) -> None:
    """Score a built-in example offline: a prompt with constraints and its responses."""
    from .demo import DEMO_AGENTIC_REQUEST, DEMO_REQUEST

    request = RewardRequest.model_validate(DEMO_AGENTIC_REQUEST if agentic else DEMO_REQUEST)
    result = _run(request, _context(config, profile="agentic" if agentic else None))
    if as_json:  # stdout is the JSON and nothing else, so it can be piped into a parser
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        console.print(f"[bold]prompt:[/] {request.user_prompt}\n")
        print_result(request, result)


@app.command()
def verifiers() -> None:
    """List the registered verifiers."""
    from .verifiers.base import all_verifiers

    for spec in all_verifiers():
        console.print(f"[bold]{spec.id}[/] (node {spec.node}, weight {spec.default_weight}): {spec.description}")


@app.command()
def checkers() -> None:
    """List the built-in constraint checkers and their arguments."""
    from .verifiers.constraints import checkers as _register  # noqa: F401
    from .verifiers.constraints.base import CHECKERS

    for name in sorted(CHECKERS):
        spec = CHECKERS.get(name)
        args = ", ".join(spec.args.model_fields) or "-"
        console.print(f"[bold]{name}[/] ({args}): {spec.description}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    token: Annotated[
        Optional[str], typer.Option(help="Require 'Authorization: Bearer TOKEN' (default: $REWARD_AGENT_TOKEN).")
    ] = None,
    request_timeout: Annotated[Optional[float], typer.Option(help="Seconds per non-streaming request (504 past it).")] = None,
    max_responses: Annotated[Optional[int], typer.Option(help="Most responses per request, and per prompt in /get_reward (413 above).")] = None,
    max_json_depth: Annotated[Optional[int], typer.Option(help="Deepest JSON nesting of a body (400 above; default 64).")] = None,
    header_timeout: Annotated[Optional[float], typer.Option(help="Seconds a client has to send a request header (408 and close past it; default 10).")] = None,
    body_timeout: Annotated[Optional[float], typer.Option(help="Seconds a client has to send a request body (408 past it; default 60).")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    ray: Annotated[bool, typer.Option("--ray", help="Serve on Ray Serve: app replicas, and the preference RM as "
                                      "one deployment scoring concurrent requests in batches.")] = False,
    ray_address: RayAddressOpt = None,
    replicas: Annotated[Optional[int], typer.Option(help="--ray: app replicas (default 1).")] = None,
    cpus_per_replica: Annotated[Optional[float], typer.Option(help="--ray: CPUs each app replica reserves (default 1).")] = None,
    rm_replicas: Annotated[Optional[int], typer.Option(help="--ray: RM deployment replicas (default 1).")] = None,
    rm_cpus: Annotated[Optional[float], typer.Option(help="--ray: CPUs each RM replica reserves (default 1).")] = None,
    rm_gpus: Annotated[Optional[float], typer.Option(help="--ray: GPUs each RM replica reserves (default 0).")] = None,
    max_batch_size: Annotated[Optional[int], typer.Option(help="--ray: most requests the RM scores in one call (default 64; 1 = no batching).")] = None,
    batch_wait_timeout: Annotated[Optional[float], typer.Option(help="--ray: seconds an RM batch waits to fill (default 0.01).")] = None,
) -> None:
    """Serve the reward graph over HTTP: LangServe at /reward, REST /v1/*, OpenRLHF /get_reward."""
    from .serve import ServeSettings
    from .serve import serve as run_server

    context = _context(config, profile=profile)
    try:
        settings = ServeSettings.from_env(token=token, request_timeout_s=request_timeout, max_responses=max_responses,
                                          max_json_depth=max_json_depth, header_timeout_s=header_timeout,
                                          body_timeout_s=body_timeout)
        ray_options = ray_serve_options(
            ray, address=ray_address, replicas=replicas, cpus_per_replica=cpus_per_replica, rm_replicas=rm_replicas,
            rm_cpus=rm_cpus, rm_gpus=rm_gpus, max_batch_size=max_batch_size, batch_wait_timeout_s=batch_wait_timeout)
    except RewardAgentError as exc:
        _fail(str(exc))
        return
    if ray_options is not None:
        if header_timeout is not None:  # refused rather than silently not applied
            _fail("--header-timeout does not apply with --ray: Ray Serve's own HTTP proxy reads the headers")
        _serve_on_ray(context, settings, ray_options, host, port)
        return
    check_models(context)  # a reward model that cannot load stops the server here, not on every request
    try:  # likewise a bad $REWARD_AGENT_SPECIAL_TOKENS (read by /get_reward)
        from .integrations.decoded import special_tokens_from_env

        special_tokens_from_env()
    except RewardAgentError as exc:
        _fail(str(exc))
    run_server(host=host, port=port, context=context, settings=settings, log_level=log_level)


def _serve_on_ray(context: RewardContext, settings: Any, options: Any, host: str, port: int) -> None:
    """`serve --ray`: the RM loads in its deployment (not in this driver); a failure is one line."""
    from .rm.auto import check_spec

    if _uses_reward_model(context):
        try:
            check_spec(context.rm)  # an unknown backend or option fails here, before Ray starts
        except RewardAgentError as exc:
            _fail(f"the preference reward model cannot be loaded: {_first_line(str(exc))}")
    try:
        from .serve.ray_app import run_ray_serve
    except ImportError as exc:
        _fail(f"--ray needs Ray ({exc.name} is missing): pip install 'reward-agent[ray]'")
        return
    try:
        run_ray_serve(context, settings, options, host=host, port=port, announce=console.print)
    except RewardAgentError as exc:
        _fail(str(exc))


@app.command("train-rm")
def train_rm_command(
    data: Annotated[Path, typer.Option(help="Preference JSONL: prompt/chosen/rejected pairs, or rated answers.")],
    out: Annotated[Path, typer.Option(help="Output folder: report.md, metrics.json, plots, weights.")],
    trainer: Annotated[str, typer.Option(help="embedded (BT head over MiniLM) or transformers (TRL RewardTrainer).")] = "embedded",
    base_model: Annotated[Optional[str], typer.Option(help="transformers: local checkpoint to fine-tune.")] = None,
    min_gap: Annotated[float, typer.Option(help="Rated answers: least rating gap that makes a pair.")] = 2.0,
    test_fraction: Annotated[float, typer.Option(help="Share of questions held out.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the split and the training.")] = 0,
    max_train_pairs: Annotated[Optional[int], typer.Option(help="Cap on training pairs.")] = None,
    max_train_questions: Annotated[Optional[int], typer.Option(
        help="Train on a seeded subset of this many training questions (the held-out questions stay the same).")] = None,
    rm_bench: Annotated[Optional[Path], typer.Option("--rm-bench", help="RM-Bench subset file to evaluate on.")] = None,
    export: Annotated[Optional[Path], typer.Option(help="embedded: also write the trained head here.")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Epochs (embedded default 20, transformers 1).")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Learning rate (embedded 1e-3, transformers 2e-5).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Pairs per step (embedded 256, transformers 8).")] = None,
    max_length: Annotated[int, typer.Option(help="transformers: tokens per sequence.")] = 512,
    hidden: Annotated[int, typer.Option(help="embedded: hidden units of the head (0 = linear).")] = 64,
    length_balance: Annotated[Optional[str], typer.Option(
        help="Make 'chosen is longer' 50% of training pairs: weight (loss weights), subsample, or none. "
             "Default: the measured choice.")] = None,
    hard_negatives: Annotated[Optional[str], typer.Option(
        help="Comma list of constructed hard negatives (short_chosen, filler, markdown) or 'none'. "
             "Default: the measured choice.")] = None,
    hard_negatives_per_question: Annotated[Optional[int], typer.Option(
        help="Constructed pairs per training question and kind.")] = None,
    embedding_cache: Annotated[Optional[Path], typer.Option(
        help="embedded: file caching text embeddings across runs (created if missing).")] = None,
    baseline: Annotated[Optional[Path], typer.Option(
        help="embedded: a head file measured beside the new one (the report's before/after).")] = None,
    judgebench: Annotated[Optional[Path], typer.Option(help="JudgeBench JSONL file to evaluate on.")] = None,
) -> None:
    """Train a reward model, evaluate it on held-out questions, write a Markdown report."""
    from dataclasses import replace

    from .train.embedded import EmbeddedTrainConfig
    from .train.run import TrainRMConfig, train_rm

    if trainer not in ("embedded", "transformers"):
        _fail(f"--trainer {trainer!r} must be 'embedded' or 'transformers'")
    if length_balance is not None and length_balance not in ("weight", "subsample", "none"):
        _fail(f"--length-balance {length_balance!r} must be 'weight', 'subsample' or 'none'")
    shaping: dict[str, object] = {}
    if length_balance is not None:
        shaping["length_balance"] = length_balance
    if hard_negatives is not None:
        kinds = [] if hard_negatives.strip() == "none" else [k.strip() for k in hard_negatives.split(",") if k.strip()]
        shaping["hard_negatives"] = tuple(kinds)
    if hard_negatives_per_question is not None:
        shaping["hard_negatives_per_question"] = hard_negatives_per_question
    try:
        emb = EmbeddedTrainConfig(hidden=hidden, seed=seed)
        emb = replace(emb, **{k: v for k, v in {"epochs": epochs, "lr": lr, "batch_size": batch_size}.items()
                              if v is not None})
        tr_kwargs = {k: v for k, v in {"epochs": epochs, "lr": lr, "batch_size": batch_size}.items() if v is not None}
        config = TrainRMConfig(data=data, out=out, trainer=trainer, base_model=base_model,  # type: ignore[arg-type]
                               min_gap=min_gap, test_fraction=test_fraction, seed=seed,
                               max_train_pairs=max_train_pairs, max_train_questions=max_train_questions,
                               rmbench=rm_bench, export=export, embedded=emb,
                               max_length=max_length, embedding_cache=embedding_cache, baseline=baseline,
                               judgebench=judgebench, **shaping,  # type: ignore[arg-type]
                               **(tr_kwargs if trainer == "transformers" else {}))
        metrics = train_rm(config)
    except RewardAgentError as exc:
        _fail(str(exc))
        return
    table = Table(title=f"train-rm ({trainer}): held-out questions")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("pairs", str(metrics["pairs"]))
    table.add_row("pairwise accuracy", f"{metrics['accuracy']:.3f}")
    table.add_row("mean margin", f"{metrics['mean_margin']:.3f}")
    table.add_row("length-only baseline", f"{metrics['length_baseline_accuracy']:.3f}")
    table.add_row("length vs score (Spearman)", f"{metrics['length_vs_score']['spearman']:.3f}")
    if metrics.get("rmbench"):
        rb = metrics["rmbench"]
        table.add_row("RM-Bench easy / normal / hard", f"{rb['easy']:.3f} / {rb['normal']:.3f} / {rb['hard']:.3f}")
    if metrics.get("judgebench"):
        table.add_row("JudgeBench accuracy", f"{metrics['judgebench']['accuracy']:.3f}")
    if metrics.get("before"):
        table.add_row("before: held-out pairwise accuracy", f"{metrics['before']['heldout']['accuracy']:.3f}")
    console.print(table)
    console.print(f"wrote {out / 'report.md'}" + (f" and {export}" if export else ""))


# best-of-n and annotate (batch commands over sampled responses) live in cli_batch.
from .cli_batch import register as _register_batch_commands  # noqa: E402

_register_batch_commands(app)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
