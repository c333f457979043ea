"""Shared machinery of the extraction rules: the `Rule` type, its registry, and text helpers.

A rule is a few precompiled regexes plus a `build(match, prompt)` function that turns one
match into checker arguments (or declines it). The helpers here parse the pieces rules have
in common: numbers written as digits or words, quantity phrases ("at most 100", "5 to 10",
"300+") mapped onto the checkers' two relations, and quoted or listed keywords.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Kwargs = dict[str, Any]
BuildResult = Kwargs | list[Kwargs] | None
Builder = Callable[[re.Match[str], str], BuildResult]

AT_LEAST = "at least"
LESS_THAN = "less than"

FLAGS = re.IGNORECASE


@dataclass(frozen=True)
class Hit:
    """One constraint read from the prompt: checker id, arguments and where it was stated."""

    id: str
    kwargs: Kwargs
    start: int
    end: int
    rule: str
    # A weak hit is a default ("use some all-caps words" means at least one) that gives way
    # to any explicit statement of the same bound.
    weak: bool = False


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a cheap cache key (extract.py)
class Rule:
    """A named set of regexes for one checker id, and the function building its arguments."""

    name: str
    id: str
    patterns: tuple[re.Pattern[str], ...]
    build: Builder
    weak: bool = False
    # Lowercase words of which the prompt must contain one for the rule to apply: a cheap
    # test that skips the regexes (whose number alternations are slow) on most prompts.
    needs: tuple[str, ...] = ()

    def find(self, prompt: str, lowered: str | None = None) -> Iterator[Hit]:
        """All hits of this rule in `prompt` (`lowered` is `prompt.lower()`, if at hand)."""
        if self.needs:
            lowered = prompt.lower() if lowered is None else lowered
            if not any(word in lowered for word in self.needs):
                return
        for pattern in self.patterns:
            for match in pattern.finditer(prompt):
                built = self.build(match, prompt)
                if built is None:
                    continue
                start, end = match.span()
                for kwargs in built if isinstance(built, list) else [built]:
                    yield Hit(self.id, kwargs, start, end, self.name, self.weak)


@dataclass
class RuleSet:
    """An ordered registry of rules; modules add theirs with the `rule` decorator."""

    rules: list[Rule] = field(default_factory=list)

    def rule(
        self,
        id: str,
        *patterns: str | re.Pattern[str],
        weak: bool = False,
        needs: tuple[str, ...] = (),
        flags: int = FLAGS,
    ) -> Callable[[Builder], Builder]:
        """Decorator: register `build` under `id` with `patterns` (compiled once, here).

        `needs`: lowercase words one of which must be in the prompt for the rule to run.
        """
        compiled = tuple(p if isinstance(p, re.Pattern) else re.compile(p, flags) for p in patterns)

        def decorate(build: Builder) -> Builder:
            self.rules.append(Rule(build.__name__, id, compiled, build, weak, needs=needs))
            return build

        return decorate


# --------------------------------------------------------------------------- numbers

_SMALL = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD_VALUES = {w: i for i, w in enumerate(_SMALL)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_WORD_VALUES |= {"single": 1, "a single": 1, "dozen": 12, "a dozen": 12, "hundred": 100, "a hundred": 100}

# Longest alternatives first so "seventeen" is not read as "seven".
_WORD_ALTS = sorted(set(_WORD_VALUES) - {"zero"}, key=len, reverse=True)
_TENS_ALT = "|".join(_TENS)
_UNITS_ALT = "|".join(_SMALL[9:0:-1])
_WORDS_ALT = "|".join(a.replace(" ", r"\s+") for a in _WORD_ALTS)
NUM = rf"\b(?:\d+(?:,\d{{3}})*|(?:{_TENS_ALT})(?:[-\s](?:{_UNITS_ALT}))?\b|(?:{_WORDS_ALT})\b)"

_TIMES_WORDS = {"once": 1, "twice": 2, "thrice": 3}


def to_int(text: str) -> int:
    """The value of a number written as digits ("1,200") or English words ("twenty-five")."""
    text = re.sub(r"\s+", " ", text.strip().lower())
    if text[0].isdigit():
        return int(text.replace(",", ""))
    if text in _TIMES_WORDS:
        return _TIMES_WORDS[text]
    if text in _WORD_VALUES:
        return _WORD_VALUES[text]
    tens, _, unit = text.replace("-", " ").partition(" ")
    return _WORD_VALUES[tens] + _WORD_VALUES[unit]


# ------------------------------------------------------------------------ quantities

# Words that put a bound before a number. Each maps to how the number becomes the
# checkers' relations: "at least N", "less than N", or both for an exact count.
_LOWER = r"at\s+least|no\s+(?:less|fewer)\s+than|not\s+(?:less|fewer)\s+than|(?:a\s+)?minimum\s+of|min(?:imum)?\.?"
_ABOVE = r"more\s+than|over|greater\s+than|in\s+excess\s+of|exceeding|above|longer\s+than|upwards\s+of"
_BELOW = r"less\s+than|fewer\s+than|under|below|shorter\s+than|lower\s+than|beneath"
_UPPER = (
    r"at\s+most|no\s+more\s+than|not\s+more\s+than|(?:a\s+)?max(?:imum)?(?:\s+of)?|up\s+to|no\s+longer\s+than"
    r"|not\s+longer\s+than|(?:not|never)\s+(?:to\s+)?exceed(?:ing)?|within|limit(?:ed)?(?:\s+(?:it|this|that|yourself"
    r"|your\s+\w+|the\s+\w+))?\s+to"
)
_EXACT = r"exactly|precisely"
_ONLY = r"just|only"
_PRE = rf"(?:{_LOWER}|{_ABOVE}|{_BELOW}|{_UPPER}|{_EXACT}|{_ONLY})"
_RANGE = (
    rf"(?:(?:between|from|in\s+the\s+range\s+of|within\s+the\s+range\s+of)\s+)?{NUM}\s*"
    rf"(?:to|–|—|and|or|(?<=\d)-)\s*{NUM}"
)
# "10 or more", "45 or less", "300+": a bound written after the number.
POST = (
    r"(?:\s*\+|\s+or\s+(?:more|greater|above|higher|over|longer|less|fewer|under|below|shorter)"
    r"|\s+(?:at\s+(?:the\s+)?)?(?:most|max(?:imum)?|min(?:imum)?|least)\b|\s+tops\b)"
)
# A quantity phrase, with no capture groups so rules can wrap it in a named group.
QTY = rf"(?:(?:{_PRE})\s+(?:(?:a\s+)?total\s+of\s+)?)?(?:{_RANGE}|{NUM})(?:{POST})?"

_QTY_PARTS = re.compile(
    rf"^(?:(?P<pre>{_PRE})\s+(?:(?:a\s+)?total\s+of\s+)?)?"
    rf"(?:(?:(?:between|from|in\s+the\s+range\s+of|within\s+the\s+range\s+of)\s+)?"
    rf"(?P<lo>{NUM})\s*(?P<sep>to|–|—|and|or|(?<=\d)-)\s*(?P<hi>{NUM})|(?P<n>{NUM}))"
    rf"(?P<post>{POST})?$",
    FLAGS,
)


def _kind(pre: str, post: str) -> str:
    """Which bound a quantity's words state: lower, above, below, upper, only, exact or bare."""
    pre = re.sub(r"\s+", " ", pre.lower()).strip()
    post = re.sub(r"\s+", " ", post.lower()).strip()
    if post:
        if post == "+" or re.search(r"more|greater|above|higher|over|longer|least|min", post):
            return "lower"
        return "upper"
    kinds = (("lower", _LOWER), ("above", _ABOVE), ("below", _BELOW), ("upper", _UPPER), ("only", _ONLY))
    for kind, words in kinds:
        if pre and re.fullmatch(words, pre, FLAGS):
            return kind
    return "exact" if pre else "bare"


