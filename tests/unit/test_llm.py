"""The code around chat models: specs, building, JSON extraction, repair rounds, retries, caching.

Fake models are used only here, to script what a model answers; the real embedded model and a real
OpenAI-compatible server are exercised in tests/integration.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402
import openai  # noqa: E402
from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from reward_agent.cache import Cache  # noqa: E402
from reward_agent.errors import ConfigError, ModelCallError, ModelOutputError, UnknownIdError  # noqa: E402
from reward_agent.llm import (  # noqa: E402
    EMBEDDED_MODEL_NAME,
    EmbeddedChatModel,
    ModelSpec,
    _chat_dicts,
    _save_atomically,
    _truncate_at_stop,
    build_chat_model,
    embedded_cache_path,
    spec_of,
)
from reward_agent.structured import ainvoke_structured, describe_schema, extract_json, invoke_structured  # noqa: E402


class Verdict(BaseModel):
    label: str
    score: float = Field(ge=0, le=1)


class ScriptedChatModel(BaseChatModel):
    """Answers from a script (strings, or exceptions to raise) and records what it was sent."""

    script: list[Any]
    seen: list[list[BaseMessage]] = []

    @property
    def _llm_type(self) -> str:
        return "scripted-test-model"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        self.seen.append(list(messages))
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=step))])


def scripted(*steps: Any) -> ScriptedChatModel:
    return ScriptedChatModel(script=list(steps), seen=[])


def fake(*answers: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(answers))


def connection_error() -> openai.APIConnectionError:
    return openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions"))


@pytest.fixture
def no_openai_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "MY_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield


# -- ModelSpec --------------------------------------------------------------------------------------


def test_openai_spec_without_endpoint_names_the_fix(no_openai_env: None) -> None:
    with pytest.raises(ConfigError, match="base_url=.*OPENAI_BASE_URL"):
        ModelSpec(provider="openai", model="qwen")


def test_openai_spec_takes_base_url_from_env(no_openai_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    assert ModelSpec(provider="openai", model="qwen").base_url == "http://127.0.0.1:8000/v1"


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"provider": "opnai"}, UnknownIdError, "Did you mean 'openai'"),
        ({"provider": "embedded", "modle": "x"}, ConfigError, "did you mean 'model'"),
        ({"provider": "openai", "base_url": "http://h/v1"}, ConfigError, "needs model="),
        ({"provider": "openai", "model": "m", "base_url": "localhost:8000"}, ConfigError, "http://"),
        ({"provider": "embedded", "model": "gpt-4o"}, ConfigError, "only has"),
        ({"provider": "embedded", "base_url": "http://h/v1"}, ConfigError, "base_url is for"),
        ({"provider": "embedded", "temperature": 3}, ConfigError, "temperature"),
        ({"provider": "embedded", "max_tokens": 0}, ConfigError, "max_tokens"),
        ({"provider": "embedded", "timeout_s": 0}, ConfigError, "timeout_s"),
        ({"provider": "embedded", "max_retries": -1}, ConfigError, "max_retries"),
    ],
)
def test_spec_validation_messages(no_openai_env: None, fields: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        ModelSpec(**fields)


def test_spec_is_frozen_hashable_and_keeps_secrets_out_of_repr_and_identity() -> None:
    a = ModelSpec(provider="openai", model="m", base_url="http://h/v1", api_key="sk-secret")
    b = ModelSpec(provider="openai", model="m", base_url="http://h/v1", api_key="sk-secret")
    assert a == b and hash(a) == hash(b)
    assert "sk-secret" not in repr(a)
    assert "api_key" not in a.identity() and "timeout_s" not in a.identity()
    with pytest.raises(Exception):
        a.model = "other"  # type: ignore[misc]
    assert ModelSpec(provider="embedded").model == EMBEDDED_MODEL_NAME


def test_api_key_resolution(no_openai_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    local = ModelSpec(provider="openai", model="m", base_url="http://127.0.0.1:8000/v1", api_key_env="MY_KEY")
    assert local.resolved_api_key() == "EMPTY"  # keyless local servers still need a non-empty key
    monkeypatch.setenv("MY_KEY", "from-env")
    assert local.resolved_api_key() == "from-env"
    remote = ModelSpec(provider="openai", model="gpt-4o-mini", base_url="https://api.openai.com/v1")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        remote.resolved_api_key()


# -- build_chat_model ------------------------------------------------------------------------------


def test_openai_model_is_built_with_both_token_limits_and_memoised() -> None:
    spec = ModelSpec(provider="openai", model="m", base_url="http://127.0.0.1:1/v1", api_key="k",
                     max_tokens=77, timeout_s=5, max_retries=1, temperature=0.3)
    model = build_chat_model(spec)
    assert isinstance(model, ChatOpenAI)
    assert build_chat_model(spec) is model
    assert build_chat_model(spec.model_dump()) is model
    assert spec_of(model) == spec
    payload = model._get_request_payload([HumanMessage(content="hi")])
    assert payload["max_completion_tokens"] == 77
    assert payload["extra_body"] == {"max_tokens": 77}  # llama.cpp's server reads only max_tokens
    assert payload["temperature"] == 0.3
    assert "response_format" not in payload
    assert model.max_retries == 1 and model.request_timeout == 5


def test_json_mode_sends_json_object_response_format() -> None:
    spec = ModelSpec(provider="openai", model="m", base_url="http://127.0.0.1:1/v1", api_key="k", json_mode=True)
    payload = build_chat_model(spec)._get_request_payload([HumanMessage(content="hi")])
    assert payload["response_format"] == {"type": "json_object"}


def test_embedded_model_is_built_lazily_and_refuses_unknown_options() -> None:
    model = build_chat_model(ModelSpec(provider="embedded", max_tokens=9))
    assert isinstance(model, EmbeddedChatModel) and model.max_tokens == 9
    with pytest.raises(ConfigError, match="top_k"):
        model.invoke("hi", top_k=3)  # refused before any weights are loaded


def test_chat_dicts_and_stop_sequences() -> None:
    msgs = [SystemMessage(content="s"), HumanMessage(content="u"), AIMessage(content="a")]
    assert _chat_dicts(msgs) == [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "a"},
    ]
    assert _truncate_at_stop("abc STOP def END", ["END", "STOP"]) == ("abc ", True)
    assert _truncate_at_stop("abc", ["x"]) == ("abc", False)
    assert _truncate_at_stop("abc", None) == ("abc", False)


# -- extract_json ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('Sure! Here it is:\n```json\n{"a": {"b": [1, 2]}}\n```\nHope that helps.', {"a": {"b": [1, 2]}}),
        ('```\n{"text": "braces } and { inside"}\n```', {"text": "braces } and { inside"}),
        ('See [1] and {not json} then {"a": 2} and {"a": 3}', {"a": 2}),
        ('<think>maybe {"a": 0}?</think>{"a": 1}', {"a": 1}),
        ("[1, 2, 3]", [1, 2, 3]),
    ],
)
def test_extract_json(text: str, expected: Any) -> None:
    assert extract_json(text) == expected


def test_extract_json_prefers_the_requested_type() -> None:
    assert extract_json('[1] then {"a": 1}', prefer=list) == [1]
    assert extract_json('[1] then {"a": 1}', prefer=None) == [1]
    assert extract_json("[1] only", prefer=dict) == [1]  # the other type rather than nothing


@pytest.mark.parametrize("text", ["", "no json here", "{broken: json", "```json\n```"])
def test_extract_json_without_json_raises(text: str) -> None:
    with pytest.raises(ValueError):
        extract_json(text)


# -- invoke_structured ------------------------------------------------------------------------------


def test_valid_first_answer_with_fences_and_prose() -> None:
    model = fake('Here you go:\n```json\n{"label": "good", "score": 0.9}\n```')
    answer = invoke_structured(model, "Rate this.", Verdict, prompt_version="rate.v1")
    assert answer.value == Verdict(label="good", score=0.9)
    assert answer.model_calls == 1 and not answer.cached
    assert answer.prompt_version == "rate.v1"
    assert "```json" in answer.raw


def test_instruction_carries_the_schema_in_the_last_user_turn() -> None:
    model = scripted('{"label": "x", "score": 0.1}')
    invoke_structured(model, [("system", "You judge."), ("human", "Rate this.")], Verdict)
    sent = model.seen[0]
    assert [m.type for m in sent] == ["system", "human"]  # merged into the user turn, not a new one
    assert sent[-1].content.startswith("Rate this.")
    assert '{"label": string, "score": number (0 to 1)}' in sent[-1].content


class Item(BaseModel):
    name: str = Field(description="what it is called")
    tags: list[str] = []


class Inventory(BaseModel):
    kind: Literal["shop", "depot"]
    items: list[Item]
    owner: str | None = None
    counts: dict[str, int]
    ratio: float = Field(gt=0)


def test_describe_schema_draws_a_compact_shape() -> None:
    assert describe_schema(Verdict) == '{"label": string, "score": number (0 to 1)}'
    assert describe_schema(Inventory) == (
        '{"kind": "shop" | "depot", '
        '"items": [{"name": string, "tags": [string, ...] (optional)}, ...], '
        '"owner": string | null (optional), '
        '"counts": {string: integer, ...}, '
        '"ratio": number (> 0)}'
        "\nwhere name: what it is called"
    )


def test_repair_round_feeds_the_error_back() -> None:
    model = scripted('{"label": "x", "score": 7}', '{"label": "x", "score": 0.7}')
    answer = invoke_structured(model, "Rate this.", Verdict)
    assert answer.value.score == 0.7 and answer.model_calls == 2
    repair_turns = model.seen[1]
    assert isinstance(repair_turns[-2], AIMessage) and "7" in repair_turns[-2].content
    assert "score" in repair_turns[-1].content and "less than or equal to 1" in repair_turns[-1].content


def test_garbage_raises_model_output_error_with_raw_text() -> None:
    model = scripted("I cannot do that.", "Still no JSON, sorry.")
    with pytest.raises(ModelOutputError) as info:
        invoke_structured(model, "Rate this.", Verdict, repair_rounds=1)
    assert info.value.raw == "Still no JSON, sorry."
    assert info.value.model_calls == 2
    assert len(model.seen) == 2


def test_zero_repair_rounds_means_one_call() -> None:
    model = scripted("nope", '{"label": "x", "score": 0.5}')
    with pytest.raises(ModelOutputError) as info:
        invoke_structured(model, "Rate this.", Verdict, repair_rounds=0)
    assert len(model.seen) == 1 and info.value.model_calls == 1
    with pytest.raises(ConfigError):
        invoke_structured(model, "Rate this.", Verdict, repair_rounds=-1)


def test_transient_failures_are_retried_then_succeed() -> None:
    model = scripted(connection_error(), ConnectionError("reset"), '{"label": "x", "score": 0.2}')
    answer = invoke_structured(model, "Rate this.", Verdict, retries=2, backoff_s=0)
    assert answer.value.score == 0.2
    assert answer.model_calls == 1  # retries of one call are not extra answers
    assert len(model.seen) == 3


def test_transient_failures_exhaust_into_model_call_error() -> None:
    model = scripted(connection_error(), connection_error(), '{"label": "x", "score": 0.2}')
    with pytest.raises(ModelCallError, match="2 attempt") as info:
        invoke_structured(model, "Rate this.", Verdict, retries=1, backoff_s=0)
    assert len(model.seen) == 2
    assert info.value.model_calls == 0  # two attempts, no answer: nothing we can count as a call


def test_a_repair_round_that_cannot_reach_the_model_still_costs_the_first_answer() -> None:
    model = scripted("not json", connection_error())
    with pytest.raises(ModelCallError, match="1 attempt") as info:
        invoke_structured(model, "Rate this.", Verdict, retries=0, backoff_s=0)
    assert len(model.seen) == 2 and info.value.model_calls == 1
    assert isinstance(info.value.__cause__, ModelCallError)  # the transport failure itself, chained

    async def scenario() -> ModelCallError:
        with pytest.raises(ModelCallError) as failed:
            await ainvoke_structured(scripted("x", "y", connection_error()), "Rate this.", Verdict,
                                     repair_rounds=2, retries=0, backoff_s=0)
        return failed.value

    assert asyncio.run(scenario()).model_calls == 2


def test_backoff_grows_between_attempts() -> None:
    model = scripted(ConnectionError("a"), ConnectionError("b"), '{"label": "x", "score": 0.2}')
    started = time.perf_counter()
    invoke_structured(model, "Rate this.", Verdict, retries=2, backoff_s=0.05)
    assert time.perf_counter() - started >= 0.05 + 0.1 - 0.01


def test_non_transient_api_errors_fail_at_once_and_bugs_are_not_masked() -> None:
    request = httpx.Request("POST", "http://h/v1/chat/completions")
    auth = openai.AuthenticationError("bad key", response=httpx.Response(401, request=request), body=None)
    model = scripted(auth, '{"label": "x", "score": 0.2}')
    with pytest.raises(ModelCallError, match="bad key"):
        invoke_structured(model, "Rate this.", Verdict, retries=3, backoff_s=0)
    assert len(model.seen) == 1
    buggy = scripted(KeyError("oops"))
    with pytest.raises(KeyError):
        invoke_structured(buggy, "Rate this.", Verdict, retries=3, backoff_s=0)


def test_endpoint_models_rely_on_the_client_retries(no_openai_env: None) -> None:
    """Nothing listens on the port: the real OpenAI client fails fast, our layer adds no attempts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = ModelSpec(provider="openai", model="m", base_url=f"http://127.0.0.1:{port}/v1", timeout_s=2, max_retries=0)
    started = time.perf_counter()
    with pytest.raises(ModelCallError, match="1 attempt"):
        invoke_structured(spec, "Rate this.", Verdict)
    assert time.perf_counter() - started < 10


