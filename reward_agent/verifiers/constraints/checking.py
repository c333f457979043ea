"""Run constraint checkers on responses: strict or loose, errors as data.

`run_check` is the one entry point for a single (constraint, response) pair and
`check_all` the batch form for N responses, which validates each constraint once.
Neither ever raises for a bad constraint or a failing checker: an unknown id, bad
arguments or an exception inside a checker become `CheckOutcome(followed=None,
error="<Type>: message")`. An error is never a pass.

Modes follow IFEval:

- strict: the checker sees the response as it is;
- loose: the checker also sees the response without its first line, without its last
  line, without both, and each of those four with every `*` removed (markdown emphasis,
  a greeting line or a sign-off should not decide a format constraint). The constraint
  is followed if any variant passes.

A blank response follows no constraint (as in IFEval): an empty answer must not collect
the reward of, say, "use no commas".
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...types import ConstraintSpec
from . import checkers as _builtin_checkers  # noqa: F401  (importing registers the built-in checkers)
from .base import CHECKERS, CheckerSpec, CheckMode, CheckOutcome, validate_kwargs

FOLLOWED = CheckOutcome(followed=True)
NOT_FOLLOWED = CheckOutcome(followed=False)
_MODES: tuple[str, ...] = ("strict", "loose")


@dataclass(frozen=True)
class PreparedCheck:
    """A constraint whose checker was found and whose arguments were validated."""

    checker: CheckerSpec
    kwargs: dict[str, Any]


def describe_error(exc: BaseException) -> str:
    """`"<Type>: message"`, the error text of an outcome."""
    return f"{type(exc).__name__}: {exc}"


def prepare(constraint: ConstraintSpec) -> PreparedCheck | CheckOutcome:
    """Look up the checker and validate the arguments, or say why that failed.

    Returns an error `CheckOutcome` for an unknown id (with the registry's "did you mean")
    or for bad arguments (naming the argument and what was passed).
    """
    try:
        checker = CHECKERS.get(constraint.id)
    except Exception as exc:  # UnknownIdError, or a lazy target that fails to import
        return CheckOutcome(followed=None, error=describe_error(exc))
    try:
        kwargs = validate_kwargs(checker, constraint.kwargs)
    except ValueError as exc:
        return CheckOutcome(followed=None, error=describe_error(exc))
    return PreparedCheck(checker=checker, kwargs=kwargs)


def _run_once(prepared: PreparedCheck, text: str) -> CheckOutcome:
    """Call the checker on one text; anything but a bool verdict is an error outcome."""
    try:
        verdict = prepared.checker.check(text, **prepared.kwargs)
    except Exception as exc:  # a checker that cannot decide must not count as followed
        return CheckOutcome(followed=None, error=describe_error(exc))
    if not isinstance(verdict, bool):
        # A truthy non-bool (a match object, a count) would otherwise read as a pass.
        return CheckOutcome(
            followed=None,
            error=f"TypeError: checker {prepared.checker.id!r} returned {type(verdict).__name__}, not bool",
        )
    return FOLLOWED if verdict else NOT_FOLLOWED


@functools.lru_cache(maxsize=256)
def loose_variants(response: str) -> tuple[str, ...]:
    """The texts loose mode tries, as IFEval builds them, blank and repeated ones left out.

    Order: the response, then without its first line, its last line, both; then the same
    four with every `*` removed. Cached because every constraint of a rollout asks for the
    variants of the same response.
    """
    lines = response.split("\n")
    trimmed = [
        response,
        "\n".join(lines[1:]).strip(),
        "\n".join(lines[:-1]).strip(),
        "\n".join(lines[1:-1]).strip(),
    ]
    candidates = trimmed + [text.replace("*", "") for text in trimmed]
    return tuple(dict.fromkeys(text for text in candidates if text.strip()))


def _run_prepared(prepared: PreparedCheck, response: str, mode: CheckMode) -> CheckOutcome:
    """Strict or loose verdict of a prepared check on a response."""
    if not response.strip():
        return NOT_FOLLOWED
    if mode == "strict":
        return _run_once(prepared, response)
    first_error: CheckOutcome | None = None
    for text in loose_variants(response):
        outcome = _run_once(prepared, text)
        if outcome.followed:
            return outcome
        if outcome.error is not None and first_error is None:
            first_error = outcome
    # No variant passed. If one could not be decided, "not followed" would be a guess.
    return first_error or NOT_FOLLOWED


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode must be 'strict' or 'loose', got {mode!r}")


def run_check(constraint: ConstraintSpec, response: str, mode: CheckMode = "strict") -> CheckOutcome:
    """Whether `response` follows `constraint`, in IFEval's strict or loose mode.

    Never raises for a bad constraint or a failing checker (see the module docstring);
    raises ValueError only for a `mode` other than 'strict' or 'loose', a caller bug.
    """
    _check_mode(mode)
    prepared = prepare(constraint)
    if isinstance(prepared, CheckOutcome):
        return prepared
    return _run_prepared(prepared, response, mode)


def check_all(
    constraints: Sequence[ConstraintSpec], responses: Sequence[str], mode: CheckMode = "strict"
) -> list[list[CheckOutcome]]:
    """Outcomes for every response and constraint: `result[i][j]` is response i, constraint j.

    Each constraint is looked up and validated once, however many responses there are.
    """
    _check_mode(mode)
    prepared = [prepare(c) for c in constraints]
    return [
        [p if isinstance(p, CheckOutcome) else _run_prepared(p, response, mode) for p in prepared]
        for response in responses
    ]
