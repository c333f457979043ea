"""The checker registry: one deterministic `check(response, **kwargs) -> bool` per constraint id.

A checker is registered under a namespaced id (IFEval's, e.g. `length_constraints:number_words`)
with a pydantic model for its arguments, so bad arguments are rejected up front with a message
naming them. `run_check` is the one entry point: it validates, runs strict or loose, and turns
any exception into an `error` outcome. An exception is never a pass (IFEval counted some as
"followed"; in a reward pipeline that is a hole to hack through).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ...registry import Registry

CheckMode = Literal["strict", "loose"]


class NoArgs(BaseModel):
    """Argument model of checkers that take no arguments."""

    model_config = ConfigDict(extra="forbid")


Kwargs = dict[str, Any]


@dataclass(frozen=True)
class Bound:
    """How a counted constraint reads its arguments, so that rule extraction can tell when two
    statements of it contradict each other ("at least 30 times" and "less than 5 times")."""

    counted: Callable[[Kwargs], Hashable]  # what is counted: a keyword, a letter; None for the response
    relation: str  # the argument holding 'at least' / 'less than'
    threshold: str  # the argument holding the number


@dataclass(frozen=True)
class CheckerSpec:
    """A registered checker, and what rule extraction needs to know about its constraint id.

    `check(response, **validated_kwargs)` returns True when the response follows the
    constraint. It may raise `CheckerError` (or anything else) when it cannot decide.

    Declared here, beside the arguments they read, so that a constraint id lives in one place
    (`extract.merge_hits` reads them):
    - `distinct_by`: what tells two constraints of this id in one prompt apart (two keywords'
      counts, a lower and an upper bound); None: a prompt states it once, the first hit stands.
    - `bound`: set for counted constraints; of two contradictory bounds the later one stands.
    - `merged_list`: the argument whose word lists from several statements are merged into one
      constraint (forbidden words stated in two sentences).
    """

    id: str
    description: str
    args: type[BaseModel]
    check: Callable[..., bool]
    distinct_by: Callable[[Kwargs], Hashable] | None = None
    bound: Bound | None = None
    merged_list: str | None = None


@dataclass(frozen=True)
class CheckOutcome:
    """The verdict of one checker on one response: followed True/False, or an error."""

    followed: bool | None
    error: str | None = None


CHECKERS: Registry[CheckerSpec] = Registry("constraint checker")


def register_checker(
    id: str,
    description: str,
    args: type[BaseModel] = NoArgs,
    *,
    distinct_by: Callable[[Kwargs], Hashable] | None = None,
    bound: Bound | None = None,
    merged_list: str | None = None,
) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
    """Decorator: register `check(response, **kwargs) -> bool` under `id` (see `CheckerSpec`)."""

    def decorate(fn: Callable[..., bool]) -> Callable[..., bool]:
        CHECKERS.register(id, CheckerSpec(id=id, description=description, args=args, check=fn,
                                          distinct_by=distinct_by, bound=bound, merged_list=merged_list))
        return fn

    return decorate


def validate_kwargs(checker: CheckerSpec, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Validate a constraint's arguments against its checker's model.

    Keys whose value is None are dropped first: IFEval-style files pad unused arguments
    with nulls.
    """
    present = {k: v for k, v in kwargs.items() if v is not None}
    try:
        model = checker.args.model_validate(present)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(arguments)'}: {err['msg']}" for err in exc.errors()
        )
        raise ValueError(f"bad arguments for {checker.id}: {problems} (got {present})") from None
    return model.model_dump()
