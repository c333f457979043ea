"""The retriever protocol: one interface over every evidence source the factuality verifier uses.

A retriever answers a query with passages, or says why it cannot: `unavailable` (no network,
no index configured), `failed` (the source erred), never an empty "ok" that hides a fault.
Backends: `local` (a FAISS index built by `reward-agent index build`), `web` (DuckDuckGo via
`ddgs`) and `llm` (the model's own knowledge, labelled as the weakest evidence).
"""

from __future__ import annotations

import difflib
from typing import Any, Literal, Protocol, get_args, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import UnknownIdError

SourceKind = Literal["local", "web", "llm"]
RetrievalStatus = Literal["ok", "unavailable", "failed"]


class Passage(BaseModel):
    """One piece of evidence: its text and where it came from, so a verdict can cite it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable id: 'local:<doc>#<chunk>', a URL for web results, 'llm:<hash>'.")
    text: str
    source: SourceKind
    title: str | None = None
    url: str | None = None
    score: float | None = Field(default=None, description="Retriever similarity (higher is closer).")


class RetrievalResult(BaseModel):
    """A retriever's answer to one query."""

    query: str
    source: SourceKind
    status: RetrievalStatus
    passages: list[Passage] = Field(default_factory=list)
    error: str | None = Field(default=None, description="Why the source was unavailable or failed.")
    cached: bool = False
    latency_s: float = 0.0


@runtime_checkable
class Retriever(Protocol):
    """Anything that can look up evidence for a query."""

    source: SourceKind

    async def search(self, query: str, k: int = 5) -> RetrievalResult:
        """Up to `k` passages for `query`; never raises for an absent or failing source."""
        ...


class RetrievalSpec(BaseModel):
    """Which evidence sources a run uses (the `retrieval` field of RewardContext).

    Sources are tried in the order given; `llm` is only used when named, and never counts as
    the default when another source exists.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: tuple[SourceKind, ...] = Field(
        default=("local", "web"), description="Evidence sources in order of preference."
    )
    index: str | None = Field(default=None, description="Directory of a local index (reward-agent index build).")
    embedding_model: str | None = Field(
        default=None, description="sentence-transformers model for queries; default: the one the index was built with."
    )
    k: int = Field(default=5, ge=1, le=50, description="Passages retrieved per claim.")
    web_timeout_s: float = Field(default=8.0, gt=0, description="Per-query timeout of the web backend.")
    web_min_interval_s: float = Field(default=1.0, ge=0, description="Rate limit: seconds between web queries.")

    @field_validator("sources", mode="before")
    @classmethod
    def _known_sources(cls, sources: Any) -> Any:
        """An unknown source fails with a suggestion (`wbe` -> did you mean 'web'?)."""
        known = list(get_args(SourceKind))
        for source in [sources] if isinstance(sources, str) else sources if isinstance(sources, (list, tuple)) else []:
            if isinstance(source, str) and source not in known:
                raise UnknownIdError("retrieval source", source, known, difflib.get_close_matches(source, known, n=1))
        return sources
