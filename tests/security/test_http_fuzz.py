"""Property-based fuzzing of every route: whatever the body, the answer is a 200 or a 4xx, never a 500.

Three kinds of input per POST route: raw bytes, arbitrary JSON values, and request-shaped
objects (RewardRequest, batches, OpenRLHF bodies, LangServe envelopes) with fields of the wrong
type, hostile text (lone surrogates, NUL, huge numbers, NaN) and random constraint ids and
kwargs. GET routes get random paths and query strings. The app is the real one, in-process
(TestClient), with the constraints verifier running (preference and factuality disabled, so a
valid request costs milliseconds). Bounded: a fixed number of examples per route, no deadline.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sse_starlette.sse import AppStatus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reward_agent import RewardContext
from reward_agent.serve import ServeSettings, create_app
from reward_agent.verifiers.constraints.base import CHECKERS

# A fuzz campaign (about a thousand requests through the whole app): in `make test` and
# `make test-security`, not in `make test-fast`.
pytestmark = pytest.mark.integration

CONTEXT = RewardContext(disable=("preference", "factuality"))
TOKEN = "fuzz-token-123456"
APP_SETTINGS = ServeSettings(token=TOKEN, warmup=False, max_responses=8, max_body_bytes=64 * 1024,
                             request_timeout_s=30)
# 30 examples x 3 input kinds per route by default (about a minute in all); a deeper, random
# campaign: REWARD_AGENT_FUZZ_EXAMPLES=500 REWARD_AGENT_FUZZ_RANDOM=1.
FUZZ = settings(max_examples=int(os.environ.get("REWARD_AGENT_FUZZ_EXAMPLES", "30")), deadline=None,
                derandomize=not os.environ.get("REWARD_AGENT_FUZZ_RANDOM"),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

POST_ROUTES = ["/v1/score", "/v1/score/batch", "/get_reward", "/v1/verify/constraints", "/v1/verify/preference",
               "/v1/verify/nope", "/reward/invoke", "/reward/batch", "/reward/stream", "/reward/stream_log",
               "/reward/stream_events"]
GET_ROUTES = ["/health", "/ready", "/v1/config", "/reward/input_schema", "/reward/output_schema",
              "/reward/config_schema", "/reward/playground/", "/v1/score", "/docs", "/openapi.json"]


@pytest.fixture(scope="module")
def client() -> TestClient:
    # sse-starlette keeps one exit event per process, bound to the first event loop that streamed;
    # each TestClient runs its own loop (a real server has one).
    AppStatus.should_exit_event = None
    with TestClient(create_app(CONTEXT, APP_SETTINGS), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        yield c


# Text as hostile as JSON can carry: any code point, lone surrogates included.
hostile_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40) | st.sampled_from(
    ["", "\ud800", "a\udfffb", "\x00", "\u202e", "Describe tea in all lowercase letters.", "tea is calm", "1" * 400])
scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | hostile_text)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(hostile_text, inner, max_size=5), max_leaves=25)
checker_ids = st.sampled_from(sorted(CHECKERS.names()) + ["nope", "", "punctuation:no_comma "])
constraint = st.fixed_dictionaries({"id": checker_ids | json_values},
                                   optional={"kwargs": st.dictionaries(hostile_text, json_values, max_size=3) | json_values,
                                             "source": st.sampled_from(["request", "llm", "x"]), "text": json_values})
message = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "tool"]) | json_values,
                                 "content": hostile_text | json_values})
reward_request = st.fixed_dictionaries(
    {"responses": st.lists(hostile_text, max_size=10) | json_values},
    optional={"prompt": hostile_text | json_values, "messages": st.lists(message, max_size=3) | json_values,
              "reference": hostile_text | json_values, "constraints": st.lists(constraint, max_size=3) | json_values,
              "verifiers": st.lists(st.sampled_from(["constraints", "preference", "factuality", "x"]), max_size=3),
              "disable": st.lists(st.sampled_from(["constraints", "preference", "x"]), max_size=3) | json_values,
              "id": hostile_text | json_values, "extra": json_values},
)
get_reward_body = st.fixed_dictionaries(
    {"query": st.lists(hostile_text, max_size=12) | json_values},
    optional={"prompts": st.lists(hostile_text, max_size=12) | json_values,
              "labels": st.lists(json_values | st.lists(constraint, max_size=2).map(json.dumps), max_size=12),
              "missing_reward": json_values},
)


def shaped(route: str) -> st.SearchStrategy[Any]:
    """Bodies shaped like what `route` expects, with every field free to be wrong."""
    if route == "/get_reward":
        return get_reward_body
    if route == "/v1/score/batch":
        return st.lists(reward_request, max_size=4) | st.fixed_dictionaries({"requests": st.lists(reward_request, max_size=4)})
    if route.startswith("/reward/"):
        envelope = st.fixed_dictionaries({"request": reward_request}) | json_values
        return st.fixed_dictionaries(
            {"inputs" if route.endswith("batch") else "input": st.lists(envelope, max_size=3) if route.endswith("batch") else envelope},
            optional={"config": json_values, "kwargs": json_values})
    return reward_request


def encode(value: Any) -> bytes:
    # ensure_ascii: lone surrogates travel as \\uXXXX escapes, as a hostile client would send them.
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


def assert_answered(response: Any, route: str, body: bytes) -> None:
    assert response.status_code < 500, f"{route} answered {response.status_code} to {body[:300]!r}: {response.text[:500]}"
    if response.status_code >= 400:
        assert response.headers.get("content-type", "").startswith("application/json"), response.text[:200]
        assert response.json().get("detail"), response.text[:200]  # a 4xx says what was wrong


@pytest.mark.parametrize("route", POST_ROUTES)
def test_raw_bytes_never_500(client: TestClient, route: str) -> None:
    @FUZZ
    @given(body=st.binary(max_size=300) | json_values.map(encode).flatmap(
        lambda b: st.integers(0, len(b)).map(lambda cut: b[:cut])))
    def check(body: bytes) -> None:
        assert_answered(client.post(route, content=body, headers={"content-type": "application/json"}), route, body)

    check()


@pytest.mark.parametrize("route", POST_ROUTES)
def test_json_values_never_500(client: TestClient, route: str) -> None:
    @FUZZ
    @given(value=json_values)
    def check(value: Any) -> None:
        body = encode(value)
        assert_answered(client.post(route, content=body, headers={"content-type": "application/json"}), route, body)

    check()


@pytest.mark.parametrize("route", POST_ROUTES)
def test_request_shaped_bodies_never_500(client: TestClient, route: str) -> None:
    @FUZZ
    @given(value=shaped(route))
    def check(value: Any) -> None:
        body = encode(value)
        assert_answered(client.post(route, content=body, headers={"content-type": "application/json"}), route, body)

    check()


@pytest.mark.parametrize("route", GET_ROUTES)
def test_get_routes_never_500(client: TestClient, route: str) -> None:
    @FUZZ
    @given(query=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3))
    def check(query: dict[str, str]) -> None:
        response = client.get(route, params=query)
        assert response.status_code < 500, f"GET {route}?{query}: {response.status_code} {response.text[:300]}"

    check()


def test_verify_ids_never_500(client: TestClient) -> None:
    @FUZZ
    @given(vid=st.text(min_size=1, max_size=30), body=reward_request)
    def check(vid: str, body: Any) -> None:
        route = "/v1/verify/" + quote(vid, safe="")
        assert_answered(client.post(route, content=encode(body), headers={"content-type": "application/json"}),
                        route, encode(body))

    check()
