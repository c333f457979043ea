"""The factuality verifier around its retrievers: signal shape, evidence, skips, the graph and the server.

Retrieval here is a small in-test retriever implementing the Retriever protocol (code around a
retriever); the real FAISS index is exercised in tests/integration/test_factuality_local.py.
"""

import asyncio
import re

import pytest
from fastapi.testclient import TestClient

from reward_agent import score
from reward_agent.context import RewardContext
from reward_agent.retrieval.base import Passage, RetrievalResult, Retriever
from reward_agent.serve import ServeSettings, create_app
from reward_agent.types import RewardRequest
from reward_agent.verifiers.base import VERIFIERS
from reward_agent.verifiers.factuality import verifier as verifier_mod
from reward_agent.verifiers.factuality.verifier import check_factuality

DOCS = [
    Passage(id="local:peru#0", source="local", title="Peru", text="Peru is in South America. Its capital is Lima."),
    Passage(id="local:chile#0", source="local", title="Chile", text="The capital of Chile is Santiago."),
]


class WordRetriever:
    """Passages sharing a word with the query; counts the searches it answers."""

    source = "local"

    def __init__(self, docs=DOCS, status="ok"):
        self.docs, self.status, self.queries = docs, status, []

    async def search(self, query: str, k: int = 5) -> RetrievalResult:
        self.queries.append(query)
        if self.status != "ok":
            return RetrievalResult(query=query, source=self.source, status=self.status, error="index missing")
        words = set(re.findall(r"[a-z]+", query.lower()))
        hits = [d for d in self.docs if words & set((d.title or "").lower().split())][:k]
        return RetrievalResult(query=query, source=self.source, status="ok", passages=hits)


def with_retrievers(monkeypatch, *retrievers):
    monkeypatch.setattr(verifier_mod, "_open_retrievers", lambda context: list(retrievers))


REQUEST = RewardRequest(
    prompt="What is the capital of Peru?",
    responses=["The capital of Peru is Lima.", "The capital of Peru is Quito.", "Lima.",
               "The capital of Peru is Lima. Chile's capital is Santiago."],
)


def test_signal_scores_evidence_and_citations(monkeypatch):
    retriever = WordRetriever()
    assert isinstance(retriever, Retriever)
    with_retrievers(monkeypatch, retriever)
    sig = asyncio.run(check_factuality(REQUEST, RewardContext()))
    assert sig.status == "ok" and sig.verifier == "factuality"
    assert sig.scores == [1.0, 0.0, None, 1.0]  # "Lima." states no checkable claim: None, not 0 or 1
    ev = sig.evidence
    assert ev["summaries"][0] == "1 supported (local:peru#0)"
    assert ev["summaries"][1] == "1 refuted (local:peru#0)"
    assert ev["summaries"][2] == "no checkable claim"
    assert ev["per_response"][1]["counts"] == {"supported": 0, "refuted": 1, "not_enough_evidence": 0, "unchecked": 0}
    refuted = ev["claims"][ev["per_response"][1]["claims"][0]["id"]]
    assert refuted["label"] == "refuted" and refuted["citations"][0]["quote"] == "Its capital is Lima."
    assert refuted["citations"][0]["title"] == "Peru" and refuted["citations"][0]["source"] == "local"
    assert ev["sources"]["local"]["status"] == "ok" and ev["extraction"]["method"] == "sentences"
    assert ev["verdict_method"] == "heuristic" and ev["checked"] == 3 and ev["unchecked"] == 0
    # The claim shared by responses 0 and 3 was searched once.
    assert len(retriever.queries) == 3 and len(set(retriever.queries)) == 3


