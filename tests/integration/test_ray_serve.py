"""`serve --ray` on a real local Ray (2 CPUs, loopback): the same answers as the plain app, the same
auth and input checks, and the embedded RM reached as batches under concurrent requests.

One deployment for the module (2 app replicas, 1 RM replica): the function behind `serve --ray`
(`ray_served`), with the default context (embedded RM) and a bearer token. The reference is the
same app in this process (`create_app` under FastAPI's TestClient), asked the same requests.
"""

from __future__ import annotations

import asyncio
import math
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

ray = pytest.importorskip("ray", reason="Ray is in the `ray` extra (make setup installs it)")

from ray import serve  # noqa: E402

from reward_agent.context import load_context  # noqa: E402
from reward_agent.serve import ServeSettings, create_app  # noqa: E402
from reward_agent.serve.background import free_port  # noqa: E402
from reward_agent.serve.ray_app import RM_DEPLOYMENT, ray_served  # noqa: E402
from reward_agent.serve.ray_options import RayServeOptions  # noqa: E402

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TOKEN = "ray-serve-test-token-5c1f"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SETTINGS = ServeSettings(token=TOKEN, max_responses=6, max_batch_items=16, max_body_bytes=64 * 1024)
OPTIONS = RayServeOptions(replicas=2, cpus_per_replica=0.5, rm_cpus=0.5, max_batch_size=16, batch_wait_timeout_s=0.05)

# Texts no other test encodes: the embedded RM memoises embeddings per process, so a text's first
# encoding happens in the same batch on both sides and the floats can be compared exactly.
SCORE_REQ = {"prompt": "Describe a lighthouse keeper's morning in all lowercase letters.",
             "responses": ["the keeper climbs the stairs and trims the wick as gulls wake", "The Keeper Sleeps In."]}
INVOKE_REQ = {"prompt": "Name two uses of copper wire. Do not use any commas.",
              "responses": ["wiring houses and winding motors", "wiring, motors", "copper is a metal"]}
OPENRLHF_PROMPT = "Write one sentence about tide pools. Your entire response should be in English, and in all capital letters.\n"
OPENRLHF_RESPONSES = ["TIDE POOLS HOLD SMALL WORLDS OF CRABS AND ANEMONES.", "tide pools are nice.", "TIDE pools."]


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory):
    return load_context(None).model_copy(update={"cache_path": str(tmp_path_factory.mktemp("cache") / "cache.sqlite3")})


@pytest.fixture(scope="module")
def served(context) -> str:
    """`serve --ray`'s deployment on a local Ray of 2 CPUs; yields the base URL."""
    env = {k: os.environ[k] for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if k in os.environ}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    try:
        with ray_served(context, SETTINGS, OPTIONS, port=free_port()) as url:
            yield url
    finally:
        serve.shutdown()
        ray.shutdown()


@pytest.fixture(scope="module")
def local(context) -> TestClient:
    """The plain app in this process (what `reward-agent serve` runs), warmed up."""
    with TestClient(create_app(context, SETTINGS)) as client:
        yield client


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """A RewardResult's JSON without its timings."""
    data = {k: v for k, v in result.items() if k != "latency_s"}
    data["signals"] = {vid: {k: v for k, v in s.items() if k != "latency_s"} for vid, s in result["signals"].items()}
    return data


def assert_close(got: Any, want: Any, where: str = "") -> None:
    """Equal, except floats that may differ in the last bits (a batch's composition changes the order
    in which the encoder's matrix products sum)."""
    if isinstance(want, float) and isinstance(got, float):
        assert math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-6), f"{where}: {got} != {want}"
    elif isinstance(want, dict) and isinstance(got, dict):
        assert got.keys() == want.keys(), where
        for key in want:
            assert_close(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list) and isinstance(got, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, f"{where}[{i}]")
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def test_routes_answer_exactly_like_the_plain_app(served: str, local: TestClient) -> None:
    # One request at a time: each reaches the RM alone, as in-process, so the JSON is identical.
    got = httpx.post(served + "/v1/score", json=SCORE_REQ, headers=AUTH, timeout=120)
    want = local.post("/v1/score", json=SCORE_REQ, headers=AUTH)
    assert got.status_code == want.status_code == 200, got.text
    assert comparable(got.json()) == comparable(want.json())
    assert got.json()["signals"]["preference"]["status"] == "ok"
    assert got.json()["signals"]["preference"]["evidence"]["backend"] == "embedded"

    body = {"input": {"request": INVOKE_REQ}}
    got = httpx.post(served + "/reward/invoke", json=body, headers=AUTH, timeout=120)
    want = local.post("/reward/invoke", json=body, headers=AUTH)
    assert got.status_code == want.status_code == 200, got.text
    assert comparable(got.json()["output"]["result"]) == comparable(want.json()["output"]["result"])

    body = {"query": [OPENRLHF_PROMPT + r for r in OPENRLHF_RESPONSES], "prompts": [OPENRLHF_PROMPT] * 3}
    got = httpx.post(served + "/get_reward", json=body, headers=AUTH, timeout=120)
    want = local.post("/get_reward", json=body, headers=AUTH)
    assert got.status_code == want.status_code == 200, got.text
    assert got.json() == want.json()
    assert got.json()["rewards"][0] > got.json()["rewards"][1]  # the capitals-only answer wins


