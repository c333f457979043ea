"""`detectable_format:*` rules: title, JSON, bullets, highlights, sections, fixed answers."""

from __future__ import annotations

import re

from .common import FLAGS, NUM, QTY, RuleSet, is_negated, parse_quantity, quantity_kind, to_int

RULES = RuleSet()

# A sentence's end, but not the period of "i.e." / "e.g." (examples follow them).
_SENTENCE_END = re.compile(r"(?<!i\.e)(?<!e\.g)(?<!\bi)(?<!\be)\.(?:\s|$)|[!?\n]", FLAGS)


def _sentence_around(prompt: str, start: int, end: int, back: int = 150, ahead: int = 200) -> str:
    """The sentence holding prompt[start:end], allowing "i.e." inside it."""
    head = prompt[max(0, start - back) : start]
    stops = list(_SENTENCE_END.finditer(head))
    head = head[stops[-1].end() :] if stops else head
    tail = prompt[end : end + ahead]
    stop = _SENTENCE_END.search(tail)
    if stop and stop.group(0) == "\n" and tail[: stop.start()].rstrip().endswith(":"):
        # "... in this format:\n*section name*": the example on the next line belongs to it.
        after = _SENTENCE_END.search(tail, stop.end())
        return head + prompt[start:end] + (tail[: after.start()] if after else tail)
    return head + prompt[start:end] + (tail[: stop.start()] if stop else tail)


# --------------------------------------------------------------------------- title

@RULES.rule(
    "detectable_format:title",
    r"<<[^<>\n]{1,80}>>",
    r"\bdouble[-\s]+angul?ar\s+brackets?|\bdouble[-\s]+angle(?:d)?\s+brackets?|\bguillemets?\b",
)
def title(match: re.Match[str], prompt: str) -> dict | None:
    """A title in double angular brackets, <<like this>>: the example itself or its name."""
    return {}


# ---------------------------------------------------------------------------- JSON

# JSON as a topic or a file, not the response's format: "a JSON schema", "JSON parsing".
_NOT_OUTPUT = (
    r"(?!\s+(?:schemas?|files?|parsing|parsers?|librar\w+|spec\w*|syntax|standard|documents?|data\b"
    r"|web\s+tokens?|objects?\s+in\b))"
)
_ASKS_FOR_OUTPUT = re.compile(
    r"\b(?:wrap|format|output|response|answer|reply|return|respond|contain|only|entire|whole|use|give|provide|put"
    r"|write)\w*",
    FLAGS,
)
_JSON_LEAD = (
    r"\b(?:(?:in|as|into|using|use|with|via|return|output|respond|reply|answer|provide|give)\s+"
    r"(?:(?:a|an|valid|the|proper|strict|pure|one|only|plain|well-formed|correct)\s+)*JSON\b"
    rf"|JSON[-\s]+(?:format(?:ted)?|block|object|code\s+block|output|response|only)\b"
    r"|(?:convert|transform|turn)\s+(?:\w+\s+){0,6}?(?:to|into)\s+JSON\b)"
)


@RULES.rule("detectable_format:json_format", _JSON_LEAD + _NOT_OUTPUT)
def json_format(match: re.Match[str], prompt: str) -> dict | None:
    """The response is JSON ("in JSON format", "wrap the output in JSON", "a JSON block only")."""
    sentence = _sentence_around(prompt, match.start(), match.end())
    if match.group(0)[:4].upper() == "JSON" and not _ASKS_FOR_OUTPUT.search(sentence):
        return None  # "JSON format" mentioned, not asked for
    return None if is_negated(prompt, match.start(), window=25) else {}


# ------------------------------------------------------------------------- bullets

_HSPACE = r"[ \t]+"
_BULLETS = r"(?:markdown[ \t]+)?bullet(?:ed)?(?:[ \t-]*(?:points?|items?|lists?))?s?\b"
_BULLET_COUNT = rf"(?P<q>{QTY}){_HSPACE}(?:[\w-]+{_HSPACE}){{0,2}}?{_BULLETS}"
_BULLET_LIST_OF = rf"\bbullet(?:ed)?(?:[ \t-]*points?)?[ \t]+list[ \t]+(?:of|with)[ \t]+(?P<q>{QTY})\b"
_BULLET_BARE = rf"(?<![\w*])(?:bullet(?:ed)?(?:[ \t-]*(?:points?|list))?s?|bullets)\b"
# "exactly 10 names": items that bullets may hold (not a length unit).
_EXACT_NOUN = re.compile(
    rf"\b(?:exactly|precisely)\s+(?P<n>{NUM})\s+(?:[\w-]+\s+){{0,2}}?"
    r"(?P<noun>(?!(?:paragraphs|sentences|words|sections|parts|lines|letters|characters|times|placeholders"
    r"|stanzas)\b)[a-z]+s)\b",
    FLAGS,
)
# "put the names into bullet points": which items, named just before the bullets.
_ITEMS_INTO = re.compile(r"\bthe\s+(?P<noun>[a-z]+s)\s+(?:in(?:to)?|as|with|using)\s+(?:\w+\s+)?$", FLAGS)