def bounds(kind: str, n: int, *, exact: bool = True, only_upper: bool = False) -> list[tuple[str, int]]:
    """The checkers' (relation, N) pairs for a bound of `kind` on `n`.

    The checkers know only "at least N" and "less than N", so "at most N" becomes
    "less than N+1" and "more than N" becomes "at least N+1". An exact count is both
    bounds, and so is a bare number unless `exact=False` (where a bare number is no
    constraint: "a 200 word essay"). "only N" / "just N" is exact, or an upper bound with
    `only_upper` ("in just 50 words" asks for brevity, not for exactly 50).
    """
    if kind == "only":
        kind = "upper" if only_upper else "exact"
    if kind == "bare":
        kind = "exact" if exact else "none"
    if kind == "lower":
        return [(AT_LEAST, n)]
    if kind == "above":
        return [(AT_LEAST, n + 1)]
    if kind == "below":
        return [(LESS_THAN, n)]
    if kind == "upper":
        return [(LESS_THAN, n + 1)]
    if kind == "exact":
        return [(AT_LEAST, n), (LESS_THAN, n + 1)]
    return []


def quantity_kind(text: str) -> tuple[str, int] | None:
    """The bound kind ("lower", "exact", "bare", ...) and number of a single-number quantity
    phrase; None for a range or unreadable text."""
    m = _QTY_PARTS.match(text.strip())
    if not m or not m["n"]:
        return None
    return _kind(m["pre"] or "", m["post"] or ""), to_int(m["n"])


