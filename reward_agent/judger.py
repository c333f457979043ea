"""Judgers: merge the verifiers' signals into one reward per response.

- `weighted_sum`: per response, the weighted mean of the scores present. Weights are
  renormalised over the signals that have evidence for that response, so a failed or
  skipped verifier (or a check that errored) never counts as 0.
- `gated`: the weighted sum, capped at `gate_cap` for a response that violates a hard
  verifier (a constraint not met, harmful compliance to a harmful request), so no preference
  score can buy back a broken rule.
- `llm`: an LLM compares the responses pairwise, seeing the prompt, both responses and the
  verifiers' evidence; every pair is judged in both orders to cancel position bias and the
  reward is each response's share of wins. Falls back to `weighted_sum` (noted) when it
  cannot judge.

All scores are in [0, 1] by the Signal contract, so mixing them is meaningful.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from .errors import ModelCallError, ModelOutputError
from .llm import build_chat_model
from .prompting import load_prompt
from .registry import Registry
from .structured import ainvoke_structured
from .types import RewardRequest, Signal
from .verifiers.base import VERIFIERS

if TYPE_CHECKING:  # annotations only: `context` validates judger names against JUDGERS (below)
    from .context import RewardContext


@dataclass
class Judgement:
    """A judger's output: rewards plus what produced them."""

    rewards: list[float | None]
    judger: str
    weights: dict[str, float]
    notes: list[str] = field(default_factory=list)
    model_calls: int = 0
    prompt_versions: dict[str, str] = field(default_factory=dict)


JudgerFn = Callable[[RewardRequest, dict[str, Signal], "RewardContext"], Awaitable[Judgement]]
JUDGERS: Registry[JudgerFn] = Registry("judger")


def usable_signals(signals: dict[str, Signal]) -> dict[str, Signal]:
    """Signals that carry scores (status ok); failed and skipped ones are missing evidence."""
    return {vid: s for vid, s in signals.items() if s.status == "ok" and s.scores is not None}


def resolve_weights(signal_ids: list[str], context: RewardContext) -> dict[str, float]:
    """Weight per verifier: the context's value, else the verifier's default (1.0 if unregistered)."""
    weights = {}
    for vid in signal_ids:
        default = VERIFIERS.get(vid).default_weight if vid in VERIFIERS else 1.0
        weights[vid] = context.weight_of(vid, default)
    return weights


def weighted_mean(signals: dict[str, Signal], weights: dict[str, float], n: int) -> list[float | None]:
    """Per response, the weighted mean over the signals with a score for it (renormalised)."""
    rewards: list[float | None] = []
    for i in range(n):
        total = mass = 0.0
        for vid, signal in signals.items():
            score = signal.scores[i] if signal.scores is not None else None
            w = weights.get(vid, 0.0)
            if score is None or w <= 0:
                continue
            total += w * score
            mass += w
        rewards.append(total / mass if mass > 0 else None)
    return rewards


def _missing_notes(rewards: list[float | None], signals: dict[str, Signal]) -> list[str]:
    notes = []
    if not signals:
        notes.append("no verifier produced scores; rewards are None")
    elif any(r is None for r in rewards):
        missing = [i for i, r in enumerate(rewards) if r is None]
        notes.append(f"no evidence for response(s) {missing}; their rewards are None")
    return notes


async def judge_weighted_sum(request: RewardRequest, signals: dict[str, Signal], context: RewardContext) -> Judgement:
    present = usable_signals(signals)
    weights = resolve_weights(list(present), context)
    rewards = weighted_mean(present, weights, len(request.responses))
    return Judgement(rewards=rewards, judger="weighted_sum", weights=weights, notes=_missing_notes(rewards, present))


def violates(signal: Signal, i: int) -> bool:
    """Whether response i breaks a hard verifier's rule.

    A hard verifier whose score is graded rather than pass/fail (safety: a probability) lists its
    violations per response in `evidence["violations"]`; otherwise any score below 1 (a constraint
    not met) is one. No score (no evidence) is never a violation.
    """
    flags = signal.evidence.get("violations")
    if isinstance(flags, list) and signal.scores is not None and len(flags) == len(signal.scores):
        return signal.scores[i] is not None and bool(flags[i])
    score = signal.scores[i] if signal.scores is not None else None
    return score is not None and score < 1.0


async def judge_gated(request: RewardRequest, signals: dict[str, Signal], context: RewardContext) -> Judgement:
    base = await judge_weighted_sum(request, signals, context)
    present = usable_signals(signals)
    hard = [vid for vid in present if vid in VERIFIERS and VERIFIERS.get(vid).hard]
    rewards = list(base.rewards)
    capped = []
    for i, reward in enumerate(rewards):
        violated = any(violates(present[v], i) for v in hard)
        if reward is not None and violated and reward > context.gate_cap:
            rewards[i] = context.gate_cap
            capped.append(i)
    notes = base.notes + ([f"capped at {context.gate_cap} for violating {hard}: responses {capped}"] if capped else [])
    return Judgement(rewards=rewards, judger="gated", weights=base.weights, notes=notes)


