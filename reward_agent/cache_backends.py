"""Where `reward_agent.cache.Cache` keeps its rows: the backend protocol, SQLite and Redis.

A backend stores opaque JSON text under (namespace, sha256 digest); `Cache` owns keys, JSON and the
hit/miss accounting. `open_backend(location)` picks one from what `context.cache_path` holds:

* a file path (the default `$REWARD_AGENT_CACHE/cache.sqlite3`) or `:memory:` -> `SQLiteBackend`;
* `redis://[user:password@]host:port/db`, `rediss://...` or `unix:///path.sock` -> `RedisBackend`,
  shared by every process, worker and replica that opens the same URL.

A backend raises `CacheUnavailable` when its store cannot be reached; `Cache` turns that into a
recomputation (recorded), never into a failed reward.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ContextManager, Protocol, runtime_checkable

from .errors import ConfigError

__all__ = ["CacheBackend", "CacheUnavailable", "RedisBackend", "SQLiteBackend", "is_redis_url", "open_backend"]

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class CacheUnavailable(RuntimeError):
    """The backend's store cannot be reached right now (an outage, not a miss)."""


@runtime_checkable
class CacheBackend(Protocol):
    """Storage of JSON text by (namespace, digest). Implementations must be thread-safe."""

    #: A URL or path naming the store (secrets masked), for messages and `Cache.path`.
    location: str
    #: True when other processes read and write the same rows: `Cache.get_or_compute` then takes
    #: `exclusive` so that one process computes a missing key while the others wait for it.
    shared: bool

    def get(self, namespace: str, digest: str) -> str | None: ...
    def put(self, namespace: str, digest: str, text: str) -> None: ...
    def contains(self, namespace: str, digest: str) -> bool: ...
    def delete(self, namespace: str, digest: str) -> bool: ...
    def clear(self, namespace: str | None) -> int: ...
    def count(self) -> int: ...
    def exclusive(self, namespace: str, digest: str) -> ContextManager[None]: ...
    def close(self) -> None: ...


def is_redis_url(location: str | os.PathLike[str]) -> bool:
    return str(location).startswith(REDIS_SCHEMES)


def open_backend(location: str | os.PathLike[str], *, timeout_s: float = 30.0) -> CacheBackend:
    """The backend for a cache path or URL (see the module docstring)."""
    if is_redis_url(location):
        return RedisBackend(str(location))
    return SQLiteBackend(location, timeout_s=timeout_s)


# -- SQLite -----------------------------------------------------------------------------------------

