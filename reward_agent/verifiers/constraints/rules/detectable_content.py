"""`detectable_content:*` rules: a postscript, and [placeholders] in square brackets."""

from __future__ import annotations

import re

from .common import QTY, RuleSet, is_negated, parse_quantity

RULES = RuleSet()

# "P.S.", "P.P.S", and the dotless "PS" / "PPS" (capitals only: "ps" is too common a string).
_MARKER = r"(?P<m>P\.\s?P\.\s?S\b\.?|P\.\s?S\b\.?|(?-i:PPS|PS)\b)"
_OPEN = r"[\"'“‘]?"


def _marker(text: str | None) -> str:
    """The checker's marker for a written one: "P.P.S" for a second postscript, else "P.S."."""
    if text and re.sub(r"[\s.]", "", text).upper() == "PPS":
        return "P.P.S"
    return "P.S."


_POSTSCRIPT_MARKED = (
    r"\bpost[-\s]?script\b[^.\n]{0,40}?(?:start|begin|indicat|mark|head|open|lead)\w*\s+(?:with\s+|by\s+)?"
    rf"{_OPEN}{_MARKER}"
)
_NOTE_STARTING = rf"\b(?:start|begin)\w*\s+with\s+(?:the\s+)?{_OPEN}{_MARKER}"
_ADD_MARKER = (
    r"\b(?:add|include|with|append|end\s+with|finish\s+with|put|write|tack\s+on|throw\s+in)\w*\s+(?:a\s+|an\s+)?"
    rf"{_OPEN}{_MARKER}"
)


@RULES.rule("detectable_content:postscript", _POSTSCRIPT_MARKED, _NOTE_STARTING, _ADD_MARKER)
def postscript(match: re.Match[str], prompt: str) -> dict | None:
    """A postscript starting with the marker the prompt names ("add a postscript starting with P.P.S")."""
    if is_negated(prompt, match.start(), window=25):
        return None
    return {"postscript_marker": _marker(match["m"])}


_ADD_POSTSCRIPT = (
    r"\b(?:add|include|with|append|put|write|have|contain|end|finish|close)\w*\s+(?:\w+\s+){0,3}?post[-\s]?script\b"
)


@RULES.rule("detectable_content:postscript", _ADD_POSTSCRIPT, weak=True)
def postscript_unmarked(match: re.Match[str], prompt: str) -> dict | None:
    """"Add a postscript" with no marker named: the usual "P.S."."""
    if is_negated(prompt, match.start(), window=25):
        return None
    return {"postscript_marker": "P.S."}


# -------------------------------------------------------------------- placeholders

_PLACEHOLDER_COUNT = rf"(?P<q>{QTY})\s+(?:[\w-]+\s+)?place[-\s]?holders?\b"
_USE_PLACEHOLDERS = (
    r"\b(?:include|use|contain|with|have|add|has|insert|put|leave)\w*\s+(?:a\s+|some\s+|any\s+|several\s+)?"
    r"(?:[\w-]+\s+)?place[-\s]?holders?\b"
)


def _minimum(pairs: list[tuple[str, int]]) -> int | None:
    """The lower bound in (relation, N) pairs (the checker counts "at least")."""
    return next((n for r, n in pairs if r == "at least"), None)


@RULES.rule("detectable_content:number_placeholders", _PLACEHOLDER_COUNT, needs=("holder",))
def number_placeholders(match: re.Match[str], prompt: str) -> dict | None:
    """At least N [placeholders] ("include at least 7 placeholders like [name]")."""
    if is_negated(prompt, match.start(), window=25):
        return None
    n = _minimum(parse_quantity(match["q"]))
    return {"num_placeholders": n} if n else None


@RULES.rule("detectable_content:number_placeholders", _USE_PLACEHOLDERS, weak=True, needs=("holder",))
def some_placeholders(match: re.Match[str], prompt: str) -> dict | None:
    """"Use placeholders like [name]" with no number: at least one."""
    if is_negated(prompt, match.start(), window=25):
        return None
    return {"num_placeholders": 1}
