"""Pieces the checker modules share: the argument base model and count comparisons."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# IFEval's two comparisons: "less than" is strictly below, "at least" is at or above.
Relation = Literal["less than", "at least"]

# A count threshold: never negative.
Count = Annotated[int, Field(ge=0)]

# A word or phrase argument, surrounding whitespace stripped (as IFEval does). An empty
# one would match every response, so it is rejected.
NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Args(BaseModel):
    """Base of every checker's argument model: unknown arguments are an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def compare(actual: int, relation: Relation, threshold: int) -> bool:
    """True when `actual` stands in `relation` to `threshold`."""
    if relation == "less than":
        return actual < threshold
    return actual >= threshold
