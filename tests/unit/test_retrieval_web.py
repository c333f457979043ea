"""WebRetriever: real ddgs failing without a network, and ddgs replaced by a fake to test the code
around it (mapping, caching, rate limiting, error classification)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import ddgs
import pytest
from ddgs.exceptions import DDGSException, RatelimitException

from reward_agent.cache import Cache
from reward_agent.retrieval.base import RetrievalSpec
from reward_agent.retrieval.web import RateLimiter, WebRetriever


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# ---- real ddgs, no network ---------------------------------------------------------------------


def test_real_ddgs_without_network_is_unavailable_and_not_cached(monkeypatch):
    # A closed port on loopback as the proxy: every engine's request fails for real, whether or not
    # the machine running the test has internet access.
    monkeypatch.setenv("DDGS_PROXY", "http://127.0.0.1:9")
    cache = Cache(":memory:")
    retriever = WebRetriever(RetrievalSpec(web_timeout_s=10, web_min_interval_s=0), cache, limiter=RateLimiter())
    result = run(retriever.search("height of the Eiffel Tower", k=3))
    assert result.status == "unavailable", result
    assert result.passages == [] and result.error and "DDGSException" in result.error
    assert result.source == "web" and result.latency_s < 10
    assert len(cache) == 0  # an offline moment must not be cached
    again = run(retriever.search("height of the Eiffel Tower", k=3))
    assert again.status == "unavailable" and not again.cached


# ---- ddgs replaced by a fake -------------------------------------------------------------------


class FakeDDGS:
    """Stands in for ddgs.DDGS: returns scripted rows (or raises) and records each call's start time."""

    rows: list[dict[str, Any]] = []
    error: BaseException | None = None
    delay_s: float = 0.0
    calls: list[tuple[str, int, float]] = []
    lock = threading.Lock()

    def __init__(self, timeout: int | None = 5, **_: Any) -> None:
        self.timeout = timeout

    def text(self, query: str, max_results: int = 10, **_: Any) -> list[dict[str, Any]]:
        with FakeDDGS.lock:
            FakeDDGS.calls.append((query, max_results, time.monotonic()))
        if FakeDDGS.delay_s:
            time.sleep(FakeDDGS.delay_s)
        if FakeDDGS.error is not None:
            raise FakeDDGS.error
        return list(FakeDDGS.rows)


@pytest.fixture
def fake_ddgs(monkeypatch):
    FakeDDGS.rows, FakeDDGS.error, FakeDDGS.delay_s, FakeDDGS.calls = [], None, 0.0, []
    monkeypatch.setattr(ddgs, "DDGS", FakeDDGS)
    return FakeDDGS


ROWS = [
    {"title": "Eiffel Tower - Wikipedia", "href": "https://en.wikipedia.org/wiki/Eiffel_Tower",
     "body": "The Eiffel Tower is 330 metres tall."},
    {"title": "Duplicate", "href": "https://en.wikipedia.org/wiki/Eiffel_Tower", "body": "Same URL again."},
    {"title": "Empty snippet", "href": "https://example.org/empty", "body": ""},
    {"title": "", "href": "https://example.org/tower", "body": "Completed in 1889 for the World's Fair."},
    {"title": "Third", "href": "https://example.org/third", "body": "Paris, France."},
]


def test_results_are_mapped_to_passages(fake_ddgs):
    fake_ddgs.rows = ROWS
    retriever = WebRetriever(RetrievalSpec(web_min_interval_s=0), Cache(":memory:"), limiter=RateLimiter())
    result = run(retriever.search("eiffel tower height", k=2))
    assert result.status == "ok" and result.error is None
    assert [p.id for p in result.passages] == ["https://en.wikipedia.org/wiki/Eiffel_Tower", "https://example.org/tower"]
    first, second = result.passages
    assert first.source == "web" and first.url == first.id and first.title == "Eiffel Tower - Wikipedia"
    assert first.text == "The Eiffel Tower is 330 metres tall." and first.score is None
    assert second.title is None  # an empty title is no title
    assert fake_ddgs.calls[0][:2] == ("eiffel tower height", 2)


