"""Verdicts: is a claim supported, refuted, or not settled by the passages retrieved for it?

Offline there is no entailment model (the bundled weights are a MiniLM sentence encoder and a
135M chat model, neither trained for NLI), so the default method is a measured heuristic over the
retrieved passages, read sentence by sentence with the passage title as context:

- a claim's *slots* are its numbers (years kept apart from other numbers; rounded figures match
  within 3 %) and its proper names (a surname matches the full name); its *content* is the stemmed
  content words left over;
- passages are read as sentences and pairs of adjacent sentences, each with the passage title;
- **supported**: one such span holds every slot of the claim and at least half of its content
  words (a quarter when 2+ slots all match; a claim with no slot needs three quarters of its
  content words, and at least three of them);
- **refuted**: no span supports it, but one is about what the claim is about (the claim's first
  name is in it, or the claim mentions the passage's title) and shares its relation (half the
  content words, or a quarter plus another of the claim's values), and holds a *conflicting*
  value of the same kind: another year, another number, another name, while the claim's own value
  is absent from that whole document (a value found only in another document neither supports
  nor blocks);
- **not enough evidence** otherwise.

Its accuracy on the factuality benchmark (benchmarks/bench_factuality.py) is reported in
benchmarks/results/factuality.json; it is a heuristic: a passage that mentions a different name
for an unrelated reason can make it call a true claim refuted.

When a model serves the `claims` role, each claim can instead be judged by the model (structured
output citing passage ids). Cited ids are checked against the passages given; an answer that cites
no given passage for a supported/refuted verdict, or a failed call, falls back to the heuristic
and the fallback is recorded on the verdict.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field

from ...cache import Cache
from ...errors import CheckerError, ModelCallError, ModelOutputError
from ...llm import ModelSpec, build_chat_model
from ...structured import ainvoke_structured
from ...prompting import load_prompt
from ...retrieval.base import Passage
from ...text import split_sentences
from .claims import Claim

Label = Literal["supported", "refuted", "not_enough_evidence"]
LABELS: tuple[Label, ...] = ("supported", "refuted", "not_enough_evidence")
PROMPT_NAME = "claim_verdict"
QUOTE_CHARS = 240  # evidence stays small: a quote is the deciding sentence, cut
MAX_CITATIONS = 3  # passages cited per verdict

SUPPORT_CONTENT = 0.5  # share of the claim's content words a supporting sentence must hold
SUPPORT_CONTENT_MANY_SLOTS = 0.25  # the same when 2+ numbers/names of the claim all match
NO_SLOT_CONTENT = 0.75  # the same for a claim without numbers or names
REFUTE_CONTENT = 0.5  # share of content words that makes a sentence "about the same thing"

_STOP = frozenset(
    """a an the and or but if of to in on at by for from with as into onto over under about than then
    that this these those there here it its is was are were be been being has have had do does did
    not no nor so such very also which who whom whose what when where why how all any each every some
    most more many much few other another same own only just both either neither one can could may
    might must shall should will would he she they them their his her him we us our you your i me my
    up down out off again further once during before after above below between through while until
    per via among around since within without
    thousand million billion trillion roughly approximately nearly almost exactly over some
    located situated lies""".split()
)  # numbers' multipliers and approximators belong to the number; "located in" says no more than "in"
_QUALIFIERS = frozenset({"north", "south", "east", "west", "northern", "southern", "eastern", "western",
                         "central", "new", "upper", "lower", "great", "little", "saint", "san", "sub-saharan"})
_CONNECTORS = frozenset({"of", "de", "da", "del", "la", "le", "von", "van", "the", "y", "du", "al"})
_TOKEN = re.compile(r"[A-Za-z\u00C0-\u024F][\w\u00C0-\u024F'-]*|\d[\d,]*(?:\.\d+)?")
_NUM = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s*(thousand|million|billion|trillion))?(?![\w])",
                  re.IGNORECASE)
_MULTIPLIERS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
# Capitalised words that are not names even mid-sentence.
_NOT_NAMES = frozenset({"i", "it", "its", "the", "a", "an", "this", "that", "these", "those", "in", "on",
                        "at", "he", "she", "they", "there", "however", "its", "his", "her", "their"})


class Citation(BaseModel):
    """A passage a verdict rests on, and the words that decided it."""

    id: str
    source: str
    title: str | None = None
    url: str | None = None
    quote: str


class Verdict(BaseModel):
    """One claim's verdict, how it was reached, and its evidence."""

    claim_id: str
    label: Label
    method: Literal["heuristic", "llm"]
    citations: list[Citation] = Field(default_factory=list)
    reason: str = ""
    fallback: str | None = None


