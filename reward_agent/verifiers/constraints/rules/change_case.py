"""`change_case:*` rules: all capitals, all lowercase, and how many all-caps words."""

from __future__ import annotations

import re

from .common import AT_LEAST, FLAGS, QTY, RuleSet, describes_data, is_narrative, parse_quantity

RULES = RuleSet()

_CAPS = (
    r"(?:capital\s+letters?|capitals|caps(?:\s+lock)?|upper[-\s]?case(?:\s+letters?)?"
    r"|block\s+(?:capitals|letters))"
)
_LOWER = r"lower[-\s]?case(?:s|d)?(?:\s+letters?)?"
_LOWER_RE = re.compile(_LOWER, FLAGS)
_NEGATED_BEFORE = re.compile(r"\b(?:no|not|without|never|avoid|don'?t|zero)\b(?:\s+\w+){0,3}\s*$", FLAGS)
# "some words in all caps" counts capitalised words: that is capital_word_frequency...
_COUNTED_WORDS = re.compile(r"\b(?:words?|phrases?)\b(?!\s+of\s+(?:your|the))", FLAGS)
# ... unless it is every word.
_WHOLE = re.compile(r"\b(?:every|each|all(?:\s+of)?(?:\s+(?:your|the))?|single|entire)\s+words?\b", FLAGS)
# Capitals for one part only: "a section titled KEY POINTS in all caps".
_PART_ONLY = re.compile(r"\b(?:titled|title|heading|header|headline|acronym|label|section|subject\s+line)\b", FLAGS)
_WORDS_NEXT = re.compile(r"\s*-?\s*words?\b", FLAGS)


def _clause_before(prompt: str, start: int) -> str:
    """The clause leading up to `start` (back to the last sentence or comma break)."""
    return re.split(r"[,.;:!?\n]|\bbut\b", prompt[max(0, start - 80) : start])[-1]


def _about_the_response(match: re.Match[str], prompt: str) -> bool:
    """Whether the match is a rule for the response, not a story detail or a data description."""
    return not (is_narrative(prompt, match.start()) or describes_data(prompt, match.start()))


# --------------------------------------------------------------------- all capitals

_CAPITAL_IN = (
    r"\b(?:in|use|using|with|only|be|all|write\s+(?:it|everything|this)\s+in|answer\s+in|reply\s+in)\s+"
    rf"(?:all\s+|only\s+|full\s+)?{_CAPS}"
)
_CAPITAL_EVERY = (
    r"\b(?:all|every|each)\s+(?:of\s+)?(?:the\s+|your\s+)?(?:letters?|words?|characters?)\s+(?:\w+\s+){0,5}?"
    r"(?:should|must|need\s+to|needs\s+to|have\s+to|has\s+to|are\s+to|is\s+to|will|are|is)\s+(?:be\s+)?"
    rf"(?:capitali[sz]ed|(?:in\s+)?(?:all\s+)?{_CAPS})"
)
_CAPITALIZE_ALL = (
    r"\bcapitali[sz]e\s+(?:every|each|all)\s+(?:of\s+)?(?:your\s+|the\s+)?(?:letters?|words?|characters?)\b"
)
_NO_LOWER = (
    rf"\b(?:no|without(?:\s+any)?|zero)\s+{_LOWER}"
    rf"|\bnot\s+a\s+single\s+(?:word|letter|character)[^.!?\n]{{0,60}}?{_LOWER}"
)


@RULES.rule("change_case:english_capital", _CAPITAL_IN, _CAPITAL_EVERY, _CAPITALIZE_ALL, _NO_LOWER)
def english_capital(match: re.Match[str], prompt: str) -> dict | None:
    """The whole response in capitals ("in all caps", "capitalize every letter", "no lowercase").

    Not when the capitals are negated ("no capital letters" asks for lowercase), nor when
    they describe some counted words ("at least 5 words in all caps") or one part.
    """
    if not _about_the_response(match, prompt):
        return None
    text = match.group(0)
    if _LOWER_RE.search(text):
        return {}  # "no lowercase letters"
    before = _clause_before(prompt, match.start())
    if _NEGATED_BEFORE.search(before + " " + text.split()[0]) or _WORDS_NEXT.match(prompt, match.end()):
        return None  # "without using capital letters", "all caps words"
    clause = before + text
    if _COUNTED_WORDS.search(clause) and not _WHOLE.search(clause) or _PART_ONLY.search(clause):
        return None
    return {}


# ---------------------------------------------------------------------- lowercase

_LOWER_IN = (
    r"\b(?:in|use|using|with|only|be|all|entirely|answer\s+with|reply\s+with|write\s+(?:it|everything|this)\s+in)"
    rf"\s+(?:all\s+|only\s+|entirely\s+)?{_LOWER}(?:\s+only)?"
)
_LOWER_EVERY = (
    r"\b(?:all|every|each)\s+(?:of\s+)?(?:the\s+|your\s+)?(?:letters?|words?|characters?)\s+(?:\w+\s+){0,5}?"
    r"(?:should|must|need\s+to|needs\s+to|have\s+to|has\s+to|are\s+to|is\s+to|will|are|is|be)?\s*"
    rf"(?:be\s+)?(?:in\s+)?(?:all\s+)?{_LOWER}"
)
_NO_CAPITALS = (
    r"(?:\bno\s+|\bwithout\s+(?:using\s+)?(?:any\s+)?|(?:\bnot|n't)\s+(?:\w+\s+){0,3}?(?:any\s+)?|\bzero\s+)"
    r"(?:capital(?:s|\s+letters?|i[sz]ations?)|upper[-\s]?case(?:\s+letters?)?)\b"
)
_NOTHING_CAPITALIZED = (
    r"\bnot\s+a\s+single\s+(?:letter|word|character)[^.!?\n]{0,60}?capitali[sz]ed"
    r"|\b(?:don'?t|do\s+not|never)\s+capitali[sz]e\s+(?:anything|any\s+(?:letters?|words?)|a\s+single|at\s+all)"
)


