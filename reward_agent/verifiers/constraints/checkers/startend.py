"""`startend:*` checkers: how the response ends, and whether it is quoted."""

from __future__ import annotations

from pydantic import Field

from ..base import register_checker
from ._common import Args, NonEmptyText


class EndArgs(Args):
    end_phrase: NonEmptyText = Field(description="The exact phrase the response must end with.")


@register_checker(
    "startend:end_checker",
    "The response ends with `end_phrase` (case-insensitive; nothing may follow it).",
    EndArgs,
)
def check_end(response: str, *, end_phrase: str) -> bool:
    """After trimming whitespace and enclosing double quotes, the response ends with the phrase."""
    ending = response.strip().strip('"').lower()
    return ending.endswith(end_phrase.lower())


@register_checker(
    "startend:quotation",
    'The entire response is wrapped in double quotation marks ("...").',
)
def check_quotation(response: str) -> bool:
    """Trimmed, the response starts and ends with a double quote (and is more than one)."""
    text = response.strip()
    return len(text) > 1 and text[0] == '"' and text[-1] == '"'
