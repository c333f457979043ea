"""Fast unit tests of the serving layer (TestClient, no sockets) and the trainer adapters."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from reward_agent import RewardContext
from reward_agent.errors import ConfigError
from reward_agent.redaction import MASK
from reward_agent.integrations.trl import build_requests, constraints_from_columns, make_trl_reward_fn
from reward_agent.integrations.verl import build_request, compute_score
from reward_agent.serve import ServeSettings, create_app
from reward_agent.serve.openrlhf import GetRewardRequest, constraints_from_label, group_queries

CONTEXT = RewardContext(disable=("preference", "factuality"))  # deterministic: constraints only
LOWER = {"prompt": "Describe tea in all lowercase letters.", "responses": ["tea is a calm and grassy drink", "Tea Is Calm"]}


@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(create_app(CONTEXT, ServeSettings(token="t", max_responses=3))) as c:
        c.headers["Authorization"] = "Bearer t"
        yield c


def test_score_and_auth(client: TestClient) -> None:
    assert client.post("/v1/score", json=LOWER).json()["rewards"] == [1.0, 0.0]
    assert client.post("/v1/score", json=LOWER, headers={"Authorization": "Bearer x"}).status_code == 401
    assert client.get("/health", headers={"Authorization": ""}).status_code == 200


def test_limits_and_bad_bodies(client: TestClient) -> None:
    too_many = {**LOWER, "responses": ["a"] * 4}
    assert client.post("/v1/score", json=too_many).status_code == 413
    assert client.post("/v1/score", content=b"{", headers={"content-type": "application/json"}).status_code == 400
    assert client.post("/v1/score", json={"prompt": "", "responses": ["a"]}).status_code == 422


def test_config_hides_secrets() -> None:
    """/v1/config describes the context without any secret it holds: the server's token, a model's
    API key, an RM's header and the password in an RM's URL (the values, anywhere in the body)."""
    token, key, header, password = "serve-TOKEN-1c9e", "sk-KEY-77ab20", "rm-HEADER-5d3f", "url-PASS-90e1"
    context = RewardContext(
        disable=("preference", "factuality"),
        models={"judge": {"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1", "api_key": key}},
        rm={"backend": "http", "model": f"http://user:{password}@127.0.0.1:9/get_reward",
            "options": {"headers": {"X-Api-Key": header}}},
    )
    with TestClient(create_app(context, ServeSettings(token=token, warmup=False))) as c:
        response = c.get("/v1/config", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    for secret in (token, key, header, password):
        assert secret not in response.text, f"{secret!r} leaked in /v1/config"
    config = response.json()
    assert config["limits"]["auth"] is True and "token" not in config["limits"]
    # What is not secret is still described, with the secrets masked in place.
    assert config["context"]["models"]["judge"]["api_key"] == MASK
    assert config["context"]["models"]["judge"]["model"] == "m"
    assert config["context"]["rm"]["model"] == f"http://{MASK}@127.0.0.1:9/get_reward"


def test_settings_validation() -> None:
    with pytest.raises(ConfigError, match="max_responses"):
        ServeSettings(max_responses=0)


def test_labels_become_constraints_or_reference() -> None:
    ids = {"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{"unused": None}]}
    assert constraints_from_label(ids)[0].id == "punctuation:no_comma"
    assert constraints_from_label('[{"id": "punctuation:no_comma"}]')[0].kwargs == {}
    assert constraints_from_label("Paris") is None
    body = GetRewardRequest(query=["P? a", "P? b", "Q? c"], prompts=["P?", "P?", "Q?"], labels=["x", "x", ids])
    grouped = group_queries(body)
    assert [g.indices for g in grouped.groups] == [[0, 1], [2]] and not grouped.unsplit
    assert grouped.groups[0].request.reference == "x" and grouped.groups[1].request.constraints[0].id == "punctuation:no_comma"


def test_get_reward_marks_missing(client: TestClient) -> None:
    out = client.post("/get_reward", json={"query": ["Hello? hi", "zzz"], "prompts": ["Hello?", "Hello?"],
                                           "missing_reward": -1.0}).json()
    assert out["rewards"] == [-1.0, -1.0] and out["extra_logs"]["reward_missing"] == [1.0, 1.0]


def test_trl_groups_consecutive_prompts_and_reads_columns() -> None:
    prompts = ["p"] * 3 + [[{"role": "user", "content": "q"}]]
    completions = ["a", "b", "c", [{"role": "assistant", "content": "d"}]]
    requests, indices = build_requests(prompts, completions, {})
    assert indices == [[0, 1, 2], [3]] and requests[1].responses == ["d"] and requests[1].messages
    cols = {"instruction_id_list": [["punctuation:no_comma"]], "kwargs": [[{"x": None}]]}
    assert constraints_from_columns(cols, 0)[0].kwargs == {}
    with pytest.raises(ValueError, match="2 prompts but 1"):
        build_requests(["a", "b"], ["c"], {})


def test_trl_local_reward_fn() -> None:
    reward = make_trl_reward_fn(context=CONTEXT)
    assert reward([LOWER["prompt"]] * 2, LOWER["responses"]) == [1.0, 0.0]
    assert reward(["hi"], ["x"]) == [None]
    assert make_trl_reward_fn(context=CONTEXT, missing=0.0)(["hi"], ["x"]) == [0.0]


def test_verl_compute_score(monkeypatch: pytest.MonkeyPatch) -> None:
    # The preference RM is switched off so the score is the constraint verdict alone.
    monkeypatch.setenv("REWARD_AGENT_DISABLE", "preference,factuality")
    out = compute_score("ifeval", "tea, tea", {"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
                        {"prompt": "Say tea."})
    assert out == {"score": 0.0, "reward_missing": False}
    # A string ground truth is a reference: the correctness verifier finds "a" is not "ref".
    assert compute_score("x", "a", "ref", {"prompt": "hi"}, context=None) == {"score": 0.0, "reward_missing": False}
    # Nothing to check at all (no ground truth, RM off): the reward is missing, not a silent 0.
    assert compute_score("x", "a", None, {"prompt": "hi"}, context=None) == {"score": 0.0, "reward_missing": True}
    # no prompt: scored with what there is (tests/unit/test_verl_adapter.py has verl's call shapes)
    assert build_request("a", None, {}).disable == ["preference"]


def test_graph_without_result_is_a_named_500() -> None:
    from langchain_core.runnables import RunnableLambda

    class NoResultGraph:
        def bind(self, **kwargs: object) -> RunnableLambda:
            return RunnableLambda(lambda x: x)

        async def ainvoke(self, inputs: dict, **kwargs: object) -> dict:
            return {}

    app = create_app(CONTEXT, ServeSettings(warmup=False), graph=NoResultGraph())
    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.post("/v1/score", json=LOWER)
    assert response.status_code == 500 and "GraphError" in response.json()["detail"]
