"""`keywords:*` rules: required, forbidden and counted words, and counted letters or symbols."""

from __future__ import annotations

import re

from .common import (
    BARE_WORD,
    FLAGS,
    LESS_THAN,
    NEG,
    QTY,
    QUOTED,
    TIMES,
    RuleSet,
    dedupe,
    is_negated,
    parse_quantity,
    parse_times,
    split_keywords,
    unquote,
)

RULES = RuleSet()

# A list of keywords: a Python list, quoted items, or bare words joined by commas / and / or.
# Items may repeat their noun ("'moon' or the word 'night'") or come in template braces
# ("{kermit}, {frog}", seen in generated datasets). Bounded repetition keeps matching linear.
_JOIN = r"\s*(?:,|;|\band\b|\bor\b|&)\s*(?:and\s+|or\s+)?(?:the\s+)?(?:(?:key)?words?\s+|terms?\s+)?"
_ITEM = rf"(?:{QUOTED}|\{{[^{{}}\n]{{1,60}}\}})"
QUOTED_LIST = rf"{_ITEM}(?:{_JOIN}{_ITEM}){{0,24}}"
_BARE_LIST = (
    rf"{BARE_WORD}(?:\s*,\s*(?:and\s+|or\s+)?{BARE_WORD}){{0,24}}(?:\s*,?\s+(?:and|or)\s+{BARE_WORD})?"
)
_LIST = rf"(?P<list>\[[^\]\n]{{1,300}}\]|{QUOTED_LIST}|{_BARE_LIST})"
_WORDS = (
    r"(?:the\s+|these\s+|those\s+|following\s+|the\s+following\s+)?(?:key\s*)?"
    r"(?:words?|keywords?|terms?|items?)\b"
)
# A count right after a keyword means the frequency rule owns it, not existence/forbidden.
_COUNT_AFTER = re.compile(
    r"\s*(?:(?:in|throughout)\s+(?:your|the|this)\s+(?:entire\s+|whole\s+)?\w+\s+)?(?:for\s+)?"
    rf"(?:{TIMES}|at\s+least|at\s+most|more\s+than|less\s+than)",
    FLAGS,
)
# "in your response": where a bare word list ends.
_IN_RESPONSE = (
    r"\s+(?:in|throughout|anywhere\s+in)\s+(?:your|the|this)\s+(?:entire\s+|whole\s+)?"
    r"(?:response|answer|reply|output|text)"
)


def _keywords(match: re.Match[str], prompt: str) -> list[str] | None:
    """The keywords of a list match (lowercase: the checkers ignore case), or None where a
    count follows (a frequency, not a list)."""
    if _COUNT_AFTER.match(prompt, match.end("list")):
        return None
    words = dedupe([k.lower() for k in split_keywords(match["list"])])
    return words or None


def _clause_negated(prompt: str, start: int) -> bool:
    """Whether the clause before `start` holds a negation ("do not use 'x' more than twice")."""
    clause = re.split(r"[,.;:!?\n]", prompt[max(0, start - 40) : start])[-1]
    return bool(re.search(rf"\b{NEG}\b", clause, FLAGS))


# ------------------------------------------------------------------------- existence

_INCLUDE = (
    r"(?:include|includes|including|contain|contains|containing|use|uses|using|mention|mentions|mentioning"
    r"|incorporate|incorporating|feature|featuring|has|have|having|add|adding"
    r"|with(?=\s+(?:these|the\s+following)\s))"
)
_EXIST_WORDS = rf"\b{_INCLUDE}\s+(?:(?:all|both|each)\s+(?:of\s+)?)?{_WORDS}\s*(?::|-)?\s*{_LIST}"
_EXIST_LINE = rf"\b{_INCLUDE}\s+the\s+(?:line|name)\s+(?P<list>{QUOTED})"
# A quoted word right after the verb; not after "use" ("use "double quotes" for dialogue").
_EXIST_QUOTED = (
    r"\b(?:include|includes|including|contain|contains|containing|mention|mentions|mentioning|incorporate|feature)"
    rf"\s+(?P<list>{QUOTED_LIST})"
)
_EXIST_WORK_IN = rf"\b(?:work|weave|fit|slip|put|get)\s+{_WORDS}\s+{_LIST}\s+into\b"


@RULES.rule("keywords:existence", _EXIST_WORDS, _EXIST_LINE, _EXIST_QUOTED, _EXIST_WORK_IN)
def existence(match: re.Match[str], prompt: str) -> dict | None:
    """Words the response must contain ("include the keywords 'a' and 'b'", "mention "X"")."""
    if is_negated(prompt, match.start()):
        return None
    words = _keywords(match, prompt)
    return {"keywords": words} if words else None


_ONLY_ONCE = rf"\b(?:word|name|keyword|term)\s+(?P<list>{QUOTED}|{BARE_WORD})\s+(?:only|exactly|just)\s+once\b"


@RULES.rule("keywords:existence", _ONLY_ONCE)
def mentioned_once(match: re.Match[str], prompt: str) -> dict | None:
    """ "Mention X only once": it must appear (the frequency rule adds "less than 2")."""
    return {"keywords": [unquote(match["list"]).lower()]}


