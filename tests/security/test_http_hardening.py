"""Hostile HTTP input: every attack gets an honest 4xx naming the problem, never a 500.

Attacks (issue 12): JSON nested ~1,000 levels (on every route, inside constraint kwargs, and
inside a /get_reward label given as JSON text), lone surrogates in echoed fields, oversized and
stalled bodies, a stalled request header, and /get_reward batches that exceed `max_responses`
through one shared prompt. The server is the real app (in-process for status checks, a real
uvicorn on loopback for the socket-level timeouts).
"""

from __future__ import annotations

import json
import socket
import time

import pytest
from fastapi.testclient import TestClient

from reward_agent import RewardContext
from reward_agent.serve import ServeSettings, create_app
from reward_agent.serve.background import running_server
from reward_agent.serve.guard import json_depth

CONTEXT = RewardContext(disable=("preference", "factuality"))  # constraints only: fast and deterministic
TOKEN = "hardening-token-1234"
SETTINGS = ServeSettings(token=TOKEN, warmup=False, max_responses=4, max_body_bytes=256 * 1024)
LOWER = {"prompt": "Describe tea in all lowercase letters.", "responses": ["tea is calm", "Tea Is Calm"]}
JSON_HEADERS = {"content-type": "application/json", "Authorization": f"Bearer {TOKEN}"}

POST_ROUTES = ["/v1/score", "/v1/score/batch", "/get_reward", "/v1/verify/constraints", "/reward/invoke",
               "/reward/batch", "/reward/stream", "/reward/stream_events"]


@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(create_app(CONTEXT, SETTINGS)) as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        yield c


def deep(levels: int, leaf: str = "0", kind: str = "list") -> str:
    if kind == "list":
        return "[" * levels + leaf + "]" * levels
    return '{"a":' * levels + leaf + "}" * levels


def post_raw(client: TestClient, path: str, body: bytes | str):
    return client.post(path, content=body.encode() if isinstance(body, str) else body, headers=JSON_HEADERS)


def test_depth_is_measured_without_parsing() -> None:
    assert json_depth(b'{"a": [1, {"b": "[[[[["}]}') == 3  # brackets inside strings do not count
    assert json_depth(b'"\\"[[[[" ') == 0
    assert json_depth(deep(1000).encode()) == 1000
    assert json_depth(b'"unterminated \\" [[[[') == 0  # a string that never ends swallows the rest
    # Hostile strings do not make the scan quadratic: 2 MB of escaped quotes, no closing one.
    started = time.perf_counter()
    json_depth(b'"' + b'\\"' * 1_000_000)
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("path", POST_ROUTES)
@pytest.mark.parametrize("kind", ["list", "dict"])
def test_deep_json_is_400_on_every_route(client: TestClient, path: str, kind: str) -> None:
    response = post_raw(client, path, deep(1000, kind=kind))
    assert response.status_code == 400, response.text
    assert "nested 1000 levels deep; the limit is 64" in response.json()["detail"]


def test_deep_json_inside_constraint_kwargs_is_400(client: TestClient) -> None:
    body = ('{"prompt": "p", "responses": ["a"], "constraints": [{"id": "punctuation:no_comma", "kwargs": {"x": '
            + deep(1000) + "}}]}")
    for path in ("/v1/score", "/v1/verify/constraints"):
        response = post_raw(client, path, body)
        assert response.status_code == 400 and "max_json_depth" in response.json()["detail"]


def test_deep_json_text_inside_a_label_is_422(client: TestClient) -> None:
    """A label may carry constraints as JSON *text*; text nested 5,000 deep is refused, not a 500."""
    label = deep(5000)
    response = client.post("/get_reward", json={"query": ["P? a"], "prompts": ["P?"], "labels": [label]})
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "invalid get_reward labels: nested too deeply"


def test_nesting_within_the_limit_still_works(client: TestClient) -> None:
    ok = {**LOWER, "constraints": [{"id": "change_case:english_lowercase", "kwargs": {}}]}
    response = client.post("/v1/score", json=ok)
    assert response.status_code == 200 and response.json()["rewards"] == [1.0, 0.0]
    # At the limit (64 levels, the body object included) the guard lets it through and validation
    # answers; one more level is the guard's 400.
    at_limit = '{"prompt": "p", "responses": ' + deep(63) + "}"
    response = post_raw(client, "/v1/score", at_limit)
    assert response.status_code == 422 and "responses" in response.json()["detail"]
    response = post_raw(client, "/v1/score", '{"prompt": "p", "responses": ' + deep(64) + "}")
    assert response.status_code == 400 and "nested 65 levels" in response.json()["detail"]


ECHOED = {
    "/v1/score": '{"id": "\\ud800", "prompt": "p", "responses": ["a"]}',
    "/v1/score/batch": '[{"id": "\\ud800", "prompt": "p", "responses": ["a"]}]',
    "/v1/verify/constraints": '{"id": "\\ud800", "prompt": "p", "responses": ["a"]}',
    "/reward/invoke": '{"input": {"request": {"id": "\\ud800", "prompt": "p", "responses": ["a"]}}}',
    "/get_reward": '{"query": ["p a\\udfff"], "prompts": ["p"]}',
}


