"""Run the app with uvicorn in a background thread on a free loopback port (tests, benchmarks, notebooks).

    with running_server(create_app()) as base_url:
        httpx.get(base_url + "/health")
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(app: Any, host: str = "127.0.0.1", port: int | None = None,
                   ready_timeout_s: float = 60.0, wait_ready: bool = True) -> Iterator[str]:
    """Serve `app` until the block ends; yields the base URL once `/health` (and `/ready`) answer 200."""
    import uvicorn

    from .protocol import uvicorn_config

    port = port or free_port(host)
    server = uvicorn.Server(uvicorn_config(app, host, port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name=f"reward-agent-serve-{port}", daemon=True)
    thread.start()
    base_url = f"http://{host}:{port}"
    deadline = time.monotonic() + ready_timeout_s
    probe = "/ready" if wait_ready else "/health"
    try:
        while True:
            if not thread.is_alive():
                raise RuntimeError(f"server on {base_url} exited during startup")
            try:
                if httpx.get(base_url + probe, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on {base_url} not ready after {ready_timeout_s:g} s")
            time.sleep(0.05)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