def test_cache_hit_costs_no_model_call() -> None:
    with Cache(":memory:") as cache:
        model = scripted('{"label": "x", "score": 0.4}', '{"label": "y", "score": 0.6}')
        first = invoke_structured(model, "Rate this.", Verdict, cache=cache, prompt_version="rate.v1")
        again = invoke_structured(model, "Rate this.", Verdict, cache=cache, prompt_version="rate.v1")
        assert first.value == again.value and again.cached and again.model_calls == 0
        assert again.raw == first.raw
        other = invoke_structured(model, "Rate this.", Verdict, cache=cache, prompt_version="rate.v2")
        assert other.value.label == "y" and not other.cached  # a new prompt version is a new key
        assert len(model.seen) == 2
        assert cache.stats.hits == 1


def test_failures_are_not_cached() -> None:
    with Cache(":memory:") as cache:
        model = scripted("garbage", '{"label": "x", "score": 0.4}')
        with pytest.raises(ModelOutputError):
            invoke_structured(model, "Rate this.", Verdict, cache=cache, repair_rounds=0)
        answer = invoke_structured(model, "Rate this.", Verdict, cache=cache, repair_rounds=0)
        assert answer.value.score == 0.4 and not answer.cached


def test_async_variant_repairs_retries_and_caches() -> None:
    async def scenario() -> None:
        with Cache(":memory:") as cache:
            model = scripted(ConnectionError("reset"), "not json", '{"label": "a", "score": 1}')
            answer = await ainvoke_structured(model, "Rate this.", Verdict, cache=cache, retries=1, backoff_s=0)
            assert answer.value == Verdict(label="a", score=1) and answer.model_calls == 2
            hit = await ainvoke_structured(model, "Rate this.", Verdict, cache=cache, retries=1, backoff_s=0)
            assert hit.cached and hit.model_calls == 0
            with pytest.raises(ModelOutputError) as failed:
                await ainvoke_structured(scripted("x", "y"), "Rate this.", Verdict)
            assert failed.value.model_calls == 2 and failed.value.raw == "y"

    asyncio.run(scenario())


