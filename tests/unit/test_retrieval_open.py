"""open_retriever(s): one retriever per configured source, in order, each saying why it cannot work;
and the LLM-knowledge retriever around a scripted model (its labelling, caching and failures)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reward_agent.cache import Cache
from reward_agent.context import load_context
from reward_agent.llm import ModelSpec
from reward_agent.retrieval import Retriever, open_retriever, open_retrievers
from reward_agent.retrieval.base import RetrievalSpec
from reward_agent.retrieval.llm import LLM_EVIDENCE_TITLE, LLMKnowledgeRetriever
from reward_agent.retrieval.local import LocalRetriever
from reward_agent.retrieval.web import WebRetriever
from scripted_model import scripted


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_open_retrievers_follows_the_configured_order_and_skips_nothing(tmp_path):
    context = load_context(environ={}, cache_path=":memory:",
                           retrieval={"sources": ["llm", "local", "web"], "index": str(tmp_path / "missing")})
    retrievers = open_retrievers(context)
    assert [r.source for r in retrievers] == ["llm", "local", "web"]
    assert isinstance(retrievers[0], LLMKnowledgeRetriever)
    assert isinstance(retrievers[1], LocalRetriever) and isinstance(retrievers[2], WebRetriever)
    assert all(isinstance(r, Retriever) for r in retrievers)


def test_local_without_an_index_is_unavailable_with_the_reason():
    context = load_context(environ={}, cache_path=":memory:")
    local = open_retriever("local", context.retrieval, context)
    result = run(local.search("anything"))
    assert result.status == "unavailable" and "retrieval.index" in (result.error or "")
    assert result.passages == [] and result.source == "local"


def test_local_with_a_missing_index_directory_is_unavailable(tmp_path):
    spec = RetrievalSpec(index=str(tmp_path / "nowhere"))
    result = run(LocalRetriever(spec, Cache(":memory:")).search("q"))
    assert result.status == "unavailable" and "nowhere" in (result.error or "")


def test_local_with_a_corrupt_index_fails_with_the_error(tmp_path):
    (tmp_path / "meta.json").write_text("{not json")
    result = run(LocalRetriever(RetrievalSpec(index=str(tmp_path)), None).search("q"))
    assert result.status == "failed" and "not a valid index meta file" in (result.error or "")


def test_llm_source_without_a_model_is_unavailable():
    context = load_context(environ={}, cache_path=":memory:", retrieval={"sources": ["llm"]})
    [llm] = open_retrievers(context)
    result = run(llm.search("Eiffel Tower"))
    assert result.status == "unavailable" and "claims or judge" in (result.error or "")


def test_retrievers_share_one_cache_per_path(tmp_path):
    context = load_context(environ={}, cache_path=str(tmp_path / "c.sqlite3"), retrieval={"sources": ["web", "local"]})
    web, local = open_retrievers(context)
    assert web.cache is local.cache and web.cache.path == str(tmp_path / "c.sqlite3")


# ---- the LLM-knowledge retriever around a scripted model ---------------------------------------

SPEC = ModelSpec(provider="openai", model="test-model", base_url="http://127.0.0.1:9/v1")


@pytest.fixture
def scripted_build(monkeypatch):
    """Replace build_chat_model in the llm retriever with one returning a scripted model."""
    holder: dict[str, Any] = {}

    def install(*steps: Any) -> Any:
        model = scripted(*steps)
        holder["model"] = model
        monkeypatch.setattr("reward_agent.retrieval.llm.build_chat_model", lambda spec: model)
        return model

    return install


def test_llm_answer_becomes_one_labelled_passage_and_is_cached(scripted_build):
    model = scripted_build("The Eiffel Tower is in Paris. It is about 330 metres tall.")
    cache = Cache(":memory:")
    retriever = LLMKnowledgeRetriever({"claims": SPEC, "judge": SPEC.model_copy(update={"model": "other"})}, cache)
    result = run(retriever.search("Eiffel Tower height", k=5))
    assert result.status == "ok" and len(result.passages) == 1
    passage = result.passages[0]
    assert passage.source == "llm" and passage.id.startswith("llm:")
    assert passage.title.startswith(LLM_EVIDENCE_TITLE) and "test-model" in passage.title
    assert passage.text == "The Eiffel Tower is in Paris. It is about 330 metres tall."
    prompt = model.seen[0][0].content
    assert "Eiffel Tower height" in prompt and "two or three" in prompt
    again = run(retriever.search("Eiffel Tower height", k=5))
    assert again.cached and again.passages == result.passages
    assert len(model.seen) == 1  # the second answer came from the cache


def test_llm_falls_back_to_the_judge_role(scripted_build):
    scripted_build("Known facts.")
    retriever = LLMKnowledgeRetriever({"judge": SPEC}, None)
    result = run(retriever.search("topic"))
    assert result.status == "ok" and "(judge)" in (result.passages[0].title or "")


def test_llm_errors_and_empty_answers_fail_and_are_not_cached(scripted_build):
    model = scripted_build(RuntimeError("server down"), "   ", "Finally an answer.")
    cache = Cache(":memory:")
    retriever = LLMKnowledgeRetriever({"claims": SPEC}, cache)
    first = run(retriever.search("q"))
    assert first.status == "failed" and "server down" in (first.error or "")
    second = run(retriever.search("q"))
    assert second.status == "failed" and "no text" in (second.error or "")
    third = run(retriever.search("q"))
    assert third.status == "ok" and not third.cached
    assert len(model.seen) == 3
