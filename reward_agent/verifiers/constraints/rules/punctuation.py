"""`punctuation:*` rules: no commas."""

from __future__ import annotations

import re

from .common import FLAGS, NEG, RuleSet

RULES = RuleSet()

_NEG = rf"(?:{NEG}|zero|free\s+of|nor|isn['’]?t|aren['’]?t)"
# Words that may sit between the negation and "commas": "do not use any commas", "without the use of commas".
_BETWEEN = (
    r"(?:(?:use|using|include|including|contain|containing|have|having|put|putting|add|adding|any|a\s+single"
    r"|single|the\s+use\s+of|use\s+of|write|writing|type|typing|output|a|even\s+one|one|allowed(?:\s+to)?"
    r"|permitted(?:\s+to)?|with|there\s+should\s+be)\s+){0,3}"
)


@RULES.rule(
    "punctuation:no_comma",
    rf"\b{_NEG}\s+{_BETWEEN}commas?\b(?!\s*-?\s*separated)",
    r"\bcommas?\s+(?:are|is)\s+(?:not\s+(?:allowed|permitted)|forbidden|prohibited|banned|off[-\s]limits)\b",
    r"\bcomma[-\s]free\b",
)
def no_comma(match: re.Match[str], prompt: str) -> dict | None:
    """No commas anywhere in the response ("do not use any commas", "commas are not allowed").

    Not in a condition ("if no commas exist, split on spaces"): that describes data.
    """
    clause = re.split(r"[,.;:!?\n]", prompt[max(0, match.start() - 40) : match.start()])[-1]
    if re.search(r"\b(?:if|when|whether|unless|where)\b", clause, FLAGS):
        return None
    return {}
