"""The LLM planner and LLM judger through the real graph, with the real embedded model.

SmolLM2-135M is weak: it may or may not answer in the requested JSON. Either way the run
must finish, and the result must say which path decided (the model, or the recorded
fallback). No outcome is hidden.
"""

import pytest

from reward_agent import score
from reward_agent.context import RewardContext
from reward_agent.llm import ModelSpec

pytestmark = pytest.mark.integration

EMBEDDED = ModelSpec(provider="embedded", max_tokens=96)
REQUEST = {
    "prompt": "Describe tea in all lowercase letters, without any commas.",
    "responses": ["green tea is calm and grassy", "Green tea, calm and grassy."],
}


def test_llm_planner_decides_or_falls_back_visibly():
    result = score(REQUEST, RewardContext(planner="llm", models={"planner": EMBEDDED}))
    plan = result.plan
    assert plan.prompt_version == "planner.v1"
    assert plan.model_calls >= 1 or plan.fallback
    if plan.fallback:
        assert plan.planner == "rules" and "constraints" in plan.verifiers
    else:
        assert plan.planner == "llm"
        assert set(plan.verifiers) <= {"constraints", "preference"}
    assert len(result.rewards) == 2


def test_llm_judger_compares_both_orders_with_the_embedded_model():
    # The preference RM is switched off so the fallback's rewards are the constraint verdicts alone.
    result = score(REQUEST, RewardContext(judger="llm", models={"judge": EMBEDDED}, disable=("preference",)))
    assert result.prompt_versions.get("judge") == "judge.v1"
    assert result.model_calls >= 2  # one pair, judged in both orders
    if result.judger == "llm":
        assert all(r is not None and 0.0 <= r <= 1.0 for r in result.rewards)
        assert sum(result.rewards) == pytest.approx(1.0)  # shares of one pair's wins
    else:
        assert result.judger == "weighted_sum" and "llm judger failed" in result.notes[0]
        assert result.rewards == [1.0, 0.0]
