"""`LocalRetriever`: top-k passages from a FAISS index built by `reward-agent index build`.

The index (FAISS structure, offsets, meta) is opened once per process and shared by every
retriever pointing at the same directory: a module-level cache keyed by the directory and the
modification time of its meta.json, so an index rebuilt or appended to while the process runs is
picked up on the next search. Passage texts stay on disk; a hit reads one line of passages.jsonl.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..cache import Cache
from ..errors import ConfigError
from .base import Passage, RetrievalResult, RetrievalSpec
from .corpus import PassageRecord
from .embedding import Encoder, load_encoder, model_identity
from .index_build import HNSW_EF_SEARCH, IndexBuildError, IndexMeta, read_meta

__all__ = ["LocalIndex", "LocalRetriever", "open_index"]


@dataclass
class LocalIndex:
    """An opened index directory: FAISS structure in memory, passages on disk."""

    path: Path
    meta: IndexMeta
    index: Any
    offsets: np.ndarray  # memory-mapped int64, row i -> byte offset of passage i

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """FAISS search; (scores, ids), both [n_queries, k], id -1 where fewer than k exist."""
        import faiss

        k = min(k, self.meta.count)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(vectors) == 1:
            # One query is latency-bound: an OpenMP fork/join across cores that other work keeps busy
            # cost 30-70x the search itself (1 vs 73 ms at 10k passages, benchmarks/bench_index.py).
            # The setting is per calling thread in OpenMP, so index building elsewhere keeps its threads.
            faiss.omp_set_num_threads(1)
        if self.meta.index_type == "hnsw_flat_ip":
            # efSearch must be >= k for HNSW to return k good results. Passed per call, not set on
            # the shared index, so concurrent searches with different k do not race.
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, 2 * k))
            return self.index.search(vectors, k, params=params)
        return self.index.search(vectors, k)

    def passages(self, ids: list[int]) -> list[PassageRecord]:
        """The stored passages for FAISS row ids (one seek + one line read each)."""
        out: list[PassageRecord] = []
        with (self.path / "passages.jsonl").open("rb") as fh:
            for i in ids:
                fh.seek(int(self.offsets[i]))
                row = json.loads(fh.readline())
                out.append(PassageRecord(row["doc_id"], row["chunk"], row["text"], row.get("title"), row.get("url")))
        return out


_INDEXES: dict[tuple[str, int], LocalIndex] = {}
_INDEXES_LOCK = threading.Lock()


def open_index(index_dir: str | Path) -> LocalIndex:
    """The opened index at `index_dir`, loaded once per (directory, meta.json mtime).

    Raises:
        IndexBuildError: no index there, or its files disagree with its meta.json.
        ConfigError: faiss is not installed.
    """
    path = Path(index_dir).expanduser().resolve()
    meta_file = path / "meta.json"
    if not meta_file.is_file():
        read_meta(path)  # raises the "not an index directory" error
    key = (str(path), meta_file.stat().st_mtime_ns)
    with _INDEXES_LOCK:
        cached = _INDEXES.get(key)
        if cached is not None:
            return cached
        try:
            import faiss
        except ImportError as exc:
            raise ConfigError("the local index needs faiss: pip install 'reward-agent[retrieval]'") from exc
        meta = read_meta(path)
        index = faiss.read_index(str(path / "index.faiss"))
        offsets = np.load(path / "offsets.npy", mmap_mode="r")
        if index.ntotal != meta.count or len(offsets) != meta.count:
            raise IndexBuildError(
                f"index {str(path)!r} is inconsistent: meta.json says {meta.count} passages, FAISS holds "
                f"{index.ntotal}, offsets.npy {len(offsets)}; rebuild it with --overwrite"
            )
        # Drop older generations of this directory: a process serving for days must not pile them up.
        for old in [k for k in _INDEXES if k[0] == key[0]]:
            del _INDEXES[old]
        opened = _INDEXES[key] = LocalIndex(path=path, meta=meta, index=index, offsets=offsets)
        return opened


class LocalRetriever:
    """Evidence from the local index named by `spec.index`. Never raises from `search`."""

    source = "local"

    def __init__(self, spec: RetrievalSpec, cache: Cache | None = None) -> None:
        self.spec = spec
        self.cache = cache

    def _unavailable_reason(self) -> str | None:
        if not self.spec.index:
            return ("no local index configured: set retrieval.index to a directory built with "
                    "`reward-agent index build --corpus PATH --out DIR`")
        if not (Path(self.spec.index).expanduser() / "meta.json").is_file():
            return f"local index {self.spec.index!r} does not exist (no meta.json there)"
        return None

    def _encoder(self, meta: IndexMeta) -> Encoder:
        model = self.spec.embedding_model or meta.model
        encoder = load_encoder(model)
        if encoder.dim != meta.dim:
            raise IndexBuildError(
                f"query model {model_identity(model)!r} gives {encoder.dim}-dim vectors but the index "
                f"holds {meta.dim}-dim ones (built with {meta.model!r})"
            )
        return encoder

    def _search_sync(self, index: LocalIndex, query: str, k: int) -> list[Passage]:
        encoder = self._encoder(index.meta)
        vector = encoder.encode([query])
        scores, ids = index.search(vector, k)
        hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        records = index.passages([i for i, _ in hits])
        passages = [
            Passage(id=r.passage_id, text=r.text, source="local", title=r.title, url=r.url, score=score)
            for r, (_, score) in zip(records, hits)
        ]
        return passages

    async def search(self, query: str, k: int = 5) -> RetrievalResult:
        """Top-`k` passages by cosine similarity; `unavailable` without an index, `failed` on errors."""
        started = time.perf_counter()
        reason = self._unavailable_reason()
        if reason:
            return RetrievalResult(query=query, source="local", status="unavailable", error=reason)
        try:
            opened = await asyncio.to_thread(open_index, self.spec.index or "")
            # The fingerprint names the index content: a rebuilt index never serves stale cached hits.
            namespace = f"retrieval:local:{opened.meta.fingerprint[:16]}"
            key = {"query": query, "k": k, "model": self.spec.embedding_model or opened.meta.model}
            if self.cache is not None:
                hit = self.cache.get(namespace, key)
                if hit is not None:
                    result = RetrievalResult.model_validate(hit)
                    return result.model_copy(update={"cached": True, "latency_s": time.perf_counter() - started})
            passages = await asyncio.to_thread(self._search_sync, opened, query, k)
        except ImportError as exc:
            return RetrievalResult(query=query, source="local", status="unavailable", error=str(exc),
                                   latency_s=time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - a failing source is data, never a crash
            status = "unavailable" if isinstance(exc, ConfigError) and "pip install" in str(exc) else "failed"
            return RetrievalResult(query=query, source="local", status=status,
                                   error=f"{type(exc).__name__}: {exc}", latency_s=time.perf_counter() - started)
        result = RetrievalResult(query=query, source="local", status="ok", passages=passages,
                                 latency_s=time.perf_counter() - started)
        if self.cache is not None:
            self.cache.put(namespace, key, result.model_dump(mode="json", exclude={"cached", "latency_s"}))
        return result
