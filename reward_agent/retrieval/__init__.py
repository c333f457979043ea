"""Evidence retrieval for the factuality verifier: local FAISS index, web search, model knowledge.

Sources are registered by name (`SOURCES`, `register_source`; see `base.py`).
`open_retrievers(context)` gives one retriever per entry of `context.retrieval.sources`, in order,
skipping nothing: a source that cannot work (no index configured, ddgs or faiss missing, no model
for the `llm` source) still yields a retriever, whose `search` answers `unavailable` with the reason.
Construction is cheap and never loads a model or an index; that happens on the first search.

This package is imported by `reward_agent.context` (for `RetrievalSpec`), so nothing heavy
(numpy, faiss, sentence-transformers, ddgs) is imported at module level here.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

from .base import (
    SOURCES,
    Passage,
    RetrievalResult,
    RetrievalSpec,
    RetrievalStatus,
    Retriever,
    SourceKind,
    SourceSpec,
    register_source,
)

if TYPE_CHECKING:
    from ..cache import Cache
    from ..context import RewardContext

__all__ = [
    "Passage",
    "RetrievalResult",
    "RetrievalSpec",
    "RetrievalStatus",
    "Retriever",
    "SOURCES",
    "SourceKind",
    "SourceSpec",
    "UnavailableRetriever",
    "open_retriever",
    "open_retrievers",
    "register_source",
    "retrieval_cache",
]

log = logging.getLogger(__name__)


def retrieval_cache(context: RewardContext) -> Cache:
    """The project cache of this context (one `Cache` object per path per process)."""
    from ..cache import shared_cache

    return shared_cache(context.cache_path)


class UnavailableRetriever:
    """A source that cannot work at all in this process; every search says why."""

    def __init__(self, source: SourceKind, reason: str) -> None:
        self.source = source
        self.reason = reason

    async def search(self, query: str, k: int = 5) -> RetrievalResult:
        return RetrievalResult(query=query, source=self.source, status="unavailable", error=self.reason)


def open_retriever(kind: SourceKind, spec: RetrievalSpec, context: RewardContext) -> Retriever:
    """The retriever for one registered source. Never raises for a source that is absent or broken."""
    if kind not in SOURCES:  # unregistered since the context was validated
        return UnavailableRetriever(kind, str(SOURCES.unknown(kind)))
    cache: Cache | None
    try:
        cache = retrieval_cache(context)
    except (OSError, sqlite3.Error) as exc:
        # An unusable cache file must not take the source down: searching uncached is still correct.
        log.warning("retrieval cache %r unusable, searching uncached: %s", context.cache_path, exc)
        cache = None
    return SOURCES.get(kind).open(spec, context, cache)


def open_retrievers(context: RewardContext) -> list[Retriever]:
    """One retriever per `context.retrieval.sources` entry, in that order."""
    spec = context.retrieval
    return [open_retriever(kind, spec, context) for kind in spec.sources]