@RULES.rule("change_case:english_lowercase", _LOWER_IN, _LOWER_EVERY, _NO_CAPITALS, _NOTHING_CAPITALIZED)
def english_lowercase(match: re.Match[str], prompt: str) -> dict | None:
    """The whole response in lowercase ("all lowercase", "no capital letters")."""
    if not _about_the_response(match, prompt):
        return None
    text = match.group(0)
    negated = _NEGATED_BEFORE.search(prompt[max(0, match.start() - 30) : match.start()] + " " + text.split()[0])
    if _LOWER_RE.search(text) and negated:
        return None  # "no lowercase letters" asks for capitals
    return {}


# ---------------------------------------------------------------- all-caps words

# A mention of all-caps words: "words with all capital letters", "all-caps words", ...
_CAPS_WORDS = (
    r"(?:(?:words?|phrases?)(?:\s+or\s+phrases?)?\s+(?:\w+\s+){0,4}?"
    r"(?:with|in|be\s+in|written\s+in|using|that\s+are\s+(?:in\s+)?|which\s+are\s+(?:in\s+)?|are\s+in)\s+"
    rf"(?:all\s+)?{_CAPS}"
    r"|(?:all[-\s]caps|all[-\s]capital|capitali[sz]ed|upper[-\s]?case|fully\s+capitali[sz]ed)\s+words"
    r"|words?\s+(?:that\s+|which\s+)?(?:are\s+|is\s+)?(?:fully\s+|completely\s+|entirely\s+|all\s+)?capitali[sz]ed)"
)
_CAPS_WORDS_RE = re.compile(_CAPS_WORDS, FLAGS)
# A count of all-caps words is not followed by another unit ("at least 20 sentences").
_UNIT_AFTER = (
    r"(?!\s*-?\s*(?:sentences?|paragraphs?|sections?|bullets?|placeholders?|words?|letters?|characters?"
    r"|lines?|stanzas?|days?)\b)"
)
_QTY_RE = re.compile(rf"(?P<q>{QTY}){_UNIT_AFTER}", FLAGS)
_COUNT_BEFORE = rf"(?P<q>{QTY})\s+(?:such\s+)?{_CAPS_WORDS}"
# The count may follow in the rest of the clause; a lookahead so the next mention still matches.
_COUNT_AFTER = rf"{_CAPS_WORDS}(?=(?P<post>[^.;!?\n]{{0,90}}))"
_BACK_REFERENCE = r"\b(?:those|these|such)\s+(?:\w+\s+)?words(?=(?P<post>[^.;!?\n]{0,60}))"
_USE_SOME = (
    r"\b(?:use|include|add|using|including)\s+(?:some|a\s+few|several|a\s+couple\s+of|a\s+handful\s+of)?\s*"
    rf"(?P<m>{_CAPS_WORDS})(?P<post>[^.;!?\n]{{0,60}})"
)
_CAPS_NEEDS = ("capital", "caps", "upper")


def _freq(pairs: list[tuple[str, int]]) -> list[dict] | None:
    return [{"capital_relation": r, "capital_frequency": n} for r, n in pairs] or None


@RULES.rule("change_case:capital_word_frequency", _COUNT_BEFORE, needs=_CAPS_NEEDS)
def capital_words_counted_before(match: re.Match[str], prompt: str) -> list[dict] | None:
    """ "at least 10 words in all capital letters", "5 to 10 such capitalized words"."""
    return _freq(parse_quantity(match["q"]))


@RULES.rule("change_case:capital_word_frequency", _COUNT_AFTER, _BACK_REFERENCE, needs=_CAPS_NEEDS)
def capital_words_counted_after(match: re.Match[str], prompt: str) -> list[dict] | None:
    """ "words with all capital letters should appear less than 10 times".

    The count is read from the rest of the clause, up to a "but" or the next mention of
    all-caps words (which states its own count). "Those words" must point back at an
    earlier mention of capitals.
    """
    if match.group(0).lower().startswith(("those", "these", "such")) and not re.search(
        r"capitali|all\s+caps|capital\s+letters", prompt[: match.start()], FLAGS
    ):
        return None
    post = re.split(r"\bbut\b|,\s*and\b", match["post"], flags=FLAGS)[0]
    other = _CAPS_WORDS_RE.search(post)
    found = _QTY_RE.search(post[: other.start()] if other else post)
    return _freq(parse_quantity(found["q"])) if found else None


@RULES.rule("change_case:capital_word_frequency", _USE_SOME, weak=True, needs=_CAPS_NEEDS)
def some_capital_words(match: re.Match[str], prompt: str) -> list[dict] | None:
    """ "Use some words in all caps": at least one (gives way to any stated minimum)."""
    post = re.split(r"\bbut\b", match["post"], flags=FLAGS)[0]
    return None if _QTY_RE.search(post) else _freq([(AT_LEAST, 1)])
