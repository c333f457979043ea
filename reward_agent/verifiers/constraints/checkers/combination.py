"""`combination:*` checkers: two answers in one, repeating the request first."""

from __future__ import annotations

from pydantic import Field

from ..base import register_checker
from ._common import Args, NonEmptyText

# Two responses are separated by exactly this run of asterisks.
RESPONSE_SEPARATOR = "******"


@register_checker(
    "combination:two_responses",
    "The response gives two different answers separated by six asterisks: ******.",
)
def check_two_responses(response: str) -> bool:
    """Exactly two non-blank, different parts around the separator.

    A separator at the very start or end is tolerated; two separators with nothing
    between them are not.
    """
    parts = response.split(RESPONSE_SEPARATOR)
    if any(not p.strip() for p in parts[1:-1]):
        return False
    answers = [p.strip() for p in parts if p.strip()]
    return len(answers) == 2 and answers[0] != answers[1]


class RepeatPromptArgs(Args):
    prompt_to_repeat: NonEmptyText = Field(description="The request the response must first repeat word for word.")


@register_checker(
    "combination:repeat_prompt",
    "The response starts by repeating `prompt_to_repeat` word for word (case-insensitive), then answers.",
    RepeatPromptArgs,
)
def check_repeat_prompt(response: str, *, prompt_to_repeat: str) -> bool:
    """The trimmed response begins with the request (case-insensitive)."""
    return response.strip().lower().startswith(prompt_to_repeat.lower())
