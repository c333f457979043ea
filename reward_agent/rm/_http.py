"""Shared HTTP plumbing for remote reward models: batching, a concurrency limit, timeouts, retries.

Retried: connection errors, timeouts, HTTP 429 and 5xx, with exponential backoff. Not retried:
other 4xx (the request itself is wrong; sending it again cannot help). After the last try the
batch fails with `RMError` naming the URL and the last problem.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import ConfigError
from ..redaction import redact_text, redact_url
from .base import RMError

__all__ = ["HttpSettings", "post_batches"]

T = TypeVar("T")


@dataclass(frozen=True)
class HttpSettings:
    """How to talk to a reward server."""

    timeout_s: float = 60.0
    retries: int = 2
    backoff_s: float = 0.5
    max_concurrency: int = 4
    batch_size: int = 64
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ConfigError(f"timeout_s={self.timeout_s} must be positive")
        if self.retries < 0:
            raise ConfigError(f"retries={self.retries} must be 0 or more")
        if self.max_concurrency < 1:
            raise ConfigError(f"max_concurrency={self.max_concurrency} must be at least 1")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size={self.batch_size} must be at least 1")


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


async def post_json(client: Any, url: str, payload: dict[str, Any], settings: HttpSettings) -> tuple[Any, int]:
    """POST `payload`, retrying what may succeed on a second try. Returns (JSON body, attempts)."""
    import httpx

    shown = redact_url(url)  # messages name the server, never its credentials
    last = "no attempt made"
    for attempt in range(settings.retries + 1):
        if attempt:
            await asyncio.sleep(settings.backoff_s * 2 ** (attempt - 1))
        try:
            response = await client.post(url, json=payload, headers=settings.headers or None)
        except httpx.TimeoutException:
            last = f"timed out after {settings.timeout_s:g} s"
            continue
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}: {redact_text(str(exc))}"
            continue
        if response.status_code >= 400:
            last = f"HTTP {response.status_code}: {redact_text(response.text[:300])}"
            if _retryable(response.status_code):
                continue
            raise RMError(f"reward server {shown} refused the request ({last})")
        try:
            return response.json(), attempt + 1
        except ValueError:
            raise RMError(f"reward server {shown} answered with non-JSON: {redact_text(response.text[:200])!r}") from None
    raise RMError(f"reward server {shown} failed after {settings.retries + 1} attempt(s): {last}")


async def post_batches(
    url: str,
    chunks: Sequence[T],
    make_payload: Callable[[T], dict[str, Any]],
    settings: HttpSettings,
    parse: Callable[[Any, T], list[Any]],
) -> tuple[list[list[Any]], int]:
    """Send one request per chunk (at most `max_concurrency` in flight); parsed results in chunk order,
    plus the number of HTTP requests made (retries included)."""
    import httpx

    semaphore = asyncio.Semaphore(settings.max_concurrency)
    attempts = 0

    async def one(client: Any, chunk: T) -> list[Any]:
        nonlocal attempts
        async with semaphore:
            body, n = await post_json(client, url, make_payload(chunk), settings)
            attempts += n
        return parse(body, chunk)

    async with httpx.AsyncClient(timeout=settings.timeout_s) as client:
        tasks: list[Awaitable[list[Any]]] = [one(client, c) for c in chunks]
        results = await asyncio.gather(*tasks)
    return list(results), attempts


def run_sync(coro: Awaitable[T]) -> T:
    """Run a coroutine from sync code, also when the caller is inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]
