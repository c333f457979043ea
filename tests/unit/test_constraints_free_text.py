"""The constraint verifier with free-text constraints: generated checkers in the evidence, errors as
missing evidence, model calls counted once per prompt. The coder model is scripted; the sandbox is real.
"""

from __future__ import annotations

import asyncio

import pytest

from reward_agent.context import RewardContext
from reward_agent.llm import ModelSpec
from reward_agent.types import RewardRequest
from reward_agent.verifiers.constraints import typed
from reward_agent.verifiers.constraints.free_text import free_text
from reward_agent.verifiers.constraints.verifier import applies, check_constraints

from scripted_model import GOOD_ASSERTS, asserts_answer, scripted

THREE_QUESTIONS = free_text("use exactly three question marks")
NO_COMMA = {"id": "punctuation:no_comma", "kwargs": {}}
RESPONSES = ["Why? How? When?", "Why? How?", "Why, how, when? Really? Yes?", ""]


@pytest.fixture
def coder(monkeypatch):
    """Install a scripted coder model; returns it so tests can inspect what it saw."""
    holder = {}

    def install(*steps):
        model = scripted(*steps)
        holder["model"] = model
        monkeypatch.setattr(typed, "build_chat_model", lambda spec: model)
        return model

    return install


def context(tmp_path, **kw) -> RewardContext:
    return RewardContext(models={"coder": ModelSpec(provider="embedded")}, cache_path=str(tmp_path / "c.sqlite3"), **kw)


def check(responses, constraints, ctx):
    request = RewardRequest(prompt="Ask me things.", responses=responses, constraints=constraints)
    return asyncio.run(check_constraints(request, ctx))


def test_generated_checker_verdicts_appear_in_the_evidence(coder, tmp_path) -> None:
    coder(GOOD_ASSERTS)
    signal = check(RESPONSES, [THREE_QUESTIONS, NO_COMMA], context(tmp_path))
    assert signal.status == "ok" and signal.model_calls == 1
    rows = signal.evidence["per_response"]
    assert [row[0]["followed"] for row in rows] == [True, False, True, False]  # blank follows nothing
    assert rows[0][0] == {"id": "free_text", "text": "use exactly three question marks", "followed": True,
                          "outcome": "passed", "checked_by": "generated"}
    assert signal.scores == [1.0, 0.5, 0.5, 0.0]
    (generated,) = signal.evidence["generated_checkers"]
    assert generated["status"] == "ok" and len(generated["code_sha256"]) == 64 and "def check" in generated["code"]
    assert "net_namespace" in signal.evidence["sandbox"]["layers"] or "rlimits" in signal.evidence["sandbox"]["layers"]
    assert signal.evidence["prompt_versions"] == {"checker_code": "checker_code_typed.v3"}


def test_best_of_n_and_a_second_epoch_make_no_new_calls(coder, tmp_path) -> None:
    coder(GOOD_ASSERTS)
    ctx = context(tmp_path)
    assert check(RESPONSES[:1], [THREE_QUESTIONS], ctx).model_calls == 1
    coder()  # nothing scripted: a model call now would fail the test
    many = check(RESPONSES * 8, [THREE_QUESTIONS], ctx)
    assert many.model_calls == 0 and len(many.scores) == 32
    assert many.evidence["generated_checkers"][0]["cached"] is True


def test_a_checker_error_is_missing_evidence_not_a_verdict(coder, tmp_path) -> None:
    fragile = "def check(response):\n    if 'boom' in response:\n        raise ValueError('boom')\n    return response.count('?') == 3\n"
    coder(asserts_answer(fragile, "A? B? C?", "A?"))
    signal = check(["A? B? C?", "boom?"], [THREE_QUESTIONS, NO_COMMA], context(tmp_path))
    entry = signal.evidence["per_response"][1][0]
    assert entry["followed"] is None and entry["outcome"] == "error" and "ValueError: boom" in entry["error"]
    assert signal.scores == [1.0, 1.0]  # only the no-comma check decided response 1
    assert "check errored: free_text" in signal.evidence["summaries"][1]


def test_a_dropped_checker_is_recorded_and_decides_nothing(coder, tmp_path) -> None:
    coder("no code", "no code", "no code")
    signal = check(["A? B? C?"], [THREE_QUESTIONS, NO_COMMA], context(tmp_path, checker_repair_rounds=2))
    assert signal.model_calls == 3
    (generated,) = signal.evidence["generated_checkers"]
    assert generated["status"] == "dropped" and "no working checker from 1 candidate(s), 3 call(s)" in generated["reason"]
    entry = signal.evidence["per_response"][0][0]
    assert entry["followed"] is None and "dropped" in entry["error"]
    assert signal.scores == [1.0]


def test_without_a_coder_free_text_is_missing_evidence(tmp_path) -> None:
    ctx = RewardContext(cache_path=str(tmp_path / "c.sqlite3"))
    signal = check(["A? B? C?"], [THREE_QUESTIONS], ctx)
    assert signal.scores == [None] and signal.model_calls == 0
    assert "'coder' role" in signal.evidence["per_response"][0][0]["error"]


def test_loose_mode_tries_the_variants_in_the_same_process(coder, tmp_path) -> None:
    response = "Sure, here goes!\nWhy? How? When?"
    exclaim = free_text("end with an exclamation mark")
    coder(asserts_answer("def check(response):\n    return response.rstrip().endswith('!')\n", "Yes!", "No."))
    strict = check([response], [exclaim], context(tmp_path))
    loose = check([response], [exclaim], context(tmp_path, constraint_mode="loose"))
    assert strict.evidence["per_response"][0][0]["followed"] is False
    assert loose.evidence["per_response"][0][0]["followed"] is True  # without its last line it ends in "!"


def test_planner_rule_with_an_extractor_configured() -> None:
    request = RewardRequest(prompt="Tell me about the sea.", responses=["x"])
    ctx = RewardContext(models={"extractor": ModelSpec(provider="embedded")})
    chosen, why = applies(request, ctx)
    assert chosen and "extractor" in why
    assert applies(request, RewardContext())[0] is False