class PairVerdict(BaseModel):
    """What the judge model answers for one ordered pair."""

    winner: Literal["A", "B", "tie"] = Field(description="The better response, or 'tie'.")
    reason: str = Field(default="", description="One or two sentences.")


def evidence_lines(signals: dict[str, Signal], i: int) -> str:
    """A short text of what the verifiers found about response i, for the judge model."""
    lines = []
    for vid, signal in signals.items():
        score = signal.scores[i] if signal.scores else None
        summary = (signal.evidence.get("summaries") or [None] * (i + 1))[i] if signal.evidence else None
        text = f"- {vid}: " + ("no evidence" if score is None else f"score {score:.2f}")
        lines.append(text + (f" ({summary})" if summary else ""))
    return "\n".join(lines) or "- (no verifier evidence)"


async def judge_llm(request: RewardRequest, signals: dict[str, Signal], context: RewardContext) -> Judgement:
    """Round-robin pairwise arbitration, both orders per pair; falls back to weighted_sum."""
    n = len(request.responses)
    spec = context.model_for("judge")
    why_not = (
        "no model configured for the 'judge' role" if spec is None
        else "a single response has nothing to compare with" if n < 2
        else f"{n} responses exceed llm_judge_max_responses={context.llm_judge_max_responses}"
        if n > context.llm_judge_max_responses else None
    )
    if why_not:
        fallback = await judge_weighted_sum(request, signals, context)
        fallback.notes.insert(0, f"llm judger not used: {why_not}; weighted_sum decided")
        return fallback
    assert spec is not None
    model = build_chat_model(spec)
    template = load_prompt("judge")
    present = usable_signals(signals)
    system = SystemMessage(content=template.render())

    async def compare(a: int, b: int) -> tuple[int, int, PairVerdict | None, int, str | None]:
        user = HumanMessage(
            content=(
                f"[Prompt]\n{request.user_prompt}\n\n[Response A]\n{request.responses[a]}\n\n"
                f"[Verifier evidence for A]\n{evidence_lines(present, a)}\n\n"
                f"[Response B]\n{request.responses[b]}\n\n[Verifier evidence for B]\n{evidence_lines(present, b)}"
            )
        )
        try:
            answer = await ainvoke_structured(model, [system, user], PairVerdict)
            return a, b, answer.value, answer.model_calls, None
        except (ModelOutputError, ModelCallError) as exc:
            return a, b, None, exc.model_calls, f"{type(exc).__name__}: {exc}"

    orders = [(a, b) for i, j in itertools.combinations(range(n), 2) for a, b in ((i, j), (j, i))]
    results = await asyncio.gather(*(compare(a, b) for a, b in orders))
    points: list[list[float]] = [[] for _ in range(n)]
    calls = 0
    failures = []
    for a, b, verdict, used, error in results:
        calls += used
        if verdict is None:
            failures.append(f"({a},{b}): {error}")
            continue
        share_a = {"A": 1.0, "B": 0.0, "tie": 0.5}[verdict.winner]
        points[a].append(share_a)
        points[b].append(1.0 - share_a)
    if all(not p for p in points):
        fallback = await judge_weighted_sum(request, signals, context)
        fallback.notes.insert(0, f"llm judger failed on every comparison ({failures[0]}); weighted_sum decided")
        fallback.model_calls = calls
        fallback.prompt_versions = {"judge": template.version}
        return fallback
    rewards: list[float | None] = [sum(p) / len(p) if p else None for p in points]
    notes = [f"{len(failures)} of {len(orders)} comparisons failed and were left out"] if failures else []
    return Judgement(rewards=rewards, judger="llm", weights={}, notes=notes + _missing_notes(rewards, present),
                     model_calls=calls, prompt_versions={"judge": template.version})


JUDGERS.register("weighted_sum", judge_weighted_sum)
JUDGERS.register("gated", judge_gated)
JUDGERS.register("llm", judge_llm)


def register_judger(name: str, judger: JudgerFn, *, replace: bool = False) -> None:
    """Make `judger(request, signals, context) -> Judgement` selectable as `RewardContext(judger=name)`."""
    JUDGERS.register(name, judger, replace=replace)


def best_index(rewards: list[float | None]) -> int | None:
    """Index of the highest reward, first on ties; None when no reward exists."""
    scored = [(r, -i) for i, r in enumerate(rewards) if r is not None]
    return -max(scored)[1] if scored else None
