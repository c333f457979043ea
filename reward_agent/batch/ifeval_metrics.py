"""Our own IFEval metrics: strict and loose accuracy, at prompt and instruction level.

IFEval's four numbers, over a set of (prompt, response) pairs with gold constraints:

- prompt-level: share of prompts whose response follows *every* instruction;
- instruction-level: share of all instructions (pooled over prompts) that are followed;

each in strict mode (the response as is) and loose mode (also without the first / last line and
without `*`), checked with our registered checkers (`run_check`). A check that errors is counted
as *not followed* here and reported in `check_errors`: an evaluation must not credit what it could
not verify (IFEval's reference code does the opposite for some checkers).

The per-response form (`Quality`) is what best-of-n needs: a numerator per metric for each
response and a denominator per prompt, so that the pick's, the oracle's and a random pick's
scores are all sums of the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..types import ConstraintSpec
from ..verifiers.constraints.checking import run_check

__all__ = ["IFEVAL_METRICS", "Quality", "aggregate", "ifeval_quality", "merge", "rating_quality"]

IFEVAL_METRICS = ("prompt_strict", "prompt_loose", "instruction_strict", "instruction_loose")


@dataclass
class Quality:
    """Quality of each response of one prompt: `num[metric][i]` over `den[metric]`.

    A metric over a set of picks is sum(num of the picked responses) / sum(den): prompt-level
    metrics have den 1 per prompt, instruction-level ones den = number of instructions, a
    rating has den 1 (num None where a response has no rating: it is then left out).
    """

    num: dict[str, list[float | None]]
    den: dict[str, float]
    check_errors: list[int] = field(default_factory=list)  # per response, checks that errored
    verdicts: list[dict[str, list[bool | None]]] = field(default_factory=list)  # per response, per mode


def ifeval_quality(gold: Sequence[ConstraintSpec], responses: Sequence[str]) -> Quality:
    """Strict and loose verdicts of every response against the gold constraints."""
    num: dict[str, list[float | None]] = {m: [] for m in IFEVAL_METRICS}
    errors: list[int] = []
    verdicts: list[dict[str, list[bool | None]]] = []
    for response in responses:
        per_mode: dict[str, list[bool | None]] = {}
        n_errors = 0
        for mode in ("strict", "loose"):
            outcomes = [run_check(c, response, mode) for c in gold]
            followed = [o.followed for o in outcomes]
            n_errors += sum(o.error is not None for o in outcomes)
            per_mode[mode] = followed
            num[f"prompt_{mode}"].append(float(all(f is True for f in followed)))
            num[f"instruction_{mode}"].append(float(sum(f is True for f in followed)))
        errors.append(n_errors)
        verdicts.append(per_mode)
    den = {"prompt_strict": 1.0, "prompt_loose": 1.0,
           "instruction_strict": float(len(gold)), "instruction_loose": float(len(gold))}
    return Quality(num=num, den=den, check_errors=errors, verdicts=verdicts)


def rating_quality(ratings: Sequence[float | None]) -> Quality:
    """An external rating per response (mean rating of the picks is the metric)."""
    return Quality(num={"rating": list(ratings)}, den={"rating": 1.0}, check_errors=[0] * len(ratings))


def merge(a: Quality | None, b: Quality | None) -> Quality | None:
    """Both qualities' metrics in one (an IFEval item that also has ratings)."""
    if a is None or b is None:
        return a or b
    return Quality(num={**a.num, **b.num}, den={**a.den, **b.den},
                   check_errors=[x + y for x, y in zip(a.check_errors, b.check_errors)], verdicts=a.verdicts)


def aggregate(pairs: Sequence[tuple[float | None, float]]) -> float | None:
    """sum(num) / sum(den) over (num, den) pairs whose num is known; None when there are none."""
    known = [(n, d) for n, d in pairs if n is not None]
    total = sum(d for _, d in known)
    return sum(n for n, _ in known) / total if total else None