# -- the embedded model's on-disk cache ------------------------------------------------------------


class _FakeSavable:
    """Stands in for a model or tokenizer: writes a file, optionally dies half-way."""

    def __init__(self, name: str, fail: bool = False) -> None:
        self.name, self.fail = name, fail

    def save_pretrained(self, folder: Path) -> None:
        (Path(folder) / self.name).write_text("weights")
        if self.fail:
            raise RuntimeError("killed mid-write")


def test_cache_write_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "models" / "m-123"
    gguf = tmp_path / "m.gguf"
    with pytest.raises(RuntimeError):
        _save_atomically(_FakeSavable("model.safetensors", fail=True), _FakeSavable("tok.json"), target, gguf)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no half cache, no temp folder left behind

    _save_atomically(_FakeSavable("model.safetensors"), _FakeSavable("tok.json"), target, gguf)
    assert sorted(p.name for p in target.iterdir()) == ["model.safetensors", "reward_agent_cache.json", "tok.json"]

    # Another process finished first: its copy is kept, ours is discarded quietly.
    _save_atomically(_FakeSavable("other.safetensors"), _FakeSavable("tok.json"), target, gguf)
    assert not (target / "other.safetensors").exists()
    assert [p.name for p in target.parent.iterdir()] == ["m-123"]


def test_cache_folder_name_tracks_the_gguf_file(tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"v1")
    first = embedded_cache_path(gguf, tmp_path)
    assert first.parent == tmp_path / "models" and first.name.startswith("m-")
    gguf.write_bytes(b"version 2")
    assert embedded_cache_path(gguf, tmp_path) != first