@RULES.rule("detectable_format:number_bullet_lists", _BULLET_COUNT, _BULLET_LIST_OF, needs=("bullet",))
def number_bullets(match: re.Match[str], prompt: str) -> dict | None:
    """An exact number of markdown bullets ("exactly 4 bullet points", "a bulleted list of 5")."""
    found = quantity_kind(match["q"])
    if not found or found[0] not in ("exact", "only", "bare"):
        return None  # the checker counts exactly; "at least 3 bullets" is not that
    return {"num_bullets": found[1]}


@RULES.rule("detectable_format:number_bullet_lists", _BULLET_BARE, needs=("bullet",))
def bullets_of_counted_items(match: re.Match[str], prompt: str) -> dict | None:
    """Bullets numbered by the items they hold: "List exactly 10 names ... as bullet points"."""
    before = prompt[max(0, match.start() - 40) : match.start()]
    if re.search(rf"(?:{NUM})[ \t]+(?:[\w-]+[ \t]+){{0,2}}$", before, FLAGS):
        return None  # counted directly: the other rule reads it
    sentence = _sentence_around(prompt, match.start(), match.end())
    exact = _EXACT_NOUN.search(sentence)
    if exact:
        return {"num_bullets": to_int(exact["n"])}
    ref = _ITEMS_INTO.search(prompt[max(0, match.start() - 60) : match.start()])
    if ref:
        for item in _EXACT_NOUN.finditer(prompt):
            if item["noun"].lower() == ref["noun"].lower():
                return {"num_bullets": to_int(item["n"])}
    return None


# ---------------------------------------------------------------------- highlights

# "bold" only as an instruction: "bold the key terms", "in bold", not "bold and strong".
_BOLD = (
    r"(?<=in\s)bold(?:face)?"
    r"|bold(?:face)?(?=\s+(?:the|at|some|key|important|a|an|\d|one|two|three|four|five|your|every|each)\b)"
)
_HIGHLIGHT = rf"(?<![*\w.])(?P<verb>highlight\w*|italici[sz]\w*|italic|{_BOLD}|emphasi[sz]\w*)\b"
_MARKUP = re.compile(r"markdown|\*|italic|\bbold|asterisk", FLAGS)
# "highlight at least 3 key takeaways", "... some phrases twice"; or before: "two italic text sections",
# "at least 15 sections should be highlighted".
_COUNT_AFTER_VERB = re.compile(
    rf"^\s+(?:\w+\s+){{0,2}}?(?P<q>{QTY})\s+[\w-]+|\b(?P<t>once|twice|thrice)\b", FLAGS
)
_COUNT_BEFORE_VERB = re.compile(
    rf"(?P<q>{QTY})\s+(?:(?:\w+\s+){{0,2}}?(?:sections?|parts?|phrases?|words?)\s+(?:\w+\s+){{0,2}}?)?$", FLAGS
)


def _at_least(text: str) -> int | None:
    """The minimum a quantity phrase allows ("at least 3" -> 3, "exactly two" -> 2)."""
    pairs = dict((r, n) for r, n in reversed(parse_quantity(text)))
    return pairs.get("at least")


