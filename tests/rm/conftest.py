"""Fixtures for the reward-model tests: tiny real models and real servers on loopback.

The tiny sequence-classification RMs are the bundled all-MiniLM-L6-v2 weights (a real BERT)
with a seeded one-output (or three-output) head, saved to a temporary folder and loaded back
through the `transformers` backend exactly as a downloaded RM would be.
"""

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHAT_TEMPLATE = (
    "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
)


def _save_tiny_rm(path: Path, num_labels: int, seed: int, chat_template: str | None = None) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from reward_agent.embedded import _quiet_transformers
    from reward_agent.rm.minilm import minilm_path

    with _quiet_transformers():
        torch.manual_seed(seed)
        labels = {i: name for i, name in enumerate(["helpful", "correct", "safe"][:num_labels])}
        model = AutoModelForSequenceClassification.from_pretrained(
            minilm_path(), num_labels=num_labels, id2label=labels, label2id={v: k for k, v in labels.items()},
            local_files_only=True)
        with torch.no_grad():  # a head with a visible spread of scores
            model.classifier.weight.normal_(0.0, 1.0)
            model.classifier.bias.zero_()
        tokenizer = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
    if chat_template:
        tokenizer.chat_template = chat_template
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_rm_dir(tmp_path_factory) -> Path:
    return _save_tiny_rm(tmp_path_factory.mktemp("tiny_rm"), 1, seed=0)


@pytest.fixture(scope="session")
def tiny_chat_rm_dir(tmp_path_factory) -> Path:
    return _save_tiny_rm(tmp_path_factory.mktemp("tiny_chat_rm"), 1, seed=1, chat_template=CHAT_TEMPLATE)


@pytest.fixture(scope="session")
def tiny_multi_rm_dir(tmp_path_factory) -> Path:
    return _save_tiny_rm(tmp_path_factory.mktemp("tiny_multi_rm"), 3, seed=2)


@pytest.fixture(scope="session")
def embedded_rm():
    from reward_agent.rm import AutoRM

    return AutoRM.load()


class ServerStats:
    """What the loopback server saw: requests per route, the most requests in flight at once."""

    def __init__(self) -> None:
        self.requests: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def enter(self, route: str) -> None:
        with self.lock:
            self.requests[route] = self.requests.get(route, 0) + 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.max_in_flight = 0


def build_app(rm: Any, stats: ServerStats) -> Any:
    """A FastAPI reward server over a real reward model: OpenRLHF `/get_reward`, vLLM-style
    `/pooling` and `/classify`, plus misbehaving routes (flaky, slow, wrong) for the failure tests."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    app = FastAPI()
    flaky_left = {"n": 0}

    def split(query: str, prompt: str) -> str:
        assert query.startswith(prompt), "query must start with its prompt (OpenRLHF sends prompt + response)"
        return query[len(prompt):].removeprefix("\n")

    async def rewards_for(body: dict) -> list[float]:
        responses = [split(q, p) for q, p in zip(body["query"], body["prompts"])]
        out = await asyncio.to_thread(rm.score_batch, body["prompts"], responses)
        return out.raw

    @app.post("/get_reward")
    async def get_reward(request: Request):
        stats.enter("get_reward")
        try:
            body = await request.json()
            await asyncio.sleep(0.05)  # long enough for concurrent requests to overlap
            return {"rewards": await rewards_for(body)}
        finally:
            stats.leave()

    @app.post("/flaky/get_reward")
    async def flaky(request: Request):
        stats.enter("flaky")
        try:
            if flaky_left["n"] > 0:
                flaky_left["n"] -= 1
                return JSONResponse({"error": "overloaded"}, status_code=503)
            return {"rewards": await rewards_for(await request.json())}
        finally:
            stats.leave()

    @app.post("/slow/get_reward")
    async def slow(request: Request):
        stats.enter("slow")
        try:
            await asyncio.sleep(2.0)
            return {"rewards": await rewards_for(await request.json())}
        finally:
            stats.leave()

    @app.post("/bad_request/get_reward")
    async def bad_request(request: Request):
        stats.enter("bad_request")
        stats.leave()
        return JSONResponse({"error": "query missing"}, status_code=422)

    @app.post("/short/get_reward")
    async def short(request: Request):
        body = await request.json()
        return {"rewards": (await rewards_for(body))[:-1]}

    @app.post("/pooling")
    async def pooling(request: Request):
        stats.enter("pooling")
        try:
            body = await request.json()
            if "messages" in body:
                msgs = body["messages"]
                out = await asyncio.to_thread(rm.score_batch, msgs[:-1], [msgs[-1]["content"]])
                return {"object": "list", "data": [{"index": 0, "object": "pooling", "data": [out.raw[0]]}]}
            pairs = [text.split("\n", 1) for text in body["input"]]
            out = await asyncio.to_thread(rm.score_batch, [p for p, _ in pairs], [r for _, r in pairs])
            # vLLM sends per-token rows for reward pooling; the last row scores the sequence.
            data = [{"index": i, "object": "pooling", "data": [[0.0], [v]]} for i, v in enumerate(out.raw)]
            return {"object": "list", "data": list(reversed(data))}  # out of order on purpose
        finally:
            stats.leave()

    app.state.flaky_left = flaky_left
    return app


class LoopbackServer:
    """uvicorn serving `app` on 127.0.0.1 (a free port) in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LoopbackServer":
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("loopback reward server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def rm_server(embedded_rm) -> Iterator[tuple[LoopbackServer, ServerStats]]:
    stats = ServerStats()
    with LoopbackServer(build_app(embedded_rm, stats)) as server:
        yield server, stats
