"""Claims: the checkable factual statements of N responses, each checked once.

Two ways to read claims, and the result records which one ran:

- `llm`: the model serving the `claims` role lists the atomic factual claims of every response in
  one structured call per response (cached by model, messages and prompt version);
- `sentences`: the offline fallback. Responses are split into sentences, and a sentence is kept when
  it looks like a checkable statement of fact: declarative, long enough, not hedged, not about the
  writer, and carrying checkable content (a number or date, a proper noun, or an "is / was / has"
  statement). When a configured model fails, this fallback decides and the reason is recorded.

Claims are deduplicated across responses by the hash of their normalised text, so a claim shared by
20 answers is retrieved and judged once; each claim remembers which responses state it.
`order_by_disagreement` puts claims that not every response makes first: where answers disagree is
where the reward is decided, so those claims are checked before any cap on claims applies.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from ...cache import Cache
from ...errors import CheckerError, ModelCallError, ModelOutputError
from ...llm import ModelSpec, build_chat_model
from ...structured import ainvoke_structured
from ...prompting import load_prompt
from ...text import split_sentences

PROMPT_NAME = "claims_extract"
ClaimMethod = Literal["llm", "sentences"]

# A claim shorter than this many words is rarely checkable on its own ("Yes.", "Lima.").
MIN_CLAIM_WORDS = 4
# Longer "sentences" are usually run-ons or lists; they are still checked, but cut for evidence.
MAX_CLAIM_CHARS = 400

_WORD = re.compile(r"[A-Za-z0-9][\w'-]*")
_NUMBER = re.compile(r"\d")
# Hedges and opinion markers: a sentence that carries one asserts nothing a source can confirm.
_HEDGES = re.compile(
    r"\b(i think|i believe|i guess|i feel|in my (?:opinion|view)|maybe|perhaps|possibly|might|"
    r"could be|probably|not sure|i'm not|i am not|arguably|it seems|seems to|hopefully|"
    r"beautiful|wonderful|amazing|delicious|boring|favorite|favourite)\b",
    re.IGNORECASE,
)
# Sentences about the writer or the reader, or chat filler, are not facts about the world.
_PERSONAL_START = re.compile(
    r"^(i|i'm|i'd|i'll|i've|my|we|we're|let me|let's|you|your|sure|certainly|of course|here is|"
    r"here are|here's|thanks|thank you|hope|please|note|great question|okay|ok)\b",
    re.IGNORECASE,
)
_COPULA = re.compile(
    r"\b(is|was|are|were|has|had|have|became|becomes|contains|consists|lies|located|founded|"
    r"discovered|invented|born|died|wrote|won|named|called|known|made|used|built|signed)\b",
    re.IGNORECASE,
)
# Sentence-initial words that are capitalised only because they start the sentence.
_FUNCTION_WORDS = frozenset(
    "a an the it its this that these those there they he she in on at of for by from with as to "
    "and or but if when while after before during however also its our their his her".split()
)
_BULLET = re.compile(r"^\s*(?:[-*+\u2022]|\d+[.)])\s+")
_MARKUP = re.compile(r"[*_`#>]+")


class Claim(BaseModel):
    """One checkable statement and the responses that make it."""

    id: str = Field(description="sha256 prefix of the normalised text: equal claims share an id.")
    text: str
    responses: list[int] = Field(description="Indices of the responses that state this claim.")


@dataclass
class ClaimSet:
    """The claims of all responses, how they were read, and what it cost."""

    claims: list[Claim]
    per_response: list[list[str]]  # claim ids in the order each response states them
    method: ClaimMethod
    fallback: str | None = None
    model_calls: int = 0
    prompt_version: str | None = None
    notes: list[str] = field(default_factory=list)

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "claims": len(self.claims), "model_calls": self.model_calls}
        if self.fallback:
            out["fallback"] = self.fallback
        if self.prompt_version:
            out["prompt_version"] = self.prompt_version
        if self.notes:
            out["notes"] = self.notes[:10]
        return out


class ExtractedClaims(BaseModel):
    """What the claims model must answer for one response."""

    claims: list[str] = Field(
        description="Each atomic, self-contained factual claim of the response, in its own words."
    )


def normalise(text: str) -> str:
    """Lower case, markup and outer punctuation removed, spaces collapsed: the identity of a claim."""
    text = _MARKUP.sub("", text).lower()
    text = " ".join(text.split())
    return text.strip(" .!;:,\"'")


def claim_id(text: str) -> str:
    """A stable id for a claim: equal normalised texts give equal ids."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:12]


def _sentences(response: str) -> list[str]:
    """Sentences of a response: lines first (bullets, headings), then Punkt within each line.

    Without the Punkt data, a punctuation split is used instead (good enough to find statements;
    the constraint checkers, which must count sentences exactly, do not fall back like this).
    """
    out: list[str] = []
    for line in response.splitlines():
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        try:
            parts = split_sentences(line)
        except CheckerError:
            parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", line)
        out.extend(p.strip() for p in parts if p.strip())
    return out


