"""Reading a user's corpus and cutting it into passages for the local index.

A corpus is one of:

- a JSONL file, one document per line: `text` (required), optional `id`, `title`, `url`;
- a `.txt` or `.md` file (one document);
- a directory, searched recursively for `.jsonl`, `.txt` and `.md` files (sorted, so a rebuild
  sees the same order).

Documents are read lazily (`iter_documents`), so a corpus of millions of lines never sits in memory.
A document is cut into passages at sentence boundaries (NLTK Punkt via `reward_agent.text`, the
splitter the constraint checkers use) of about `target_words` words, never more than `max_words`,
and consecutive passages share `overlap_sentences` sentences so a fact that straddles a cut is
still found whole in one of them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..text import split_sentences

__all__ = [
    "CORPUS_SUFFIXES",
    "ChunkParams",
    "CorpusError",
    "Document",
    "PassageRecord",
    "chunk_document",
    "corpus_files",
    "iter_documents",
    "iter_passages",
]

CORPUS_SUFFIXES = (".jsonl", ".txt", ".md")
_WORD_RE = re.compile(r"\S+")


class CorpusError(ConfigError):
    """The corpus is missing, empty or malformed. The message names the file (and line)."""


@dataclass(frozen=True)
class Document:
    """One document of the corpus, before chunking."""

    id: str
    text: str
    title: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class PassageRecord:
    """One passage as stored in the index's metadata file (row i of the vectors = passage i)."""

    doc_id: str
    chunk: int
    text: str
    title: str | None = None
    url: str | None = None

    @property
    def passage_id(self) -> str:
        """The id retrieval results carry: `local:<doc_id>#<chunk>`."""
        return f"local:{self.doc_id}#{self.chunk}"

    def to_json(self) -> dict[str, object]:
        return {"doc_id": self.doc_id, "chunk": self.chunk, "text": self.text, "title": self.title, "url": self.url}


@dataclass(frozen=True)
class ChunkParams:
    """How documents are cut. Recorded in the index's meta.json: appends must cut the same way."""

    target_words: int = 150
    max_words: int = 200
    overlap_sentences: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.target_words <= self.max_words:
            raise ConfigError(
                f"chunking needs 0 < target_words <= max_words, got {self.target_words} and {self.max_words}"
            )
        if self.overlap_sentences < 0:
            raise ConfigError(f"overlap_sentences must be >= 0, got {self.overlap_sentences}")


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def corpus_files(path: str | Path) -> list[Path]:
    """The files making up the corpus at `path` (a file or a directory), in a stable order."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"corpus {str(path)!r} does not exist")
    if path.is_file():
        if path.suffix.lower() not in CORPUS_SUFFIXES:
            raise CorpusError(
                f"corpus file {str(path)!r} has suffix {path.suffix!r}; expected one of {', '.join(CORPUS_SUFFIXES)}"
            )
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES)
    if not files:
        raise CorpusError(f"corpus directory {str(path)!r} holds no {', '.join(CORPUS_SUFFIXES)} files")
    return files


def _optional_str(value: object, field: str, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    raise CorpusError(f"{where}: field {field!r} must be a string, got {type(value).__name__}")


def _read_jsonl(path: Path) -> Iterator[Document]:
    with path.open("r", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue  # blank lines (a trailing newline, say) are not documents
            where = f"{path}, line {lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(row, dict):
                raise CorpusError(f"{where}: expected a JSON object with a 'text' field, got {type(row).__name__}")
            text = row.get("text")
            if not isinstance(text, str):
                raise CorpusError(
                    f"{where}: field 'text' is required and must be a string"
                    + ("" if "text" in row else f" (the line has fields {sorted(row)})")
                )
            if not text.strip():
                continue  # an empty document has nothing to retrieve
            doc_id = _optional_str(row.get("id"), "id", where)
            if doc_id is None:
                # Content-derived, so re-reading (or appending) the same text yields the same id.
                doc_id = "sha1-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
            yield Document(
                id=doc_id,
                text=text,
                title=_optional_str(row.get("title"), "title", where),
                url=_optional_str(row.get("url"), "url", where),
            )


def _read_text_file(path: Path, root: Path) -> Iterator[Document]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not text.strip():
        return
    # The id is the path relative to the corpus root: stable across rebuilds of the same folder.
    doc_id = path.name if root == path else path.relative_to(root).as_posix()
    title = None
    if path.suffix.lower() == ".md":
        heading = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
        title = heading.group(1).strip() if heading else None
    yield Document(id=doc_id, text=text, title=title or path.stem)


def iter_documents(path: str | Path) -> Iterator[Document]:
    """Every non-empty document of the corpus at `path`, lazily.

    Raises:
        CorpusError: the corpus is missing, has no supported files, or a JSONL line is bad
            (the message names the file and line).
    """
    path = Path(path)
    root = path if path.is_dir() else path
    for file in corpus_files(path):
        if file.suffix.lower() == ".jsonl":
            yield from _read_jsonl(file)
        else:
            yield from _read_text_file(file, root)


# ---------------------------------------------------------------------------------------------
# Chunking
# ---------------------------------------------------------------------------------------------


def _sentences(text: str, max_words: int) -> list[str]:
    """Punkt sentences, with any sentence longer than `max_words` cut into word windows.

    Paragraph breaks are split first: Punkt does not treat a blank line as a boundary, and a
    heading with no full stop would otherwise merge into the next paragraph's first sentence.
    """
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        for sentence in split_sentences(paragraph):
            words = sentence.split()
            for start in range(0, len(words), max_words):
                out.append(" ".join(words[start : start + max_words]))
    return out


def chunk_document(doc: Document, params: ChunkParams = ChunkParams()) -> list[PassageRecord]:
    """Cut `doc` into passages of whole sentences, ~`target_words` words, overlapping a little.

    A passage is closed once it reaches `target_words`, or earlier when the next sentence would push
    it past `max_words`. The next passage restarts with the last `overlap_sentences` sentences of the
    previous one, unless those alone fill half a passage (chunks would then be mostly copies).
    """
    sentences = _sentences(doc.text, params.max_words)
    counts = [len(_WORD_RE.findall(s)) for s in sentences]
    passages: list[PassageRecord] = []
    current: list[int] = []  # indices into `sentences` of the passage being filled
    words = 0
    fresh = False  # whether `current` holds a sentence no emitted passage contains yet

    def close() -> None:
        nonlocal current, words, fresh
        text = " ".join(sentences[j] for j in current)
        passages.append(PassageRecord(doc.id, len(passages), text, doc.title, doc.url))
        keep = current[-params.overlap_sentences :] if params.overlap_sentences else []
        if sum(counts[j] for j in keep) * 2 > params.target_words:
            keep = []
        current, words, fresh = list(keep), sum(counts[j] for j in keep), False

    for i, count in enumerate(counts):
        if fresh and words + count > params.max_words:
            close()
        if words + count > params.max_words:  # the kept overlap plus this sentence is too long: drop it
            current, words = [], 0
        current.append(i)
        words += count
        fresh = True
        if words >= params.target_words:
            close()
    if fresh:  # the tail, unless it is only overlap that the previous passage already holds
        close()
    return passages


def iter_passages(path: str | Path, params: ChunkParams = ChunkParams()) -> Iterator[tuple[Document, list[PassageRecord]]]:
    """Each document of the corpus with its passages, lazily."""
    for doc in iter_documents(path):
        yield doc, chunk_document(doc, params)
