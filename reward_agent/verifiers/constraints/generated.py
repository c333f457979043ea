"""Free-text constraints end to end: one generated checker per constraint, run over all N responses.

`check_free_text` is called once per prompt. It gets (or writes) a checker per distinct constraint
text with the coder model (`typed.generate_typed_checker`: a task without parameters, drafted with
its own test asserts, repaired, voted when several candidates are asked for, cached), then runs every working checker
over all responses in one sandbox process each, in parallel through the bounded pool. An error, a
timeout, a dropped checker or a missing coder model is missing evidence for that constraint: an
`Outcome` that is neither passed nor failed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ...cache import Cache, canonical_json, shared_cache
from ...context import RewardContext
from ...types import ConstraintSpec
from ...sandbox import Limits, Outcome, default_pool
from .checking import loose_variants
from .codegen import GeneratedChecker
from .typed import TypedTask, bind, evidence_of, generate_typed_checker, task_for, task_for_text


def cache_for(context: RewardContext) -> Cache:
    """The content-addressed cache of this context (one `Cache` per path per process)."""
    return shared_cache(context.cache_path)


@dataclass
class FreeTextChecks:
    """Per constraint text: the generated checker and one outcome per response."""

    checkers: dict[str, GeneratedChecker] = field(default_factory=dict)
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)
    layers: tuple[str, ...] = ()
    model_calls: int = 0

    def evidence(self) -> list[dict[str, Any]]:
        return [checker.evidence() for checker in self.checkers.values()]


def _combine_loose(outcomes: list[Outcome]) -> Outcome:
    """Loose mode: followed if any variant passed; else the first non-verdict; else not followed."""
    if any(o.status == "passed" for o in outcomes):
        return Outcome("passed")
    return next((o for o in outcomes if o.verdict is None), Outcome("failed"))


async def _run_checker(checker: GeneratedChecker, responses: list[str], mode: str, limits: Limits):
    """One sandbox process for this checker over every response (and its loose variants)."""
    assert checker.code is not None
    return await run_code(checker.code, responses, mode, limits)


async def run_code(code: str, responses: list[str], mode: str, limits: Limits):
    """One sandbox process for `code` over every response (and its loose variants): outcomes, layers."""
    blank = [not r.strip() for r in responses]
    texts: list[str] = []
    spans: list[tuple[int, int]] = []
    for response, is_blank in zip(responses, blank):
        variants = [] if is_blank else ([response] if mode == "strict" else list(loose_variants(response)))
        spans.append((len(texts), len(texts) + len(variants)))
        texts += variants
    result = await default_pool().run(code, texts, limits)
    outcomes = []
    for (start, end), is_blank in zip(spans, blank):
        if is_blank:  # as for built-in checkers: a blank response follows no constraint
            outcomes.append(Outcome("failed"))
        else:
            outcomes.append(_combine_loose(result.outcomes[start:end]))
    return outcomes, result.layers


async def check_free_text(texts: list[str], responses: list[str], context: RewardContext) -> FreeTextChecks:
    """Checkers for the distinct `texts`, run over `responses`; never raises for model or code trouble."""
    out = FreeTextChecks()
    unique = list(dict.fromkeys(texts))
    coder = context.model_for("coder")
    if coder is None:
        missing = Outcome("error", "no model is configured for the 'coder' role, so nothing can check this")
        out.outcomes = {t: [missing] * len(responses) for t in unique}
        return out
    cache = cache_for(context)
    limits = Limits(per_response_timeout_s=context.checker_timeout_s)
    generated = await asyncio.gather(*(
        generate_typed_checker(task_for_text(t), coder, cache=cache, repair_rounds=context.checker_repair_rounds,
                               candidates=context.checker_candidates, limits=limits)
        for t in unique
    ))
    for text, checker in zip(unique, generated):
        checker.constraint = text  # the evidence keys outcomes by the request's words
    out.checkers = dict(zip(unique, generated))
    out.model_calls = sum(g.model_calls for g in generated)
    working = [g for g in generated if g.status == "ok"]
    runs = await asyncio.gather(*(_run_checker(g, responses, context.constraint_mode, limits) for g in working))
    for checker, (outcomes, layers) in zip(working, runs):
        out.outcomes[checker.constraint] = outcomes
        out.layers = layers or out.layers
    for checker in generated:
        if checker.status != "ok":
            why = f"the generated checker was {checker.status}: {checker.reason}"
            out.outcomes[checker.constraint] = [Outcome("error", why[:500])] * len(responses)
    return out


@dataclass
class TypedChecks:
    """Per constraint index: the typed task's generated checker and one outcome per response."""

    checkers: dict[int, GeneratedChecker] = field(default_factory=dict)
    tasks: dict[int, TypedTask] = field(default_factory=dict)
    outcomes: dict[int, list[Outcome]] = field(default_factory=dict)
    layers: tuple[str, ...] = ()
    model_calls: int = 0

    def evidence(self) -> list[dict[str, Any]]:
        """One entry per distinct task (rows sharing an id share one checker)."""
        seen: dict[str, dict[str, Any]] = {}
        for j, checker in self.checkers.items():
            seen.setdefault(checker.constraint, evidence_of(checker, self.tasks[j]))
        return list(seen.values())


async def check_typed(
    constraints: dict[int, ConstraintSpec], responses: list[str], context: RewardContext
) -> TypedChecks:
    """Generated, parametrised checkers for constraints given as ids (see `typed.py`), each row's
    arguments bound and run over all responses in one sandbox process; never raises for model or
    code trouble. Ids the registry knows are described to the coder from the registry."""
    out = TypedChecks()
    coder = context.model_for("coder")
    if coder is None:
        missing = Outcome("error", "no built-in checker, and no model is configured for the 'coder' role to write one")
        out.outcomes = {j: [missing] * len(responses) for j in constraints}
        return out
    out.tasks = {j: task_for(c, use_builtin_description=True) for j, c in constraints.items()}
    unique = {canonical_json(t.identity()): t for t in out.tasks.values()}
    cache = cache_for(context)
    limits = Limits(per_response_timeout_s=context.checker_timeout_s)
    generated = dict(zip(unique, await asyncio.gather(*(
        generate_typed_checker(t, coder, cache=cache, repair_rounds=context.checker_repair_rounds,
                               candidates=context.checker_candidates, limits=limits)
        for t in unique.values()
    ))))
    out.model_calls = sum(g.model_calls for g in generated.values())
    runnable: dict[int, str] = {}
    for j, constraint in constraints.items():
        checker = generated[canonical_json(out.tasks[j].identity())]
        out.checkers[j] = checker
        if checker.status != "ok" or checker.code is None:
            why = f"the generated checker was {checker.status}: {checker.reason}"
            out.outcomes[j] = [Outcome("error", why[:500])] * len(responses)
            continue
        try:
            runnable[j] = bind(checker.code, {k: v for k, v in constraint.kwargs.items() if v is not None})
        except SyntaxError as exc:  # cannot happen for code that passed its self-test; said, not hidden
            out.outcomes[j] = [Outcome("error", f"cannot bind the arguments: {exc}")] * len(responses)
    runs = await asyncio.gather(*(run_code(code, responses, context.constraint_mode, limits)
                                  for code in runnable.values()))
    for j, (outcomes, layers) in zip(runnable, runs):
        out.outcomes[j] = outcomes
        out.layers = layers or out.layers
    return out