def _has_proper_noun(sentence: str) -> bool:
    """A capitalised word that is not merely the sentence's first word (or is, but not a function word)."""
    words = _WORD.findall(sentence)
    for i, word in enumerate(words):
        if word[0].isupper() and (i > 0 or word.lower() not in _FUNCTION_WORDS):
            if word.lower() not in ("i",):
                return True
    return False


def is_checkable(sentence: str) -> tuple[bool, str]:
    """Whether a sentence states a checkable fact, and if not, why (for tests and notes)."""
    text = _MARKUP.sub("", sentence).strip()
    if not text:
        return False, "empty"
    if text.endswith("?"):
        return False, "a question"
    if text.endswith(":"):
        return False, "a heading or lead-in"
    words = _WORD.findall(text)
    if len(words) < MIN_CLAIM_WORDS:
        return False, "too short"
    if _PERSONAL_START.match(text):
        return False, "about the writer or reader"
    if _HEDGES.search(text):
        return False, "hedged or opinion"
    if text.endswith("!"):
        return False, "an exclamation"
    if _NUMBER.search(text) or _has_proper_noun(text) or _COPULA.search(text):
        return True, "checkable"
    return False, "no checkable content (number, name or is/was/has statement)"


def sentence_claims(response: str) -> list[str]:
    """The checkable sentences of one response (the offline claim extractor)."""
    out = []
    for sentence in _sentences(response):
        ok, _ = is_checkable(sentence)
        if ok:
            out.append(_MARKUP.sub("", sentence).strip()[:MAX_CLAIM_CHARS])
    return out


def dedupe(per_response_texts: list[list[str]]) -> tuple[list[Claim], list[list[str]]]:
    """Merge equal claims across responses (by normalised text); keep first-seen order."""
    claims: dict[str, Claim] = {}
    per_response: list[list[str]] = []
    for i, texts in enumerate(per_response_texts):
        ids: list[str] = []
        for text in texts:
            if not normalise(text):
                continue
            cid = claim_id(text)
            if cid not in claims:
                claims[cid] = Claim(id=cid, text=text.strip(), responses=[])
            if i not in claims[cid].responses:
                claims[cid].responses.append(i)
            if cid not in ids:
                ids.append(cid)
        per_response.append(ids)
    return list(claims.values()), per_response


def order_by_disagreement(claims: list[Claim], n_responses: int) -> list[Claim]:
    """Claims that only some responses make first (fewest backers first), shared claims last.

    With N = 1 there is no disagreement and the order is unchanged. The sort is stable, so claims
    with the same number of backers keep their first-seen order.
    """
    if n_responses <= 1:
        return list(claims)
    return sorted(claims, key=lambda c: (len(c.responses) >= n_responses, len(c.responses)))


async def _llm_claims(
    prompt: str, responses: list[str], spec: ModelSpec, cache: Cache | None
) -> tuple[list[list[str]], int, str]:
    """One structured call per distinct response (equal responses are read once)."""
    template = load_prompt(PROMPT_NAME)
    model = build_chat_model(spec)
    calls = 0
    by_text: dict[str, list[str]] = {}
    for response in dict.fromkeys(responses):
        messages = [
            SystemMessage(content=template.render(question=prompt)),
            HumanMessage(content=response),
        ]
        answer = await ainvoke_structured(
            model, messages, ExtractedClaims, cache=cache, prompt_version=template.version
        )
        calls += answer.model_calls
        by_text[response] = [c.strip()[:MAX_CLAIM_CHARS] for c in answer.value.claims if c.strip()]
    return [by_text[r] for r in responses], calls, template.version


async def extract_claims(
    prompt: str, responses: list[str], spec: ModelSpec | None = None, cache: Cache | None = None
) -> ClaimSet:
    """The deduplicated claims of all responses: by the `claims` model when given, else by sentences."""
    if spec is not None:
        try:
            texts, calls, version = await _llm_claims(prompt, responses, spec, cache)
        except (ModelOutputError, ModelCallError) as exc:
            claims, per_response = dedupe([sentence_claims(r) for r in responses])
            return ClaimSet(claims, per_response, "sentences", model_calls=exc.model_calls,
                            fallback=f"claims model failed ({type(exc).__name__}: {str(exc)[:300]}); "
                            "sentence extraction decided")
        claims, per_response = dedupe(texts)
        return ClaimSet(claims, per_response, "llm", model_calls=calls, prompt_version=version)
    claims, per_response = dedupe([sentence_claims(r) for r in responses])
    return ClaimSet(claims, per_response, "sentences")
