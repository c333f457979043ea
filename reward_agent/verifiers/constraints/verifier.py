"""The instruction-constraint verifier: which constraints a prompt states, and which each response meets.

Constraints come from the request when the caller gives them (RL datasets such as IFEval
carry them), otherwise from the extractor model when one is configured (falling back to the
rules, recorded), otherwise from the rule library reading the prompt. They are resolved once per
prompt and checked against all N responses: built-in checkers in process, free-text constraints
by checker code the coder model writes once per constraint (cached) and the sandbox runs over all
N responses in one process. A check that errors or times out is missing evidence for that
constraint: it is left out of the response's score, never counted as met or unmet.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...context import RewardContext
from ...types import ConstraintSpec, RewardRequest, Signal
from ..base import EvidenceLine, VerifierSpec
from . import checkers as _register_checkers  # noqa: F401  (importing registers the checkers)
from .checking import check_all
from .extract import extract_constraints
from .free_text import FREE_TEXT_ID
from .base import CHECKERS
from .generated import cache_for, check_free_text, check_typed
from .llm_extract import Extraction, extract_with_llm


def resolve_constraints(request: RewardRequest) -> tuple[list[ConstraintSpec], str]:
    """The constraints to check and where they came from ('request' or 'rules')."""
    if request.constraints is not None:
        return list(request.constraints), "request"
    return extract_constraints(request.user_prompt), "rules"


async def resolve_with_context(
    request: RewardRequest, context: RewardContext
) -> tuple[list[ConstraintSpec], str, Extraction | None]:
    """The constraints, their source ('request', 'llm' or 'rules') and the LLM extraction record."""
    extractor = context.model_for("extractor")
    if request.constraints is not None or extractor is None:
        return (*resolve_constraints(request), None)
    extraction = await extract_with_llm(request.user_prompt, extractor, cache_for(context))
    return extraction.constraints, extraction.method, extraction


def applies(request: RewardRequest, context: RewardContext) -> tuple[bool, str]:
    """Rule-based planner test: run when the request carries or the prompt states constraints."""
    if request.constraints is None and context.model_for("extractor") is not None:
        return True, "an extractor model is configured to read the prompt's constraints"
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


def label(constraint: ConstraintSpec) -> str:
    """How a constraint is named in summaries: its id, or the words of a free-text one."""
    if constraint.id == FREE_TEXT_ID:
        return f"free_text {str(constraint.kwargs.get('text', ''))[:60]!r}"
    return constraint.id


def summarize(constraints: list[ConstraintSpec], followed: list[bool | None]) -> str:
    """One line per response for people and for the LLM judger: which constraints were unmet."""
    unmet = [label(c) for c, f in zip(constraints, followed) if f is False]
    undecided = [label(c) for c, f in zip(constraints, followed) if f is None]
    met = sum(f is True for f in followed)
    text = f"{met}/{len(constraints)} constraints met"
    if unmet:
        text += f"; unmet: {', '.join(unmet)}"
    if undecided:
        text += f"; check errored: {', '.join(undecided)}"
    return text


def _free_text_of(constraint: ConstraintSpec) -> str:
    return str(constraint.kwargs.get("text") or "").strip() if constraint.id == FREE_TEXT_ID else ""


def route(constraint: ConstraintSpec, context: RewardContext) -> str:
    """Which path checks a constraint: 'builtin', 'free_text' (generated from words), 'typed'
    (generated from an id: ids without a built-in checker, or every id with `checkers: generated`)
    or 'none' (`checkers: builtin` and no built-in checker: no evidence, said in the entry)."""
    if _free_text_of(constraint):
        return "none" if context.checkers == "builtin" else "free_text"
    if constraint.id == FREE_TEXT_ID:  # a malformed free-text constraint: the registry reports it
        return "builtin"
    if context.checkers == "generated":
        return "typed"
    if constraint.id in CHECKERS:
        return "builtin"
    return "none" if context.checkers == "builtin" else "typed"


async def check_entries(
    constraints: list[ConstraintSpec], responses: list[str], context: RewardContext
) -> tuple[list[list[dict[str, Any]]], dict[str, Any], int]:
    """Per response, one evidence entry per constraint; plus generated-checker evidence and calls.

    Built-in constraints (and malformed free-text ones, which the registry turns into errors) are
    checked in process; free-text constraints and ids routed to the coder by generated code in the
    sandbox. Every entry says which path checked it (`checked_by`).
    """
    routes = [route(c, context) for c in constraints]
    free = [j for j, r in enumerate(routes) if r == "free_text"]
    typed_idx = [j for j, r in enumerate(routes) if r == "typed"]
    builtin = [j for j, r in enumerate(routes) if r == "builtin"]
    unchecked = [j for j, r in enumerate(routes) if r == "none"]
    # Checking is CPU-bound (sentence splitting, language detection over N long responses):
    # off the event loop, so a server keeps answering other requests meanwhile.
    checked = await asyncio.to_thread(check_all, [constraints[j] for j in builtin], responses, context.constraint_mode)
    generated, typed = await asyncio.gather(
        check_free_text([_free_text_of(constraints[j]) for j in free], responses, context) if free else _none(),
        check_typed({j: constraints[j] for j in typed_idx}, responses, context) if typed_idx else _none(),
    )
    # Without a coder nothing was generated: those constraints were checked by nobody.
    generated_by = "generated" if context.model_for("coder") is not None else "none"
    per_response: list[list[dict[str, Any]]] = []
    for i in range(len(responses)):
        row: dict[int, dict[str, Any]] = {}
        for j, outcome in zip(builtin, checked[i]):
            row[j] = {"id": constraints[j].id, "followed": outcome.followed, "checked_by": "builtin",
                      **({"error": outcome.error} if outcome.error else {})}
        for j in free:
            assert generated is not None
            text = _free_text_of(constraints[j])
            sandboxed = generated.outcomes[text][i]
            row[j] = {"id": FREE_TEXT_ID, "text": text, "followed": sandboxed.verdict, "outcome": sandboxed.status,
                      "checked_by": generated_by,
                      **({"error": sandboxed.message} if sandboxed.verdict is None else {})}
        for j in unchecked:
            row[j] = {"id": constraints[j].id, "followed": None, "checked_by": "none",
                      "error": "no built-in checker, and `checkers: builtin` keeps generated ones out"}
        for j in typed_idx:
            assert typed is not None
            sandboxed = typed.outcomes[j][i]
            row[j] = {"id": constraints[j].id, "followed": sandboxed.verdict, "outcome": sandboxed.status,
                      "checked_by": generated_by,
                      **({"error": sandboxed.message} if sandboxed.verdict is None else {})}
        per_response.append([row[j] for j in range(len(constraints))])
    extra: dict[str, Any] = {}
    layers: tuple[str, ...] = ()
    if generated is not None:
        extra["generated_checkers"] = generated.evidence()
        layers = generated.layers or layers
    if typed is not None:
        extra["generated_typed_checkers"] = typed.evidence()
        layers = typed.layers or layers
    if layers:
        extra["sandbox"] = {"layers": list(layers)}
    calls = (generated.model_calls if generated else 0) + (typed.model_calls if typed else 0)
    return per_response, extra, calls


async def _none() -> None:
    return None


def _prompt_versions(extraction: Extraction | None, extra: dict[str, Any]) -> dict[str, str]:
    versions = {}
    if extraction is not None and extraction.prompt_version:
        versions["constraint_extract"] = extraction.prompt_version
    for generated in extra.get("generated_checkers", []) + extra.get("generated_typed_checkers", []):
        if generated.get("prompt_version"):
            versions["checker_code"] = generated["prompt_version"]
    return versions


async def check_constraints(request: RewardRequest, context: RewardContext) -> Signal:
    """Check every constraint against every response and report per-response evidence."""
    constraints, source, extraction = await resolve_with_context(request, context)
    extraction_evidence = {"extraction": extraction.evidence()} if extraction else {}
    extraction_calls = extraction.model_calls if extraction else 0
    if not constraints:
        return Signal(verifier="constraints", status="skipped", error="no constraints to check",
                      evidence=extraction_evidence, model_calls=extraction_calls)
    # Constraints are resolved once and checked against all N responses.
    per_response, extra, codegen_calls = await check_entries(constraints, request.responses, context)
    followed = [[entry["followed"] for entry in row] for row in per_response]
    versions = _prompt_versions(extraction, extra)
    return Signal(
        verifier="constraints",
        status="ok",
        scores=[score_from_outcomes(f) for f in followed],
        evidence={
            "mode": context.constraint_mode,
            "source": source,
            "constraints": [c.model_dump(exclude_none=True) for c in constraints],
            "per_response": per_response,
            "check_errors": sum(f is None for row in followed for f in row),
            "summaries": [summarize(constraints, f) for f in followed],
            **extraction_evidence,
            **extra,
            **({"prompt_versions": versions} if versions else {}),
        },
        model_calls=extraction_calls + codegen_calls,
    )


def evidence_lines(signal: Signal) -> list[EvidenceLine]:
    """The CLI's lines under the rewards table: each constraint (with the prompt text it was read
    from), which checkers judged it and the verdict per response, the first check error if any,
    then each generated checker's status and code."""
    evidence = signal.evidence
    lines = []
    for j, c in enumerate(evidence["constraints"]):
        checked_by = {row[j].get("checked_by") for row in evidence["per_response"]} - {None}
        verdicts = " ".join("-" if row[j]["followed"] is None else ("yes" if row[j]["followed"] else "no")
                            for row in evidence["per_response"])
        lines.append(EvidenceLine(f"  constraint {c['id']} {c.get('kwargs') or ''}"
                                  + (f"  <- {c['text']!r}" if c.get("text") else "")
                                  + f"  \\[{', '.join(sorted(checked_by))}] followed per response: {verdicts}"))
        errors = {row[j].get("error") for row in evidence["per_response"] if row[j].get("error")}
        for error in sorted(errors)[:1]:
            lines.append(EvidenceLine(f"    [yellow]no verdict:[/] {error}"))
    for generated in evidence.get("generated_checkers", []) + evidence.get("generated_typed_checkers", []):
        lines.append(EvidenceLine(f"  generated checker for {generated['constraint']!r}: {generated['status']}"
                                  + (f" ({generated.get('reason')})" if generated.get("reason") else "")))
        if generated.get("code"):
            lines.append(EvidenceLine("    " + generated["code"].strip().replace("\n", "\n    "), markup=False))
    return lines


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
    render_evidence=evidence_lines,
)
