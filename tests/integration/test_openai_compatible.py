"""A real OpenAI-compatible server (llama-cpp-python's) on loopback, driven through build_chat_model.

The server serves the same SmolLM2-135M GGUF the embedded model uses, so nothing is downloaded.
This is the code path used for vLLM and llama.cpp servers in production.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from reward_agent.cache import Cache  # noqa: E402
from reward_agent.errors import ModelCallError, ModelOutputError  # noqa: E402
from reward_agent.llm import ModelSpec, build_chat_model, embedded_gguf_path  # noqa: E402
from reward_agent.structured import ainvoke_structured, invoke_structured  # noqa: E402

pytestmark = pytest.mark.integration

STARTUP_TIMEOUT_S = 120


class Capital(BaseModel):
    country: str
    capital: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


def _wait_until_serving(proc: subprocess.Popen[bytes], base_url: str, log: Path) -> str:
    """Poll /v1/models until it answers; return the served model id."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {proc.returncode}; log {log}:\n{_log_tail(log)}")
        try:
            response = httpx.get(f"{base_url}/models", timeout=2)
            if response.status_code == 200:
                return str(response.json()["data"][0]["id"])
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.5)
    pytest.fail(f"llama_cpp.server did not answer in {STARTUP_TIMEOUT_S}s; log {log}:\n{_log_tail(log)}")


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base_url, model id) of a llama-cpp-python server started for this module."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail("llama-cpp-python[server] is not installed; it is a test dependency (see the Makefile)")
    port = _free_port()
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(embedded_gguf_path()),
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048",
    ]
    failed_before = request.session.testsfailed
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        model_id = _wait_until_serving(proc, base_url, log)
        yield base_url, model_id
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        if request.session.testsfailed > failed_before:
            print(f"\nllama_cpp.server log ({log}):\n{_log_tail(log)}")


def _spec(server: tuple[str, str], **fields: object) -> ModelSpec:
    base_url, model_id = server
    return ModelSpec(provider="openai", base_url=base_url, model=model_id, api_key="none", timeout_s=60, **fields)


def test_plain_answer(server: tuple[str, str]) -> None:
    model = build_chat_model(_spec(server, max_tokens=32))
    reply = model.invoke("What is the capital of France? Answer in one sentence.")
    assert isinstance(reply.content, str) and reply.content.strip()
    assert reply.usage_metadata and reply.usage_metadata["output_tokens"] > 0


def test_max_tokens_reaches_llama_cpp(server: tuple[str, str]) -> None:
    """llama.cpp reads max_tokens, not max_completion_tokens: the limit must still apply."""
    reply = build_chat_model(_spec(server, max_tokens=4)).invoke("Write a long story about a dragon.")
    assert reply.usage_metadata["output_tokens"] <= 4
    assert reply.response_metadata["finish_reason"] == "length"


def test_json_mode_returns_json(server: tuple[str, str]) -> None:
    model = build_chat_model(_spec(server, max_tokens=128, json_mode=True))
    reply = model.invoke('Give the capital of France as JSON like {"capital": "..."}.')
    assert isinstance(json.loads(reply.content), dict)  # the server constrains decoding to JSON


def test_structured_call_in_json_mode(server: tuple[str, str]) -> None:
    """A 135M model may miss the schema even with JSON forced: either outcome must be well-formed."""
    spec = _spec(server, max_tokens=128, json_mode=True)
    try:
        answer = invoke_structured(spec, "Which country has Paris as its capital?", Capital)
    except ModelOutputError as exc:
        print(f"\nstructured (server): ModelOutputError; raw={exc.raw[:200]!r}")
        assert exc.raw.strip() and exc.model_calls == 2
    else:
        print(f"\nstructured (server): {answer.value!r} in {answer.model_calls} call(s)")
        assert isinstance(answer.value, Capital) and answer.raw.strip()


def test_async_structured_call_and_cache(server: tuple[str, str]) -> None:
    spec = _spec(server, max_tokens=128, json_mode=True)
    question = "Name the capital of Italy and its country."
    with Cache(":memory:") as cache:
        try:
            first = asyncio.run(ainvoke_structured(spec, question, Capital, cache=cache))
        except ModelOutputError as exc:
            assert exc.raw.strip()
            assert len(cache) == 0  # failures are not cached
            return
        second = invoke_structured(spec, question, Capital, cache=cache)
    assert second.cached and second.model_calls == 0 and second.value == first.value


def test_unreachable_endpoint_fails_fast_with_model_call_error() -> None:
    port = _free_port()  # nothing listens there
    spec = ModelSpec(provider="openai", base_url=f"http://127.0.0.1:{port}/v1", model="m",
                     api_key="none", timeout_s=2, max_retries=1)
    started = time.perf_counter()
    with pytest.raises(ModelCallError, match="Connection error"):
        invoke_structured(spec, "hello", Capital)
    assert time.perf_counter() - started < 15
