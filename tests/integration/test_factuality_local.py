"""The local factuality path end to end: a corpus written here, a real FAISS index built with the
bundled MiniLM encoder, the real graph and the CLI, all offline."""

import json

import pytest
from typer.testing import CliRunner

from reward_agent import score
from reward_agent.cli import app
from reward_agent.context import RewardContext

pytestmark = pytest.mark.integration

DOCS = [
    {"id": "peru", "title": "Peru", "text": "Peru is a country in western South America. The capital of Peru is Lima, "
     "its largest city. Peru borders Ecuador, Colombia, Brazil, Bolivia and Chile."},
    {"id": "ecuador", "title": "Ecuador", "text": "Ecuador is a country in north-western South America. Its capital is "
     "Quito, high in the Andes."},
    {"id": "oxygen", "title": "Oxygen", "text": "Oxygen is the chemical element with atomic number 8. Oxygen was "
     "discovered by Carl Wilhelm Scheele and Joseph Priestley in 1774. It makes up 20.8% of the atmosphere."},
    {"id": "printing-press", "title": "Printing press", "text": "Johannes Gutenberg introduced the movable-type "
     "printing press in Europe around 1440, in Mainz."},
    {"id": "tea", "title": "Tea", "text": "Tea is an aromatic beverage prepared by pouring hot water over the cured "
     "leaves of Camellia sinensis, a shrub native to East Asia."},
]
QUESTION = "What is the capital of Peru?"
CORRECT = "The capital of Peru is Lima."
CORRUPTED = "The capital of Peru is Quito."


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    from reward_agent.retrieval.index_build import build_index

    root = tmp_path_factory.mktemp("factuality")
    corpus = root / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(d) + "\n" for d in DOCS), encoding="utf-8")
    report = build_index(corpus, root / "index", progress=False)
    assert report.added_docs == len(DOCS)
    return root / "index"


def context(index_dir, tmp_path, **kw):
    return RewardContext(retrieval={"sources": ["local"], "index": str(index_dir)},
                         cache_path=str(tmp_path / "cache.sqlite3"), **kw)


def test_graph_ranks_the_correct_answer_above_the_corrupted_one(index_dir, tmp_path):
    result = score({"prompt": QUESTION, "responses": [CORRECT, CORRUPTED]},
                   context(index_dir, tmp_path, disable=("preference",)))
    assert result.plan.verifiers == ["factuality"]
    assert result.plan.reasons["factuality"] == "a knowledge question ('what'); evidence from local"
    sig = result.signals["factuality"]
    assert sig.status == "ok" and sig.scores[0] > sig.scores[1]
    assert result.best_index == 0
    verdicts = {c["text"]: c for c in sig.evidence["claims"].values()}
    assert verdicts[CORRECT]["label"] == "supported" and verdicts[CORRUPTED]["label"] == "refuted"
    for claim in verdicts.values():
        (cite,) = claim["citations"]
        assert cite["id"].startswith("local:peru") and cite["source"] == "local" and "Lima" in cite["quote"]
    assert sig.evidence["sources"]["local"]["ok"] == 2


def test_several_claims_and_a_held_back_fact(index_dir, tmp_path):
    responses = [
        "Oxygen was discovered by Carl Wilhelm Scheele and Joseph Priestley in 1774. Its atomic number is 8.",
        "Oxygen was discovered by Antoine Lavoisier in 1774.",
        "Oxygen was discovered by Carl Wilhelm Scheele in 1790.",
        "Oxygen was first liquefied by Zygmunt Wróblewski in 1883.",  # not in the corpus: unverified
    ]
    result = score({"prompt": "Who discovered oxygen and when?", "responses": responses},
                   context(index_dir, tmp_path, disable=("preference",)))
    scores = result.signals["factuality"].scores
    assert scores[0] == 1.0 and scores[1] == 0.0 and scores[2] == 0.0 and scores[3] == 0.5
    assert result.signals["factuality"].evidence["summaries"][3] == "1 unverified"


def test_cli_score_with_index(index_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("REWARD_AGENT_CACHE", str(tmp_path))
    out = CliRunner().invoke(app, ["score", "--index", str(index_dir), "-p", QUESTION, "-r", CORRECT, "-r", CORRUPTED, "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    fact = result["signals"]["factuality"]
    assert fact["status"] == "ok" and fact["scores"][0] > fact["scores"][1]
    assert result["rewards"][0] > result["rewards"][1]
    assert all(c["citations"] for c in fact["evidence"]["claims"].values())
    # The table view shows the citations in the evidence column.
    table = CliRunner().invoke(app, ["score", "--index", str(index_dir), "-p", QUESTION, "-r", CORRECT, "-r", CORRUPTED])
    assert table.exit_code == 0 and "local:peru" in table.output


def test_cli_index_errors_are_messages(tmp_path):
    out = CliRunner().invoke(app, ["score", "--index", str(tmp_path / "nope"), "-p", QUESTION, "-r", CORRECT])
    assert out.exit_code == 2 and "is not a directory" in " ".join(out.output.split())  # rich wraps lines
    out = CliRunner().invoke(app, ["score", "--sources", "local,carrier-pigeon", "-p", QUESTION, "-r", CORRECT])
    assert out.exit_code == 2 and "carrier-pigeon" in " ".join(out.output.split())


def test_claims_model_path_with_the_embedded_model(index_dir, tmp_path):
    """SmolLM2-135M as the `claims` model: it may or may not answer in the JSON asked for. Either way
    the signal says which path decided (model or recorded fallback) and every citation is a passage
    the retriever returned."""
    from reward_agent.llm import ModelSpec

    # One response, so the slow CPU model makes few calls; a generous limit for a busy machine.
    ctx = context(index_dir, tmp_path, disable=("preference",), verifier_timeout_s=540,
                  models={"claims": ModelSpec(provider="embedded", max_tokens=80)})
    result = score({"prompt": QUESTION, "responses": [CORRUPTED]}, ctx)
    sig = result.signals["factuality"]
    assert sig.status in ("ok", "skipped"), sig.error
    extraction = sig.evidence["extraction"]
    assert extraction["method"] == "llm" or "claims model failed" in extraction["fallback"]
    assert sig.model_calls >= 1
    if sig.status == "ok":
        assert sig.evidence["verdict_method"] == "llm"
        assert sig.evidence["prompt_versions"]["claim_verdict"] == "claim_verdict.v1"
        for claim in sig.evidence["claims"].values():
            assert claim["method"] == "llm" or claim["fallback"]
            for cite in claim.get("citations", []):
                assert cite["id"].startswith("local:")  # only ids of passages that were given