@dataclass(frozen=True)
class Number:
    """A number in text: its value and kind ('year' or 'number')."""

    value: float
    kind: Literal["year", "number"]

    def matches(self, other: Number) -> bool:
        if self.kind != other.kind:
            return False
        if self.kind == "year" or (self.value == int(self.value) and other.value == int(other.value)
                                   and max(abs(self.value), abs(other.value)) < 100):
            return self.value == other.value
        # Rounded figures ("about 33 million", "16" for 15.999): within 3 %.
        return abs(self.value - other.value) <= 0.03 * max(abs(self.value), abs(other.value))


@dataclass(frozen=True)
class Features:
    """What the heuristic compares: numbers, names and stemmed content words."""

    numbers: tuple[Number, ...]
    names: tuple[str, ...]
    content: frozenset[str]
    tokens: frozenset[str]


@functools.lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem import PorterStemmer  # pure Python, no NLTK data needed

    return PorterStemmer()


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer().stem(word)


def numbers_in(text: str) -> list[Number]:
    """Numbers with their kind; a bare 4-digit integer from 1000 to 2100 is a year."""
    out = []
    for match in _NUM.finditer(text):
        digits, decimals, multiplier = match.groups()
        value = float(digits.replace(",", "") + (decimals or ""))
        if multiplier:
            value *= _MULTIPLIERS[multiplier.lower()]
        is_year = (not multiplier and not decimals and "," not in digits and len(digits) == 4
                   and 1000 <= value <= 2100)
        out.append(Number(value, "year" if is_year else "number"))
    return out


def names_in(text: str) -> list[str]:
    """Proper names: runs of capitalised words (joined by 'of', 'de', ...), lower-cased.

    A sentence's first word counts only when it is not a common function word, so "The capital"
    yields nothing and "Lima is ..." yields "lima".
    """
    names: list[str] = []
    for sentence in re.split(r"(?<=[.!?;:])\s+|\n+", text):
        tokens = _TOKEN.findall(sentence)
        run: list[str] = []
        for i, token in enumerate(tokens):
            low = token.lower()
            capital = token[0].isupper() and low not in _NOT_NAMES and not (i == 0 and low in _STOP)
            if capital:
                run.append(low.removesuffix("'s"))
            elif run and low in _CONNECTORS and _next_is_capital(tokens, i + 1):
                run.append(low)
            else:
                if run:
                    names.append(" ".join(run))
                run = []
        if run:
            names.append(" ".join(run))
    return list(dict.fromkeys(n for n in names if n not in _STOP))


def _next_is_capital(tokens: list[str], start: int) -> bool:
    """Whether the first non-connector token from `start` is capitalised ("of the Congo")."""
    for token in tokens[start:]:
        if token.lower() not in _CONNECTORS:
            return token[0].isupper()
    return False


def features(text: str) -> Features:
    """Numbers, names, content stems and the bag of lower-cased tokens of `text`."""
    names = names_in(text)
    name_words = {w for n in names for w in n.split()}
    tokens = [t.lower().removesuffix("'s") for t in _TOKEN.findall(text)]
    content = frozenset(
        _stem(t) for t in tokens
        if t not in _STOP and t not in name_words and not t[0].isdigit() and len(t) > 1
    )
    bag = frozenset(tokens) | frozenset(_stem(t) for t in tokens)
    return Features(tuple(numbers_in(text)), tuple(names), content, bag)


def name_present(name: str, where: Features) -> bool:
    """Whether a name of the claim is in a text: all its words are, or the text names someone with the
    same last word and compatible other words ("Scheele" or "Carl W. Scheele" for "Carl Wilhelm
    Scheele"; but "Sub-Saharan Africa" is not "Northern Africa")."""
    words = [w for w in name.split() if w not in _CONNECTORS]
    if not words:
        return False
    if all(w in where.tokens for w in words):
        return True
    if len(words) < 2 or len(words[-1]) <= 3:
        return False
    others = set(words[:-1])
    if others & _QUALIFIERS:  # "South Sudan" is not "Sudan", "New Guinea" is not "Guinea"
        return False
    for candidate in where.names:
        cwords = [w for w in candidate.split() if w not in _CONNECTORS]
        if cwords and cwords[-1] == words[-1]:
            rest = {w for w in cwords[:-1] if len(w.rstrip(".")) > 1}  # initials prove nothing
            if rest <= others or others <= rest:
                return True
    return False


def _number_present(number: Number, numbers: tuple[Number, ...]) -> bool:
    return any(number.matches(n) for n in numbers)


@dataclass(frozen=True)
class _Unit:
    """One passage sentence read with its passage title."""

    passage: Passage
    sentence: str
    features: Features


