"""The Redis cache backend against a real `redis-server` on loopback: sharing, single flight, outages."""

from __future__ import annotations

import logging
import multiprocessing
import time
from pathlib import Path

import pytest

from redis_support import REDIS_MISSING, REDIS_SERVER, RedisServer, free_port
from reward_agent.cache import Cache, shared_cache
from reward_agent.cache_backends import RedisBackend, SQLiteBackend, open_backend

pytest.importorskip("redis", reason="the `redis` client is in the `distributed` extra (make setup installs it)")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason=REDIS_MISSING)


def test_url_selects_the_backend(redis_server: RedisServer, tmp_path: Path) -> None:
    assert isinstance(open_backend(redis_server.url), RedisBackend)
    assert isinstance(open_backend(":memory:"), SQLiteBackend)
    assert isinstance(open_backend(tmp_path / "c.sqlite3"), SQLiteBackend)
    assert RedisBackend("redis://user:secret@127.0.0.1:1/0").location == "redis://user:***@127.0.0.1:1/0"


def test_two_caches_on_one_redis_share_values(redis_server: RedisServer) -> None:
    a, b = Cache(redis_server.url), Cache(redis_server.url)
    a.put("checker", {"id": "x"}, {"code": "def check(r): return True", "n": (1, 2)})
    assert b.get("checker", {"id": "x"}) == {"code": "def check(r): return True", "n": [1, 2]}
    assert b.contains("checker", {"id": "x"}) and not b.contains("checker", {"id": "y"})
    assert len(a) == 1
    a.put("other", {"id": "x"}, 1)
    assert a.clear("checker") == 1 and len(b) == 1
    assert b.delete("other", {"id": "x"}) and len(a) == 0
    assert (b.stats.hits, b.stats.misses, b.stats.unavailable) == (1, 0, 0)


def _compute_in_process(url: str, log_path: str, barrier) -> object:
    cache = Cache(url)
    barrier.wait()

    def compute() -> dict[str, str]:
        with open(log_path, "a") as fh:  # one line per real computation, whichever process does it
            fh.write("computed\n")
        time.sleep(0.5)  # long enough that the other process asks while this one holds the lease
        return {"code": "generated"}

    return cache.get_or_compute("codegen", {"prompt": "p"}, compute)


@pytest.mark.integration  # two fresh Python processes, each importing the package, on a real redis-server
def test_two_processes_compute_the_same_key_once(redis_server: RedisServer, tmp_path: Path) -> None:
    log_path = tmp_path / "computations.log"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(2)
        with ctx.Pool(2) as pool:
            results = pool.starmap(_compute_in_process, [(redis_server.url, str(log_path), barrier)] * 2)
    assert results == [{"code": "generated"}] * 2
    assert log_path.read_text().splitlines() == ["computed"]


def test_threads_of_two_cache_objects_compute_once(redis_server: RedisServer) -> None:
    import threading

    calls: list[int] = []
    caches = [Cache(redis_server.url), Cache(redis_server.url)]

    def compute() -> int:
        calls.append(1)
        time.sleep(0.3)
        return 42

    out: list[int] = []
    threads = [threading.Thread(target=lambda c=c: out.append(c.get_or_compute("rm", {"k": 1}, compute))) for c in caches * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [42] * 4 and len(calls) == 1
    stats = [c.stats for c in caches]
    assert sum(s.misses for s in stats) == 1 and sum(s.hits for s in stats) == 3


def test_failed_compute_releases_the_lease(redis_server: RedisServer) -> None:
    a, b = Cache(redis_server.url), Cache(redis_server.url)
    with pytest.raises(ValueError):
        a.get_or_compute("ns", "k", lambda: (_ for _ in ()).throw(ValueError("boom")))
    started = time.monotonic()
    assert b.get_or_compute("ns", "k", lambda: "ok") == "ok"
    assert time.monotonic() - started < 5  # not blocked by a lease left behind (30 s)


def test_outage_degrades_to_recomputing_and_is_recorded(redis_server: RedisServer, caplog) -> None:
    cache = Cache(redis_server.url)
    assert cache.get_or_compute("search", "q", lambda: "first") == "first"
    redis_server.stop()  # the cache server goes away mid-run
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        return "recomputed"

    with caplog.at_level(logging.WARNING, logger="reward_agent.cache"):
        assert cache.get_or_compute("search", "q", compute) == "recomputed"
        assert cache.get("search", "q", default="fallback") == "fallback"
        cache.put("search", "q2", "dropped")  # a write during the outage is dropped, not raised
        assert not cache.contains("search", "q")
    assert len(calls) == 1
    stats = cache.stats
    assert stats.unavailable >= 3 and stats.unavailable_by_namespace["search"] == stats.unavailable
    assert (stats.hits, stats.misses) == (0, 1)  # outages are neither hits nor misses
    assert any("unavailable" in r.getMessage() and "recomputing" in r.getMessage() for r in caplog.records)


def test_unreachable_url_at_startup_still_scores(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    cache = shared_cache(url)
    assert cache.get_or_compute("rm", "k", lambda: 0.5) == 0.5
    assert cache.stats.unavailable >= 1
