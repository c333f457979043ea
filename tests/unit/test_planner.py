"""Planner choices: the rules' decisions and reasons, the LLM planner's validation and fallbacks.

The LLM planner's mechanics are tested with a scripted chat model (code around a model);
a real model (Qwen2.5-Coder-0.5B, grammar-constrained) drives it in tests/integration/test_llm_paths.py.
"""

import asyncio

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from reward_agent import planner as planner_mod
from reward_agent.context import RewardContext
from reward_agent.llm import ModelSpec
from reward_agent.planner import make_plan
from reward_agent.types import RewardRequest


def plan(prompt, context=None, **kw):
    req = RewardRequest(prompt=prompt, responses=["r"], **kw)
    return asyncio.run(make_plan(req, context or RewardContext()))


@pytest.mark.parametrize(
    "prompt",
    [
        "Write a haiku about rain. Do not use any commas.",
        "Explain photosynthesis in fewer than 50 words.",
        "Answer in JSON format: what are the primary colours?",
        "Give me exactly 3 bullet points on why sleep matters.",
    ],
)
def test_rules_choose_constraints_when_the_prompt_states_them(prompt):
    p = plan(prompt)
    # The preference RM applies to every request; constraints are added when stated.
    assert p.planner == "rules" and p.verifiers == ["constraints", "preference"]
    assert "found in the prompt" in p.reasons["constraints"]


@pytest.mark.parametrize(
    "prompt", ["What is the capital of France?", "Tell me about the history of the printing press."]
)
def test_rules_skip_constraints_and_say_why(prompt):
    p = plan(prompt)
    assert p.verifiers == ["preference"]
    assert p.reasons["constraints"].startswith("not chosen")
    assert "preference reward model" in p.reasons["preference"]


def test_request_constraints_decide_even_without_words_in_the_prompt():
    p = plan("Tell me about tea.", constraints=[{"id": "punctuation:no_comma"}])
    assert p.verifiers == ["constraints", "preference"] and "given by the request" in p.reasons["constraints"]
    assert plan("Do not use commas.", constraints=[]).verifiers == ["preference"]


def test_context_disable_wins():
    p = plan("Do not use any commas.", RewardContext(disable=("constraints", "preference")))
    assert p.verifiers == [] and p.reasons["constraints"] == "disabled by the context"


def scripted_context(monkeypatch, answers):
    model = GenericFakeChatModel(messages=iter([AIMessage(content=a) for a in answers]))
    monkeypatch.setattr(planner_mod, "build_chat_model", lambda spec: model)
    return RewardContext(planner="llm", models={"planner": ModelSpec(provider="embedded")})


def test_llm_planner_valid_answer(monkeypatch):
    ctx = scripted_context(monkeypatch, ['{"verifiers": ["constraints"], "reasons": {"constraints": "asks for no commas"}}'])
    p = plan("Write without commas.", ctx)
    assert p.planner == "llm" and p.verifiers == ["constraints"] and p.fallback is None
    assert p.reasons["constraints"] == "asks for no commas" and p.prompt_version == "planner.v1"
    assert p.model_calls == 1


def test_llm_planner_unknown_verifier_is_repaired(monkeypatch):
    # The registered ids are in the answer's schema: an unknown id is a validation error, fed back once.
    ctx = scripted_context(monkeypatch, ['{"verifiers": ["astrology"]}', '{"verifiers": ["constraints"]}'])
    p = plan("Write without commas.", ctx)
    assert p.planner == "llm" and p.verifiers == ["constraints"] and p.fallback is None
    assert p.model_calls == 2


def test_llm_planner_unknown_verifier_falls_back_to_rules(monkeypatch):
    ctx = scripted_context(monkeypatch, ['{"verifiers": ["astrology"]}', '{"verifiers": ["astrology", "tarot"]}'])
    p = plan("Write without commas.", ctx)
    assert p.planner == "rules" and p.verifiers == ["constraints", "preference"]
    # The fallback says what was wrong: the answer's ids are not among the registered ones.
    assert "ModelOutputError" in p.fallback and "verifiers.0: Input should be 'constraints'" in p.fallback
    assert p.model_calls == 2


def test_llm_planner_schema_lists_the_registered_verifiers():
    from reward_agent.planner import answer_schema
    from reward_agent.verifiers.base import VERIFIERS

    schema = answer_schema(tuple(VERIFIERS.names())).model_json_schema()
    assert schema["properties"]["verifiers"]["items"]["enum"] == VERIFIERS.names()


def test_llm_planner_garbage_falls_back_to_rules(monkeypatch):
    ctx = scripted_context(monkeypatch, ["I think you should check things.", "Still not JSON."])
    p = plan("Write without commas.", ctx)
    assert p.planner == "rules" and "ModelOutputError" in p.fallback and p.verifiers == ["constraints", "preference"]
    assert p.model_calls == 2  # the answer and its repair round


@pytest.mark.parametrize(("script", "calls"), [([], 0), (["Not JSON."], 1)])
def test_llm_planner_unreachable_model_costs_the_answers_it_gave(monkeypatch, script, calls):
    from reward_agent.errors import ModelCallError
    from tests.unit.scripted_model import scripted

    model = scripted(*script, ModelCallError("planner down"))
    monkeypatch.setattr(planner_mod, "build_chat_model", lambda spec: model)
    ctx = RewardContext(planner="llm", models={"planner": ModelSpec(provider="embedded")})
    p = plan("Write without commas.", ctx)
    assert p.planner == "rules" and "ModelCallError: planner down" in p.fallback
    assert p.model_calls == calls and len(model.seen) == calls + 1


def test_llm_planner_without_a_model_is_a_config_error():
    from reward_agent.errors import ConfigError

    with pytest.raises(ConfigError, match="planner"):
        plan("x", RewardContext(planner="llm"))
