"""A content-addressed cache on SQLite, for work that is expensive and deterministic given its inputs.

Model calls, search results, reward-model scores and generated checker code are all keyed by what
produced them (model identity, messages, prompt version, ...). The key parts are turned into a
canonical JSON text and hashed with sha256 together with a namespace, so equal inputs always map to
the same row and nothing about the key has to be stored in a fixed schema.

Values are JSON (what goes in as a tuple comes back as a list). One SQLite file (WAL mode) can be
shared by threads and by processes; `Cache(":memory:")` is a private in-process cache for tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["Cache", "CacheStats", "cache_dir", "canonical_json", "default_cache_path", "shared_cache", "shared_caches"]

T = TypeVar("T")

# Bump when the way keys are derived changes, so old rows can never be mistaken for new ones.
KEY_FORMAT = 1
_MISSING: Any = object()


def cache_dir() -> Path:
    """The directory for everything reward-agent caches: `$REWARD_AGENT_CACHE` or `~/.cache/reward-agent`.

    Read on every call (not at import) so tests and operators can point it elsewhere at run time.
    """
    env = os.environ.get("REWARD_AGENT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "reward-agent"


def default_cache_path() -> Path:
    """Where `Cache()` keeps its database when no path is given."""
    return cache_dir() / "cache.sqlite3"


def _to_jsonable(obj: Any) -> Any:
    """`json.dumps` fallback for key parts: only types with one obvious canonical form.

    Anything else is refused: a `str()` fallback would put memory addresses into keys, which never hit,
    or collapse distinct objects onto one key, which returns wrong answers.
    """
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=canonical_json)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, bytes):
        return {"__bytes_sha256__": hashlib.sha256(obj).hexdigest()}
    raise TypeError(f"cache key part of type {type(obj).__name__} has no canonical JSON form: {obj!r}")


def canonical_json(obj: Any) -> str:
    """JSON text that is equal for equal values: sorted keys, no whitespace, no NaN."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_to_jsonable
    )


@dataclass(frozen=True)
class CacheStats:
    """Hit and miss counts of one `Cache` object since it was opened (not persisted)."""

    hits: int
    misses: int
    by_namespace: dict[str, tuple[int, int]]

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class _Flight:
    """A lock for one key, so concurrent `get_or_compute` calls for it compute once (single flight)."""

    __slots__ = ("lock", "__weakref__")

    def __init__(self) -> None:
        self.lock = threading.RLock()