# ------------------------------------------------------------------------- forbidden

_SAY = (
    r"(?:use|using|include|including|say|saying|mention|mentioning|write|writing|contain|containing"
    r"|the\s+use\s+of)"
)
_FORBID_WORDS = rf"\b{NEG}\s+(?:\w+\s+){{0,3}}?{_WORDS}(?:\s+such\s+as)?\s*(?::|-)?\s*{_LIST}"
_FORBID_QUOTED = rf"\b{NEG}\s+(?:\w+\s+){{0,2}}?{_SAY}\s+(?P<list>{QUOTED_LIST})"
_FORBID_BARE = rf"\b{NEG}\s+(?:\w+\s+){{0,2}}?{_SAY}\s+(?P<list>{_BARE_LIST})(?={_IN_RESPONSE})"
# "don't mention pizza.": a bare word after "mention" / "say" that ends the clause.
_FORBID_MENTION = (
    rf"\b(?:don['’]?t|do\s+not|never|without)\s+(?:\w+\s+)?(?:mention|mentioning|say|saying)\s+"
    rf"(?P<list>{_BARE_LIST})(?=\s*(?:[.;!?]|$)|,?\s+(?:and|but)\b)"
)
# "The word 'rock' should not appear", "The words startup and capsule cannot be in the response".
_FORBID_AFTER = (
    rf"\b(?:the\s+)?(?:key)?words?\s+(?P<list>{QUOTED_LIST}|{_BARE_LIST})\s+"
    r"(?:(?:should|must|shall|may|can|does|do|will|is|are)\s*(?:not|n['’]t|never)|cannot|can['’]?t)\s+"
    r"(?:\w+\s+){0,2}?(?:appear|be\s+(?:used|in|included|mentioned|present|allowed)|occur|show\s+up|allowed)"
)
_FORBID_KEEP_OUT = rf"\bkeep\s+{_WORDS}\s+{_LIST}\s+out\s+of\b"
_FORBID_NOT_ALLOWED = (
    rf"(?P<list>{QUOTED_LIST})\s+(?:is|are)\s+(?:not\s+allowed|forbidden|banned|prohibited|off[-\s]limits)"
)
# "no more than 3 words ..." is a count; "don't forget to include ..." asks for the words.
_COUNT_WORDS = re.compile(r"\d|\b(?:than|more|fewer|less)\b", FLAGS)
_NOT_A_BAN = re.compile(r"(?:don['’]?t|do\s+not)\s+(?:forget|hesitate|miss)", FLAGS)


@RULES.rule(
    "keywords:forbidden_words",
    _FORBID_WORDS,
    _FORBID_QUOTED,
    _FORBID_BARE,
    _FORBID_MENTION,
    _FORBID_AFTER,
    _FORBID_KEEP_OUT,
    _FORBID_NOT_ALLOWED,
)
def forbidden_words(match: re.Match[str], prompt: str) -> dict | None:
    """Words the response must not contain ("do not use the words X or Y", "avoid 'Z'")."""
    if _COUNT_WORDS.search(prompt, match.start(), match.start("list")) or _NOT_A_BAN.match(match.group(0)):
        return None
    if re.match(r"\s*(?:more|less|fewer)\s+than\b", prompt[match.end("list") :], FLAGS):
        return None  # "do not use the word X more than twice" is a frequency
    words = _keywords(match, prompt)
    return {"forbidden_words": words} if words else None


# ------------------------------------------------------------------------- frequency

_APPEAR = (
    r"(?:(?:should|must|shall|will|has\s+to|needs?\s+to|to|is\s+to|can|may)\s+)?(?:only\s+)?(?:be\s+)?"
    r"(?:appear(?:s|ing)?|show(?:s|ing)?\s+up|occur(?:s|ring)?|used|use|mentioned|repeated|included|written|present)?"
)
_WHERE = r"(?:(?:in|throughout)\s+(?:your|the|this)\s+(?:entire\s+|whole\s+)?\w+\s+)?"
_FREQ_WORD = rf"\b(?:key)?word\s+(?P<kw>{QUOTED}|{BARE_WORD})\s+{_APPEAR}\s*{_WHERE}(?:for\s+)?(?P<t>{TIMES})"
_FREQ_VERB = (
    r"\b(?:use|uses|using|mention|mentions|say|include|includes|including|repeat|write|incorporate)\s+"
    rf"(?P<kw>{QUOTED})\s+{_WHERE}(?:for\s+)?(?P<t>{TIMES})"
)
_FREQ_QUOTED = (
    rf"(?P<kw>{QUOTED})\s+(?:should|must|needs?\s+to|has\s+to)?\s*(?:appears?|occurs?|be\s+used|be\s+mentioned)\s+"
    rf"{_WHERE}(?P<t>{TIMES})"
)
# "... and 'peace' at least 3 times": a second count in the same breath.
_FREQ_AND = rf"\band\s+(?:the\s+(?:key)?word\s+)?(?P<kw>{QUOTED})\s+(?:for\s+)?(?P<t>{TIMES})"
_FREQ_NAME = rf"\bname\s+(?P<kw>{QUOTED}|{BARE_WORD})\s+(?P<t>(?:only|exactly|just)\s+once)\b"


