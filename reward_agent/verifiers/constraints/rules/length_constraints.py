"""`length_constraints:*` rules: words, sentences, paragraphs and a paragraph's first word."""

from __future__ import annotations

import re

from .common import BARE_WORD, FLAGS, NUM, POST, QTY, QUOTED, RuleSet, parse_quantity, to_int, unquote

RULES = RuleSet()

# Per-item counts ("each line should contain exactly one sentence") do not bound the whole.
_PER_ITEM = re.compile(r"\b(?:each|every|per)\b", FLAGS)
# A clarification in parentheses restates a bound already given: "(just 1 or 2 sentences)".
_CLARIFYING_PAREN = re.compile(r"\(\s*(?:just|only|i\.?\s?e\.?|e\.?\s?g\.?|not|like|such\s+as)\b[^()]*$", FLAGS)
# "the first four sentences": a reference to part of the text, not a length.
_REFERENCE = re.compile(r"\b(?:first|last|next|previous|following|above|below|these|those)\s*$|\brepeat\b", FLAGS)
_NEGATION = re.compile(r"\b(?:not|don'?t|doesn'?t|never|nothing|no)\b", FLAGS)


def _clause_before(prompt: str, start: int) -> str:
    """The words of the clause that leads up to `start` (back to the last , ; . or 'and')."""
    before = prompt[max(0, start - 80) : start]
    return re.split(r"[,.;:!?\n]|\band\b|\bbut\b", before)[-1]


def _bounds(match: re.Match[str], prompt: str, *, exact: bool, only_upper: bool) -> list[tuple[str, int]]:
    """The (relation, N) pairs of a length match, or [] where the count is not a bound on the whole."""
    clause = _clause_before(prompt, match.start())
    if _PER_ITEM.search(clause) or _CLARIFYING_PAREN.search(prompt[max(0, match.start() - 60) : match.end()]):
        return []
    if _REFERENCE.search(clause):
        return []
    return parse_quantity(
        match["q"],
        match.groupdict().get("post"),
        exact=exact,
        only_upper=only_upper,
        negated=bool(_NEGATION.search(clause)),
    )


# "no more than 200 words", "300+ word", "100 words or less". Not "10 words in all caps"
# (that counts capitalised words) nor "words or phrases".
_WORDS_AFTER = (
    r"(?!\s+(?:or\s+phrases\s+)?(?:\w+\s+){0,4}?(?:in|with|be\s+in|written\s+in|using|that\s+are)\s+"
    r"(?:all\s+)?(?:capital|caps|upper|block|capitalized))(?!\s+(?:that\s+are\s+)?capitali[sz]ed)"
)
_WORDS_COUNT = rf"(?P<q>{QTY})[ \t-]+(?:English[ \t]+)?words?\b{_WORDS_AFTER}(?P<post>{POST})?(?:\s+long)?"


def _by_count_of(unit: str) -> str:
    """ "the number of words ... should be 250 or more", "word count under 300"."""
    return (
        rf"\b(?:total\s+)?(?:number\s+of\s+{unit}s|{unit}\s+(?:count|limit|length))\b"
        rf"(?P<mid>[^.!?\n\d]{{0,60}}?)\s(?P<q>{QTY})"
    )


@RULES.rule("length_constraints:number_words", _WORDS_COUNT, _by_count_of("word"), needs=("word",))
def number_words(match: re.Match[str], prompt: str) -> list[dict] | None:
    """Word-count bounds. A bare "200 word essay" is a rough size, not a bound, and is skipped."""
    rest = re.split(r"[,.;:!?\n]|\band\b", prompt[match.end() : match.end() + 50])[0]
    if re.search(r"capitali[sz]ed|\bcaps\b|capital\s+letters|upper[-\s]?case", rest, FLAGS):
        return None  # "5 words are fully capitalized": change_case counts those
    if re.search(r"capital|caps|upper", match.groupdict().get("mid") or "", FLAGS):
        return None  # "the number of words in all capital letters": change_case counts those
    is_limit = "limit" in match.group(0).lower()
    pairs = _bounds(match, prompt, exact=False, only_upper=True)
    if is_limit and not pairs:  # "word limit of 100" is a ceiling
        pairs = _bounds(match, prompt, exact=True, only_upper=True)[1:]
    return [{"relation": r, "num_words": n} for r, n in pairs] or None


