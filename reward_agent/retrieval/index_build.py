"""Building (and appending to) a local FAISS index over a corpus: `build_index`.

An index is a directory:

    meta.json          model identity, dim, count, index type, fingerprint, chunking, build times
    passages.jsonl     one passage per line (doc_id, chunk, text, title, url); row i = vector i
    offsets.npy        int64 byte offset of each line of passages.jsonl, so a lookup reads one line
    docs.jsonl         the ids of the indexed documents (append skips them)
    vectors/shard-NNNNN.npy   float32 embeddings, one shard per build or append (memory-mapped)
    index.faiss        the FAISS index over all shards (exact IndexFlatIP or HNSW, see below)

Memory stays bounded for any corpus size: passages stream to disk as they are cut, embeddings are
written batch by batch into a memory-mapped shard (`np.lib.format.open_memmap`), and the FAISS
index is fed shard rows in slices. Only the offsets (8 bytes per passage) are held whole.

Crash safety: `meta.json` is written last and atomically, and records how many bytes of
passages.jsonl and docs.jsonl belong to the index; an append first cuts both files back to
those lengths, so a build interrupted half way leaves the previous index intact and usable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from ..errors import ConfigError
from .corpus import ChunkParams, CorpusError, iter_passages
from .embedding import Encoder, load_encoder, model_identity

__all__ = [
    "EXACT_MAX_PASSAGES",
    "BuildReport",
    "IndexBuildError",
    "IndexMeta",
    "build_index",
    "choose_index_type",
    "read_meta",
]

INDEX_FORMAT = 1
# Above this many passages the index is HNSW (approximate) instead of exact IndexFlatIP.
# Measured by benchmarks/bench_index.py (benchmarks/results/index.json, "crossover"): the largest
# size at which one exact search costs <= 1/4 of embedding the query, timed interleaved on the
# project's shared 2-core machine: 0.21x at 50k passages (8.0 ms vs 38 ms), 0.28x at 75k, 0.38x at
# 100k. Below it exact search is a small share of a query, has perfect recall and no build cost.
EXACT_MAX_PASSAGES = 50_000
HNSW_M = 32  # graph degree: more = better recall, more memory (M * 8 bytes per vector for links)
HNSW_EF_CONSTRUCTION = 80
# Candidates explored per query. Measured (bench_index.py, 100k passages): recall@10 0.84 / 0.91 /
# 0.96 at efSearch 64 / 128 / 256 for 0.24 / 0.38 / 0.73 ms p50; even 256 is ~1/60 of embedding the
# query, so recall wins. Raised to 2k at query time for k > 128.
HNSW_EF_SEARCH = 256
_ADD_SLICE = 50_000  # rows handed to FAISS at a time when (re)building from shards

IndexType = Literal["flat_ip", "hnsw_flat_ip"]


class IndexBuildError(ConfigError):
    """The index cannot be built or appended to (a model or dim mismatch, an occupied directory)."""


class IndexMeta(BaseModel):
    """The contents of meta.json."""

    format: int = INDEX_FORMAT
    model: str = Field(description="Embedding model identity (bundled:all-MiniLM-L6-v2 or a name/path).")
    dim: int
    count: int = Field(description="Number of passages (= vectors).")
    doc_count: int
    index_type: IndexType
    metric: str = "inner_product"
    normalized: bool = True
    fingerprint: str = Field(description="sha256 over the model and every passage, in order.")
    chunking: dict[str, int]
    shards: list[dict[str, Any]] = Field(default_factory=list)
    passages_bytes: int = 0
    docs_bytes: int = 0
    hnsw: dict[str, int] | None = None
    built_at: float
    updated_at: float
    build_seconds: float = 0.0


@dataclass(frozen=True)
class BuildReport:
    """What one `build_index` call did."""

    meta: IndexMeta
    out_dir: Path
    added_passages: int
    added_docs: int
    skipped_docs: int
    seconds: float
    embed_seconds: float

    @property
    def passages_per_s(self) -> float:
        return self.added_passages / self.embed_seconds if self.embed_seconds > 0 else 0.0


def choose_index_type(count: int, threshold: int = EXACT_MAX_PASSAGES) -> IndexType:
    """Exact search up to `threshold` passages, HNSW above."""
    return "flat_ip" if count <= threshold else "hnsw_flat_ip"


def read_meta(index_dir: str | Path) -> IndexMeta:
    """Read and validate `index_dir/meta.json`."""
    path = Path(index_dir) / "meta.json"
    if not path.is_file():
        raise IndexBuildError(f"{str(index_dir)!r} is not an index directory (no meta.json); build one with "
                              "`reward-agent index build --corpus PATH --out DIR`")
    try:
        return IndexMeta.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise IndexBuildError(f"{path} is not a valid index meta file: {exc}") from None


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:
        raise ConfigError("the local index needs faiss: pip install 'reward-agent[retrieval]'") from exc
    return faiss


def _atomic_write(path: Path, write: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _truncate(path: Path, length: int) -> None:
    """Cut `path` back to `length` bytes (creating it empty when missing)."""
    with path.open("ab") as fh:
        fh.truncate(length)


def _progress(total: int, enabled: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="passage", dynamic_ncols=True)


def _write_passages(
    corpus: str | Path,
    out_dir: Path,
    params: ChunkParams,
    known_docs: set[str],
    passages_start: int,
    hasher: Any,
) -> tuple[array, int, int, int, int]:
    """Pass 1: cut the corpus into passages, appending them to passages.jsonl and docs.jsonl.

    Returns (line offsets of the new passages, new docs, skipped docs, passages_bytes, docs_bytes).
    """
    offsets = array("q")
    added_docs = skipped = 0
    with (out_dir / "passages.jsonl").open("ab") as pfh, (out_dir / "docs.jsonl").open("ab") as dfh:
        position = passages_start
        for doc, passages in iter_passages(corpus, params):
            if doc.id in known_docs:
                skipped += 1  # already indexed (an append, or the same id twice in one corpus)
                continue
            known_docs.add(doc.id)
            if not passages:
                continue
            added_docs += 1
            dfh.write((json.dumps(doc.id, ensure_ascii=False) + "\n").encode("utf-8"))
            for passage in passages:
                line = (json.dumps(passage.to_json(), ensure_ascii=False) + "\n").encode("utf-8")
                offsets.append(position)
                pfh.write(line)
                hasher.update(line)
                position += len(line)
        docs_end = dfh.tell()  # append mode: the position is the file's end
    return offsets, added_docs, skipped, position, docs_end


def _iter_passage_texts(path: Path, start: int, count: int, batch: int) -> Iterator[list[str]]:
    """The texts of `count` passages from byte `start` of passages.jsonl, in batches."""
    with path.open("rb") as fh:
        fh.seek(start)
        texts: list[str] = []
        for _ in range(count):
            texts.append(json.loads(fh.readline())["text"])
            if len(texts) == batch:
                yield texts
                texts = []
        if texts:
            yield texts


def _embed_shard(
    encoder: Encoder, out_dir: Path, shard_name: str, start: int, count: int, batch_size: int, progress: bool
) -> float:
    """Pass 2: embed the new passages into a memory-mapped float32 shard. Returns seconds spent."""
    shard_dir = out_dir / "vectors"
    shard_dir.mkdir(exist_ok=True)
    tmp = shard_dir / (shard_name + ".tmp")
    # open_memmap writes a real .npy header: the shard is a plain file np.load(mmap_mode="r") opens.
    vectors = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(count, encoder.dim))
    row = 0
    started = time.perf_counter()
    # Read a few encoder batches at a time: fewer Python round trips, still bounded memory.
    with _progress(count, progress, "embedding") as bar:
        for texts in _iter_passage_texts(out_dir / "passages.jsonl", start, count, batch_size * 4):
            block = encoder.encode(texts, batch_size=batch_size)
            vectors[row : row + len(texts)] = block
            row += len(texts)
            bar.update(len(texts))
    seconds = time.perf_counter() - started
    vectors.flush()
    del vectors
    os.replace(tmp, shard_dir / shard_name)
    return seconds


def _new_index(index_type: IndexType, dim: int) -> Any:
    faiss = _faiss()
    if index_type == "flat_ip":
        return faiss.IndexFlatIP(dim)
    index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def _add_shards(index: Any, out_dir: Path, shards: list[dict[str, Any]]) -> None:
    for shard in shards:
        vectors = np.load(out_dir / "vectors" / shard["file"], mmap_mode="r")
        for start in range(0, len(vectors), _ADD_SLICE):
            index.add(np.ascontiguousarray(vectors[start : start + _ADD_SLICE]))


def _prepare_dir(out_dir: Path, append: bool, overwrite: bool) -> IndexMeta | None:
    """The existing index's meta when appending to one; refuses to clobber an index otherwise."""
    if out_dir.exists() and not out_dir.is_dir():
        raise IndexBuildError(f"--out {str(out_dir)!r} exists and is not a directory")
    has_index = (out_dir / "meta.json").is_file()
    if append and has_index:
        return read_meta(out_dir)
    if has_index and not overwrite:
        raise IndexBuildError(
            f"{str(out_dir)!r} already holds an index; pass append=True (--append) to add to it, "
            "or overwrite=True (--overwrite) to rebuild it from scratch"
        )
    if out_dir.exists() and overwrite:
        for name in ("meta.json", "passages.jsonl", "offsets.npy", "docs.jsonl", "index.faiss"):
            (out_dir / name).unlink(missing_ok=True)
        shutil.rmtree(out_dir / "vectors", ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    return None


def build_index(
    corpus: str | Path,
    out_dir: str | Path,
    model: str | None = None,
    batch_size: int = 64,
    append: bool = False,
    progress: bool = True,
    *,
    overwrite: bool = False,
    chunking: ChunkParams | None = None,
    exact_max: int = EXACT_MAX_PASSAGES,
) -> BuildReport:
    """Build a FAISS index over `corpus` in `out_dir`, or with `append=True` add to the one there.

    Appending embeds only documents whose id is not yet in the index, with the model and chunking
    the index was built with (passing another `model` is an error, not a silent re-embedding).

    Raises:
        CorpusError: the corpus is missing, empty or has a bad line.
        IndexBuildError: out_dir holds an index and neither append nor overwrite was asked for,
            or the model / its dimension differs from the one of the index being appended to.
        ConfigError: faiss / sentence-transformers missing, or the model cannot be loaded.
    """
    started = time.perf_counter()
    if batch_size < 1:
        raise IndexBuildError(f"batch_size must be at least 1, got {batch_size}")
    corpus, out_dir = Path(corpus), Path(out_dir)
    faiss = _faiss()
    previous = _prepare_dir(out_dir, append, overwrite)
    if previous is not None:
        if previous.format != INDEX_FORMAT:
            raise IndexBuildError(f"index {str(out_dir)!r} has format {previous.format}; this version writes {INDEX_FORMAT}")
        if model is not None and model_identity(model) != previous.model:
            raise IndexBuildError(
                f"index {str(out_dir)!r} was built with model {previous.model!r}, not {model_identity(model)!r}; "
                "append with the same model (or omit --model), or build a new index"
            )
        params = ChunkParams(**previous.chunking)
        encoder = load_encoder(previous.model)
        if encoder.dim != previous.dim:
            raise IndexBuildError(
                f"index {str(out_dir)!r} holds {previous.dim}-dim vectors but {previous.model!r} now gives {encoder.dim}"
            )
        # Cut back anything a crashed earlier run wrote after the last complete meta.json.
        _truncate(out_dir / "passages.jsonl", previous.passages_bytes)
        _truncate(out_dir / "docs.jsonl", previous.docs_bytes)
        with (out_dir / "docs.jsonl").open("r", encoding="utf-8") as fh:
            known_docs = {json.loads(line) for line in fh if line.strip()}
        hasher = hashlib.sha256(previous.fingerprint.encode())
    else:
        params = chunking or ChunkParams()
        encoder = load_encoder(model)
        _truncate(out_dir / "passages.jsonl", 0)
        _truncate(out_dir / "docs.jsonl", 0)
        known_docs = set()
        hasher = hashlib.sha256(f"{encoder.identity}\n{encoder.dim}\n".encode())

    old_count = previous.count if previous else 0
    offsets, added_docs, skipped, passages_bytes, docs_bytes = _write_passages(
        corpus, out_dir, params, known_docs, previous.passages_bytes if previous else 0, hasher
    )
    n_new = len(offsets)
    if previous is None and n_new == 0:
        raise CorpusError(f"corpus {str(corpus)!r} holds no non-empty documents: nothing to index")
    now = time.time()
    if n_new == 0:
        # Nothing new: the index is unchanged (meta is not rewritten, so its mtime and cache keys stay).
        assert previous is not None
        return BuildReport(previous, out_dir, 0, 0, skipped, time.perf_counter() - started, 0.0)

    shards = list(previous.shards) if previous else []
    shard_name = f"shard-{len(shards):05d}.npy"
    embed_seconds = _embed_shard(encoder, out_dir, shard_name, int(offsets[0]), n_new, batch_size, progress)
    shards.append({"file": shard_name, "count": n_new, "model": encoder.identity})

    # The FAISS index: extend the existing one when its type still fits, else rebuild from all shards
    # (vectors are never re-embedded, only re-read from the memory-mapped shards).
    total = old_count + n_new
    index_type = choose_index_type(total, exact_max)
    if previous is not None and previous.index_type == index_type and (out_dir / "index.faiss").is_file():
        index = faiss.read_index(str(out_dir / "index.faiss"))
        _add_shards(index, out_dir, shards[-1:])
    else:
        index = _new_index(index_type, encoder.dim)
        _add_shards(index, out_dir, shards)
    if index.ntotal != total:
        raise IndexBuildError(f"FAISS index holds {index.ntotal} vectors, expected {total}: the shards are inconsistent")
    _atomic_write(out_dir / "index.faiss", lambda p: faiss.write_index(index, str(p)))

    old_offsets = np.load(out_dir / "offsets.npy") if previous is not None else np.zeros(0, dtype=np.int64)
    all_offsets = np.concatenate([old_offsets.astype(np.int64), np.frombuffer(offsets, dtype=np.int64)])

    def _save_offsets(p: Path) -> None:
        with p.open("wb") as fh:
            np.save(fh, all_offsets)

    _atomic_write(out_dir / "offsets.npy", _save_offsets)

    meta = IndexMeta(
        model=encoder.identity,
        dim=encoder.dim,
        count=total,
        doc_count=(previous.doc_count if previous else 0) + added_docs,
        index_type=index_type,
        fingerprint=hasher.hexdigest(),
        chunking={"target_words": params.target_words, "max_words": params.max_words,
                  "overlap_sentences": params.overlap_sentences},
        shards=shards,
        passages_bytes=passages_bytes,
        docs_bytes=docs_bytes,
        hnsw={"M": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "ef_search": HNSW_EF_SEARCH}
        if index_type == "hnsw_flat_ip" else None,
        built_at=previous.built_at if previous else now,
        updated_at=now,
        build_seconds=(previous.build_seconds if previous else 0.0) + (time.perf_counter() - started),
    )
    _atomic_write(out_dir / "meta.json", lambda p: p.write_text(meta.model_dump_json(indent=2), encoding="utf-8"))
    return BuildReport(meta, out_dir, n_new, added_docs, skipped, time.perf_counter() - started, embed_seconds)