class Cache:
    """A thread-safe key/value cache on SQLite, keyed by sha256 of (namespace, canonical JSON of the key).

    Usage:
        cache = Cache()                              # default file under cache_dir()
        cache.put("search", {"q": "paris"}, hits)
        cache.get("search", {"q": "paris"})          # -> hits
        cache.get_or_compute("rm", key, lambda: score(...))
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout_s: float = 30.0) -> None:
        if path is None:
            path = default_cache_path()
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # One connection shared behind a lock: a per-thread connection would give each thread its own
        # empty database for ":memory:", and SQLite serialises writers anyway.
        self._conn = sqlite3.connect(
            self.path, timeout=timeout_s, check_same_thread=False, isolation_level=None
        )
        self._lock = threading.RLock()
        self._flights: weakref.WeakValueDictionary[str, _Flight] = weakref.WeakValueDictionary()
        self._hits: Counter[str] = Counter()
        self._misses: Counter[str] = Counter()
        with self._lock:
            if self.path != ":memory:":
                # WAL lets readers in other processes proceed while one process writes.
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS entries ("
                " key TEXT PRIMARY KEY,"
                " namespace TEXT NOT NULL,"
                " value TEXT NOT NULL,"
                " created_at REAL NOT NULL)"
            )

    # -- keys ---------------------------------------------------------------------------------------

    @staticmethod
    def make_key(namespace: str, key: Any) -> str:
        """The sha256 hex digest that addresses (namespace, key)."""
        if not namespace:
            raise ValueError("cache namespace must be a non-empty string")
        text = canonical_json({"format": KEY_FORMAT, "namespace": namespace, "key": key})
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    # -- reads and writes ---------------------------------------------------------------------------

    def get(self, namespace: str, key: Any, default: Any = None) -> Any:
        """The stored value, or `default` on a miss. Counts a hit or a miss."""
        value = self._lookup(namespace, self.make_key(namespace, key))
        return default if value is _MISSING else value

    def contains(self, namespace: str, key: Any) -> bool:
        """Whether a value is stored, without touching the hit/miss counters."""
        digest = self.make_key(namespace, key)
        with self._lock:
            row = self._conn.execute("SELECT 1 FROM entries WHERE key = ?", (digest,)).fetchone()
        return row is not None

    def put(self, namespace: str, key: Any, value: Any) -> None:
        """Store `value` (must be JSON-serialisable) under (namespace, key), replacing any old one."""
        self._store(namespace, self.make_key(namespace, key), value)

    def get_or_compute(self, namespace: str, key: Any, compute: Callable[[], T]) -> T:
        """The cached value, or `compute()` stored and returned.

        Concurrent callers in this process asking for the same key wait for the first one instead of
        computing again (the point of the cache for best-of-N: N responses, one model call).
        An exception from `compute` is not cached.
        """
        digest = self.make_key(namespace, key)
        flight = self._flight(digest)
        with flight.lock:
            value = self._lookup(namespace, digest)
            if value is not _MISSING:
                return value
            computed = compute()
            self._store(namespace, digest, computed)
            return computed

    def delete(self, namespace: str, key: Any) -> bool:
        """Remove one entry; True if it existed."""
        digest = self.make_key(namespace, key)
        with self._lock:
            cur = self._conn.execute("DELETE FROM entries WHERE key = ?", (digest,))
        return cur.rowcount > 0

    def clear(self, namespace: str | None = None) -> int:
        """Remove every entry (of one namespace, if given). Returns how many were removed."""
        with self._lock:
            if namespace is None:
                cur = self._conn.execute("DELETE FROM entries")
            else:
                cur = self._conn.execute("DELETE FROM entries WHERE namespace = ?", (namespace,))
        return cur.rowcount

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._conn.execute("SELECT COUNT(*) FROM entries").fetchone()
        return int(count)

    # -- bookkeeping --------------------------------------------------------------------------------

    @property
    def stats(self) -> CacheStats:
        """Hits and misses counted by `get` and `get_or_compute` on this object."""
        with self._lock:
            namespaces = set(self._hits) | set(self._misses)
            return CacheStats(
                hits=sum(self._hits.values()),
                misses=sum(self._misses.values()),
                by_namespace={ns: (self._hits[ns], self._misses[ns]) for ns in sorted(namespaces)},
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Cache({self.path!r})"

    # -- internals ----------------------------------------------------------------------------------

    def _flight(self, digest: str) -> _Flight:
        with self._lock:
            flight = self._flights.get(digest)
            if flight is None:
                flight = _Flight()
                self._flights[digest] = flight
            return flight

    def _lookup(self, namespace: str, digest: str) -> Any:
        with self._lock:
            row = self._conn.execute("SELECT value FROM entries WHERE key = ?", (digest,)).fetchone()
            if row is None:
                self._misses[namespace] += 1
                return _MISSING
            self._hits[namespace] += 1
        return json.loads(row[0])

    def _store(self, namespace: str, digest: str, value: Any) -> None:
        # Serialise before taking the lock: a non-JSON value fails here and stores nothing.
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO entries (key, namespace, value, created_at) VALUES (?, ?, ?, ?)",
                (digest, namespace, text, time.time()),
            )


_SHARED: dict[str, Cache] = {}
_SHARED_LOCK = threading.Lock()


def shared_cache(path: str | None) -> Cache:
    """One `Cache` per path per process (None: the default file), shared by every verifier.

    Opening SQLite per request would cost a connection and a schema check each time; verifiers
    call this with `context.cache_path` instead.
    """
    key = path or ""
    with _SHARED_LOCK:
        cache = _SHARED.get(key)
        if cache is None:
            cache = _SHARED[key] = Cache(path) if path else Cache()
        return cache


def shared_caches() -> list[Cache]:
    """Every cache `shared_cache` has opened in this process (for hit/miss accounting)."""
    with _SHARED_LOCK:
        return list(_SHARED.values())
