"""The instruction-constraint verifier: which constraints a prompt states, and which each response meets.

Constraints come from the request when the caller gives them (RL datasets such as IFEval
carry them), otherwise from the rule library reading the prompt. They are resolved once per
prompt and checked against all N responses. A check that errors is missing evidence for
that constraint: it is left out of the response's score, never counted as met or unmet.
"""

from __future__ import annotations

from ...context import RewardContext
from ...types import ConstraintSpec, RewardRequest, Signal
from ..base import VerifierSpec
from . import checkers as _register_checkers  # noqa: F401  (importing registers the checkers)
from .checking import check_all
from .extract import extract_constraints


def resolve_constraints(request: RewardRequest) -> tuple[list[ConstraintSpec], str]:
    """The constraints to check and where they came from ('request' or 'rules')."""
    if request.constraints is not None:
        return list(request.constraints), "request"
    return extract_constraints(request.user_prompt), "rules"


def applies(request: RewardRequest, context: RewardContext) -> tuple[bool, str]:
    """Rule-based planner test: run when the request carries or the prompt states constraints."""
    constraints, source = resolve_constraints(request)
    if not constraints:
        if source == "request":
            return False, "the request lists no constraints"
        return False, "the prompt states no checkable instruction constraint"
    ids = ", ".join(sorted({c.id for c in constraints}))
    origin = "given by the request" if source == "request" else "found in the prompt"
    return True, f"{len(constraints)} constraint(s) {origin}: {ids}"


def score_from_outcomes(followed: list[bool | None]) -> float | None:
    """Share of decided constraints that were followed; None when none could be decided."""
    decided = [f for f in followed if f is not None]
    return sum(decided) / len(decided) if decided else None


def summarize(constraints: list[ConstraintSpec], followed: list[bool | None]) -> str:
    """One line per response for people and for the LLM judger: which constraints were unmet."""
    unmet = [c.id for c, f in zip(constraints, followed) if f is False]
    undecided = [c.id for c, f in zip(constraints, followed) if f is None]
    met = sum(f is True for f in followed)
    text = f"{met}/{len(constraints)} constraints met"
    if unmet:
        text += f"; unmet: {', '.join(unmet)}"
    if undecided:
        text += f"; check errored: {', '.join(undecided)}"
    return text


async def check_constraints(request: RewardRequest, context: RewardContext) -> Signal:
    """Check every constraint against every response and report per-response evidence."""
    constraints, source = resolve_constraints(request)
    if not constraints:
        return Signal(verifier="constraints", status="skipped", error="no constraints to check")
    mode = context.constraint_mode
    per_response: list[list[dict[str, object]]] = []
    scores: list[float | None] = []
    summaries: list[str] = []
    errors = 0
    # Constraints are validated once and checked against all N responses.
    for outcomes in check_all(constraints, request.responses, mode):
        errors += sum(o.error is not None for o in outcomes)
        per_response.append(
            [
                {"id": c.id, "followed": o.followed, **({"error": o.error} if o.error else {})}
                for c, o in zip(constraints, outcomes)
            ]
        )
        scores.append(score_from_outcomes([o.followed for o in outcomes]))
        summaries.append(summarize(constraints, [o.followed for o in outcomes]))
    return Signal(
        verifier="constraints",
        status="ok",
        scores=scores,
        evidence={
            "mode": mode,
            "source": source,
            "constraints": [c.model_dump(exclude_none=True) for c in constraints],
            "per_response": per_response,
            "check_errors": errors,
            "summaries": summaries,
        },
    )


VERIFIER = VerifierSpec(
    id="constraints",
    description=(
        "Checks explicit, verifiable instruction constraints of the prompt (length in words, "
        "sentences or paragraphs; required or forbidden keywords; letter frequency; output "
        "language; JSON, bullet lists, titles, sections, highlights, placeholders, postscripts; "
        "upper/lower case; no commas; quoting; start/end phrases) with deterministic code. "
        "Choose it whenever the prompt asks for a specific form of answer."
    ),
    node="check_constraints",
    run=check_constraints,
    applies=applies,
    default_weight=1.0,
    hard=True,
)