_SENTENCE_ADJECTIVE = re.compile(r"(?:long|short|full|complete|simple)\s+sentence", FLAGS)
_SENTENCES_COUNT = rf"(?P<q>{QTY})[ \t-]+(?:\w+[ \t]+)?sentences?\b(?P<post>{POST})?"


@RULES.rule(
    "length_constraints:number_sentences", _SENTENCES_COUNT, _by_count_of("sentence"), needs=("sentence",)
)
def number_sentences(match: re.Match[str], prompt: str) -> list[dict] | None:
    """Sentence-count bounds; a bare count ("answer in 3 sentences") is exact."""
    between = match.group(0)
    if re.search(r"\d\s+\w+\s+sentence", between) and not _SENTENCE_ADJECTIVE.search(between):
        return None  # "3 bullet sentences": a different unit sits between number and "sentences"
    pairs = _bounds(match, prompt, exact=True, only_upper=False)
    return [{"relation": r, "num_sentences": n} for r, n in pairs] or None


# ------------------------------------------------------------------------ paragraphs

# A markdown divider: exactly three asterisks, or the words for it.
_DIVIDER = (
    r"(?<!\*)\*\s?\*\s?\*(?!\s?\*)|markdown\s+divider|(?:three|3)\s+(?:asterisks?|aterisks?|stars|\"\*\"\s+symbols)"
    r"(?:\s+(?:symbols?|markers?|signs?))?"
)
_PARTS = r"paragraphs?|sections?|parts?|stanzas?|steps?|snippets?|segments?|chunks?|blocks?|pieces?|verses?|portions?"
_PART_COUNT = re.compile(rf"(?P<n>{NUM})[ \t-]+(?:\w+[ \t]+)?(?P<noun>{_PARTS})\b", FLAGS)
# "Section 1", "Bullet 2", "Step 3": a number that labels a part rather than counting parts.
_LABEL_BEFORE = re.compile(
    r"\b(?:bullet|section|part|paragraph|step|day|chapter|point|item|version|option|poem|stanza|verse|advice"
    r"|q\s*&\s*a\s*#?)\s*$",
    FLAGS,
)
# Words that ask for a divider (a bare *** elsewhere is just text).
_ASKS_DIVIDER = re.compile(r"separat|divid|split|betwe|break|use|format|\bby\b|with|\bput\b|insert|place", FLAGS)
_EXAMPLE_DIVIDER_LINE = re.compile(r"^[ \t]*\*\*\*[ \t]*$", re.MULTILINE)
_PAIR = re.compile(r"\bseparat\w*\s+(?:the\s+|your\s+|my\s+)?\w+(?:\s+\w+)?\s+and\s+(?:the\s+)?\w+", FLAGS)


def _parts_near(prompt: str, pos: int, noun: str | None) -> int | None:
    """How many parts the prompt asks for, read from "N paragraphs/sections/parts" near `pos`.

    The count naming the same noun as the divider sentence wins; else the nearest count
    before the divider (in the same or previous sentences), else the nearest after it.
    """
    counts = [
        (m.start(), to_int(m["n"]), m["noun"].lower().rstrip("s"))
        for m in _PART_COUNT.finditer(prompt)
        if not _LABEL_BEFORE.search(prompt[max(0, m.start() - 20) : m.start()])
    ]
    if noun:
        same = [c for c in counts if c[2] == noun]
        if same:
            return min(same, key=lambda c: abs(c[0] - pos))[1]
    before = [c for c in counts if c[0] < pos and pos - c[0] < 400]
    if before:
        return before[-1][1]
    after = [c for c in counts if c[0] > pos and c[0] - pos < 200]
    return after[0][1] if after else None