def test_auth_is_enforced(served: str) -> None:
    assert httpx.post(served + "/v1/score", json=SCORE_REQ, timeout=60).status_code == 401
    wrong = httpx.post(served + "/get_reward", json={"query": ["a"]}, headers={"Authorization": "Bearer nope"}, timeout=60)
    assert wrong.status_code == 401 and "wrong bearer token" in wrong.json()["detail"]
    assert httpx.get(served + "/v1/rm/batching", timeout=60).status_code == 401
    assert httpx.get(served + "/health", timeout=60).status_code == 200  # probes stay open


@pytest.mark.parametrize(
    ("path", "content", "status"),
    [
        ("/v1/score", b'{"prompt": "x"}', 422),
        ("/v1/score", b'{"prompt": "x", "responses": ["a","b","c","d","e","f","g"]}', 413),
        ("/get_reward", b'{"query": "a"}', 422),
        ("/reward/invoke", b"\xc3\x28", 400),
        ("/v1/score", b'{"prompt": ' * 70 + b'"x"' + b"}" * 70, 400),
    ],
)
def test_bad_input_is_the_same_4xx(served: str, local: TestClient, path: str, content: bytes, status: int) -> None:
    headers = {**AUTH, "content-type": "application/json"}
    got = httpx.post(served + path, content=content, headers=headers, timeout=60)
    want = local.post(path, content=content, headers=headers)
    assert got.status_code == want.status_code == status, got.text
    assert got.json() == want.json()


def _concurrent_requests(n: int) -> list[dict[str, Any]]:
    topics = ["otters", "glaciers", "violins", "bread", "comets", "moss", "trains", "owls",
              "deserts", "clocks", "coral", "kites", "maple", "fog", "lanterns", "bees"]
    return [{"prompt": f"Tell me one fact about {t} in all lowercase letters.",
             "responses": [f"{t} are often found near people who study {t} for years",
                           f"A Fact About {t.title()} Written In Title Case.",
                           f"some {t} facts are surprising", f"I do not know much about {t}."]}
            for t in topics[:n]]


def test_concurrent_requests_reach_the_rm_as_batches(served: str, local: TestClient) -> None:
    requests = _concurrent_requests(16)
    rm = serve.get_deployment_handle(RM_DEPLOYMENT, app_name=OPTIONS.app_name)
    rm.reset_stats.remote().result()

    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=served, headers=AUTH, timeout=180) as client:
            return await asyncio.gather(*(client.post("/v1/score", json=r) for r in requests))

    answers = asyncio.run(send_all())
    assert [a.status_code for a in answers] == [200] * len(requests)
    stats = httpx.get(served + "/v1/rm/batching", headers=AUTH, timeout=60).json()
    assert stats["rm_deployment"] == RM_DEPLOYMENT
    assert stats["calls"] == len(requests) and stats["pairs"] == 4 * len(requests)
    assert stats["max_calls_per_batch"] > 1, stats  # several requests' pairs in one model call
    assert stats["batches"] < len(requests)
    # Same answers as the plain app, request by request (floats to rounding: batched encodings).
    for request, answer in zip(requests, answers):
        want = local.post("/v1/score", json=request, headers=AUTH)
        assert want.status_code == 200
        assert_close(comparable(answer.json()), comparable(want.json()))


def test_ray_serve_backend_by_name_scores_like_the_model_in_process(served: str) -> None:
    """The `ray_serve` RM backend from any process on the cluster (here the driver), by app name."""
    from reward_agent.rm import AutoRM
    from reward_agent.rm.auto import load_rm

    remote = AutoRM.load(backend="ray_serve", app=OPTIONS.app_name)
    prompt, responses = "Which is heavier, a kilo of iron or a kilo of feathers?", ["They weigh the same.", "Iron."]
    got = remote.score_batch(prompt, responses)
    want = load_rm(load_context(None).rm).score_batch(prompt, responses)
    assert remote.identity() == load_rm(load_context(None).rm).identity()
    assert (got.raw, got.scores, got.normalisation) == (want.raw, want.scores, want.normalisation)
