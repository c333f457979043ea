"""The built-in evidence sources, registered lazily in `base.SOURCES`: local, web, llm.

This module stays light: the planner reads these specs for every fact-seeking prompt, so each
retriever's own module (numpy and FAISS for `local`, ddgs for `web`, the chat-model stack for
`llm`) is imported only when its source is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import RetrievalSpec, Retriever, SourceSpec

if TYPE_CHECKING:
    from ..cache import Cache
    from ..context import RewardContext

__all__ = ["LLM", "LOCAL", "WEB"]


def _open_local(spec: RetrievalSpec, context: RewardContext, cache: Cache | None) -> Retriever:
    from .local import LocalRetriever

    return LocalRetriever(spec, cache)


def _open_web(spec: RetrievalSpec, context: RewardContext, cache: Cache | None) -> Retriever:
    from .web import WebRetriever

    return WebRetriever(spec, cache)


def _open_llm(spec: RetrievalSpec, context: RewardContext, cache: Cache | None) -> Retriever:
    from .llm import LLMKnowledgeRetriever

    return LLMKnowledgeRetriever(dict(context.models), cache)


def _llm_has_a_model(context: RewardContext) -> str | None:
    if context.model_for("claims") is not None or context.model_for("judge") is not None:
        return None
    return "no model for the 'claims' or 'judge' role"


LOCAL = SourceSpec(
    id="local",
    description="A local FAISS index of passages (`reward-agent index build`), searched by embedding similarity.",
    open=_open_local,
    uses_index=True,
)
WEB = SourceSpec(
    id="web",
    description="Web search (DuckDuckGo via ddgs), rate-limited and cached.",
    open=_open_web,
    needs_network=True,
)
LLM = SourceSpec(
    id="llm",
    description="The `claims` (or `judge`) model's own knowledge: the weakest evidence, labelled as such.",
    open=_open_llm,
    check=_llm_has_a_model,
)