@pytest.mark.parametrize("path", list(ECHOED))
def test_lone_surrogate_is_422_naming_the_field(client: TestClient, path: str) -> None:
    response = post_raw(client, path, ECHOED[path])
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "lone surrogate" in detail
    assert detail.split(":")[0] in {"id", "0.id", "input.request.id", "query.0"}


def test_surrogate_pairs_are_text(client: TestClient) -> None:
    """A correctly paired escape (an emoji) is ordinary text and is scored."""
    body = '{"id": "\\ud83d\\ude00", "prompt": "Describe tea in all lowercase letters.", "responses": ["tea \\ud83d\\ude00"]}'
    response = post_raw(client, "/v1/score", body)
    assert response.status_code == 200 and response.json()["id"] == "\U0001f600"


@pytest.mark.parametrize("body", ['{"prompt": "p", "responses": ["a"], "id": NaN}', '{"input": Infinity}',
                                  '[{"prompt": "p", "responses": ["a"], "x": -Infinity}]', '{"missing_reward": 1e400}'])
def test_non_finite_numbers_are_400(client: TestClient, body: str) -> None:
    """NaN/Infinity are not JSON; echoed back in a 422 they made the answer itself unencodable (a 500)."""
    for path in ("/v1/score", "/v1/score/batch", "/get_reward", "/reward/batch", "/reward/stream_log"):
        response = post_raw(client, path, body)
        assert response.status_code == 400, (path, response.text)
        assert "NaN" in response.json()["detail"] or "range of a double" in response.json()["detail"]


def test_oversized_body_is_413(client: TestClient) -> None:
    big = json.dumps({"prompt": "p", "responses": ["x" * (300 * 1024)]})
    response = post_raw(client, "/v1/score", big)
    assert response.status_code == 413 and "limit" in response.json()["detail"]


def test_oversized_chunked_body_without_length_is_413(client: TestClient) -> None:
    """No Content-Length to refuse up front: the guard counts while reading and stops at the limit."""
    def chunks():
        yield b'{"prompt": "p", "responses": ["'
        for _ in range(400):
            yield b"x" * 1024
        yield b'"]}'

    response = client.post("/v1/score", content=chunks(), headers=JSON_HEADERS)
    assert response.status_code == 413 and "exceeds the limit of 262144 bytes" in response.json()["detail"]


def test_get_reward_enforces_max_responses_per_prompt(client: TestClient) -> None:
    """1,024 queries sharing one prompt are not one request of 1,024 responses: 413, naming the limit."""
    n = 1024
    body = {"query": [f"P? answer {i}" for i in range(n)], "prompts": ["P?"] * n}
    response = client.post("/get_reward", json=body)
    assert response.status_code == 413, response.text
    detail = response.json()["detail"]
    assert "1024 responses in one group" in detail and "the limit is 4" in detail
    # Within the limit per prompt, many prompts in one call are fine.
    body = {"query": [f"P{i // 4}? a{i}" for i in range(16)], "prompts": [f"P{i // 4}?" for i in range(16)]}
    assert client.post("/get_reward", json=body).status_code == 200


def test_ready_detail_needs_the_token(client: TestClient) -> None:
    open_answer = client.get("/ready", headers={"Authorization": ""})
    assert open_answer.status_code == 200 and set(open_answer.json()) == {"ready", "phase"}
    detailed = client.get("/ready")
    assert {"verifiers", "error", "degraded"} <= set(detailed.json())


@pytest.mark.integration
def test_stalled_header_and_body_are_closed() -> None:
    """A client that sends half a header and stalls is answered 408 and disconnected within
    header_timeout_s; one that stalls inside its body gets 408 within body_timeout_s."""
    settings = ServeSettings(warmup=False, header_timeout_s=1.0, body_timeout_s=1.0)
    with running_server(create_app(CONTEXT, settings), wait_ready=False) as base_url:
        host, port = base_url.removeprefix("http://").split(":")
        # Half a header, then silence.
        with socket.create_connection((host, int(port)), timeout=15) as sock:
            sock.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: applic")
            started = time.monotonic()
            answer = _read_until_closed(sock)
            waited = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert waited < 10  # closed by the server, not by this test's own 15 s socket timeout
        # A header dribbled one byte at a time does not extend the deadline.
        with socket.create_connection((host, int(port)), timeout=15) as sock:
            started = time.monotonic()
            for byte in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40:
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    break
                time.sleep(0.1)
            answer = _read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 10
        # A complete header, half the body, then silence.
        with socket.create_connection((host, int(port)), timeout=15) as sock:
            sock.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n{\"prompt\": ")
            answer = _read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 408") and b"body_timeout_s" in answer
        # An idle connection that never sends a byte is closed as well.
        with socket.create_connection((host, int(port)), timeout=15) as sock:
            assert _read_until_closed(sock) == b""
        # And a normal request on the same server is unaffected.
        with socket.create_connection((host, int(port)), timeout=15) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert _read_until_closed(sock).startswith(b"HTTP/1.1 200")


def _read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