def parse_quantity(
    text: str, post: str | None = None, *, exact: bool = True, only_upper: bool = False, negated: bool = False
) -> list[tuple[str, int]]:
    """Read a quantity phrase ("no more than 3", "5 to 10", "300+") as (relation, N) pairs.

    `post` is a bound written after the unit ("100 words or less"). A bare or exact number
    gives both bounds unless `exact` is False. `negated` flips "more than" / "less than"
    ("I don't want anything longer than 30 words"). Unreadable text gives [].
    """
    m = _QTY_PARTS.match(text.strip())
    if not m:
        return []
    if m["lo"]:
        lo, hi = to_int(m["lo"]), to_int(m["hi"])
        if m["sep"].lower() == "and" and not re.match(r"between", text.strip(), FLAGS):
            return []
        if hi < lo:
            return []
        return [(AT_LEAST, lo), (LESS_THAN, hi + 1)]
    kind = _kind(m["pre"] or "", (m["post"] or "") + (post or ""))
    if negated:
        kind = {"above": "upper", "below": "lower"}.get(kind, kind)
    return bounds(kind, to_int(m["n"]), exact=exact, only_upper=only_upper)


# Count phrases for "how many times": "at least 3 times", "twice", "once or less", "5 to 7 times".
_OR_MORE = r"(?:\s+or\s+(?:more|less|fewer|over|under|greater))?"
TIMES = rf"(?:(?:{_PRE})\s+)?(?:(?:{_RANGE}|{NUM}){_OR_MORE}\s*(?:times?|x)\b|once|twice|thrice){_OR_MORE}"


def parse_times(text: str, *, negated: bool = False) -> list[tuple[str, int]]:
    """Read a "how many times" phrase ("at most twice", "3 to 5 times") as (relation, N) pairs.

    `negated` flips "more than" / "less than" ("do not use it more than twice").
    """
    text = re.sub(r"\s*\b(?:times?|x)\b", "", text.strip(), flags=FLAGS)
    text = re.sub(r"\b(once|twice|thrice)\b", lambda m: str(_TIMES_WORDS[m[1].lower()]), text, flags=FLAGS)
    return parse_quantity(text, negated=negated)


# --------------------------------------------------------------------------- quotes

# Straight and typographic quotes; a single quote opens only where it is not an apostrophe.
QUOTED = (
    r"(?:\"[^\"\n]{1,200}\"|“[^”\n]{1,200}”|”[^\"”\n]{1,200}[\"”]|‘[^’\n]{1,200}’"
    r"|(?<![\w'])'[^'\n]{1,200}'(?!\w))"
)
_QUOTED_RE = re.compile(QUOTED)


def unquote(text: str) -> str:
    """`text` without one pair of surrounding quotes."""
    text = text.strip()
    if len(text) >= 2 and text[0] in "\"'“”‘’" and text[-1] in "\"'“”‘’":
        return text[1:-1]
    return text