def _split(text: str) -> list[str]:
    try:
        return [s for s in split_sentences(text) if s.strip()]
    except CheckerError:  # no Punkt data: a punctuation split still finds the sentences
        return [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def _units(passages: list[Passage]) -> list[_Unit]:
    """Each sentence, and each pair of adjacent sentences (a fact cut by an abbreviation such as
    "C.F. Aver von Welsbach", or a pronoun pointing back), read with the passage title."""
    return [unit for passage in passages for unit in _passage_units(passage.id, passage.text, passage.title or "",
                                                                    passage.source, passage.url or "")]


@functools.lru_cache(maxsize=4096)
def _passage_units(pid: str, text: str, title: str, source: str, url: str) -> tuple[_Unit, ...]:
    # Cached: the same passage comes back for many claims of a request, and across requests.
    passage = Passage(id=pid, text=text, title=title or None, source=source, url=url or None)  # type: ignore[arg-type]
    title = title.strip()
    sentences = _split(text)
    spans = [*sentences, *(f"{a} {b}" for a, b in zip(sentences, sentences[1:]))]
    units = []
    for span in spans:
        context = f"{title}. {span}" if title and title.lower() not in span.lower() else span
        units.append(_Unit(passage, span, features(context)))
    return tuple(units)


def _citation(unit: _Unit) -> Citation:
    p = unit.passage
    quote = unit.sentence if len(unit.sentence) <= QUOTE_CHARS else unit.sentence[: QUOTE_CHARS - 1] + "\u2026"
    return Citation(id=p.id, source=p.source, title=p.title, url=p.url, quote=quote)


def _overlap(claim: Features, unit: Features) -> float:
    if not claim.content:
        return 1.0
    return len(claim.content & unit.content) / len(claim.content)


def heuristic_verdict(claim: Claim, passages: list[Passage]) -> Verdict:
    """Supported / refuted / not enough evidence by comparing the claim's slots with passage sentences."""
    f = features(claim.text)
    units = _units(passages)
    if not units:
        return Verdict(claim_id=claim.id, label="not_enough_evidence", method="heuristic",
                       reason="no passage was retrieved for this claim")
    n_slots = len(f.numbers) + len(f.names)

    best_support: tuple[float, _Unit] | None = None
    for unit in units:
        overlap = _overlap(f, unit.features)
        numbers_ok = all(_number_present(n, unit.features.numbers) for n in f.numbers)
        names_ok = all(name_present(n, unit.features) for n in f.names)
        if n_slots:
            # Several matching names and numbers are strong evidence on their own; the content words
            # then only need to show the same relation loosely ("identified" vs "discovered").
            need = SUPPORT_CONTENT if n_slots == 1 else SUPPORT_CONTENT_MANY_SLOTS
            ok = numbers_ok and names_ok and overlap >= need
        else:
            ok = overlap >= NO_SLOT_CONTENT and len(f.content) >= 3
        if ok and (best_support is None or overlap > best_support[0]):
            best_support = (overlap, unit)
    if best_support is not None:
        return Verdict(claim_id=claim.id, label="supported", method="heuristic", citations=[_citation(best_support[1])],
                       reason="a passage sentence states every number and name of the claim")

    # A refuting sentence must be about what the claim is about: its subject (first name) is in the
    # sentence, or the claim mentions the passage's title ("Finland" for "Bratislava is the capital
    # of Finland", "Radium" for "Jöns Berzelius discovered radium"). The claim's value must then be absent from that whole document: a value
    # found in *another* document (Bishkek in the Kyrgyzstan article) neither supports nor blocks.
    subject = f.names[0] if f.names else None
    docs = _documents(units)
    for unit in units:
        uf = unit.features
        overlap = _overlap(f, uf)
        if overlap < SUPPORT_CONTENT_MANY_SLOTS:
            continue
        title_words = set(_TOKEN.findall((unit.passage.title or "").lower()))
        # The claim mentions the passage's topic, and not only inside a longer name ("Sudan" in "South Sudan").
        about_title = (bool(title_words) and title_words <= f.tokens
                       and not any(title_words < set(n.split()) for n in f.names))
        anchors = {n for n in f.names if set(n.split()) <= title_words}
        if subject is not None and name_present(subject, uf):
            anchors.add(subject)
        if f.names and not anchors and not about_title:
            continue
        if not f.names and not (any(_number_present(n, uf.numbers) for n in f.numbers) or overlap >= NO_SLOT_CONTENT):
            continue  # no name: a number of the claim, or most of its content words, tie it to the sentence
        # Below half the content words, the sentence must also hold another of the claim's values
        # (the same discoverers with another year), so an unrelated sentence of the article does not refute.
        others = (sum(_number_present(n, uf.numbers) for n in f.numbers)
                  + sum(name_present(n, uf) for n in f.names if n not in anchors))
        if overlap < REFUTE_CONTENT and not others:
            continue
        doc = docs[_doc_key(unit.passage)]
        missing_numbers = [n for n in f.numbers if not _number_present(n, doc.numbers)]
        missing_names = [n for n in f.names if n not in anchors and not name_present(n, doc)]
        conflict = _conflict(f, uf, missing_numbers, missing_names)
        if conflict:
            return Verdict(claim_id=claim.id, label="refuted", method="heuristic", citations=[_citation(unit)],
                           reason=f"a passage about the same thing gives {conflict}")
    return Verdict(claim_id=claim.id, label="not_enough_evidence", method="heuristic",
                   reason="no retrieved sentence states or contradicts the claim")


def _doc_key(passage: Passage) -> str:
    """Passages of one document share the part of their id before '#' ('local:doc#3' -> 'local:doc')."""
    return passage.id.split("#", 1)[0]


def _documents(units: list[_Unit]) -> dict[str, Features]:
    """The features of each retrieved document: all its retrieved sentences and its title together."""
    grouped: dict[str, list[_Unit]] = {}
    for unit in units:
        grouped.setdefault(_doc_key(unit.passage), []).append(unit)
    out = {}
    for key, members in grouped.items():
        out[key] = Features(
            numbers=tuple(n for u in members for n in u.features.numbers),
            names=tuple(dict.fromkeys(n for u in members for n in u.features.names)),
            content=frozenset().union(*(u.features.content for u in members)),
            tokens=frozenset().union(*(u.features.tokens for u in members)),
        )
    return out


def _conflict(claim: Features, unit: Features, missing_numbers: list[Number], missing_names: list[str]) -> str | None:
    """Describe a same-kind value in the sentence that replaces a value of the claim, or None."""
    for number in missing_numbers:
        rivals = [n for n in unit.numbers if n.kind == number.kind and not any(n.matches(c) for c in claim.numbers)]
        if rivals:
            return f"{rivals[0].kind} {rivals[0].value:g} where the claim has {number.value:g}"
    if missing_names:
        # A rival is a name the claim does not use (words of the claim's names alone do not count:
        # "Guatemala City" is a rival of "Charlotte Amalie", "Guatemala" is not).
        claim_words = {w for n in claim.names for w in n.split()}
        rivals = [n for n in unit.names if n not in claim.names and not set(n.split()) <= claim_words]
        if rivals:
            return f"{rivals[0]!r} where the claim has {missing_names[0]!r}"
    return None


# --- the model's verdict -------------------------------------------------------------------------


class VerdictAnswer(BaseModel):
    """What the verdict model must answer for one claim."""

    verdict: Label
    passage_ids: list[str] = Field(default_factory=list, description="Ids of the passages the verdict rests on.")
    quote: str = Field(default="", description="The deciding words of the cited passage.")


def _passage_list(passages: list[Passage]) -> str:
    return "\n".join(f"[{p.id}] {(p.title + ': ') if p.title else ''}{p.text[:800]}" for p in passages)


async def llm_verdict(
    claim: Claim, passages: list[Passage], spec: ModelSpec, cache: Cache | None = None
) -> tuple[Verdict, int]:
    """The model's verdict, validated; the heuristic's (with the reason) when the model fails."""
    if not passages:
        return heuristic_verdict(claim, passages), 0
    template = load_prompt(PROMPT_NAME)
    message = HumanMessage(content=template.render(claim=claim.text, passages=_passage_list(passages)))
    try:
        answer = await ainvoke_structured(build_chat_model(spec), [message], VerdictAnswer,
                                          cache=cache, prompt_version=template.version)
    except (ModelOutputError, ModelCallError) as exc:
        fallback = heuristic_verdict(claim, passages)
        return fallback.model_copy(update={"fallback": f"verdict model failed ({type(exc).__name__}); heuristic decided"}), exc.model_calls
    value = answer.value
    by_id = {p.id: p for p in passages}
    cited = [pid for pid in dict.fromkeys(value.passage_ids) if pid in by_id][:MAX_CITATIONS]
    unknown = [pid for pid in value.passage_ids if pid not in by_id]
    if value.verdict != "not_enough_evidence" and not cited:
        fallback = heuristic_verdict(claim, passages)
        why = f"cited unknown passage id(s) {unknown[:3]}" if unknown else "cited no passage"
        return fallback.model_copy(update={"fallback": f"verdict model {why} for {value.verdict!r}; heuristic decided"}), answer.model_calls
    citations = [
        Citation(id=pid, source=by_id[pid].source, title=by_id[pid].title, url=by_id[pid].url,
                 quote=(value.quote or by_id[pid].text)[:QUOTE_CHARS])
        for pid in cited
    ]
    reason = "the verdict model's answer" + (f" (ignored unknown ids {unknown[:3]})" if unknown else "")
    return Verdict(claim_id=claim.id, label=value.verdict, method="llm", citations=citations, reason=reason), answer.model_calls
