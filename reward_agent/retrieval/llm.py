"""`LLMKnowledgeRetriever`: the configured model's own knowledge, as the weakest kind of evidence.

When neither a local index nor the web can be reached, a model can still say what it knows about a
claim's topic. Its answer is returned as one passage with source `llm` and the title
"model knowledge (unverified)", so a verdict resting on it says so; the factuality verifier should
rank it below any retrieved document. The model is the one configured for role `claims`, else
`judge`; with neither configured the source is `unavailable`. Prompt: `prompts/llm_evidence.vN.txt`.
"""

from __future__ import annotations

import hashlib
import time

from langchain_core.messages import HumanMessage

from ..cache import Cache
from ..llm import ModelSpec, build_chat_model
from ..prompting import load_prompt
from .base import Passage, RetrievalResult

__all__ = ["LLM_EVIDENCE_TITLE", "LLMKnowledgeRetriever"]

LLM_EVIDENCE_TITLE = "model knowledge (unverified)"
_ROLES = ("claims", "judge")


def _text_of(content: object) -> str:
    """An AIMessage's content as plain text (providers may return a list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in content
                       if isinstance(part, (str, dict)))
    return str(content)


class LLMKnowledgeRetriever:
    """Asks a chat model what it knows about the query. Never raises from `search`."""

    source = "llm"

    def __init__(self, models: dict[str, ModelSpec], cache: Cache | None = None) -> None:
        self.role, self.model_spec = next(((r, models[r]) for r in _ROLES if r in models), (None, None))
        self.cache = cache

    async def search(self, query: str, k: int = 5) -> RetrievalResult:
        """One passage (whatever `k`): the model's 2-3 sentence statement about `query`."""
        started = time.perf_counter()
        if self.model_spec is None:
            return RetrievalResult(query=query, source="llm", status="unavailable",
                                   error=f"no model configured for role {' or '.join(_ROLES)}")
        try:
            template = load_prompt("llm_evidence")
            key = {"model": self.model_spec.identity(), "prompt": template.version, "query": query}
            if self.cache is not None:
                hit = self.cache.get("retrieval:llm", key)
                if hit is not None:
                    result = RetrievalResult.model_validate(hit)
                    return result.model_copy(update={"cached": True, "latency_s": time.perf_counter() - started})
            model = build_chat_model(self.model_spec)
            answer = await model.ainvoke([HumanMessage(content=template.render(query=query))])
            text = _text_of(answer.content).strip()
        except Exception as exc:  # noqa: BLE001 - a failing source is data, never a crash
            return RetrievalResult(query=query, source="llm", status="failed",
                                   error=f"{type(exc).__name__}: {exc}", latency_s=time.perf_counter() - started)
        if not text:
            return RetrievalResult(query=query, source="llm", status="failed", error="the model returned no text",
                                   latency_s=time.perf_counter() - started)
        digest = hashlib.sha256(f"{self.model_spec.model}\n{query}\n{text}".encode()).hexdigest()[:16]
        passage = Passage(id=f"llm:{digest}", text=text, source="llm",
                          title=f"{LLM_EVIDENCE_TITLE}: {self.model_spec.model} ({self.role})")
        result = RetrievalResult(query=query, source="llm", status="ok", passages=[passage],
                                 latency_s=time.perf_counter() - started)
        if self.cache is not None:
            self.cache.put("retrieval:llm", key, result.model_dump(mode="json", exclude={"cached", "latency_s"}))
        return result
