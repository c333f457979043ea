"""Free-text constraints: what no built-in checker covers ("use exactly three rhetorical questions").

A free-text constraint is an ordinary `ConstraintSpec` with the id `free_text` and the words of the
constraint in `kwargs["text"]`, so requests, rule output and LLM output share one shape:

    {"id": "free_text", "kwargs": {"text": "every sentence starts with a different letter"}}

Its checker is code written by the coder model and run in the sandbox (`codegen.py`); the
registered `check` below is what runs when there is none, and it never decides: it raises, which
makes the outcome an error (missing evidence), never a pass or a silent fail.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ...errors import CheckerError
from .base import CHECKERS, register_checker

FREE_TEXT_ID = "free_text"


class FreeTextArgs(BaseModel):
    """Arguments of a free-text constraint: the constraint in words."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000, description="The constraint, in the prompt's words.")


def free_text(text: str) -> dict[str, object]:
    """The `ConstraintSpec` fields of a free-text constraint (for requests and tests)."""
    return {"id": FREE_TEXT_ID, "kwargs": {"text": text}}


def _no_generated_code(response: str, text: str) -> bool:
    raise CheckerError(
        f"free-text constraint {text!r} has no generated checker: configure a model for the 'coder' role"
    )


if FREE_TEXT_ID not in CHECKERS:
    register_checker(
        FREE_TEXT_ID,
        "A constraint in words that no built-in checker covers; checked by code the coder model writes, "
        "run in the sandbox.",
        FreeTextArgs,
    )(_no_generated_code)
