"""`WebRetriever`: web search results as evidence, through the `ddgs` metasearch library.

`ddgs` is synchronous and may block on the network, so each query runs in a worker thread under
`asyncio.wait_for(timeout=spec.web_timeout_s)`. One process-wide rate limiter spaces queries by at
least `spec.web_min_interval_s` (search engines ban clients that burst), whichever retriever or
event loop issues them. A network problem (timeout, connection error, rate limit, every engine
failing) is `unavailable`; anything else is `failed`; both carry the message. Only `ok` results
are cached: an offline moment must not poison the cache for later runs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from ..cache import Cache
from .base import Passage, RetrievalResult, RetrievalSpec

__all__ = ["RateLimiter", "WebRetriever", "WEB_LIMITER"]


class RateLimiter:
    """At least `interval` seconds between the starts of consecutive calls, across threads and loops.

    Each caller reserves the next free slot under a lock, then sleeps until it outside the lock, so
    concurrent callers are spaced out in arrival order without holding the lock while waiting.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._next_free = float("-inf")
        self._clock = clock

    def reserve(self, interval: float) -> float:
        """Reserve a slot; returns how many seconds to wait before using it."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_free)
            self._next_free = slot + interval
            return slot - now

    async def wait(self, interval: float) -> float:
        """Wait for a slot; returns the seconds waited."""
        delay = self.reserve(interval)
        if delay > 0:
            await asyncio.sleep(delay)
        return delay


# Process-wide: every WebRetriever shares it, since the remote side sees one client.
WEB_LIMITER = RateLimiter()

# ddgs exception class names that mean "the network / the engines cannot answer now".
_NETWORK_ERRORS = ("DDGSException", "RatelimitException", "TimeoutException")


def _is_network_error(exc: BaseException) -> bool:
    """True for errors that say the web is unreachable rather than that something is broken.

    ddgs wraps every engine's transport error (DNS, connect, TLS, HTTP 4xx/5xx) into a
    DDGSException, so its whole family counts as network; so do OS-level connection errors.
    """
    if isinstance(exc, (OSError, ConnectionError, TimeoutError, asyncio.TimeoutError)):
        return True
    return any(cls.__name__ in _NETWORK_ERRORS for cls in type(exc).__mro__)


def _is_no_results(exc: BaseException) -> bool:
    """ddgs raises DDGSException("No results found.") when the engines answered but found nothing
    (with an engine error it raises that error's text instead)."""
    return type(exc).__name__ == "DDGSException" and str(exc) == "No results found."


def _ddgs_search(query: str, k: int, timeout_s: float) -> list[dict[str, Any]]:
    """One blocking ddgs text search (runs in a worker thread)."""
    from ddgs import DDGS

    # ddgs' own per-request timeout is an int of seconds; the asyncio timeout bounds the total.
    return list(DDGS(timeout=max(1, int(timeout_s))).text(query, max_results=k) or [])


def _to_passages(rows: list[dict[str, Any]], k: int) -> list[Passage]:
    """ddgs rows ({title, href, body}) to passages: deduplicated by URL, empty snippets dropped."""
    passages: list[Passage] = []
    seen: set[str] = set()
    for row in rows:
        url = (row.get("href") or row.get("url") or "").strip()
        body = (row.get("body") or row.get("snippet") or "").strip()
        if not body or (url and url in seen):
            continue
        seen.add(url)
        passages.append(
            Passage(id=url or f"web:{len(passages)}", text=body, source="web",
                    title=(row.get("title") or None), url=url or None)
        )
        if len(passages) == k:
            break
    return passages


class WebRetriever:
    """Web search evidence (DuckDuckGo and the other ddgs engines). Never raises from `search`."""

    source = "web"

    def __init__(self, spec: RetrievalSpec, cache: Cache | None = None, limiter: RateLimiter = WEB_LIMITER) -> None:
        self.spec = spec
        self.cache = cache
        self.limiter = limiter

    async def search(self, query: str, k: int = 5) -> RetrievalResult:
        """Up to `k` web snippets for `query`."""
        started = time.perf_counter()
        key = {"query": query, "k": k}
        if self.cache is not None:
            hit = self.cache.get("retrieval:web", key)
            if hit is not None:
                result = RetrievalResult.model_validate(hit)
                return result.model_copy(update={"cached": True, "latency_s": time.perf_counter() - started})
        try:
            import ddgs  # noqa: F401  checked here so a missing package is "unavailable", not "failed"
        except ImportError:
            return RetrievalResult(query=query, source="web", status="unavailable",
                                   error="web search needs ddgs: pip install 'reward-agent[retrieval]'")
        await self.limiter.wait(self.spec.web_min_interval_s)
        try:
            rows = await asyncio.wait_for(
                asyncio.to_thread(_ddgs_search, query, k, self.spec.web_timeout_s), timeout=self.spec.web_timeout_s
            )
        except asyncio.TimeoutError:
            return RetrievalResult(query=query, source="web", status="unavailable",
                                   error=f"web search timed out after {self.spec.web_timeout_s:g}s",
                                   latency_s=time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - a failing source is data, never a crash
            if _is_no_results(exc):
                rows = []  # every engine answered, with nothing: a real (empty) answer
            else:
                status = "unavailable" if _is_network_error(exc) else "failed"
                return RetrievalResult(query=query, source="web", status=status, error=f"{type(exc).__name__}: {exc}",
                                       latency_s=time.perf_counter() - started)
        result = RetrievalResult(query=query, source="web", status="ok", passages=_to_passages(rows, k),
                                 latency_s=time.perf_counter() - started)
        if self.cache is not None:
            self.cache.put("retrieval:web", key, result.model_dump(mode="json", exclude={"cached", "latency_s"}))
        return result
