"""When the rule-based planner runs the factuality verifier, and why (the reason goes in the plan).

A prompt is fact-seeking when it asks a knowledge question (who / what / when / where / which /
how many / how much ...), asks to explain, define or describe something, or names a domain of
checkable facts (history, science, geography, ...). It is not when it asks for creative writing
(a poem, a story, "imagine ...") or for a pure transformation of text it supplies (rewrite,
paraphrase, translate, format, proofread, summarise the following): there the facts, if any, are
the user's own, not claims to check against a source.

A fact-seeking prompt also needs an evidence source that can be expected to answer: a local index
(`retrieval.index`), web search when `retrieval.sources` names it explicitly (the default list
names it, but a reward function that silently queries a search engine on every rollout is slow and
not reproducible, so web search is opt-in), or the `llm` source with a `claims` or `judge` model. Without one
the verifier is not chosen and the plan says what to configure. A verifier forced by the request
with no source that answers returns a `skipped` signal with each source's reason.
"""

from __future__ import annotations

import re

from ...context import RewardContext
from ...retrieval.base import SOURCES
from ...types import RewardRequest

_CREATIVE = re.compile(
    r"\b(poem|poems|poetry|haiku|limerick|sonnet|lyrics|song|rap|story|stories|fairy tale|fable|novel|"
    r"screenplay|script|dialogue|joke|jokes|riddle|slogan|tagline|ad copy|advertisement|tweet|"
    r"fiction|fictional|fantasy|role-?play|pretend|imagine|once upon a time|cover letter|"
    r"wedding toast|pitch|product description|rubric|resume|cv|startup|company name|names? for|"
    r"blog post|letter to|email|memo|critique|review of|funny|humorous|casual|rant|planning doc|proposal|"
    r"itinerary|as if you|in the style of|random|riddle)\b",
    re.IGNORECASE,
)
_TRANSFORM = re.compile(
    r"\b(rewrite|re-write|rephrase|paraphrase|translate|reformat|format (?:this|the following|it)|"
    r"proofread|fix the grammar|correct the grammar|edit the following|convert (?:this|the following)|"
    r"summari[sz]e (?:this|the following|the text|the passage|the article below)|summary of the following|"
    r"make (?:it|this) (?:more|less|shorter|longer|sound))\b",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"(?:^|[.!?\n]\s*)(who|what|when|where|which|whose|whom|"
    r"how (?:many|much|long|far|old|tall|big|large|high|deep|fast|did|does|is|are|was|were))\b",
    re.IGNORECASE,
)
# Questions about the reader's life or opinion, or how to do something: not facts to check.
_NOT_FACTUAL_QUESTION = re.compile(
    r"\b(you think|your opinion|your favou?rite|do you like|would you|should i|could you|can you|"
    r"what if|how (?:do|can|should) (?:i|we|you)|recommend|advice|tips|better|best|good way|pros and cons|"
    r"advantages|disadvantages|will (?:it|he|she|they) be|step[- ]by[- ]step|calculate|solve|math problem|"
    r"average of)\b",
    re.IGNORECASE,
)
_ASK_FOR_FACTS = re.compile(
    r"\b(explain|define|definition of|describe|tell me about|facts? about|give (?:me )?an overview|"
    r"is it true|true or false|fact[- ]check|list (?:the|all)|name (?:the|all|three|five|\d+)|"
    r"capital of|population of|in what year|what year|who (?:was|is|were|invented|discovered|wrote|founded))\b",
    re.IGNORECASE,
)
_FACT_DOMAIN = re.compile(
    r"\b(history|historical|century|war|battle|empire|dynasty|revolution|treaty|president|king|queen|"
    r"emperor|science|scientific|physics|chemistry|chemical|element|atomic|biology|species|planet|"
    r"astronomy|geography|country|countries|capital(?! letter)|continent|population|currency|invented|"
    r"discovered|discovery|born|died|founded|nobel|theorem|law of|disease|anatomy|economy|gdp)\b",
    re.IGNORECASE,
)


def fact_seeking(prompt: str) -> tuple[bool, str]:
    """Whether the prompt asks for checkable facts, with the cue that decided (for the plan)."""
    text = prompt.strip()
    if m := _CREATIVE.search(text):
        return False, f"creative or opinion writing ({m.group(0).lower()!r})"
    if m := _TRANSFORM.search(text):
        return False, f"a rewriting or formatting task ({m.group(0).lower()!r})"
    question = _QUESTION.search(text)
    if question and not _NOT_FACTUAL_QUESTION.search(text):
        return True, f"a knowledge question ({question.group(1).lower()!r})"
    if m := _ASK_FOR_FACTS.search(text):
        return True, f"asks for facts ({m.group(0).lower()!r})"
    if (m := _FACT_DOMAIN.search(text)) and not _NOT_FACTUAL_QUESTION.search(text):
        return True, f"about a domain of checkable facts ({m.group(0).lower()!r})"
    return False, "the prompt asks for no checkable facts"


def ready_sources(context: RewardContext) -> tuple[list[str], list[str]]:
    """Sources expected to answer under `context` (no network call), and why the others are not.

    Each source's spec says why it would not answer (`SourceSpec.why_not_ready`)."""
    ready: list[str] = []
    missing: list[str] = []
    for source in context.retrieval.sources:
        if source in SOURCES:
            reason = SOURCES.get(source).why_not_ready(context)
        else:  # unregistered since the context was validated
            reason = str(SOURCES.unknown(source))
        if reason is None:
            ready.append(source)
        else:
            missing.append(f"{source}: {reason}")
    return ready, missing


def applies(request: RewardRequest, context: RewardContext) -> tuple[bool, str]:
    """Rule-based planner test: a fact-seeking prompt and an evidence source to check it against."""
    seeking, why = fact_seeking(request.user_prompt)
    if not seeking:
        return False, why
    ready, missing = ready_sources(context)
    if not ready:
        return False, f"{why}, but no evidence source is configured ({'; '.join(missing) or 'no sources'})"
    return True, f"{why}; evidence from {', '.join(ready)}"
