"""The ASGI guard in front of every route: auth, body size, body well-formedness, timeout.

It runs before FastAPI and LangServe see the request, so the same checks and the same error
shape apply to the REST routes and to the LangServe routes at `/reward`:

* bearer-token auth (when a token is configured) on everything but `/health` and `/ready`;
* the body of a POST is read up to `max_body_bytes` (413 past it) within `body_timeout_s`
  (408 past it); its JSON nesting is measured on the raw bytes, before any parser recurses
  into it (400 past `max_json_depth`); it must be UTF-8 (400) and standard JSON (400, with
  line and column; NaN, Infinity and numbers beyond a double are refused) holding only real text (422 for a lone surrogate such as `"\ud800"`, which no UTF-8
  encoder can write back); it is then replayed to the app unchanged;
* a non-streaming request that runs past `request_timeout_s` is cancelled and gets a 504;
* every response body leaving the server has the known secret values masked
  (`reward_agent.redaction`), whatever path put them there.

The header-read timeout lives one layer down, in the HTTP protocol (`serve.protocol`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from array import array
from collections.abc import Awaitable, Callable, MutableMapping
from itertools import accumulate
from typing import Any

from ..redaction import scrub_bytes
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


def token_matches(scope: Scope, token: str) -> bool:
    """Whether the request carries `Authorization: Bearer <token>` (constant-time compare)."""
    headers = dict(scope.get("headers") or ())
    given = headers.get(b"authorization", b"")
    return hmac.compare_digest(given, f"Bearer {token}".encode())


def check_auth(scope: Scope, token: str | None, url_token: str | None = None) -> None:
    """401 unless the `Authorization: Bearer <token>` header matches (constant-time compare),
    or the token came in the URL of a route that takes one (`url_token`, see openrlhf.take_url_token)."""
    if token is None or scope["path"] in OPEN_PATHS:
        return
    if url_token is not None:
        if hmac.compare_digest(url_token.encode(), token.encode()):
            return
        raise RequestRejected(401, "wrong token in the URL (/get_reward/<token> or /get_reward?token=<token>)")
    if not token_matches(scope, token):
        given = dict(scope.get("headers") or ()).get(b"authorization", b"")
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


# A JSON string, escapes included. It cannot fail once started (an unterminated string runs to
# the end of the body), so stripping strings is linear even on hostile input.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
# A \uD800-\uDFFF escape: only then can parsed JSON hold a lone surrogate (raw UTF-8 cannot).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def json_depth(body: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest, from its bytes (no parsing).

    Brackets inside strings do not count; for malformed JSON the value may be too high, which
    only turns a 400 for syntax into a 400 for depth.
    """
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    if not brackets:
        return 0
    return max(0, max(accumulate(array("b", brackets.translate(_BRACKET_STEP)))))


def check_json_body(body: bytes, max_depth: int = 64) -> Any:
    """The parsed body, or RequestRejected: 400 unless `body` is non-empty UTF-8 JSON nested at
    most `max_depth` deep, 422 when a string in it is not text (a lone surrogate)."""
    if not body.strip():
        raise RequestRejected(400, "request body is empty; send a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRejected(400, f"request body is not valid UTF-8 (byte {exc.start}: {exc.reason})") from None
    if len(body) > max_depth and (depth := json_depth(body)) > max_depth:
        raise RequestRejected(400, f"JSON nested {depth} levels deep; the limit is {max_depth} (max_json_depth)")
    try:
        parsed = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except NonFiniteNumber as exc:
        raise RequestRejected(400, str(exc)) from None
    except json.JSONDecodeError as exc:
        raise RequestRejected(400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:  # unreachable below max_json_depth; kept so no parser depth is a 500
        raise RequestRejected(400, f"JSON nested too deeply; the limit is {max_depth} (max_json_depth)") from None
    if _SURROGATE_ESCAPE.search(body):
        where = find_lone_surrogate(parsed)
        if where is not None:
            raise RequestRejected(
                422, f"{where or 'body'}: holds a lone surrogate (a \\uD800-\\uDFFF escape that is not part of a "
                "pair), which is not Unicode text; send valid text")
    return parsed


class NonFiniteNumber(ValueError):
    """NaN, Infinity or a number too large for a float: not JSON, and no answer could echo it."""


def _no_constant(name: str) -> Any:
    raise NonFiniteNumber(f"{name} is not a JSON value (RFC 8259 has no NaN or Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise NonFiniteNumber(f"number {text[:40]} is out of the range of a double")
    return value


def find_lone_surrogate(value: Any, path: str = "") -> str | None:
    """The path (`responses.1`, `id`) of the first string or key holding a lone surrogate, else None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    items: Any = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and find_lone_surrogate(key) is not None:
            return (path + "." if path else "") + "<key>"
        found = find_lone_surrogate(item, where)
        if found is not None:
            return found
    return None


class GuardMiddleware:
    """Pure ASGI middleware (streaming-safe, unlike BaseHTTPMiddleware) applying ServeSettings."""

    def __init__(self, app: ASGIApp, settings: ServeSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _scrubbing(send)
        try:
            # OpenRLHF's client sends no header: /get_reward takes the token in its URL instead.
            check_auth(scope, self.settings.token, take_url_token(scope))
            if scope["method"] in {"POST", "PUT", "PATCH"}:
                try:
                    async with asyncio.timeout(self.settings.body_timeout_s):
                        body = await read_body(scope, receive, self.settings.max_body_bytes)
                except TimeoutError:
                    raise RequestRejected(
                        408, f"request body not received within {self.settings.body_timeout_s:g} s (body_timeout_s)"
                    ) from None
                check_json_body(body, self.settings.max_json_depth)
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


def _scrubbing(send: Send) -> Send:
    """A `send` that masks remembered secret values in every body chunk (same length, so a
    Content-Length already sent stays right)."""

    async def scrubbed(message: Message) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            message = {**message, "body": scrub_bytes(message["body"])}
        await send(message)

    return scrubbed


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