class SQLiteBackend:
    """One SQLite file (WAL mode) shared by threads and by the processes of one host, or `:memory:`."""

    shared = False  # single flight across processes is not offered: WAL readers do not block on a key

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float = 30.0) -> None:
        self.location = str(path)
        if self.location != ":memory:":
            Path(self.location).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # One connection shared behind a lock: a per-thread connection would give each thread its own
        # empty database for ":memory:", and SQLite serialises writers anyway.
        self._conn = sqlite3.connect(self.location, timeout=timeout_s, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        with self._lock:
            if self.location != ":memory:":
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

    def get(self, namespace: str, digest: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM entries WHERE key = ?", (digest,)).fetchone()
        return None if row is None else row[0]

    def put(self, namespace: str, digest: str, text: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO entries (key, namespace, value, created_at) VALUES (?, ?, ?, ?)",
                (digest, namespace, text, time.time()),
            )

    def contains(self, namespace: str, digest: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM entries WHERE key = ?", (digest,)).fetchone() is not None

    def delete(self, namespace: str, digest: str) -> bool:
        with self._lock:
            return self._conn.execute("DELETE FROM entries WHERE key = ?", (digest,)).rowcount > 0

    def clear(self, namespace: str | None) -> int:
        with self._lock:
            if namespace is None:
                return self._conn.execute("DELETE FROM entries").rowcount
            return self._conn.execute("DELETE FROM entries WHERE namespace = ?", (namespace,)).rowcount

    def count(self) -> int:
        with self._lock:
            (n,) = self._conn.execute("SELECT COUNT(*) FROM entries").fetchone()
        return int(n)

    def exclusive(self, namespace: str, digest: str) -> ContextManager[None]:
        return contextlib.nullcontext()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# -- Redis ------------------------------------------------------------------------------------------

class RedisBackend:
    """A Redis database shared by every process that opens the same URL.

    Entries are plain strings under `reward-agent:v1:e:{namespace}:{digest}` without expiry (the
    keys are content addresses); bound the memory on the server (`maxmemory` with
    `maxmemory-policy allkeys-lru`) rather than here. `exclusive` is a lease key set with NX and a
    short expiry that a background thread renews while the holder computes, so a holder killed
    mid-computation blocks the others for at most `lease_s`.

    After a failed call the backend does not touch the network for `retry_after_s` (every call in
    that window raises `CacheUnavailable` at once), so an outage costs one connect timeout, not one
    per lookup.
    """

    shared = True
    PREFIX = "reward-agent:v1:"

    def __init__(self, url: str, *, socket_timeout_s: float = 2.0, lease_s: float = 30.0,
                 wait_s: float = 600.0, retry_after_s: float = 5.0) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ConfigError("a redis:// cache_path needs the `redis` package: pip install 'reward-agent[distributed]'") from exc
        self._redis = redis
        try:
            self._client = redis.Redis.from_url(
                url, socket_timeout=socket_timeout_s, socket_connect_timeout=socket_timeout_s,
                retry_on_timeout=False, retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0),
            )
        except ValueError as exc:
            raise ConfigError(f"cache_path {url!r} is not a valid Redis URL: {exc}") from None
        self.location = _mask_password(url)
        self.lease_s = lease_s
        self.wait_s = wait_s
        self.retry_after_s = retry_after_s
        self._down_until = 0.0
        self._state_lock = threading.Lock()

    # -- the protocol --

    def get(self, namespace: str, digest: str) -> str | None:
        raw = self._call(self._client.get, self._entry(namespace, digest))
        return None if raw is None else raw.decode("utf-8")

    def put(self, namespace: str, digest: str, text: str) -> None:
        self._call(self._client.set, self._entry(namespace, digest), text.encode("utf-8"))

    def contains(self, namespace: str, digest: str) -> bool:
        return bool(self._call(self._client.exists, self._entry(namespace, digest)))

    def delete(self, namespace: str, digest: str) -> bool:
        return bool(self._call(self._client.delete, self._entry(namespace, digest)))

    def clear(self, namespace: str | None) -> int:
        pattern = self._entry(namespace, "*") if namespace is not None else f"{self.PREFIX}e:*"
        removed = 0
        for batch in self._batched(self._call(lambda: list(self._client.scan_iter(match=pattern, count=1000)))):
            removed += int(self._call(self._client.delete, *batch))
        return removed

    def count(self) -> int:
        return len(self._call(lambda: list(self._client.scan_iter(match=f"{self.PREFIX}e:*", count=1000))))

    @contextlib.contextmanager
    def exclusive(self, namespace: str, digest: str) -> Iterator[None]:
        """Hold the lease on one key while the body runs; waits (up to `wait_s`) for another holder.

        Waiting gives up after `wait_s` and runs the body anyway: a slow peer must not stall this one
        forever, and computing twice is only wasted work.
        """
        key = f"{self.PREFIX}lease:{namespace}:{digest}"
        token = uuid.uuid4().hex
        lease_ms = int(self.lease_s * 1000)
        deadline = time.monotonic() + self.wait_s
        delay = 0.02
        while not self._call(self._client.set, key, token, nx=True, px=lease_ms):
            if time.monotonic() >= deadline:
                yield
                return
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(key, token, lease_ms, stop), daemon=True,
                                   name="cache-lease-renewer")
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            with contextlib.suppress(CacheUnavailable):
                # Delete only our own lease (it may have expired and been taken by another process).
                self._call(self._client.eval, _RELEASE_SCRIPT, 1, key, token)

    def close(self) -> None:
        self._client.close()

    # -- internals --

    def _entry(self, namespace: str, digest: str) -> str:
        # A namespace is code-chosen text; escape glob characters so clear(namespace) matches only it.
        safe = "".join("\\" + c if c in "*?[]\\" else c for c in namespace)
        return f"{self.PREFIX}e:{safe}:{digest}"

    def _renew(self, key: str, token: str, lease_ms: int, stop: threading.Event) -> None:
        while not stop.wait(self.lease_s / 3):
            with contextlib.suppress(CacheUnavailable):
                self._call(self._client.eval, _RENEW_SCRIPT, 1, key, token, lease_ms)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        with self._state_lock:
            if time.monotonic() < self._down_until:
                raise CacheUnavailable(f"{self.location} failed less than {self.retry_after_s:g}s ago")
        try:
            return fn(*args, **kwargs)
        except self._redis.RedisError as exc:
            with self._state_lock:
                self._down_until = time.monotonic() + self.retry_after_s
            raise CacheUnavailable(f"{type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _batched(keys: list[Any], size: int = 500) -> Iterator[list[Any]]:
        for i in range(0, len(keys), size):
            yield keys[i : i + size]


_RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_RENEW_SCRIPT = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) "
                 "else return 0 end")


def _mask_password(url: str) -> str:
    """The URL with any password replaced by '***' (it ends up in logs and stats)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    creds, host = rest.split("@", 1)
    user = creds.split(":", 1)[0] if ":" in creds else ""
    return f"{scheme}://{user}:***@{host}"
