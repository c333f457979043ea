"""The correctness verifier: each response's final answer against the request's reference.

Planned when a request carries a `reference` that is checkable: a short answer (a number, LaTeX,
a word), a worked solution with a marked final answer (GSM8K's `#### 72` / `A: 72`), or tests for
code (`CodeTestsReference`). A long free-text reference with no marked answer is not checkable by
value, and the planner says so instead of scoring prose against prose.

Per response the evidence records the typed outcome, the extraction rule, the answer read, the
comparison rule and what each side was parsed as:

- `correct` -> 1.0, `incorrect` -> 0.0;
- `unparsable` (no answer found, or math-verify cannot read it as math), `timeout`, `error`
  -> None: no evidence, left out by the judger, never a silent 0 or 1. A context with
  `unparsable_answers="wrong"` scores `unparsable` as 0.0 instead, and the evidence says so
  (`scored_as`); timeouts and errors are failures of the check, not of the answer, and stay None.

It is a hard signal (`hard=True`): the `gated` judger caps a wrong answer at `gate_cap`. Its
default weight is 2.0, so that under the default `weighted_sum` judger a verified-correct answer
never ranks below a verified-wrong one when the other default signals are the preference model
and the constraint checks (each in [0, 1], weight 1): correct >= 2/4, wrong <= 2/4.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...context import RewardContext
from ...types import RewardRequest, Signal, CodeTestsReference
from ..base import VerifierSpec
from .code import check_code
from .compare import DEFAULT_TIMEOUT_S, Comparison, compare_answer
from .extract import MAX_SHORT_ANSWER_CHARS, extract_answer, extract_reference

SCORES = {"correct": 1.0, "incorrect": 0.0}


def applies(request: RewardRequest, context: RewardContext) -> tuple[bool, str]:
    """When the request carries a checkable reference."""
    reference = request.reference
    if reference is None:
        return False, "the request carries no reference answer"
    if isinstance(reference, CodeTestsReference):
        return True, "the reference gives tests: each response's code runs them in the sandbox"
    if not reference.strip():
        return False, "the reference is empty"
    gold = extract_reference(reference)
    if gold.rule == "whole_response" and len(gold.answer) > MAX_SHORT_ANSWER_CHARS:
        return False, (f"the reference is free text ({len(gold.answer)} characters, no marked final answer), "
                       "not an answer to compare by value")
    how = "as written" if gold.rule == "whole_response" else f"read by rule {gold.rule!r}"
    return True, f"a reference answer ({gold.answer!r}, {how}) to compare each response's final answer with"


def _record(comparison: Comparison, extraction_rule: str | None, extracted: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"outcome": comparison.outcome, "extraction_rule": extraction_rule,
                           "extracted": extracted, "compare_rule": comparison.rule}
    for key in ("detail", "gold_parsed", "answer_parsed"):
        value = getattr(comparison, key)
        if value is not None:
            out[key] = value
    return out


def _summary(record: dict[str, Any]) -> str:
    text = f"{record['outcome']}"
    if record.get("extracted") is not None:
        extracted = record["extracted"]
        text += f": answer {extracted if len(extracted) <= 40 else extracted[:37] + '...'!r}"
    if record["outcome"] in ("correct", "incorrect") and record.get("extraction_rule"):
        text += f" (read by {record['extraction_rule']}, compared by {record['compare_rule']})"
    elif record.get("detail"):
        detail = record["detail"]
        text += f" ({detail if len(detail) <= 80 else detail[:77] + '...'})"
    return text


def _check_answers(responses: list[str], gold: str) -> list[dict[str, Any]]:
    records = []
    for response in responses:
        found = extract_answer(response)
        if found is None:
            records.append(_record(Comparison("unparsable", None, "no final answer found in the response"),
                                   None, None))
            continue
        records.append(_record(compare_answer(found.answer, gold, timeout_s=DEFAULT_TIMEOUT_S),
                               found.rule, found.answer))
    return records


async def check_correctness(request: RewardRequest, context: RewardContext) -> Signal:
    """Every response against the reference; one Signal with a typed outcome per response."""
    reference = request.reference
    if reference is None:
        return Signal(verifier="correctness", status="skipped", error="the request carries no reference")
    evidence: dict[str, Any]
    if isinstance(reference, CodeTestsReference):
        checks = await check_code(list(request.responses), reference.tests, reference.timeout_s)
        records = [_record(c.comparison, c.extraction_rule, None) for c in checks]
        evidence = {"reference_kind": "tests", "timeout_s": reference.timeout_s}
    else:
        gold = extract_reference(reference)
        # Comparisons may block (math-verify's worker): keep them off the event loop.
        records = await asyncio.to_thread(_check_answers, list(request.responses), gold.answer)
        evidence = {"reference_kind": "answer", "gold": gold.answer, "gold_rule": gold.rule}
    scores = [SCORES.get(r["outcome"]) for r in records]
    if context.unparsable_answers == "wrong":
        # Explicit rule, chosen by the context: a response without a readable answer counts as wrong.
        for i, r in enumerate(records):
            if r["outcome"] == "unparsable":
                scores[i] = 0.0
                r["scored_as"] = "wrong (context: unparsable_answers='wrong')"
    counts: dict[str, int] = {}
    for r in records:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    evidence.update(results=records, counts=counts, summaries=[_summary(r) for r in records])
    return Signal(verifier="correctness", status="ok", scores=scores, evidence=evidence)


VERIFIER = VerifierSpec(
    id="correctness",
    description=(
        "Checks each response's final answer against the request's reference answer: math by value "
        "(math-verify: numbers, fractions, LaTeX, boxed answers, sets, intervals), short answers by "
        "normalised text, code by running the reference's tests in the sandbox. Applies when the "
        "request carries a reference."
    ),
    node="check_correctness",
    run=check_correctness,
    applies=applies,
    default_weight=2.0,
    hard=True,
)
