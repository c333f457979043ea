"""Which signals score a sampled batch: the reward model alone, or the RM plus the verifiers.

Two configurations can be compared in one run of `best-of-n`:

- `rm`: the preference reward model alone (every other verifier disabled in the request);
- `rm+verifiers`: whatever the planner chooses (the RM plus the verifiers that apply).

One request per prompt carries all N responses, so prompt-level work (the plan, the extracted
constraints, generated checker code) is done once. The gold IFEval constraints of an item are
never put in the request: the graph must read the constraints from the prompt, otherwise the
reward would be told the answer it is evaluated on.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from ..context import RewardContext
from ..types import RewardRequest, RewardResult, Signal
from ..verifiers.base import VERIFIERS
from .inputs import BatchItem
from .scoring import result_row

__all__ = ["SIGNAL_CONFIGS", "audit_row", "build_request", "make_work", "parse_signals", "safe_name"]

SIGNAL_CONFIGS = ("rm", "rm+verifiers")
# Evidence fields kept for audit beside the summaries; long per-response tables are left out.
_EVIDENCE_LIMIT_CHARS = 4000


def parse_signals(text: str) -> list[str]:
    """`rm,rm+verifiers` -> ['rm', 'rm+verifiers']; unknown names raise ValueError."""
    names = list(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    unknown = [n for n in names if n not in SIGNAL_CONFIGS]
    if unknown or not names:
        raise ValueError(f"--signals {text!r}: each must be one of {', '.join(SIGNAL_CONFIGS)} (comma separated)")
    return names


def safe_name(signals: str) -> str:
    """A folder name for a configuration ('rm+verifiers' -> 'rm_verifiers')."""
    return signals.replace("+", "_")


def build_request(item: BatchItem, signals: str) -> RewardRequest:
    """The reward request for an item under a configuration (never with the gold constraints)."""
    if signals == "rm":
        # every verifier but the reward model's (`uses_reward_model` on the spec)
        disable = [v for v in VERIFIERS if not VERIFIERS.get(v).uses_reward_model]
    elif signals == "rm+verifiers":
        disable = []
    else:
        raise ValueError(f"unknown signal configuration {signals!r}; use one of {SIGNAL_CONFIGS}")
    return RewardRequest(prompt=item.prompt, messages=item.messages, responses=item.responses,
                         disable=disable, id=item.id)


def _evidence_for_audit(signal: Signal) -> dict[str, Any]:
    """A signal's evidence minus fields too long to keep per row (their names are recorded)."""
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in signal.evidence.items():
        text = json.dumps(value, default=str)
        if key == "summaries" or len(text) <= _EVIDENCE_LIMIT_CHARS:
            kept[key] = json.loads(text)
        else:
            dropped.append(key)
    if dropped:
        kept["left_out_for_size"] = sorted(dropped)
    return kept


def audit_row(result: RewardResult) -> dict[str, Any]:
    """The runner's compact row plus, per verifier, raw scores and evidence (summaries first)."""
    row = result_row(result)
    for vid, signal in result.signals.items():
        entry = row["verifiers"][vid]
        if signal.raw_scores is not None:
            entry["raw_scores"] = [None if s is None else round(float(s), 6) for s in signal.raw_scores]
        entry["evidence"] = _evidence_for_audit(signal)
    return row


def make_work(
    signals: str, context: RewardContext, *, audit: bool = False
) -> Callable[[BatchItem], Awaitable[dict[str, Any]]]:
    """The runner's work function: score one item's responses in one request."""
    from .. import ascore

    async def work(item: BatchItem) -> dict[str, Any]:
        result = await ascore(build_request(item, signals), context)
        return audit_row(result) if audit else result_row(result)

    return work
