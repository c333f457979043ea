"""The checker registry: one deterministic `check(response, **kwargs) -> bool` per constraint id.

A checker is registered under a namespaced id (IFEval's, e.g. `length_constraints:number_words`)
with a pydantic model for its arguments, so bad arguments are rejected up front with a message
naming them. `run_check` is the one entry point: it validates, runs strict or loose, and turns
any exception into an `error` outcome. An exception is never a pass (IFEval counted some as
"followed"; in a reward pipeline that is a hole to hack through).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ...registry import Registry

CheckMode = Literal["strict", "loose"]


class NoArgs(BaseModel):
    """Argument model of checkers that take no arguments."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class CheckerSpec:
    """A registered checker.

    `check(response, **validated_kwargs)` returns True when the response follows the
    constraint. It may raise `CheckerError` (or anything else) when it cannot decide.
    """

    id: str
    description: str
    args: type[BaseModel]
    check: Callable[..., bool]


@dataclass(frozen=True)
class CheckOutcome:
    """The verdict of one checker on one response: followed True/False, or an error."""

    followed: bool | None
    error: str | None = None


CHECKERS: Registry[CheckerSpec] = Registry("constraint checker")


def register_checker(
    id: str, description: str, args: type[BaseModel] = NoArgs
) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
    """Decorator: register `check(response, **kwargs) -> bool` under `id`."""

    def decorate(fn: Callable[..., bool]) -> Callable[..., bool]:
        CHECKERS.register(id, CheckerSpec(id=id, description=description, args=args, check=fn))
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
