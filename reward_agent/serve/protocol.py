"""How `reward-agent serve` runs uvicorn: the HTTP protocol with a header-read timeout.

uvicorn bounds an idle keep-alive connection (`timeout_keep_alive`), but not the time a client may take to send a request's
header: a client that sends half a header and stalls holds the connection (and its slot)
forever. `header_timeout_protocol` is uvicorn's h11 protocol plus one timer per request: armed
when a connection opens or the first byte of a next request arrives, disarmed when the header is
complete. When it fires, a client that sent part of a header gets `408 Request Timeout` and the
connection is closed; a connection that sent nothing is closed silently.

The body is bounded separately (GuardMiddleware's `body_timeout_s`, a 408 from the app).
"""

from __future__ import annotations

import asyncio
from typing import Any

from .settings import ServeSettings

__all__ = ["header_timeout_protocol", "uvicorn_config"]

_TIMEOUT_BODY = b"request header not received within the time limit\n"
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n" % len(_TIMEOUT_BODY)
) + _TIMEOUT_BODY


def header_timeout_protocol(timeout_s: float) -> type[asyncio.Protocol]:
    """uvicorn's H11Protocol with a `timeout_s` limit on reading each request's header."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutH11Protocol(H11Protocol):
        header_timeout_s = timeout_s

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._header_timer: asyncio.TimerHandle | None = None
            self._header_started = False
            self._arm_header_timer()

        def _between_requests(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm_header_timer(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timed_out)

        def _disarm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
            self._header_started = False

        def data_received(self, data: bytes) -> None:
            if self._between_requests():
                # The deadline runs from the first byte of the header, not from the last chunk:
                # a client sending one byte at a time does not extend it.
                self._header_started = True
                self._arm_header_timer()
            super().data_received(data)
            if not self._between_requests():  # the header is complete: the request is the app's
                self._disarm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_timer()
            super().connection_lost(exc)

        def _header_timed_out(self) -> None:
            self._header_timer = None
            if not self._between_requests() or self.transport.is_closing():
                return
            if self._header_started:
                self.transport.write(TIMEOUT_RESPONSE)
            self.transport.close()

    return HeaderTimeoutH11Protocol


def uvicorn_config(app: Any, host: str, port: int, settings: ServeSettings | None = None,
                   log_level: str = "info", **kwargs: Any) -> Any:
    """The uvicorn.Config `reward-agent serve` and `running_server` use: h11 with the header
    timeout of `settings` (default: the app's own settings, else ServeSettings())."""
    import uvicorn

    if settings is None:
        state = getattr(getattr(app, "state", None), "reward", None)
        settings = getattr(state, "settings", None) or ServeSettings()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        http=header_timeout_protocol(settings.header_timeout_s),
        **kwargs,
    )
