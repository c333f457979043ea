"""Corpus reading (JSONL, .txt/.md, folders), its error messages, and sentence-aware chunking."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reward_agent.retrieval.corpus import (
    ChunkParams,
    CorpusError,
    Document,
    chunk_document,
    iter_documents,
)
from reward_agent.errors import ConfigError


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


# ---- reading -----------------------------------------------------------------------------------


def test_jsonl_fields_are_read_and_missing_ids_are_content_hashes(tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", [
        {"id": "a", "text": "Alpha text.", "title": "A", "url": "https://a.example"},
        {"text": "No id here."},
        "",  # blank line: skipped
        {"id": 7, "text": "Numeric id."},
        {"id": "empty", "text": "   "},  # nothing to retrieve: skipped
    ])
    docs = list(iter_documents(corpus))
    assert [d.id for d in docs][0] == "a" and docs[0].title == "A" and docs[0].url == "https://a.example"
    assert docs[1].id.startswith("sha1-") and docs[1].title is None
    assert docs[2].id == "7"
    assert len(docs) == 3
    # The derived id depends on the text only: the same text read again (an append) gets the same id.
    again = write_jsonl(tmp_path / "d.jsonl", [{"text": "No id here."}])
    assert next(iter_documents(again)).id == docs[1].id


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"line 2: not valid JSON"),
        ('["a list"]', r"line 2: expected a JSON object"),
        ('{"title": "no text"}', r"line 2: field 'text' is required.*fields \['title'\]"),
        ('{"text": 42}', r"line 2: field 'text' is required and must be a string"),
        ('{"text": "ok", "title": ["x"]}', r"line 2: field 'title' must be a string"),
    ],
)
def test_bad_jsonl_line_is_named(tmp_path, line, message):
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text(json.dumps({"text": "fine"}) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=message) as info:
        list(iter_documents(corpus))
    assert "bad.jsonl" in str(info.value)
    assert isinstance(info.value, ConfigError)  # the CLI turns it into a message, exit 2


def test_missing_corpus_and_unsupported_files_are_clear_errors(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        list(iter_documents(tmp_path / "nope.jsonl"))
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(CorpusError, match="suffix '.csv'"):
        list(iter_documents(tmp_path / "data.csv"))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.pdf").write_bytes(b"%PDF")
    with pytest.raises(CorpusError, match="holds no .jsonl, .txt, .md files"):
        list(iter_documents(empty))


def test_folder_of_text_files_uses_relative_paths_as_ids_and_md_headings_as_titles(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.txt").write_text("Plain text document.", encoding="utf-8")
    (tmp_path / "sub" / "a.md").write_text("# Volcanoes\n\nLava is molten rock.", encoding="utf-8")
    (tmp_path / "sub" / "blank.md").write_text("\n\n", encoding="utf-8")
    write_jsonl(tmp_path / "more.jsonl", [{"id": "j1", "text": "From JSONL."}])
    docs = {d.id: d for d in iter_documents(tmp_path)}
    assert set(docs) == {"b.txt", "sub/a.md", "j1"}
    assert docs["sub/a.md"].title == "Volcanoes" and docs["b.txt"].title == "b"


def test_non_utf8_text_file_is_named(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(CorpusError, match="latin1.txt: not UTF-8"):
        list(iter_documents(tmp_path))


# ---- chunking ----------------------------------------------------------------------------------


def numbered_sentences(n: int, words: int = 12) -> list[str]:
    """Distinct sentences of `words` words each, numbered so their order can be checked."""
    return [f"Sentence number {i} " + " ".join(f"w{i}x{j}" for j in range(words - 4)) + " ends here." for i in range(n)]


def test_short_document_is_one_passage():
    doc = Document(id="d", text="One sentence. Two sentences.", title="T", url="u")
    [passage] = chunk_document(doc)
    assert passage.text == "One sentence. Two sentences." and passage.passage_id == "local:d#0"
    assert (passage.title, passage.url) == ("T", "u")


def test_long_document_is_cut_at_sentences_with_overlap_and_bounded_length():
    sentences = numbered_sentences(60)  # 720 words
    doc = Document(id="long", text=" ".join(sentences))
    params = ChunkParams(target_words=100, max_words=150, overlap_sentences=1)
    passages = chunk_document(doc, params)
    assert len(passages) >= 6
    assert [p.chunk for p in passages] == list(range(len(passages)))
    for p in passages:
        n_words = len(p.text.split())
        assert n_words <= params.max_words
        assert p.text.endswith("ends here.")  # whole sentences only
    for p in passages[:-1]:
        assert len(p.text.split()) >= params.target_words
    # Consecutive passages share exactly the boundary sentence.
    for a, b in zip(passages, passages[1:]):
        last_of_a = re.findall(r"Sentence number (\d+)", a.text)[-1]
        first_of_b = re.findall(r"Sentence number (\d+)", b.text)[0]
        assert last_of_a == first_of_b
    # Nothing is lost: every sentence is in some passage, in order.
    seen = [int(n) for p in passages for n in re.findall(r"Sentence number (\d+)", p.text)]
    assert sorted(set(seen)) == list(range(60)) and seen == sorted(seen)


def test_overlap_zero_partitions_the_sentences():
    doc = Document(id="d", text=" ".join(numbered_sentences(30)))
    passages = chunk_document(doc, ChunkParams(target_words=50, max_words=80, overlap_sentences=0))
    seen = [int(n) for p in passages for n in re.findall(r"Sentence number (\d+)", p.text)]
    assert seen == list(range(30))


def test_a_sentence_longer_than_max_words_is_cut_into_windows():
    doc = Document(id="run-on", text=" ".join(f"word{i}" for i in range(450)))  # no punctuation at all
    passages = chunk_document(doc, ChunkParams(target_words=100, max_words=200, overlap_sentences=1))
    assert all(len(p.text.split()) <= 200 for p in passages)
    words = [w for p in passages for w in p.text.split()]
    assert set(words) == {f"word{i}" for i in range(450)}


def test_paragraph_breaks_are_sentence_boundaries():
    doc = Document(id="md", text="Heading without a full stop\n\nThe body starts here. It goes on.")
    params = ChunkParams(target_words=4, max_words=10, overlap_sentences=0)
    texts = [p.text for p in chunk_document(doc, params)]
    assert texts[0] == "Heading without a full stop"


def test_chunk_params_are_validated():
    with pytest.raises(ConfigError, match="target_words <= max_words"):
        ChunkParams(target_words=300, max_words=200)
    with pytest.raises(ConfigError, match="overlap_sentences"):
        ChunkParams(overlap_sentences=-1)


def test_overlap_is_dropped_when_it_would_push_a_passage_past_max_words():
    # A (40 words) + B (20) reach the target and close a passage; B (20 <= half the target) is kept as
    # overlap, but B + C (59) would exceed max_words, so the next passage starts at C without it.
    def sentence(tag: str, n: int) -> str:
        return " ".join(f"{tag}{j}" for j in range(n - 1)) + " end."

    a, b, c = sentence("a", 40), sentence("b", 20), sentence("c", 59)
    passages = chunk_document(Document(id="d", text=" ".join([a, b, c])),
                              ChunkParams(target_words=60, max_words=70, overlap_sentences=1))
    assert [p.text for p in passages] == [f"{a} {b}", c]