# A word that can be listed unquoted as a keyword ("include the keywords waste, material and meal").
BARE_WORD = r"[A-Za-z][\w'-]*"
# Words that end an unquoted keyword list: what follows them is context, not a keyword.
_LIST_STOP = {
    "in", "at", "throughout", "anywhere", "somewhere", "within", "to", "for", "as", "when", "so", "each",
    "once", "twice", "more", "less", "from", "into", "inside", "your", "the", "any", "whatsoever", "too",
    "if", "but", "because", "while", "then", "also", "please", "should", "must", "etc", "with", "without",
    "before", "after", "than", "of", "that", "which", "about", "like", "other", "is", "are", "be", "by", "on",
    "a", "an", "this", "these", "those", "around", "approximately", "roughly", "between", "over", "under",
    # Format words: "do not use commas in your response" is the comma rule, not a forbidden word.
    "commas", "comma", "letters", "letter", "capital", "capitals", "lowercase", "uppercase", "punctuation",
    "bullet", "bullets", "markdown", "words", "word",
}


def split_keywords(text: str) -> list[str]:
    """Keywords from a list: quoted items ("a", 'b'), a Python list ['a', 'b'], or bare words.

    Quoted items are taken as written; in a bare list ("waste, material and meal") only
    single words count and the list ends at the first word that is not a keyword.
    """
    quoted = [unquote(q) for q in _QUOTED_RE.findall(text)] or re.findall(r"\{([^{}\n]{1,60})\}", text)
    if quoted:
        return [q.strip() for q in quoted if re.search(r"\w", q)]
    words: list[str] = []
    for piece in re.split(r"\s*(?:,|;|/|\band\b|\bor\b|&)\s*", text.strip()):
        piece = piece.strip(" .:!?()[]")
        if not piece:
            continue
        first = piece.split()[0]
        if first.lower() in _LIST_STOP or not re.fullmatch(BARE_WORD, first):
            break
        words.append(first)
        if len(piece.split()) > 1:  # "gao and hearts in the response": the list ended
            break
    return words


def dedupe(items: list[str]) -> list[str]:
    """`items` in order, without case-insensitive repeats."""
    seen: set[str] = set()
    out = []
    for item in items:
        if item.lower() not in seen:
            seen.add(item.lower())
            out.append(item)
    return out


# A negation, straight or curly apostrophe ("don't", "don’t").
NEG = (
    r"(?:do\s+not|don['’]?t|doesn['’]?t|does\s+not|never|must\s+not|mustn['’]?t|should\s+not|shouldn['’]?t"
    r"|cannot|can['’]?t|may\s+not|without|avoid|refrain\s+from|exclude|excluding|not|no)"
)
_NEGATED_TAIL = re.compile(
    r"\b(?:not|don['’]?t|never|no\s+need\s+to|without|avoid)\b(?!\s+(?:forget|hesitate|miss)\b)[^,]*$", FLAGS
)


def is_negated(prompt: str, start: int, window: int = 40) -> bool:
    """Whether the words just before `start` negate what follows ("do not repeat ...").

    "Don't forget to ..." is no negation.
    """
    before = re.split(r"[.!?;\n]", prompt[max(0, start - window) : start])[-1]
    return bool(_NEGATED_TAIL.search(before))


_NARRATIVE = re.compile(
    r"\b(?:who|whom|character|characters|person|people|robot|he|she|they)\s+(?:\w+\s+){0,2}?"
    r"(?:speaks?|speaking|talks?|talking|writes?|shouts?|types?|communicates?|says?|sings?|answers?|replies?)\b"
    r"[^.!?\n]*$",
    re.IGNORECASE,
)


def is_narrative(prompt: str, start: int) -> bool:
    """Whether the words before `start` describe a character ("a robot who only speaks in all caps").

    Then what follows is part of the story asked for, not a rule for the response.
    """
    return bool(_NARRATIVE.search(prompt[max(0, start - 60) : start]))


_DATA_SUBJECT = re.compile(
    r"\b(?:strings?|keys?|consists?\s+of|contains?\s+only|inputs?|variables?|arrays?|substrings?"
    r"|returns?\s+(?:it|true|false|the\s+\w+))\b|\w\[\w*\]|<=|==",
    re.IGNORECASE,
)


def describes_data(prompt: str, start: int) -> bool:
    """Whether the sentence before `start` describes data in a task ("s consists of only lowercase
    letters", "return true if all keys are strings in lower case"), not the response."""
    before = prompt[max(0, start - 80) : start]
    return bool(_DATA_SUBJECT.search(re.split(r"[.!?\n]", before)[-1]))
