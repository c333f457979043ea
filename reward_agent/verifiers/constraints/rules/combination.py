"""`combination:*` rules: repeat the request first, and two responses split by ******."""

from __future__ import annotations

import re

from .common import FLAGS, QUOTED, RuleSet, is_negated, unquote

RULES = RuleSet()

# "repeat the request above", "repeat it at the very beginning" ("repleat": a typo seen in the wild).
# "echo" only as a verb ("echo the request", not "an echo of the prompt").
_REPEAT = (
    r"\b(?:repeat|repleat|restate|copy|copying|echo(?=\s+(?:back|the|this|my|it)\b))(?:ing)?\s+(?:[^.\n]{0,60}?)\b"
    r"(?P<what>request|prompt|question|sentence|line|text|instruction|query|message|task|it|everything)\b"
)
# "repeat "What is X?" word for word": the request itself, quoted.
_REPEAT_QUOTED = rf"\b(?:repeat|restate)\s+(?:the\s+(?:request|question|prompt|sentence|text)\s+)?(?P<quote>{QUOTED})"
_VERBATIM = re.compile(r"word\s+for\s+word|verbatim|exactly|as\s+it\s+is|without\s+chang", FLAGS)
_ABOVE = re.compile(r"\b(?:above|earlier|previous|preceding|first\s+line|prior)\b", FLAGS)
_BELOW = re.compile(r"\b(?:below|following|that\s+follows|next|underneath)\b", FLAGS)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def _request_before(prompt: str, pos: int) -> str:
    """The text before the repeat instruction: the lines above it, or the sentences before it on its line."""
    line_start = prompt.rfind("\n", 0, pos) + 1
    head = prompt[line_start:pos]
    stops = list(re.finditer(r"[.!?][\"')\]]*\s+", head))
    if stops and head[: stops[-1].end()].strip():
        return prompt[: line_start + stops[-1].end()].strip()
    return prompt[:line_start].strip()


def _request_after(prompt: str, pos: int) -> str:
    """The text after the repeat instruction: after its paragraph, its line, or a colon."""
    blank = _BLANK_LINE.search(prompt, pos)
    if blank:
        return prompt[blank.end() :].strip()
    newline = prompt.find("\n", pos)
    if newline != -1:
        return prompt[newline:].strip()
    colon = prompt.find(":", pos)
    return prompt[colon + 1 :].strip() if colon != -1 else ""


@RULES.rule("combination:repeat_prompt", _REPEAT_QUOTED, _REPEAT)
def repeat_prompt(match: re.Match[str], prompt: str) -> dict | None:
    """Repeat the request word for word before answering; `prompt_to_repeat` is that request.

    The request is the text above the instruction or below it, as the instruction says
    ("the request above" / "below"); else whichever side has text, above first.
    """
    if is_negated(prompt, match.start(), window=30):
        return None
    if match.groupdict().get("quote"):
        return {"prompt_to_repeat": unquote(match["quote"]).strip()}
    if match.group(0).lower().startswith("cop") and not _VERBATIM.search(prompt, match.start(), match.start() + 150):
        return None  # "copy" is a repeat only when it says verbatim
    line_end = prompt.find("\n", match.start())
    sentence = prompt[match.start() : line_end if line_end != -1 else len(prompt)]
    if re.search(r"\bfirst\s+line\b", sentence, FLAGS):
        request = prompt.strip().split("\n", 1)[0].strip()
    elif _ABOVE.search(sentence) and not _BELOW.search(sentence):
        request = _request_before(prompt, match.start())
    elif _BELOW.search(sentence):
        request = _request_after(prompt, match.end()) or _request_before(prompt, match.start())
    else:
        request = _request_before(prompt, match.start()) or _request_after(prompt, match.end())
    return {"prompt_to_repeat": request} if request else None


@RULES.rule(
    "combination:two_responses",
    r"(?<![\w*])\*{6}(?!\*)",
    r"\b(?:6|six)\s+(?:\w+\s+)?(?:asterisks?|asterix|stars|\"\*\"\s+symbols?)\b",
)
def two_responses(match: re.Match[str], prompt: str) -> dict | None:
    """Two different responses separated by six asterisks (******)."""
    return {}
