"""The SQLite content-addressed cache: keys, hits and misses, persistence, threads."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from reward_agent.cache import Cache, cache_dir, canonical_json, default_cache_path  # noqa: E402


@pytest.fixture
def cache() -> Cache:
    with Cache(":memory:") as c:
        yield c


def test_put_get_round_trip_and_counters(cache: Cache) -> None:
    assert cache.get("search", {"q": "paris"}) is None
    cache.put("search", {"q": "paris"}, [{"url": "u", "score": 0.5}])
    assert cache.get("search", {"q": "paris"}) == [{"url": "u", "score": 0.5}]
    assert cache.get("search", {"q": "rome"}, default="none") == "none"
    stats = cache.stats
    assert (stats.hits, stats.misses) == (1, 2)
    assert stats.by_namespace == {"search": (1, 2)}
    assert stats.hit_rate == pytest.approx(1 / 3)


def test_key_is_canonical_and_namespaced(cache: Cache) -> None:
    cache.put("ns", {"a": 1, "b": [1, 2]}, "value")
    assert cache.get("ns", {"b": [1, 2], "a": 1}) == "value"  # key order does not matter
    assert cache.get("other", {"a": 1, "b": [1, 2]}) is None  # the namespace is part of the key
    assert cache.get("ns", {"a": 1, "b": [2, 1]}) is None  # list order does
    assert Cache.make_key("ns", {"x": 1}) == Cache.make_key("ns", {"x": 1})
    assert len(Cache.make_key("ns", {"x": 1})) == 64


def test_stored_none_and_falsy_values_are_hits(cache: Cache) -> None:
    cache.put("ns", "k", None)
    assert cache.contains("ns", "k")
    assert cache.get("ns", "k", default="missing") is None
    calls = []
    assert cache.get_or_compute("ns", "zero", lambda: calls.append(1) or 0) == 0
    assert cache.get_or_compute("ns", "zero", lambda: calls.append(1) or 0) == 0
    assert calls == [1]


def test_canonical_json_refuses_objects_without_a_canonical_form() -> None:
    assert canonical_json({"b": 1, "a": {2, 1}}) == '{"a":[1,2],"b":1}'
    with pytest.raises(TypeError, match="object"):
        canonical_json({"x": object()})
    with pytest.raises(ValueError):
        canonical_json(float("nan"))


def test_non_json_values_are_refused_and_nothing_is_stored(cache: Cache) -> None:
    with pytest.raises(TypeError):
        cache.put("ns", "k", {1, 2})
    assert not cache.contains("ns", "k")
    assert len(cache) == 0


def test_get_or_compute_caches_results_but_not_exceptions(cache: Cache) -> None:
    calls: list[int] = []

    def boom() -> int:
        calls.append(1)
        raise RuntimeError("transient")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("ns", "k", boom)
    assert not cache.contains("ns", "k")
    assert cache.get_or_compute("ns", "k", lambda: 42) == 42
    assert cache.get_or_compute("ns", "k", boom) == 42
    assert calls == [1]


def test_persists_across_instances_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "c.sqlite3"
    with Cache(path) as first:
        first.put("rm", ["model", "prompt", "response"], 0.75)
    with Cache(path) as second:
        assert second.get("rm", ["model", "prompt", "response"]) == 0.75
        assert len(second) == 1
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode.lower() == "wal"


def test_two_open_handles_see_each_others_writes(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with Cache(path) as a, Cache(path) as b:
        a.put("ns", "k", "from a")
        assert b.get("ns", "k") == "from a"


def test_delete_and_clear(cache: Cache) -> None:
    cache.put("a", 1, "x")
    cache.put("a", 2, "y")
    cache.put("b", 1, "z")
    assert cache.delete("a", 1) is True
    assert cache.delete("a", 1) is False
    assert cache.clear("a") == 1
    assert len(cache) == 1
    assert cache.clear() == 1
    assert len(cache) == 0


def test_default_path_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REWARD_AGENT_CACHE", str(tmp_path / "rc"))
    assert cache_dir() == tmp_path / "rc"
    assert default_cache_path() == tmp_path / "rc" / "cache.sqlite3"
    with Cache() as c:
        c.put("ns", "k", 1)
    assert (tmp_path / "rc" / "cache.sqlite3").is_file()
    monkeypatch.delenv("REWARD_AGENT_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "reward-agent"


def test_memory_cache_is_shared_between_threads(cache: Cache) -> None:
    def writer(i: int) -> None:
        for j in range(50):
            cache.put("t", [i, j], i * 1000 + j)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 400
    assert cache.get("t", [7, 49]) == 7049


def test_concurrent_get_or_compute_computes_once_per_key(tmp_path: Path) -> None:
    calls: list[str] = []
    lock = threading.Lock()

    def slow(key: str) -> str:
        with lock:
            calls.append(key)
        time.sleep(0.05)
        return key.upper()

    results: list[str] = []
    with Cache(tmp_path / "c.sqlite3") as cache:

        def worker(key: str) -> None:
            results.append(cache.get_or_compute("plan", key, lambda: slow(key)))

        threads = [threading.Thread(target=worker, args=(k,)) for k in ["a"] * 8 + ["b"] * 8]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(calls) == ["a", "b"]  # 16 callers, 2 computations
        assert sorted(results) == ["A"] * 8 + ["B"] * 8
        assert cache.stats.misses == 2 + 0 and cache.stats.hits == 14


def test_empty_namespace_is_refused(cache: Cache) -> None:
    with pytest.raises(ValueError, match="namespace"):
        cache.put("", "k", 1)
