"""Wire types: valid requests parse, bad ones fail with a message naming the field."""

import pytest
from pydantic import ValidationError

from reward_agent.types import Message, RewardRequest, Signal


def test_prompt_request_parses():
    req = RewardRequest(prompt="Say hi.", responses=["hi", "hello"])
    assert req.user_prompt == "Say hi."
    assert [m.role for m in req.chat()] == ["user"]


def test_chat_request_uses_last_user_turn():
    req = RewardRequest(
        messages=[
            Message(role="system", content="Be brief."),
            Message(role="user", content="first"),
            Message(role="assistant", content="ok"),
            Message(role="user", content="second"),
        ],
        responses=["x"],
    )
    assert req.user_prompt == "second"


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"prompt": "p"}, "responses"),
        ({"prompt": "p", "responses": []}, "responses"),
        ({"prompt": "p", "responses": "not a list"}, "responses"),
        ({"prompt": "p", "responses": [3]}, "responses.0"),
        ({"responses": ["a"]}, "exactly one of `prompt`"),
        ({"prompt": "p", "messages": [{"role": "user", "content": "q"}], "responses": ["a"]}, "exactly one"),
        ({"prompt": "   ", "responses": ["a"]}, "`prompt` is empty"),
        ({"messages": [], "responses": ["a"]}, "`messages` is empty"),
        ({"messages": [{"role": "system", "content": "s"}], "responses": ["a"]}, "no user turn"),
        ({"messages": [{"role": "robot", "content": "s"}], "responses": ["a"]}, "messages.0.role"),
        ({"prompt": "p", "responses": ["a"], "constraints": [{"kwargs": {}}]}, "constraints.0.id"),
        ({"prompt": "p", "responses": ["a"], "verifiers": ["x"], "disable": ["x"]}, "forced and disabled"),
        ({"prompt": "p", "responses": ["a"], "colour": "red"}, "colour"),
    ],
)
def test_bad_requests_name_the_problem(payload, needle):
    with pytest.raises(ValidationError) as info:
        RewardRequest.model_validate(payload)
    assert needle in str(info.value)


def test_null_kwargs_mean_no_arguments():
    req = RewardRequest.model_validate(
        {"prompt": "p", "responses": ["a"], "constraints": [{"id": "punctuation:no_comma", "kwargs": None}]}
    )
    assert req.constraints[0].kwargs == {}


def test_signal_contract():
    Signal(verifier="v", status="ok", scores=[0.0, 1.0, None])
    with pytest.raises(ValidationError, match="outside"):
        Signal(verifier="v", status="ok", scores=[1.5])
    with pytest.raises(ValidationError, match="needs scores"):
        Signal(verifier="v", status="ok")
    with pytest.raises(ValidationError, match="needs an error"):
        Signal(verifier="v", status="failed")
