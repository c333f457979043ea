"""The retrieval-source registry: built-ins as specs, a registered source used by name end to end."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reward_agent import SourceSpec, register_source, score
from reward_agent.context import RewardContext
from reward_agent.errors import ConfigError, UnknownIdError
from reward_agent.retrieval import SOURCES, open_retrievers
from reward_agent.retrieval.base import Passage, RetrievalResult, RetrievalSpec
from reward_agent.types import RewardRequest
from reward_agent.verifiers.factuality.applies import ready_sources
from reward_agent.verifiers.factuality.verifier import check_factuality

FACTS = {
    "peru": "Peru is in South America. Its capital is Lima.",
    "chile": "The capital of Chile is Santiago.",
}


class DictRetriever:
    """Evidence from a dict: the passages whose key is a word of the query."""

    source = "notes"

    def __init__(self, facts: dict[str, str]) -> None:
        self.facts = facts

    async def search(self, query: str, k: int = 5) -> RetrievalResult:
        words = set(re.findall(r"[a-z]+", query.lower()))
        passages = [Passage(id=f"notes:{key}", text=text, source=self.source, title=key.title())
                    for key, text in self.facts.items() if key in words][:k]
        return RetrievalResult(query=query, source=self.source, status="ok", passages=passages)


NOTES = SourceSpec(id="notes", description="facts kept in a dict", open=lambda spec, context, cache: DictRetriever(FACTS))


@pytest.fixture
def notes():
    register_source(NOTES)
    yield NOTES
    SOURCES.unregister("notes")


def test_builtins_are_registered_specs():
    assert list(SOURCES) == ["local", "web", "llm"]
    assert [s for s in SOURCES if SOURCES.get(s).uses_index] == ["local"]
    assert [s for s in SOURCES if SOURCES.get(s).needs_network] == ["web"]


def test_an_unregistered_source_is_a_did_you_mean_error():
    with pytest.raises(UnknownIdError, match="unknown retrieval source 'nots'"):
        RetrievalSpec(sources=["local", "nots"])
    with pytest.raises(ConfigError, match="already registered"):
        register_source(SourceSpec(id="web", description="again", open=NOTES.open))


def test_readiness_comes_from_each_spec(notes):
    context = RewardContext(retrieval={"sources": ["notes", "local", "llm"]})
    assert ready_sources(context) == (["notes"], ["local: no retrieval.index",
                                                  "llm: no model for the 'claims' or 'judge' role"])
    # The default list names web, but web is opt-in: named explicitly it is ready.
    assert ready_sources(RewardContext())[1] == ["local: no retrieval.index", "web: opt-in (name it in retrieval.sources)"]
    assert ready_sources(RewardContext(retrieval={"sources": ["web"]})) == (["web"], [])


def test_factuality_retrieves_evidence_from_a_registered_source_by_name(notes):
    context = RewardContext(retrieval={"sources": ["notes"]}, disable=("preference",))
    [retriever] = open_retrievers(context)
    assert isinstance(retriever, DictRetriever)
    request = {"prompt": "What is the capital of Peru?",
               "responses": ["The capital of Peru is Lima.", "The capital of Peru is Quito."]}
    signal = asyncio.run(check_factuality(RewardRequest.model_validate(request), context))
    assert signal.status == "ok" and signal.scores == [1.0, 0.0]
    assert signal.evidence["sources"]["notes"]["status"] == "ok"
    assert signal.evidence["summaries"] == ["1 supported (notes:peru)", "1 refuted (notes:peru)"]
    # The planner finds it ready, so the whole graph runs factuality on it without being forced.
    result = score(request, context)
    assert result.plan.verifiers == ["factuality"] and "evidence from notes" in result.plan.reasons["factuality"]
    assert result.rewards == [1.0, 0.0]


def test_the_cli_takes_registered_source_names(notes, monkeypatch, tmp_path):
    from reward_agent.cli import app

    monkeypatch.setenv("REWARD_AGENT_DISABLE", "preference")  # keeps the test off the embedded RM
    monkeypatch.setenv("REWARD_AGENT_CACHE", str(tmp_path))

    out = CliRunner().invoke(app, ["score", "--sources", "notes", "--json", "-p", "What is the capital of Chile?",
                                   "-r", "The capital of Chile is Santiago.", "-r", "The capital of Chile is Lima."])
    assert out.exit_code == 0, out.output
    assert '"notes:chile"' in out.output
    bad = CliRunner().invoke(app, ["score", "--sources", "local,nots", "-p", "Q?", "-r", "A."])
    assert bad.exit_code == 2 and "Did you mean 'notes'?" in " ".join(bad.output.split())



@pytest.mark.integration  # a fresh interpreter (~6 s): `make test` runs it, test-fast does not
def test_the_extending_example_runs():
    """examples/extending/custom_source.py (shown in the README's Extending section) as users run it."""
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = subprocess.run([sys.executable, str(repo / "examples" / "extending" / "custom_source.py")],
                         capture_output=True, text=True, env=env, cwd=repo, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["plan: a knowledge question ('what'); evidence from facts",
                                       "rewards: [1.0, 0.0]",
                                       "evidence: ['1 supported (facts:peru)', '1 refuted (facts:peru)']"]
