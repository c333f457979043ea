"""The preference verifier: a reward model's opinion of every response, normalised to [0, 1].

It runs the reward model the run's context names (`context.rm`; the embedded RM by default)
over all N responses of a request in one batched call, and returns the raw scores and their
[0, 1] form. With one response the normalisation is per item (sigmoid with the model's
calibration, unless the context sets an item-wise method); with N > 1 it is whatever the
context or the model chose (a per-prompt `rank`/`zscore` falls back to sigmoid for N = 1, and
the evidence says so). A reward model that fails raises, and the graph records a failed
signal: never a default score.

It applies to every request: a preference model has an opinion on any response, and it is the
signal that still speaks when a prompt states no checkable constraint. Its default weight is
1.0, the same as the constraints verifier: both are in [0, 1], and neither should dominate by
default. The constraint check is the hard signal (the `gated` judger caps a response that
breaks one); the preference model is the soft one that orders responses that pass.
"""

from __future__ import annotations

import asyncio

from ..context import RewardContext
from ..redaction import redact_url
from ..rm.auto import load_rm
from ..rm.normalise import Normalisation
from ..types import RewardRequest, Signal
from .base import VerifierSpec


def applies(request: RewardRequest, context: RewardContext) -> tuple[bool, str]:
    """Always: every response can be scored by a preference model."""
    model = f" {redact_url(context.rm.model)}" if context.rm.model else ""  # the plan's reasons are shown
    return True, f"a preference reward model ({context.rm.backend}{model}) scores every response"


def _normalisation(context: RewardContext, n: int, default: Normalisation) -> Normalisation:
    chosen = context.rm.normalisation or default
    if n == 1 and chosen.method in ("rank", "zscore"):
        return default if default.method not in ("rank", "zscore") else Normalisation()
    return chosen


async def score_preference(request: RewardRequest, context: RewardContext) -> Signal:
    """Score all responses with the context's reward model in one batched call."""
    # Loading reads weights from disk (seconds): off the event loop, which serves other requests
    # meanwhile (and `langgraph dev` refuses blocking calls on it).
    rm = await asyncio.to_thread(load_rm, context.rm)
    n = len(request.responses)
    how = _normalisation(context, n, rm.default_normalisation)
    out = await rm.ascore_batch(request.chat(), request.responses, normalisation=how)
    evidence = {
        "backend": context.rm.backend,
        "model": redact_url(context.rm.model) or rm.identity().get("head") or rm.backend,
        "normalisation": out.normalisation,
        "summaries": [f"reward model: raw {r:.3f} -> {s:.2f}" for r, s in zip(out.raw, out.scores)],
    }
    if how != (context.rm.normalisation or rm.default_normalisation):
        evidence["normalisation_note"] = (
            f"one response: {context.rm.normalisation.method if context.rm.normalisation else 'per-prompt'} "
            "normalisation needs N > 1, so the per-item sigmoid was used"
        )
    if out.fallbacks:
        evidence["fallbacks"] = out.fallbacks
    if out.objectives:
        evidence["objectives"] = out.objectives
    if out.details:
        evidence["details"] = out.details
    return Signal(verifier="preference", status="ok", scores=out.scores, raw_scores=out.raw,
                  evidence=evidence, model_calls=out.model_calls)


VERIFIER = VerifierSpec(
    id="preference",
    description=(
        "Scores how good each response is overall with a preference reward model (helpfulness, "
        "correctness, style), as learned from human or AI preference data. Applies to every prompt."
    ),
    node="score_preference",
    run=score_preference,
    applies=applies,
    default_weight=1.0,
    hard=False,
    uses_reward_model=True,  # the CLI loads `context.rm` up front; the batch `rm` configuration keeps it
    needs_prompt=True,  # a preference model judges the answer to *this* question
)
