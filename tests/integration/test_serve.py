"""The real server on loopback (uvicorn, HTTP): LangServe routes, REST routes, auth, limits, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from langserve import RemoteRunnable

from reward_agent import RewardContext, RewardResult, build_graph
from reward_agent.integrations import AsyncRewardClient, RewardClient, RewardServerError, make_trl_reward_fn
from reward_agent.serve import ServeSettings, create_app
from reward_agent.serve.background import free_port, running_server

pytestmark = pytest.mark.integration

PROMPT = "Describe green tea in under 30 words, all lowercase, without commas."
RESPONSES = ["green tea is grassy and calm and it tastes of spring mornings", "Green tea, grassy and calm."]
REQUEST = {"prompt": PROMPT, "responses": RESPONSES}
WANT = [1.0, 1 / 3]  # 3 constraints; the second response meets only the word count
# Only the deterministic constraint verifier: these tests are about the service, not the verifiers.
CONTEXT = RewardContext(disable=("preference", "factuality"))
LIMITS = ServeSettings(max_responses=4, max_response_chars=200, max_body_bytes=4096, max_batch_items=8)


@pytest.fixture(scope="module")
def server() -> str:
    with running_server(create_app(CONTEXT, LIMITS)) as base_url:
        yield base_url


def comparable(result: object) -> dict:
    """A result without its timings, whatever form the client handed it back in."""
    data = RewardResult.model_validate(result).model_dump(mode="json", exclude={"latency_s"})
    for signal in data["signals"].values():
        signal.pop("latency_s")
    return data


def expected() -> dict:
    return comparable(build_graph().invoke({"request": REQUEST}, context=CONTEXT)["result"])


def test_remote_runnable_invoke_batch_stream_match_in_process(server: str) -> None:
    remote = RemoteRunnable(server + "/reward")
    want = expected()
    assert comparable(remote.invoke({"request": REQUEST})["result"]) == want
    batch = remote.batch([{"request": REQUEST}, {"request": REQUEST}])
    assert [comparable(b["result"]) for b in batch] == [want, want]
    chunks = list(remote.stream({"request": REQUEST}))
    final = [c for c in chunks if "judge_rewards" in c]
    assert final and comparable(final[-1]["judge_rewards"]["result"]) == want


def test_remote_runnable_async_and_stream_events(server: str) -> None:
    import asyncio

    async def go() -> tuple[dict, list[str]]:
        remote = RemoteRunnable(server + "/reward")
        out = await remote.ainvoke({"request": REQUEST})
        names = [e["name"] async for e in remote.astream_events({"request": REQUEST}, version="v2")]
        return out, names

    out, names = asyncio.run(go())
    assert comparable(out["result"]) == expected()
    assert "plan_verifiers" in names and "judge_rewards" in names


def test_langserve_schemas_and_playground(server: str) -> None:
    assert "RewardRequest" in httpx.get(server + "/reward/input_schema").text
    assert httpx.get(server + "/reward/output_schema").status_code == 200
    assert httpx.get(server + "/reward/playground/").status_code == 200


def test_rest_endpoints(server: str) -> None:
    with RewardClient(server) as client:
        assert client.health() == {"status": "ok"}
        assert comparable(client.score(REQUEST)) == expected()
        batch = client.score_batch([REQUEST, {"prompt": "x"}])
        assert isinstance(batch[0], RewardResult) and isinstance(batch[1], RewardServerError)
        assert batch[1].status == 422 and "responses" in str(batch[1])
        signal = client.verify("constraints", REQUEST)
        assert signal.status == "ok" and signal.scores == WANT
        config = client.config()
        assert {v["id"] for v in config["verifiers"]} >= {"constraints"} and config["limits"]["max_responses"] == 4
    ready = httpx.get(server + "/ready").json()
    assert ready["ready"] and ready["verifiers"]["constraints"] == "ok"


def test_factuality_is_registered_and_this_server_disables_it(server: str) -> None:
    # Registered now (no longer 501); this server's context disables it, so it answers 403.
    # tests/unit/test_factuality_verifier.py serves it enabled.
    response = httpx.post(server + "/v1/verify/factuality", json=REQUEST)
    assert response.status_code == 403
    assert "disabled" in response.json()["detail"]


def test_get_reward_openrlhf_protocol(server: str) -> None:
    prompt = PROMPT + "\n"
    body = {"query": [prompt + r for r in RESPONSES] + ["unrelated text", prompt + "hi"],
            "prompts": [prompt, prompt, prompt, "What is tea?"]}
    out = httpx.post(server + "/get_reward", json=body).json()
    assert out["rewards"][:2] == WANT and out["scores"] == out["rewards"]
    # query 2 does not contain its prompt (so cannot be split); query 3 has no checkable constraint
    assert out["extra_logs"]["reward_missing"] == [0.0, 0.0, 1.0, 1.0]
    assert out["rewards"][2:] == [0.0, 0.0] and set(out["missing_reasons"]) == {"2", "3"}
    labels = [{"instruction_id_list": ["change_case:english_capital"], "kwargs": [{}]}] * 2
    out = httpx.post(server + "/get_reward", json={"query": ["Say it. HELLO THERE MY GOOD FRIEND", "Say it. hello there my good friend"], "prompts": ["Say it."] * 2,
                                                   "labels": labels}).json()
    assert out["rewards"] == [1.0, 0.0]


def test_async_client_concurrent(server: str) -> None:
    import asyncio

    async def go() -> list[RewardResult]:
        async with AsyncRewardClient(server) as client:
            return await asyncio.gather(*(client.score(REQUEST) for _ in range(20)))

    results = asyncio.run(go())
    assert all(r.rewards == WANT for r in results)


@pytest.mark.parametrize(
    ("path", "content", "status", "words"),
    [
        ("/v1/score", b"{not json", 400, "malformed JSON"),
        ("/v1/score", b"\xff\xfe\x00", 400, "UTF-8"),
        ("/v1/score", b"", 400, "empty"),
        ("/v1/score", b'{"prompt": "x", "responses": []}', 422, "responses"),
        ("/v1/score", b'{"prompt": 5, "responses": ["a"]}', 422, "prompt"),
        ("/v1/score", b'["a"]', 422, "object"),
        ("/v1/score", b'{"prompt": "x", "responses": ["a","b","c","d","e"]}', 413, "limit is 4"),
        ("/v1/score", b'{"prompt": "x", "responses": ["' + b"a" * 300 + b'"]}', 413, "characters"),
        ("/v1/score", b'{"prompt": "x", "responses": ["' + b"a" * 5000 + b'"]}', 413, "bytes"),
        ("/v1/score", b'{"prompt": "x", "responses": ["a"], "verifiers": ["nope"]}', 422, "nope"),
        ("/v1/score/batch", b'{"x": 1}', 422, "list"),
        ("/v1/score/batch", b"[" + b",".join([b'{"prompt":"x","responses":["a"]}'] * 9) + b"]", 413, "limit is 8"),
        ("/get_reward", b'{"query": ["a"], "prompts": ["a", "b"]}', 422, "prompts"),
        ("/get_reward", b'{"query": "a"}', 422, "query"),
        ("/v1/verify/constraints", b'{"prompt": "x"}', 422, "responses"),
        ("/v1/verify/nonsense", b'{"prompt": "x", "responses": ["a"]}', 404, "unknown verifier"),
        ("/reward/invoke", b'{"input": {"request": {"prompt": "x"}}}', 422, "responses"),
        ("/reward/invoke", b'{"input": {"request": {"prompt": "x", "responses": ["a","b","c","d","e"]}}}', 413, "limit"),
        ("/reward/invoke", b"\xc3\x28", 400, "UTF-8"),
    ],
)
def test_bad_inputs_get_4xx_naming_the_problem(server: str, path: str, content: bytes, status: int, words: str) -> None:
    response = httpx.post(server + path, content=content, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert words in response.text
    # ...and the server is unaffected: the next good request still works
    assert httpx.post(server + "/v1/score", json=REQUEST).json()["rewards"] == WANT


def test_timeout_is_504_and_does_not_affect_others() -> None:
    import asyncio

    from langchain_core.runnables import RunnableLambda

    graph = build_graph()

    class SlowGraph:
        """Stands in for the graph: hangs on the prompt 'slow'."""

        def bind(self, **kwargs: object) -> RunnableLambda:
            return RunnableLambda(lambda x: x)

        async def ainvoke(self, inputs: dict, **kwargs: object) -> dict:
            if inputs["request"].prompt == "slow":
                await asyncio.sleep(30)
            return await graph.ainvoke(inputs, **kwargs)

    app = create_app(CONTEXT, ServeSettings(request_timeout_s=0.5, warmup=False), graph=SlowGraph())
    with running_server(app) as url:
        started = time.monotonic()
        response = httpx.post(url + "/v1/score", json={"prompt": "slow", "responses": ["a"]})
        assert response.status_code == 504 and "0.5 s" in response.json()["detail"]
        assert time.monotonic() - started < 5
        assert httpx.post(url + "/v1/score", json=REQUEST).json()["rewards"] == WANT


def test_cli_serve_with_token_and_trl_adapter() -> None:
    """`reward-agent serve` as its own process; a trainer-side TRL reward function scores against it."""
    port = free_port()
    env = {**os.environ, "REWARD_AGENT_TOKEN": "s3cret", "HF_HUB_OFFLINE": "1", "REWARD_AGENT_DISABLE": "preference,factuality"}
    cmd = [sys.executable, "-m", "reward_agent.cli", "serve", "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                if httpx.get(url + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)
        assert httpx.get(url + "/health").status_code == 200  # open without a token
        denied = httpx.post(url + "/v1/score", json=REQUEST)
        assert denied.status_code == 401 and "bearer token" in denied.json()["detail"]
        assert httpx.post(url + "/reward/invoke", json={"input": {"request": REQUEST}},
                          headers={"Authorization": "Bearer wrong"}).status_code == 401
        remote = RemoteRunnable(url + "/reward", headers={"Authorization": "Bearer s3cret"})
        assert remote.invoke({"request": REQUEST})["result"]["rewards"] == WANT

        # the trainer side: only the TRL adapter, as GRPOTrainer calls it
        reward_fn = make_trl_reward_fn(url, token="s3cret")  # the server is configured by its env
        prompts = [[{"role": "user", "content": PROMPT}]] * 2 + ["Write one line about tea."] * 2
        completions = [[{"role": "assistant", "content": r}] for r in RESPONSES] + ["TEA IS GOOD", "tea is good"]
        rewards = reward_fn(prompts, completions,
                            instruction_id_list=[None, None, ["change_case:english_capital"], ["change_case:english_capital"]],
                            kwargs=[None, None, [{}], [{}]])
        assert rewards == [*WANT, 1.0, 0.0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
