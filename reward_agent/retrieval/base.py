"""The retriever protocol: one interface over every evidence source the factuality verifier uses.

A retriever answers a query with passages, or says why it cannot: `unavailable` (no network,
no index configured), `failed` (the source erred), never an empty "ok" that hides a fault.

Sources are a registry (`SOURCES`, below): a `SourceSpec` says how to open the source's
retriever and what callers need to know about it without opening it. Built in (`sources.py`):
`local` (a FAISS index built by `reward-agent index build`), `web` (DuckDuckGo via `ddgs`) and
`llm` (the model's own knowledge, labelled as the weakest evidence). `register_source` adds one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..registry import Registry

if TYPE_CHECKING:  # annotations only: `context` imports this module (for RetrievalSpec)
    from ..cache import Cache
    from ..context import RewardContext

# The id of a registered source (`SOURCES`). A plain string, so that passages and results of a
# registered source type-check; names in a configuration are checked against the registry.
SourceKind = str
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
        """A source no one registered fails with a suggestion (`wbe` -> did you mean 'web'?)."""
        for source in [sources] if isinstance(sources, str) else sources if isinstance(sources, (list, tuple)) else []:
            if isinstance(source, str) and source not in SOURCES:
                raise SOURCES.unknown(source)
        return sources


OpenSource = Callable[[RetrievalSpec, "RewardContext", "Cache | None"], Retriever]
CheckSource = Callable[["RewardContext"], "str | None"]


@dataclass(frozen=True)
class SourceSpec:
    """An evidence source a configuration can name in `retrieval.sources`.

    - `open(spec, context, cache)`: the source's retriever (`cache` is None when the project cache
      is unusable). It must be cheap and must not raise for a source that cannot work: loading
      models or indexes waits for the first search, which answers `unavailable` with the reason.
    - `uses_index`: the source reads `retrieval.index`; without one it is not expected to answer,
      and `--index` given without `--sources` runs only the sources that use it.
    - `needs_network`: the source queries a remote service. It is opt-in: expected to answer only
      when `retrieval.sources` names it explicitly (a default list that names it keeps runs
      offline and reproducible).
    - `check(context)`: any further reason the source will not answer under `context` (no model
      for its role, say), or None. Like the two flags it is read by the rule-based planner, so it
      must not call the network or load anything.
    """

    id: str
    description: str
    open: OpenSource
    uses_index: bool = False
    needs_network: bool = False
    check: CheckSource | None = None

    def why_not_ready(self, context: RewardContext) -> str | None:
        """Why this source is not expected to answer under `context` (no network call), or None."""
        retrieval = context.retrieval
        if self.uses_index and not retrieval.index:
            return "no retrieval.index"
        if self.needs_network and "sources" not in retrieval.model_fields_set:
            return "opt-in (name it in retrieval.sources)"
        return self.check(context) if self.check is not None else None


SOURCES: Registry[SourceSpec] = Registry("retrieval source")

# Built-ins, imported on first use (their retrievers' own modules load later still, when opened).
SOURCES.register("local", "reward_agent.retrieval.sources:LOCAL")
SOURCES.register("web", "reward_agent.retrieval.sources:WEB")
SOURCES.register("llm", "reward_agent.retrieval.sources:LLM")


def register_source(spec: SourceSpec, *, replace: bool = False) -> None:
    """Make an evidence source nameable in `retrieval.sources` (contexts built after this call)."""
    SOURCES.register(spec.id, spec, replace=replace)
