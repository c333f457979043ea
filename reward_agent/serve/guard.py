"""The ASGI guard in front of every route: auth, body size, body well-formedness, timeout.

It runs before FastAPI and LangServe see the request, so the same checks and the same error
shape apply to the REST routes and to the LangServe routes at `/reward`:

* bearer-token auth (when a token is configured) on everything but `/health` and `/ready`;
* the body of a POST is read up to `max_body_bytes` (413 past it), must be UTF-8 (400) and
  JSON (400, with line and column), and is then replayed to the app unchanged;
* a non-streaming request that runs past `request_timeout_s` is cancelled and gets a 504.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .openrlhf import take_url_token
from .settings import ServeSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/health", "/ready"})
STREAMING_SUFFIXES = ("/stream", "/stream_log", "/stream_events")


class RequestRejected(Exception):
    """A request refused before it reached a route: HTTP status plus a message naming the problem."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


async def send_json_error(send: Send, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    """Send `{"detail": message}` with `status` (the shape FastAPI uses for its own errors)."""
    body = json.dumps({"detail": message}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def check_auth(scope: Scope, token: str | None, url_token: str | None = None) -> None:
    """401 unless the `Authorization: Bearer <token>` header matches (constant-time compare),
    or the token came in the URL of a route that takes one (`url_token`, see openrlhf.take_url_token)."""
    if token is None or scope["path"] in OPEN_PATHS:
        return
    if url_token is not None:
        if hmac.compare_digest(url_token.encode(), token.encode()):
            return
        raise RequestRejected(401, "wrong token in the URL (/get_reward/<token> or /get_reward?token=<token>)")
    headers = dict(scope.get("headers") or ())
    given = headers.get(b"authorization", b"").decode("latin-1")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        problem = "missing" if not given else "wrong"
        raise RequestRejected(401, f"{problem} bearer token: send 'Authorization: Bearer <token>'",
                              {"WWW-Authenticate": "Bearer"})


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, refusing (413) as soon as it is known to exceed `limit` bytes."""
    headers = dict(scope.get("headers") or ())
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestRejected(413, f"request body is {int(declared)} bytes; the limit is {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestRejected(400, "client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestRejected(413, f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def check_json_body(body: bytes) -> None:
    """400 unless `body` is non-empty UTF-8 JSON; the message says which and where."""
    if not body.strip():
        raise RequestRejected(400, "request body is empty; send a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRejected(400, f"request body is not valid UTF-8 (byte {exc.start}: {exc.reason})") from None
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestRejected(400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


class GuardMiddleware:
    """Pure ASGI middleware (streaming-safe, unlike BaseHTTPMiddleware) applying ServeSettings."""

    def __init__(self, app: ASGIApp, settings: ServeSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            # OpenRLHF's client sends no header: /get_reward takes the token in its URL instead.
            check_auth(scope, self.settings.token, take_url_token(scope))
            if scope["method"] in {"POST", "PUT", "PATCH"}:
                body = await read_body(scope, receive, self.settings.max_body_bytes)
                check_json_body(body)
                receive = _replay(body, receive)
        except RequestRejected as exc:
            await send_json_error(send, exc.status, exc.message, exc.headers)
            return
        if scope["path"].endswith(STREAMING_SUFFIXES) or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        await self._with_timeout(scope, receive, send)

    async def _with_timeout(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        limit = self.settings.request_timeout_s
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if not deadline.expired():  # a TimeoutError from inside the app is the app's business
                raise
            if not started:
                await send_json_error(send, 504, f"request took longer than the server's limit of {limit:g} s and was cancelled")


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the already-read body to the app once, then defers to the real one."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