def test_claims_are_capped_disagreement_first(monkeypatch):
    with_retrievers(monkeypatch, WordRetriever())
    monkeypatch.setattr(verifier_mod, "MAX_CLAIMS", 1)
    request = RewardRequest(prompt="Capital of Peru?", responses=["The capital of Peru is Lima. Peru is in South America.",
                                                                    "The capital of Peru is Quito. Peru is in South America."])
    sig = asyncio.run(check_factuality(request, RewardContext()))
    assert sig.evidence["checked"] == 1 and sig.evidence["unchecked"] == 2
    # The one claim checked is one the responses disagree on, not the shared one.
    (checked,) = sig.evidence["claims"].values()
    assert "Peru is in South America" not in checked["text"]
    assert any(c["label"] == "unchecked" for c in sig.evidence["per_response"][0]["claims"])


def test_no_source_answers_means_skipped_with_reasons(monkeypatch):
    with_retrievers(monkeypatch, WordRetriever(status="unavailable"))
    sig = asyncio.run(check_factuality(REQUEST, RewardContext()))
    assert sig.status == "skipped" and sig.scores is None
    assert "no evidence source answered" in sig.error and "index missing" in sig.error


def test_real_retrievers_without_an_index_skip(tmp_path):
    # The retrieval package's own retrievers: no index configured -> `unavailable` -> skipped.
    ctx = RewardContext(retrieval={"sources": ["local"]}, cache_path=str(tmp_path / "c.sqlite3"))
    sig = asyncio.run(check_factuality(REQUEST, ctx))
    assert sig.status == "skipped" and "local" in sig.error and "retrieval.index" in sig.error


def test_no_claims_means_skipped(monkeypatch):
    with_retrievers(monkeypatch, WordRetriever())
    sig = asyncio.run(check_factuality(RewardRequest(prompt="Hi?", responses=["Hello!", "Yes."]), RewardContext()))
    assert sig.status == "skipped" and sig.error == "no checkable factual claim in any response"


def test_a_raising_retriever_is_a_failed_source_not_a_crash(monkeypatch):
    class Broken:
        source = "web"

        async def search(self, query, k=5):
            raise RuntimeError("boom")

    with_retrievers(monkeypatch, Broken(), WordRetriever())
    sig = asyncio.run(check_factuality(REQUEST, RewardContext()))
    assert sig.status == "ok" and sig.evidence["sources"]["web"]["status"] == "unavailable"
    assert "boom" in sig.evidence["sources"]["web"]["errors"][0]


def test_registered_and_runs_in_the_graph(monkeypatch, tmp_path):
    with_retrievers(monkeypatch, WordRetriever())
    assert VERIFIERS.get("factuality").node == "check_factuality"
    ctx = RewardContext(disable=("preference",), retrieval={"sources": ["local"], "index": str(tmp_path)})
    result = score({"prompt": "What is the capital of Peru?",
                    "responses": ["The capital of Peru is Lima.", "The capital of Peru is Quito."]}, ctx)
    assert result.plan.verifiers == ["factuality"] and "knowledge question" in result.plan.reasons["factuality"]
    assert result.rewards == [1.0, 0.0] and result.best_index == 0


def test_forced_without_sources_is_skipped_in_the_graph(tmp_path):
    ctx = RewardContext(disable=("preference",), retrieval={"sources": ["local"]}, cache_path=str(tmp_path / "c.sqlite3"))
    result = score({"prompt": "Who was Ada Lovelace?", "responses": ["Ada Lovelace was a mathematician."],
                    "verifiers": ["factuality"]}, ctx)
    sig = result.signals["factuality"]
    assert sig.status == "skipped" and result.rewards == [None]  # no fake score


@pytest.mark.parametrize("disabled", [(), ("factuality",)])
def test_served_at_v1_verify_factuality(monkeypatch, disabled):
    with_retrievers(monkeypatch, WordRetriever())
    app = create_app(RewardContext(disable=disabled), ServeSettings())
    with TestClient(app) as client:
        response = client.post("/v1/verify/factuality", json=REQUEST.model_dump(exclude_none=True))
    if disabled:
        assert response.status_code == 403
    else:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "ok" and response.json()["scores"] == [1.0, 0.0, None, 1.0]
