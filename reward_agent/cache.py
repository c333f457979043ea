"""A content-addressed cache, for work that is expensive and deterministic given its inputs.

Model calls, search results, reward-model scores and generated checker code are all keyed by what
produced them (model identity, messages, prompt version, ...). The key parts are turned into a
canonical JSON text and hashed with sha256 together with a namespace, so equal inputs always map to
the same row and nothing about the key has to be stored in a fixed schema.

Values are JSON (what goes in as a tuple comes back as a list). Where rows live is a backend
(`reward_agent.cache_backends`): by default one SQLite file (WAL mode), shared by threads and by the
processes of one host; `Cache(":memory:")` is a private in-process cache for tests; a
`redis://host:port/db` URL shares the cache between every worker and replica of a cluster.

A cache is an accelerator, never a dependency: when the backend is unreachable (Redis down, network
cut) a read is treated as a miss and a write is dropped, so the work is recomputed; each such event
is logged (at most every few seconds) and counted in `stats.unavailable`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from .cache_backends import CacheBackend, CacheUnavailable, open_backend

__all__ = ["Cache", "CacheBackend", "CacheStats", "CacheUnavailable", "cache_dir", "canonical_json", "default_cache_path", "shared_cache", "shared_caches"]

T = TypeVar("T")
log = logging.getLogger(__name__)

# An unreachable backend is logged at most this often per cache (every event is counted).
_OUTAGE_LOG_INTERVAL_S = 10.0

# Bump when the way keys are derived changes, so old rows can never be mistaken for new ones.
KEY_FORMAT = 1
_MISSING: Any = object()
_UNAVAILABLE: Any = object()


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
    """Hit and miss counts of one `Cache` object since it was opened (not persisted).

    `unavailable` counts reads and writes that the backend could not serve (an outage): the value
    was recomputed or not stored. They are neither hits nor misses.
    """

    hits: int
    misses: int
    by_namespace: dict[str, tuple[int, int]]
    unavailable: int = 0
    unavailable_by_namespace: dict[str, int] = field(default_factory=dict)

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
    """A thread-safe key/value cache, keyed by sha256 of (namespace, canonical JSON of the key).

    Usage:
        cache = Cache()                              # default SQLite file under cache_dir()
        cache = Cache("redis://127.0.0.1:6379/0")    # shared by every process that opens this URL
        cache.put("search", {"q": "paris"}, hits)
        cache.get("search", {"q": "paris"})          # -> hits
        cache.get_or_compute("rm", key, lambda: score(...))
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout_s: float = 30.0,
                 backend: CacheBackend | None = None) -> None:
        if backend is None:
            backend = open_backend(default_cache_path() if path is None else path, timeout_s=timeout_s)
        self.backend = backend
        self.path = backend.location
        self._lock = threading.RLock()
        self._flights: weakref.WeakValueDictionary[str, _Flight] = weakref.WeakValueDictionary()
        self._hits: Counter[str] = Counter()
        self._misses: Counter[str] = Counter()
        self._unavailable: Counter[str] = Counter()
        self._last_outage_log = 0.0

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
        """The stored value, or `default` on a miss (or an outage). Counts a hit, a miss or an outage."""
        value = self._read(namespace, self.make_key(namespace, key))
        self._count(namespace, value)
        return default if value is _MISSING or value is _UNAVAILABLE else value

    def contains(self, namespace: str, key: Any) -> bool:
        """Whether a value is stored, without touching the hit/miss counters (False during an outage)."""
        digest = self.make_key(namespace, key)
        try:
            return self.backend.contains(namespace, digest)
        except CacheUnavailable as exc:
            self._outage(namespace, exc)
            return False

    def put(self, namespace: str, key: Any, value: Any) -> None:
        """Store `value` (must be JSON-serialisable) under (namespace, key), replacing any old one."""
        self._store(namespace, self.make_key(namespace, key), value)

    def get_or_compute(self, namespace: str, key: Any, compute: Callable[[], T]) -> T:
        """The cached value, or `compute()` stored and returned.

        Concurrent callers in this process asking for the same key wait for the first one instead of
        computing again (the point of the cache for best-of-N: N responses, one model call). On a
        backend shared between processes (Redis) the same holds across processes: the first caller
        holds a lease on the key while it computes, the others wait for it and read its value.
        An exception from `compute` is not cached (and releases the lease).
        """
        digest = self.make_key(namespace, key)
        flight = self._flight(digest)
        with flight.lock:
            value = self._read(namespace, digest)
            if value is _MISSING and self.backend.shared:
                try:
                    with self.backend.exclusive(namespace, digest):
                        # Another process may have computed it while we waited for the lease.
                        value = self._read(namespace, digest)
                        if value is _MISSING:
                            return self._compute_and_store(namespace, digest, compute)
                except CacheUnavailable as exc:
                    self._outage(namespace, exc)
                    value = _UNAVAILABLE
            self._count(namespace, value)
            if value is not _MISSING and value is not _UNAVAILABLE:
                return value
            computed = compute()
            self._store(namespace, digest, computed)
            return computed

    def delete(self, namespace: str, key: Any) -> bool:
        """Remove one entry; True if it existed."""
        return self.backend.delete(namespace, self.make_key(namespace, key))

    def clear(self, namespace: str | None = None) -> int:
        """Remove every entry (of one namespace, if given). Returns how many were removed."""
        return self.backend.clear(namespace)

    def __len__(self) -> int:
        return self.backend.count()

    # -- bookkeeping --------------------------------------------------------------------------------

    @property
    def stats(self) -> CacheStats:
        """Hits, misses and outages counted by `get` and `get_or_compute` on this object."""
        with self._lock:
            namespaces = set(self._hits) | set(self._misses)
            return CacheStats(
                hits=sum(self._hits.values()),
                misses=sum(self._misses.values()),
                by_namespace={ns: (self._hits[ns], self._misses[ns]) for ns in sorted(namespaces)},
                unavailable=sum(self._unavailable.values()),
                unavailable_by_namespace=dict(sorted(self._unavailable.items())),
            )

    def close(self) -> None:
        self.backend.close()

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

    def _read(self, namespace: str, digest: str) -> Any:
        """The decoded value, `_MISSING`, or `_UNAVAILABLE` (outage, already recorded). Counts nothing."""
        try:
            text = self.backend.get(namespace, digest)
        except CacheUnavailable as exc:
            self._outage(namespace, exc)
            return _UNAVAILABLE
        return _MISSING if text is None else json.loads(text)

    def _count(self, namespace: str, value: Any) -> None:
        if value is _UNAVAILABLE:
            return  # counted as an outage by _outage
        with self._lock:
            (self._misses if value is _MISSING else self._hits)[namespace] += 1

    def _compute_and_store(self, namespace: str, digest: str, compute: Callable[[], T]) -> T:
        self._count(namespace, _MISSING)
        computed = compute()
        self._store(namespace, digest, computed)
        return computed

    def _store(self, namespace: str, digest: str, value: Any) -> None:
        # Serialise first: a non-JSON value fails here (an error of the caller) and stores nothing.
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        try:
            self.backend.put(namespace, digest, text)
        except CacheUnavailable as exc:
            self._outage(namespace, exc)

    def _outage(self, namespace: str, exc: CacheUnavailable) -> None:
        """Record a backend outage: counted always, logged at most every _OUTAGE_LOG_INTERVAL_S."""
        now = time.monotonic()
        with self._lock:
            self._unavailable[namespace] += 1
            total = sum(self._unavailable.values())
            due = now - self._last_outage_log >= _OUTAGE_LOG_INTERVAL_S
            if due:
                self._last_outage_log = now
        if due:
            log.warning("cache %s unavailable (%s); recomputing without it (%d outage event(s) so far)",
                        self.path, exc, total)


_SHARED: dict[str, Cache] = {}
_SHARED_LOCK = threading.Lock()


def shared_cache(path: str | None) -> Cache:
    """One `Cache` per path or URL per process (None: the default file), shared by every verifier.

    Opening SQLite (or a Redis connection pool) per request would cost a connection and a schema check each time; verifiers
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
