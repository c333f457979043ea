"""Score a request through the graph and keep a compact, deterministic row of the result.

The row keeps what a benchmark or an audit needs (rewards, the best index, each verifier's status
and scores, model calls by role) and leaves out what changes from run to run (latencies), so that
a resumed run writes the same bytes as an uninterrupted one. Floats are rounded to `DIGITS`
places: the last bits of a model's float arithmetic can depend on batch composition, and a
benchmark must not flip a decision on them between two runs.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from ..context import RewardContext
from ..redaction import redact
from ..types import RewardRequest, RewardResult

__all__ = ["DIGITS", "ascore_row", "model_calls_by_role", "result_row", "run_config"]

DIGITS = 6


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def model_calls_by_role(result: RewardResult) -> dict[str, int]:
    """Model calls of one result split by who made them: planner, each verifier id, judger."""
    calls = {"planner": result.plan.model_calls}
    for vid, signal in result.signals.items():
        calls[vid] = signal.model_calls
    calls["judger"] = result.judger_model_calls
    return calls


def result_row(result: RewardResult) -> dict[str, Any]:
    """The compact row of a RewardResult (JSON-serialisable, no timings)."""
    verifiers: dict[str, Any] = {}
    for vid, signal in result.signals.items():
        entry: dict[str, Any] = {"status": signal.status,
                                 "scores": None if signal.scores is None else [_round(s) for s in signal.scores]}
        if signal.error:
            entry["error"] = signal.error
        verifiers[vid] = entry
    row: dict[str, Any] = {
        "rewards": [_round(r) for r in result.rewards],
        "best_index": result.best_index,
        "verifiers": verifiers,
        "plan": list(result.plan.verifiers),
        "judger": result.judger,
        "model_calls": model_calls_by_role(result),
    }
    if result.plan.fallback:
        row["planner_fallback"] = result.plan.fallback
    if result.notes:
        row["notes"] = list(result.notes)
    return row


async def ascore_row(request: RewardRequest | dict[str, Any], context: RewardContext | None = None) -> dict[str, Any]:
    """Score `request` through the compiled graph (async) and return its compact row."""
    from .. import ascore

    return result_row(await ascore(request, context))


def _redacted(dump: dict[str, Any]) -> dict[str, Any]:
    """A context dump without secrets: a config file is shared, a credential must not be in it
    (API keys, RM headers, a judge's key, user:password@ in URLs; see `reward_agent.redaction`)."""
    return redact(dump)


def package_version() -> str:
    try:
        return metadata.version("reward-agent")
    except metadata.PackageNotFoundError:  # a source checkout that was never installed
        return "unknown"


def run_config(context: RewardContext, **args: Any) -> dict[str, Any]:
    """The full configuration of a batch run: command arguments, context, prompt versions, version.

    Saved as `{name}.config.json` by the runner, which refuses to resume under a different one.
    """
    from ..prompting import list_prompts

    from ..verifiers.base import VERIFIERS

    prompts = {name: [f"{name}.v{n}" for n in numbers] for name, numbers in list_prompts().items()}
    return {
        # The rule planner picks among the registered verifiers: registering one can change every row.
        "verifiers": sorted(VERIFIERS.names()),
        "args": {k: (str(v) if v is not None and not isinstance(v, (int, float, str, bool, list, dict)) else v)
                 for k, v in args.items()},
        "context": _redacted(context.model_dump(mode="json")),
        "prompts": prompts,
        "package_version": package_version(),
    }
