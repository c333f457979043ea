"""A real local index: the bundled MiniLM, real FAISS (exact and HNSW), appends, reopening, the CLI.

The corpus is 30 short passages on unrelated topics; each query paraphrases one of them, so the
right passage must rank first for the index to be of any use to the factuality verifier.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from reward_agent.cache import Cache
from reward_agent.cli import app
from reward_agent.retrieval.base import RetrievalSpec
from reward_agent.retrieval.corpus import CorpusError
from reward_agent.retrieval.index_build import IndexBuildError, build_index, read_meta
from reward_agent.retrieval.local import LocalRetriever, open_index

pytestmark = pytest.mark.integration

TOPICS = {
    "eiffel": "The Eiffel Tower in Paris was completed in 1889 and is about 330 metres tall.",
    "photosynthesis": "Photosynthesis lets green plants turn sunlight, water and carbon dioxide into glucose and oxygen.",
    "everest": "Mount Everest, on the border of Nepal and China, is the highest mountain above sea level at 8,849 metres.",
    "amazon": "The Amazon rainforest covers much of the Amazon basin in South America and is the largest tropical forest.",
    "penicillin": "Alexander Fleming discovered penicillin in 1928 when mould killed bacteria in a Petri dish.",
    "moon": "Apollo 11 landed on the Moon in July 1969, and Neil Armstrong was the first person to walk on it.",
    "dna": "DNA is a double helix; its structure was described by Watson and Crick in 1953 using Franklin's X-ray images.",
    "chess": "In chess, the bishop moves diagonally and the knight moves in an L shape, jumping over other pieces.",
    "coffee": "Coffee beans are the roasted seeds of the Coffea plant; Ethiopia is often named as coffee's birthplace.",
    "volcano": "Mount Vesuvius erupted in 79 AD and buried the Roman towns of Pompeii and Herculaneum in ash.",
    "python": "Python is a programming language created by Guido van Rossum and first released in 1991.",
    "honeybee": "Honeybees communicate the direction of flowers to their hive mates with a waggle dance.",
    "titanic": "The RMS Titanic sank in the North Atlantic in April 1912 after striking an iceberg on its maiden voyage.",
    "jupiter": "Jupiter is the largest planet in the Solar System and has a storm called the Great Red Spot.",
    "mozart": "Wolfgang Amadeus Mozart, born in Salzburg in 1756, composed more than 600 works including operas.",
    "greatwall": "The Great Wall of China was built over centuries to protect Chinese states from northern invasions.",
    "olympics": "The modern Olympic Games were first held in Athens in 1896, revived by Pierre de Coubertin.",
    "water": "Pure water boils at 100 degrees Celsius at sea level and freezes at 0 degrees Celsius.",
    "sahara": "The Sahara is the largest hot desert in the world, stretching across North Africa.",
    "internet": "ARPANET, funded by the US Department of Defense, was a precursor of the modern internet in 1969.",
    "shakespeare": "William Shakespeare wrote Hamlet, Macbeth and Romeo and Juliet and was born in Stratford-upon-Avon.",
    "blackhole": "A black hole is a region of spacetime where gravity is so strong that not even light can escape.",
    "vaccines": "Edward Jenner developed the smallpox vaccine in 1796 using material from cowpox lesions.",
    "pyramids": "The Great Pyramid of Giza was built for the pharaoh Khufu around 2560 BC.",
    "electricity": "Benjamin Franklin flew a kite in a thunderstorm to show that lightning is electrical.",
    "whales": "The blue whale is the largest animal known to have ever lived, reaching about 30 metres in length.",
    "bitcoin": "Bitcoin, a decentralised digital currency, was introduced in 2009 by the pseudonymous Satoshi Nakamoto.",
    "marathon": "The marathon race distance is 42.195 kilometres, standardised after the 1908 London Olympics.",
    "tea": "Tea is made by steeping cured leaves of Camellia sinensis in hot water; it originated in China.",
    "relativity": "Albert Einstein published the special theory of relativity in 1905, including E = mc squared.",
}

QUERIES = {
    "How tall is the Eiffel Tower?": "eiffel",
    "Who discovered penicillin?": "penicillin",
    "When did humans first walk on the Moon?": "moon",
    "What is the highest mountain in the world?": "everest",
    "Which ship hit an iceberg in 1912?": "titanic",
    "Who created the Python programming language?": "python",
    "How long is a marathon?": "marathon",
    "What is the biggest animal ever?": "whales",
}

NEW_TOPICS = {
    "octopus": "An octopus has three hearts and blue blood, and it can change colour to hide from predators.",
    "saturn": "Saturn's rings are made mostly of ice particles with some rocky debris and dust.",
}


def write_corpus(path: Path, topics: dict[str, str]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for doc_id, text in topics.items():
            fh.write(json.dumps({"id": doc_id, "text": text, "title": doc_id.title(),
                                 "url": f"https://kb.example/{doc_id}"}) + "\n")
    return path


def search(index_dir: Path, query: str, k: int = 3, cache: Cache | None = None):
    retriever = LocalRetriever(RetrievalSpec(index=str(index_dir)), cache)
    return asyncio.run(retriever.search(query, k=k))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kb")
    build_index(write_corpus(root / "corpus.jsonl", TOPICS), root / "index", progress=False)
    return root / "index"


def test_index_files_and_meta(built):
    meta = read_meta(built)
    assert meta.count == 30 and meta.doc_count == 30 and meta.dim == 384
    assert meta.model == "bundled:all-MiniLM-L6-v2" and meta.index_type == "flat_ip"
    vectors = np.load(built / "vectors" / "shard-00000.npy", mmap_mode="r")
    assert vectors.shape == (30, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)  # normalised: IP = cosine
    assert len(np.load(built / "offsets.npy")) == 30


@pytest.mark.parametrize(("query", "expected"), list(QUERIES.items()))
def test_the_right_passage_ranks_first(built, query, expected):
    result = search(built, query)
    assert result.status == "ok", result.error
    top = result.passages[0]
    assert top.id == f"local:{expected}#0", [(p.id, p.score) for p in result.passages]
    assert top.text == TOPICS[expected] and top.title == expected.title() and top.url.endswith(expected)
    assert top.source == "local" and top.score > result.passages[1].score


def test_results_are_cached_per_index_content(built, tmp_path):
    cache = Cache(tmp_path / "cache.sqlite3")
    first = search(built, "Who wrote Hamlet?", cache=cache)
    second = search(built, "Who wrote Hamlet?", cache=cache)
    assert not first.cached and second.cached and second.passages == first.passages
    assert first.passages[0].id == "local:shakespeare#0"
    namespaces = list(cache.stats.by_namespace)
    assert namespaces == [f"retrieval:local:{read_meta(built).fingerprint[:16]}"]


def test_append_adds_only_new_documents_and_reopening_sees_them(tmp_path):
    corpus = write_corpus(tmp_path / "corpus.jsonl", TOPICS)
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, progress=False)
    before = read_meta(index_dir)
    old_vectors = np.load(index_dir / "vectors" / "shard-00000.npy").copy()
    cache = Cache(tmp_path / "cache.sqlite3")
    assert search(index_dir, "How many hearts does an octopus have?", cache=cache).passages[0].id != "local:octopus#0"

    # The second corpus repeats every old document and adds two new ones.
    bigger = write_corpus(tmp_path / "bigger.jsonl", {**TOPICS, **NEW_TOPICS})
    report = build_index(bigger, index_dir, append=True, progress=False)
    assert (report.added_passages, report.added_docs, report.skipped_docs) == (2, 2, 30)
    after = read_meta(index_dir)
    assert after.count == 32 and after.doc_count == 32 and after.fingerprint != before.fingerprint
    assert [s["count"] for s in after.shards] == [30, 2]
    # Old vectors were not re-embedded (the first shard is untouched).
    assert np.array_equal(np.load(index_dir / "vectors" / "shard-00000.npy"), old_vectors)

    # A new retriever in the same process re-opens the changed index (meta.json mtime changed) and
    # the changed fingerprint means the earlier cached answer is not served.
    result = search(index_dir, "How many hearts does an octopus have?", cache=cache)
    assert result.passages[0].id == "local:octopus#0" and not result.cached
    assert open_index(index_dir).meta.count == 32

    # Appending the same corpus again changes nothing.
    again = build_index(bigger, index_dir, append=True, progress=False)
    assert again.added_passages == 0 and again.skipped_docs == 32 and read_meta(index_dir).count == 32


def test_hnsw_index_above_the_threshold_and_switching_on_append(tmp_path):
    index_dir = tmp_path / "index"
    build_index(write_corpus(tmp_path / "a.jsonl", TOPICS), index_dir, progress=False, exact_max=31)
    assert read_meta(index_dir).index_type == "flat_ip"
    # 32 passages > 31: the append rebuilds the index as HNSW from both shards, without re-embedding.
    build_index(write_corpus(tmp_path / "b.jsonl", NEW_TOPICS), index_dir, append=True, progress=False, exact_max=31)
    meta = read_meta(index_dir)
    assert meta.index_type == "hnsw_flat_ip" and meta.hnsw["M"] > 0 and meta.count == 32
    for query, expected in [*QUERIES.items(), ("Why are Saturn's rings icy?", "saturn")]:
        assert search(index_dir, query).passages[0].id == f"local:{expected}#0", query


def test_append_with_another_model_is_refused(built, tmp_path):
    extra = write_corpus(tmp_path / "x.jsonl", NEW_TOPICS)
    with pytest.raises(IndexBuildError, match="was built with model 'bundled:all-MiniLM-L6-v2'"):
        build_index(extra, built, model="some-other/model", append=True, progress=False)
    assert read_meta(built).count == 30


def test_building_over_an_existing_index_needs_overwrite(built, tmp_path):
    with pytest.raises(IndexBuildError, match="already holds an index"):
        build_index(write_corpus(tmp_path / "x.jsonl", NEW_TOPICS), built, progress=False)


def test_an_interrupted_append_leaves_the_index_usable_and_is_repaired(tmp_path):
    index_dir = tmp_path / "index"
    build_index(write_corpus(tmp_path / "a.jsonl", TOPICS), index_dir, progress=False)
    # Simulate a crash after passages were written but before meta.json: junk after the last good byte.
    with (index_dir / "passages.jsonl").open("ab") as fh:
        fh.write(b'{"doc_id": "half-written", "chunk": 0, "text": "tru')
    with (index_dir / "docs.jsonl").open("ab") as fh:
        fh.write(b'"octopus"\n')
    assert search(index_dir, "How tall is the Eiffel Tower?").passages[0].id == "local:eiffel#0"
    report = build_index(write_corpus(tmp_path / "b.jsonl", NEW_TOPICS), index_dir, append=True, progress=False)
    assert report.added_docs == 2  # "octopus" in the junk did not count as indexed
    assert search(index_dir, "How many hearts does an octopus have?").passages[0].id == "local:octopus#0"
    lines = (index_dir / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 32 and all(json.loads(line) for line in lines)


# ---- the CLI -----------------------------------------------------------------------------------

runner = CliRunner()


def flat(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def test_cli_build_info_and_append(tmp_path):
    corpus = write_corpus(tmp_path / "corpus.jsonl", TOPICS)
    out = tmp_path / "kb"
    result = runner.invoke(app, ["index", "build", "--corpus", str(corpus), "--out", str(out), "--batch-size", "8",
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "indexed 30 passages from 30 document(s)" in flat(result.output)
    info = runner.invoke(app, ["index", "info", str(out)])
    assert info.exit_code == 0 and "bundled:all-MiniLM-L6-v2" in info.output and "flat_ip" in info.output
    as_json = runner.invoke(app, ["index", "info", str(out), "--json"])
    assert json.loads(as_json.stdout)["count"] == 30
    extra = write_corpus(tmp_path / "extra.jsonl", NEW_TOPICS)
    appended = runner.invoke(app, ["index", "build", "--corpus", str(extra), "--out", str(out), "--append",
                                   "--no-progress"])
    assert appended.exit_code == 0 and "now holds 32 passages" in flat(appended.output)
    nothing = runner.invoke(app, ["index", "build", "--corpus", str(extra), "--out", str(out), "--append",
                                  "--no-progress"])
    assert nothing.exit_code == 0 and "nothing new" in flat(nothing.output)


def test_cli_errors_are_messages_with_exit_code_2(tmp_path, built):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"title": "no text"}\n', encoding="utf-8")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    extra = write_corpus(tmp_path / "x.jsonl", NEW_TOPICS)
    cases = [
        (["--corpus", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o1")], "does not exist"),
        (["--corpus", str(empty), "--out", str(tmp_path / "o2")], "no non-empty documents"),
        (["--corpus", str(bad), "--out", str(tmp_path / "o3")], "line 2"),
        (["--corpus", str(extra), "--out", str(built), "--append", "--model", "other/model"], "was built with model"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["index", "build", *args, "--no-progress"])
        assert result.exit_code == 2, (args, result.output)
        assert message in flat(result.output), (args, result.output)
        assert "Traceback" not in result.output
    info = runner.invoke(app, ["index", "info", str(tmp_path)])
    assert info.exit_code == 2 and "not an index directory" in flat(info.output)


def test_corpus_errors_raise_before_anything_is_embedded(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="line 1"):
        build_index(bad, tmp_path / "index", progress=False)
    assert not (tmp_path / "index" / "meta.json").exists()