@RULES.rule("length_constraints:number_paragraphs", _DIVIDER, needs=("*", "divider", "aster", "aterisk", "star"))
def number_paragraphs(match: re.Match[str], prompt: str) -> dict | None:
    """Paragraphs separated by the *** divider; the count comes from the words around it.

    Only asked-for dividers count: the checker splits on ***, so a plain "3 paragraphs"
    (blank lines) is a different layout and is not read as this constraint.
    """
    start = max(prompt.rfind(c, 0, match.start()) for c in ".!?\n") + 1
    sentence = prompt[start : match.end() + 1]
    asked = _ASKS_DIVIDER.search(prompt, max(0, match.start() - 200), match.start())
    if match.group(0).startswith("*") and not asked:
        return None
    noun = re.search(rf"\b({_PARTS})\b", sentence, FLAGS)
    count = _parts_near(prompt, match.start(), noun[1].lower().rstrip("s") if noun else None)
    if count is None:
        dividers = len(_EXAMPLE_DIVIDER_LINE.findall(prompt))
        if dividers:
            count = dividers + 1  # an example layout: N dividers between N+1 parts
        elif _PAIR.search(sentence):
            count = 2  # "separate your thinking and the final answer by ***"
    return {"num_paragraphs": count} if count else None


_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "opening": 1, "1st": 1, "2nd": 2, "3rd": 3,
}
_ORD = (
    r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|opening|last|final|closing"
    r"|\d+(?:st|nd|rd|th)"
)
_WHICH = (
    rf"(?:(?P<ord>{_ORD})\s+paragraph|paragraph\s+(?:(?:number|no\.?|#)\s*)?(?P<n>\d+|one|two|three|four|five))"
)
_WORD = rf"(?:the\s+)?(?:word\s+|term\s+)?(?P<w>{QUOTED}|{BARE_WORD})"
_SHOULD = r"(?:must|should|has\s+to|needs\s+to|shall|will|is\s+to|to)"
# "the second paragraph must start with the word 'However'"
_FIRST_WORD_1 = (
    rf"\b(?:the\s+)?(?:very\s+)?{_WHICH}\s+(?:of\s+your\s+\w+\s+)?{_SHOULD}?\s*(?:always\s+)?"
    rf"(?:start|begin)s?\s+with\s+{_WORD}"
)
# "begin the final paragraph with 'Ultimately'"
_FIRST_WORD_2 = rf"\b(?:start|begin)\s+(?:the\s+|your\s+)?(?:very\s+)?{_WHICH}\s+with\s+{_WORD}"
# "make the first word of your third paragraph 'Moreover'"
_FIRST_WORD_3 = (
    rf"\bfirst\s+word\s+of\s+(?:the\s+|your\s+)?(?:very\s+)?{_WHICH}\s+{_SHOULD}?\s*"
    rf"(?:be\s+|is\s+)?(?:exactly\s+)?:?\s*{_WORD}"
)
_PARAGRAPH_COUNT = re.compile(rf"(?P<q>{NUM})[ \t-]+(?:\w+[ \t]+)?paragraphs?\b", FLAGS)


@RULES.rule(
    "length_constraints:nth_paragraph_first_word", _FIRST_WORD_1, _FIRST_WORD_2, _FIRST_WORD_3, needs=("paragraph",)
)
def nth_paragraph_first_word(match: re.Match[str], prompt: str) -> dict | None:
    """Paragraph n (of N, separated by blank lines) starts with a word.

    The checker needs the paragraph count too, so the prompt must state it ("exactly 4
    paragraphs"); without it the constraint is not extracted.
    """
    counts = [to_int(m["q"]) for m in _PARAGRAPH_COUNT.finditer(prompt)]
    if not counts:
        return None
    total = counts[0]
    which = (match["ord"] or match["n"]).lower()
    if which in ("last", "final", "closing"):
        nth = total
    elif which in _ORDINALS:
        nth = _ORDINALS[which]
    else:
        nth = to_int(re.sub(r"(?:st|nd|rd|th)$", "", which))
    word = unquote(match["w"]).strip(" .,!?;:").split()
    if not word or nth > total or nth < 1:
        return None
    return {"num_paragraphs": total, "nth_paragraph": nth, "first_word": word[0].lower()}