@RULES.rule("detectable_format:number_highlighted_sections", _HIGHLIGHT)
def highlighted_sections(match: re.Match[str], prompt: str) -> dict | None:
    """At least N *highlighted* (markdown italic) parts; no stated number means one.

    Only where the sentence mentions markdown or asterisks: "highlight the differences"
    is a request about content, not about format.
    """
    sentence = _sentence_around(prompt, match.start(), match.end()).lower()
    if not _MARKUP.search(sentence) or "capital" in sentence and "markdown" not in sentence:
        return None  # no markup asked for; or capitals are the highlighting
    after = prompt[match.end() : match.end() + 120]
    after = after[: m.start()] if (m := _SENTENCE_END.search(after)) else after
    counted = _COUNT_AFTER_VERB.search(after)
    if counted and counted["t"]:
        return {"num_highlights": {"once": 1, "twice": 2, "thrice": 3}[counted["t"].lower()]}
    if counted and (n := _at_least(counted["q"])):
        return {"num_highlights": n}
    before = _COUNT_BEFORE_VERB.search(prompt[max(0, match.start() - 60) : match.start()].split("\n")[-1])
    if before and (n := _at_least(before["q"])):
        return {"num_highlights": n}
    each = re.match(r"\s+each\s+(\w+?)s?\b", after, FLAGS)
    if each:  # "highlight each section name" -> as many as the sections asked for
        for item in re.finditer(rf"(?P<q>{QTY})\s+{each[1]}s?\b", prompt, FLAGS):
            if n := _at_least(item["q"]):
                return {"num_highlights": n}
    return {"num_highlights": 1}


# ---------------------------------------------------------------------- sections

# Words that are no section marker: "start with a X", "mark it as number N".
_STOP_SPLITERS = {
    "the", "a", "an", "this", "that", "it", "your", "my", "its", "and", "or", "of", "to", "number", "no",
}
_MARKED = (
    r"\b(?:mark|label|start|begin|note|title|head|number|prefix|precede|indicate|introduce|denote)\w*\s+"
    r"(?:\w+\s+){0,6}?(?:with|as|by|using)\s+(?:the\s+)?(?:word\s+|text\s+|heading\s+|label\s+|phrase\s+|prefix\s+)?"
    r"[\"'“]?(?P<sp>[A-Za-z]+)\s+(?:X|N|\{\w+\}|#|\[X\]|<X>)(?![\w])"
)
# "Section 1 and Section 2", "Part 1, Part 2 and Part 3" (the marker word capitalised).
_ENUMERATED = (
    r"[\"'“(]?(?P<sp>(?-i:[A-Z])[A-Za-z]*)\s+1[\"'”]?\s*"
    r"(?:,\s*[\"'“]?(?P=sp)\s+\d+[\"'”]?\s*){0,20},?\s*(?:and|&)\s+[\"'“]?(?P=sp)\s+(?P<last>\d+)\b"
)
_SECTION_COUNT = re.compile(
    rf"(?P<n>{NUM})[ \t-]+(?:[\w-]+[ \t]+)?(?P<noun>sections?|parts?|paragraphs?|chapters?|days?|steps?|versions?"
    r"|acts?|scenes?|stages?|phases?|segments?|advertisements?|ads?|audiences?|items?)\b",
    FLAGS,
)


@RULES.rule("detectable_format:multiple_sections", _MARKED, _ENUMERATED)
def multiple_sections(match: re.Match[str], prompt: str) -> dict | None:
    """N sections, each starting with a marker word and its number ("SECTION X", "Day 1 ... Day 7").

    The spliter keeps the prompt's case (the checker matches it as written). The count is
    the last enumerated number, else the nearest "N sections" (preferring the noun of "each
    section" / the marker), else the nearest count of parts of any kind.
    """
    spliter = match["sp"]
    if spliter.lower() in _STOP_SPLITERS:
        return None
    if match.groupdict().get("last"):
        return {"section_spliter": spliter, "num_sections": int(match["last"])}
    counts = [
        (m.start(), to_int(m["n"]), m["noun"].lower().rstrip("s"))
        for m in _SECTION_COUNT.finditer(prompt)
        # "Section 1 and Section 2" numbers sections; it is no count of them.
        if not re.search(rf"{spliter}\s*$", prompt[max(0, m.start() - 20) : m.start()], FLAGS)
    ]
    noun = re.search(r"\beach\s+(\w+?)s?\b", _sentence_around(prompt, match.start(), match.end()), FLAGS)
    wanted = noun[1].lower() if noun else spliter.lower()
    same = [c for c in counts if c[2] == wanted] or [c for c in counts if c[2] == spliter.lower()] or counts
    if not same:
        return None
    num = min(same, key=lambda c: abs(c[0] - match.start()))[1]
    return {"section_spliter": spliter, "num_sections": num}


# ------------------------------------------------------------------ fixed answers

_FIXED = r"my\s+answer\s+is\s+(?:yes|no|maybe)\b[\s\S]{0,120}?my\s+answer\s+is\s+(?:yes|no|maybe)\b"


@RULES.rule("detectable_format:constrained_response", _FIXED)
def constrained_response(match: re.Match[str], prompt: str) -> dict | None:
    """Answer with one of the fixed phrases "My answer is yes./no./maybe."."""
    return {}
