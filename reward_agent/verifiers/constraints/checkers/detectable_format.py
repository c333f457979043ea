"""`detectable_format:*` checkers: markdown layout, JSON, titles, fixed answers, sections."""

from __future__ import annotations

import functools
import json
import re

from pydantic import Field

from ..base import register_checker
from ._common import Args, Count, NonEmptyText

# A bullet line starts (after indentation) with "* " style or "-" style markers; a line
# starting with "**" is bold text, not a bullet.
_STAR_BULLET_RE = re.compile(r"^\s*\*[^*].*$", re.MULTILINE)
_DASH_BULLET_RE = re.compile(r"^\s*-.*$", re.MULTILINE)
# *highlight* and **highlight** on one line; empty ones (like "**" or "* *") do not count.
_SINGLE_HIGHLIGHT_RE = re.compile(r"\*[^\n*]*\*")
_DOUBLE_HIGHLIGHT_RE = re.compile(r"\*\*[^\n*]*\*\*")
# A title is <<text>> on one line.
_TITLE_RE = re.compile(r"<<[^\n]+>>")
# A code fence around JSON: ```json / ```Json / ```JSON / ``` at the start, ``` at the end.
_JSON_FENCE_OPEN_RE = re.compile(r"^```(?:json|Json|JSON)?")
_JSON_FENCE_CLOSE = "```"

CONSTRAINED_ANSWERS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


class NumberBulletsArgs(Args):
    num_bullets: Count = Field(description="The exact number of bullet points.")


@register_checker(
    "detectable_format:number_bullet_lists",
    "The response has exactly `num_bullets` markdown bullet points (lines starting with '* ' or '-').",
    NumberBulletsArgs,
)
def check_number_bullet_lists(response: str, *, num_bullets: int) -> bool:
    """Exactly `num_bullets` lines are bullets."""
    found = len(_STAR_BULLET_RE.findall(response)) + len(_DASH_BULLET_RE.findall(response))
    return found == num_bullets


@register_checker(
    "detectable_format:constrained_response",
    "The response contains one of: 'My answer is yes.', 'My answer is no.', 'My answer is maybe.'.",
)
def check_constrained_response(response: str) -> bool:
    """One of the fixed answers appears verbatim."""
    return any(answer in response for answer in CONSTRAINED_ANSWERS)


class NumberHighlightsArgs(Args):
    num_highlights: Count = Field(description="The minimum number of highlighted sections.")


def _count_highlights(response: str) -> int:
    """Non-empty *single* plus **double** highlights (a bold span counts once)."""
    singles = sum(1 for h in _SINGLE_HIGHLIGHT_RE.findall(response) if h.strip("*").strip())
    doubles = sum(1 for h in _DOUBLE_HIGHLIGHT_RE.findall(response) if h[2:-2].strip())
    return singles + doubles


@register_checker(
    "detectable_format:number_highlighted_sections",
    "The response has at least `num_highlights` sections highlighted in markdown, like *this*.",
    NumberHighlightsArgs,
)
def check_number_highlighted_sections(response: str, *, num_highlights: int) -> bool:
    """At least `num_highlights` highlighted spans."""
    return _count_highlights(response) >= num_highlights


class MultipleSectionsArgs(Args):
    section_spliter: NonEmptyText = Field(description="The word that starts each section, e.g. 'Section' or 'SECTION'.")
    num_sections: Count = Field(description="The minimum number of sections.")


@functools.lru_cache(maxsize=256)
def _section_marker(spliter: str) -> re.Pattern[str]:
    """'<spliter> <number>' or '<spliter><number>' (case-sensitive), the marker that opens a section."""
    return re.compile(re.escape(spliter) + r"\s?\d+")


@register_checker(
    "detectable_format:multiple_sections",
    "The response has at least `num_sections` sections, each opened by '`section_spliter` N' (e.g. 'Section 1').",
    MultipleSectionsArgs,
)
def check_multiple_sections(response: str, *, section_spliter: str, num_sections: int) -> bool:
    """At least `num_sections` section markers."""
    markers = len(_section_marker(section_spliter).findall(response))
    return markers >= num_sections


def _unfence(response: str) -> str:
    """The response without surrounding whitespace and one markdown code fence."""
    text = _JSON_FENCE_OPEN_RE.sub("", response.strip(), count=1)
    return text.removesuffix(_JSON_FENCE_CLOSE).strip()


@register_checker(
    "detectable_format:json_format",
    "The entire response is valid JSON (a surrounding ``` or ```json code fence is allowed).",
)
def check_json_format(response: str) -> bool:
    """The response, unfenced, parses as JSON."""
    try:
        json.loads(_unfence(response))
    except ValueError:  # json.JSONDecodeError is a ValueError
        return False
    return True


@register_checker(
    "detectable_format:title",
    "The response contains a title wrapped in double angular brackets, like <<poem of joy>>.",
)
def check_title(response: str) -> bool:
    """Some <<...>> on one line has non-blank text inside."""
    return any(title.lstrip("<").rstrip(">").strip() for title in _TITLE_RE.findall(response))
