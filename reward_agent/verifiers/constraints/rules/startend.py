"""`startend:*` rules: an exact closing phrase, and the whole response in double quotes."""

from __future__ import annotations

import re

from .common import FLAGS, QUOTED, RuleSet, is_negated, unquote

RULES = RuleSet()

# ------------------------------------------------------------------- closing phrase

# An unquoted phrase runs to its first sentence-ending mark (kept), or the end of the line.
_UNQUOTED = r"[^\n\"“”]{1,160}?(?:[.!?](?=\s|$)|(?=\n)|$)"
_PHRASE_NOUN = r"(?:phrase|sentence|words?|line|question|statement|text|quote|sign-?off)"
_THE_PHRASE = rf"(?:this|the|that|following)\s+(?:exact\s+|precise\s+|same\s+|following\s+)*{_PHRASE_NOUN}"
# The phrase itself: quoted; or any text after a colon; or unquoted after "the exact phrase".
_PHRASE = (
    rf"(?:(?:{_THE_PHRASE}\s*(?:of\s+)?)?(?:exactly\s*)?(?:like\s*)?:?\s*(?P<q>{QUOTED})"
    rf"|(?:{_THE_PHRASE}\s*(?:of\s+)?)?(?:exactly\s*)?(?:like\s*)?:\s*(?P<c>{_UNQUOTED})"
    rf"|(?:this|the|that)\s+(?:exact\s+|precise\s+)+{_PHRASE_NOUN}\s+(?P<u>{_UNQUOTED}))"
)
_EXACTLY = r"(?:exactly(?=[\s:])\s*)?"
_SHOULD = r"(?:should|must|has\s+to|needs\s+to|will|is\s+to)"
# "finish your response with ...", "end the blog post with: ..."
_END_WITH = (
    r"\b(?:end|ends|ending|finish|finishes|conclude|concludes|close|closes|wrap\s+up|sign\s+off)\s+"
    rf"(?:[\w'-]+\s+){{0,4}}?(?:with|by)(?=[\s:])\s*(?:saying\s+|writing\s+)?{_PHRASE}"
)
# "the very end of your response should read ..."
_END_OF = (
    r"\b(?:very\s+)?(?:end|last\s+(?:sentence|line|words?|part)|final\s+(?:sentence|line|words?))\s+of\s+"
    rf"(?:your\s+|the\s+)?(?:entire\s+|whole\s+)?\w+\s+{_SHOULD}\s+(?:read|be|say)\s+{_EXACTLY}{_PHRASE}"
)
# "your final sentence should be: ...", "the last line of your reply is exactly: ..."
_LAST_LINE = (
    rf"\b(?:your\s+|the\s+)?(?:last|final|closing)\s+(?:sentence|line|words?)\s+(?:\w+\s+){{0,3}}?{_SHOULD}?\s*"
    rf"(?:be|is|read|say)\s*{_EXACTLY}{_PHRASE}"
)


@RULES.rule("startend:end_checker", _END_WITH, _END_OF, _LAST_LINE)
def end_checker(match: re.Match[str], prompt: str) -> dict | None:
    """The response ends with an exact phrase ("finish with 'Any other questions?'")."""
    if is_negated(prompt, match.start(), window=20):
        return None
    if match["q"]:
        phrase = unquote(match["q"]).strip()
    else:
        phrase = (match["c"] or match["u"] or "").strip().strip("\"'“”‘’ ")
    if len(phrase) < 2 or not re.search(r"\w", phrase):
        return None
    return {"end_phrase": phrase}


# --------------------------------------------------------------------- quotation

_QUOTE_MARKS = r"(?:double\s+)?(?:quotation\s+marks?|quotations?(?:\s+marks?)?|quotes?|quote\s+marks|\"\s*\")"
# What gets wrapped must be the whole response ...
_WHOLE = re.compile(
    r"\b(?:entire|whole|all|full|response|answer|reply|output|everything|it|email|letter|text|thing)\b", FLAGS
)
# ... not a part of it ("put the title in quotes"); "one-sentence response" is still the whole.
_PART = re.compile(
    r"(?<![-\w])(?:title|name|phrase|words?|dialogues?|each|every|key|terms?|quotes?|sentences?|citations?)\b", FLAGS
)
_RESPONSE = r"(?:response|answer|reply|output|text|everything)\b"
_WRAP_IN = (
    r"\b(?:wrap|enclose|surround|put|place|encase|write|format|present|give)\w*\s+(?P<obj>[^.\n]{0,70}?)\s*"
    rf"(?:in|with|inside|within|between|by)\s+(?:a\s+(?:pair|set)\s+of\s+)?{_QUOTE_MARKS}"
)
_MARKS_AROUND = (
    rf"\b(?:put|place|add|use|have)\w*\s+(?:\w+\s+){{0,2}}?{_QUOTE_MARKS}\s+(?:\w+\s+){{0,2}}?"
    r"(?:around|surrounding|at\s+the\s+(?:start|beginning)\s+and\s+(?:the\s+)?end\s+of)\s+"
    rf"(?P<obj>(?:[\w-]+\s+){{0,3}}?{_RESPONSE})"
)
_MARKS_SHOULD = (
    rf"{_QUOTE_MARKS}\s+(?:should|must|need\s+to|have\s+to)\s+(?:be\s+)?(?:placed|put|added|used|go)?\s*"
    rf"(?:around|surrounding)\s+(?P<obj>(?:\w+\s+){{0,3}}?{_RESPONSE})"
)


def _wraps_whole_response(match: re.Match[str], prompt: str) -> bool:
    """Whether the thing put in quotes is the whole response.

    It is named as the object ("wrap your entire answer in quotes") or, in the passive, as
    the subject ("your entire response is wrapped in quotes").
    """
    obj = match["obj"]
    if _PART.search(obj):
        return False
    if _WHOLE.search(obj):
        return True
    subject = re.split(r"[.;:!?\n]|\band\b(?!\s+be\b)", prompt[max(0, match.start() - 60) : match.start()])[-1]
    return bool(_WHOLE.search(subject)) and not re.search(r"\b(?:title|name|phrase|each|every)\b", subject, FLAGS)


@RULES.rule("startend:quotation", _WRAP_IN, _MARKS_AROUND, _MARKS_SHOULD)
def quotation(match: re.Match[str], prompt: str) -> dict | None:
    """The whole response wrapped in double quotes ("wrap your entire answer in double quotes").

    Not quotes around a part ("put the title in quotes") nor single quotes.
    """
    if re.search(r"\bsingle\b", match.group(0), FLAGS) or is_negated(prompt, match.start(), window=25):
        return None
    return {} if _wraps_whole_response(match, prompt) else None