def test_ok_results_are_cached_by_query(fake_ddgs, tmp_path):
    fake_ddgs.rows = ROWS[:1]
    cache = Cache(tmp_path / "cache.sqlite3")
    retriever = WebRetriever(RetrievalSpec(web_min_interval_s=0), cache, limiter=RateLimiter())
    first = run(retriever.search("q1", k=3))
    second = run(retriever.search("q1", k=3))
    assert not first.cached and second.cached
    assert second.passages == first.passages
    assert len(fake_ddgs.calls) == 1
    # Another process (a new Cache on the same file) sees the entry too.
    reopened = WebRetriever(RetrievalSpec(web_min_interval_s=0), Cache(tmp_path / "cache.sqlite3"), limiter=RateLimiter())
    assert run(reopened.search("q1", k=3)).cached
    # A different query, or a different k, is a different key.
    run(retriever.search("q2", k=3))
    run(retriever.search("q1", k=4))
    assert len(fake_ddgs.calls) == 3


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DDGSException("ConnectError: connection refused"), "unavailable"),
        (RatelimitException("202 Ratelimit"), "unavailable"),
        (ConnectionResetError("reset by peer"), "unavailable"),
        (ValueError("unexpected page layout"), "failed"),
    ],
)
def test_errors_are_classified_and_never_cached(fake_ddgs, error, status):
    fake_ddgs.error = error
    cache = Cache(":memory:")
    retriever = WebRetriever(RetrievalSpec(web_min_interval_s=0), cache, limiter=RateLimiter())
    result = run(retriever.search("q", k=3))
    assert result.status == status and type(error).__name__ in (result.error or "")
    assert str(error) in (result.error or "")
    assert len(cache) == 0
    run(retriever.search("q", k=3))
    assert len(fake_ddgs.calls) == 2  # the failure was not cached: the source is asked again


def test_no_results_is_an_ok_empty_answer(fake_ddgs):
    fake_ddgs.error = DDGSException("No results found.")
    retriever = WebRetriever(RetrievalSpec(web_min_interval_s=0), None, limiter=RateLimiter())
    result = run(retriever.search("qwxzzy", k=3))
    assert result.status == "ok" and result.passages == []


def test_a_hanging_search_times_out_as_unavailable(fake_ddgs):
    fake_ddgs.delay_s = 1.5
    fake_ddgs.rows = ROWS
    retriever = WebRetriever(RetrievalSpec(web_timeout_s=0.2, web_min_interval_s=0), None, limiter=RateLimiter())
    result = run(retriever.search("slow", k=3))
    assert result.status == "unavailable" and "timed out after 0.2s" in (result.error or "")
    assert result.latency_s < 1.5


def test_queries_are_spaced_by_the_rate_limit_even_when_concurrent(fake_ddgs):
    fake_ddgs.rows = ROWS[:1]
    limiter = RateLimiter()
    interval = 0.15
    retriever = WebRetriever(RetrievalSpec(web_min_interval_s=interval), None, limiter=limiter)

    async def burst() -> None:
        await asyncio.gather(*(retriever.search(f"q{i}", k=1) for i in range(4)))

    run(burst())
    starts = sorted(t for _, _, t in fake_ddgs.calls)
    assert len(starts) == 4
    # Slots are reserved `interval` apart; the worker threads' start-up jitter can shift a single
    # gap a little, so the check is on the span of the burst (no two requests went out together).
    assert starts[-1] - starts[0] >= 3 * interval * 0.95, starts


def test_the_web_rate_limiter_is_shared_by_every_retriever():
    a = WebRetriever(RetrievalSpec(), None)
    b = WebRetriever(RetrievalSpec(), None)
    assert a.limiter is b.limiter


def test_the_limiter_reserves_consecutive_slots():
    now = [100.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert limiter.reserve(1.0) == 0.0
    assert limiter.reserve(1.0) == 1.0
    assert limiter.reserve(1.0) == 2.0
    now[0] = 110.0  # long idle: no waiting
    assert limiter.reserve(1.0) == 0.0


def test_missing_ddgs_package_is_unavailable(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ddgs", None)  # makes `import ddgs` raise ImportError
    retriever = WebRetriever(RetrievalSpec(web_min_interval_s=0), None, limiter=RateLimiter())
    result = run(retriever.search("q", k=3))
    assert result.status == "unavailable" and "pip install" in (result.error or "")
