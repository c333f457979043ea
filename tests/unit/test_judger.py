"""Judgers: renormalisation over present signals, gating, best index, LLM arbitration mechanics.

The LLM judger's mechanics (both orders, fallbacks) are tested here with a scripted chat
model; the real embedded model drives it in tests/integration/test_llm_paths.py.
"""

import asyncio

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from reward_agent import judger as judger_mod
from reward_agent.context import RewardContext
from reward_agent.judger import best_index, judge_gated, judge_llm, judge_weighted_sum, weighted_mean
from reward_agent.llm import ModelSpec
from reward_agent.types import RewardRequest, Signal

REQ = RewardRequest(prompt="p", responses=["a", "b", "c"])


def ok(vid, scores):
    return Signal(verifier=vid, status="ok", scores=scores)


def run(coro):
    return asyncio.run(coro)


def test_weighted_mean_renormalises_over_present_scores():
    signals = {"x": ok("x", [1.0, 0.0, None]), "y": ok("y", [0.0, 0.0, None])}
    assert weighted_mean(signals, {"x": 3.0, "y": 1.0}, 3) == [0.75, 0.0, None]


def test_failed_and_skipped_signals_are_left_out_not_zero():
    signals = {
        "x": ok("x", [1.0, 0.5, 0.0]),
        "broken": Signal(verifier="broken", status="failed", error="boom"),
        "idle": Signal(verifier="idle", status="skipped", error="nothing to do"),
    }
    j = run(judge_weighted_sum(REQ, signals, RewardContext()))
    assert j.rewards == [1.0, 0.5, 0.0]
    assert set(j.weights) == {"x"}


def test_zero_weight_drops_a_verifier():
    signals = {"x": ok("x", [1.0, 0.0, 0.5]), "y": ok("y", [0.0, 1.0, 0.5])}
    # model_construct: "y" is a signal of this test only, not a registered verifier (which
    # RewardContext validation would require).
    j = run(judge_weighted_sum(REQ, signals, RewardContext.model_construct(weights={"y": 0.0})))
    assert j.rewards == [1.0, 0.0, 0.5]


def test_no_signals_gives_none_with_a_note():
    j = run(judge_weighted_sum(REQ, {}, RewardContext()))
    assert j.rewards == [None, None, None]
    assert "no verifier" in j.notes[0]


def test_gated_caps_constraint_violations():
    signals = {"constraints": ok("constraints", [1.0, 0.5, 1.0]), "pref": ok("pref", [0.2, 1.0, 0.9])}
    j = run(judge_gated(REQ, signals, RewardContext(gate_cap=0.3)))
    assert j.rewards[1] == pytest.approx(0.3)
    assert j.rewards[0] == pytest.approx(0.6) and j.rewards[2] == pytest.approx(0.95)


@pytest.mark.parametrize(("rewards", "best"), [([0.1, 0.9, 0.9], 1), ([None, 0.2], 1), ([None, None], None), ([], None)])
def test_best_index(rewards, best):
    assert best_index(rewards) == best


def _scripted(monkeypatch, answers):
    model = GenericFakeChatModel(messages=iter([AIMessage(content=a) for a in answers]))
    monkeypatch.setattr(judger_mod, "build_chat_model", lambda spec: model)
    return RewardContext(judger="llm", models={"judge": ModelSpec(provider="embedded")})


def test_llm_judger_judges_both_orders(monkeypatch):
    # Two responses -> one pair -> two ordered comparisons. The scripted judge always says
    # "A" (pure position bias): both orders cancel it out to a tie.
    ctx = _scripted(monkeypatch, ['{"winner": "A", "reason": "r"}'] * 2)
    req = RewardRequest(prompt="p", responses=["x", "y"])
    j = run(judge_llm(req, {}, ctx))
    assert j.judger == "llm" and j.rewards == [0.5, 0.5] and j.model_calls == 2


def test_llm_judger_falls_back_when_every_answer_is_garbage(monkeypatch):
    ctx = _scripted(monkeypatch, ["no idea"] * 8)
    req = RewardRequest(prompt="p", responses=["x", "y"])
    signals = {"constraints": ok("constraints", [1.0, 0.0])}
    j = run(judge_llm(req, signals, ctx))
    assert j.judger == "weighted_sum" and j.rewards == [1.0, 0.0]
    assert "failed on every comparison" in j.notes[0]
    assert j.model_calls == 4  # two comparisons, each an answer and a repair: the garbage was paid for


def test_llm_judger_counts_no_calls_for_a_judge_it_cannot_reach(monkeypatch):
    from reward_agent.errors import ModelCallError
    from tests.unit.scripted_model import scripted

    model = scripted(ModelCallError("judge down"), ModelCallError("judge down"))
    monkeypatch.setattr(judger_mod, "build_chat_model", lambda spec: model)
    ctx = RewardContext(judger="llm", models={"judge": ModelSpec(provider="embedded")})
    j = run(judge_llm(RewardRequest(prompt="p", responses=["x", "y"]), {"c": ok("c", [1.0, 0.0])}, ctx))
    assert j.judger == "weighted_sum" and "ModelCallError: judge down" in j.notes[0]
    assert j.model_calls == 0 and len(model.seen) == 2


def test_llm_judger_without_model_falls_back():
    j = run(judge_llm(REQ, {"x": ok("x", [1.0, 0.0, 0.5])}, RewardContext(judger="llm")))
    assert j.judger == "weighted_sum" and "no model configured" in j.notes[0]
