"""`detectable_content:*` checkers: placeholders and postscripts."""

from __future__ import annotations

import functools
import re

from pydantic import Field

from ..base import register_checker
from ._common import Args, Count, NonEmptyText

# A placeholder is the shortest [...] on one line, e.g. [address].
_PLACEHOLDER_RE = re.compile(r"\[.*?\]")


class PlaceholdersArgs(Args):
    num_placeholders: Count = Field(description="The minimum number of [placeholders].")


@register_checker(
    "detectable_content:number_placeholders",
    "The response has at least `num_placeholders` placeholders in square brackets, like [address].",
    PlaceholdersArgs,
)
def check_number_placeholders(response: str, *, num_placeholders: int) -> bool:
    """At least `num_placeholders` bracketed placeholders."""
    return len(_PLACEHOLDER_RE.findall(response)) >= num_placeholders


class PostscriptArgs(Args):
    postscript_marker: NonEmptyText = Field(description="The marker that starts the postscript, e.g. 'P.S.' or 'P.P.S'.")


@functools.lru_cache(maxsize=256)
def _postscript_pattern(marker: str) -> re.Pattern[str]:
    """Case-insensitive pattern for `marker`, allowing one space after each inner period.

    So 'P.P.S' also matches 'p. p. s' and 'P.S.' matches 'p. s.', the spellings IFEval
    accepts.
    """
    marker = marker.lower()
    pieces = []
    for i, char in enumerate(marker):
        pieces.append(re.escape(char))
        if char == "." and i < len(marker) - 1:
            pieces.append(r"\s?")
    return re.compile("".join(pieces))


@register_checker(
    "detectable_content:postscript",
    "The response contains a postscript starting with `postscript_marker` (e.g. 'P.S.').",
    PostscriptArgs,
)
def check_postscript(response: str, *, postscript_marker: str) -> bool:
    """The marker appears (any case)."""
    return _postscript_pattern(postscript_marker).search(response.lower()) is not None