@RULES.rule("keywords:frequency", _FREQ_WORD, _FREQ_VERB, _FREQ_QUOTED, _FREQ_AND, _FREQ_NAME)
def frequency(match: re.Match[str], prompt: str) -> list[dict] | None:
    """How often a word appears ("use the word X at least 3 times", "'Y' at most once")."""
    keyword = unquote(match["kw"]).strip().lower()
    if not keyword or keyword in ("count", "limit"):
        return None
    if re.search(r"\bletter\s*$", prompt[max(0, match.start() - 12) : match.start()], FLAGS):
        return None  # "the letter 'k' ... 7 times" is a letter count
    pairs = parse_times(match["t"], negated=_clause_negated(prompt, match.start()))
    if re.match(r"(?:only|exactly|just)\s+once", match["t"], FLAGS):
        pairs = [(LESS_THAN, 2)]  # "only once": the existence rule states the "at least"
    return [{"relation": r, "keyword": keyword, "frequency": n} for r, n in pairs] or None


# -------------------------------------------------------------------- letter counts

_LETTER = r"(?P<l>\"[a-z]\"|'[a-z]'|“[a-z]”|‘[a-z]’|[a-z])(?![\w'])"
_LETTER_COUNT = (
    rf"\bletter\s+{_LETTER}\s+{_APPEAR}\s*"
    rf"(?:(?:in\s+(?:your|the|this)\s+(?:entire\s+|whole\s+)?\w+|anywhere)\s+)?(?:for\s+)?(?P<t>{TIMES})"
)
_LETTER_NONE = (
    rf"\b{NEG}\s+(?:\w+\s+){{0,3}}?(?:the\s+)?letter\s+{_LETTER}(?!\s+(?:more|less|fewer|over|at\s+most)\b)"
)
_LETTER_NOT_APPEAR = (
    rf"\bletter\s+{_LETTER}\s+(?:should|must|may|can|does)\s*(?:not|n['’]t|never)\s+(?:appear|be\s+used|occur)"
)


def _letter_kwargs(letter: str, pairs: list[tuple[str, int]]) -> list[dict] | None:
    return [{"let_relation": r, "letter": letter, "let_frequency": n} for r, n in pairs] or None


@RULES.rule("keywords:letter_frequency", _LETTER_COUNT, needs=("letter",))
def letter_frequency(match: re.Match[str], prompt: str) -> list[dict] | None:
    """How often a letter appears ("the letter q at least 4 times", "avoid 'i' more than twice")."""
    pairs = parse_times(match["t"], negated=_clause_negated(prompt, match.start()))
    return _letter_kwargs(unquote(match["l"]).lower(), pairs)


@RULES.rule("keywords:letter_frequency", _LETTER_NONE, _LETTER_NOT_APPEAR, needs=("letter",))
def letter_absent(match: re.Match[str], prompt: str) -> list[dict] | None:
    """A letter that must not appear at all ("without using the letter e")."""
    if _NOT_A_BAN.match(match.group(0)):
        return None
    return _letter_kwargs(unquote(match["l"]).lower(), [(LESS_THAN, 1)])


# Symbols people count by name; the checker counts any single character.
_SYMBOLS = {
    "exclamation": "!", "question": "?", "hashtag": "#", "hash": "#", "pound": "#", "semicolon": ";",
    "dollar": "$", "at": "@", "ampersand": "&", "percent": "%",
}
_SYMBOL = (
    r"(?P<sym>exclamation\s+(?:marks?|points?)|question\s+marks?|hashtags?|hash\s*(?:tags?|signs?)|pound\s+signs?"
    r"|semicolons?|dollar\s+signs?|at\s+signs?|ampersands?|percent\s+signs?)"
)
_SYMBOL_COUNT = rf"(?P<q>{QTY})\s+{_SYMBOL}"
_SYMBOL_NONE = rf"\b{NEG}\s+(?:\w+\s+){{0,2}}?(?:any\s+)?{_SYMBOL}"


@RULES.rule(
    "keywords:letter_frequency",
    _SYMBOL_COUNT,
    _SYMBOL_NONE,
    needs=("exclamation", "question mark", "hash", "pound", "semicolon", "dollar", "at sign", "ampersand", "percent"),
)
def symbol_frequency(match: re.Match[str], prompt: str) -> list[dict] | None:
    """How often a named symbol appears ("at least 4 hashtags", "6 or more exclamation marks", "no '?'")."""
    name = re.match(r"[a-z]+", match["sym"].lower())[0]
    symbol = _SYMBOLS.get(name) or _SYMBOLS.get(name.removesuffix("s"))
    if symbol is None:
        return None
    pairs = parse_quantity(match["q"]) if match.groupdict().get("q") else [(LESS_THAN, 1)]
    return _letter_kwargs(symbol, pairs)
