"""The LLM planner and LLM judger through the real graph, with a real model that must decide.

The model is Qwen2.5-Coder-0.5B run in-process by llama.cpp, whose structured calls are decoded
under the schema's grammar: its answer is valid JSON of the right shape by construction, so
these tests require the LLM path itself to decide (a fallback to the rules or to weighted_sum
fails them). The fallbacks have their own tests with scripted answers (tests/unit/test_planner.py,
tests/unit/test_judger.py). Greedy decoding on one machine is deterministic.
"""

import pytest

from reward_agent import score
from reward_agent.context import RewardContext
from reward_agent.llm import ModelSpec
from reward_agent.verifiers.base import VERIFIERS

pytestmark = pytest.mark.integration

SMALL = ModelSpec(provider="llamacpp", model="qwen2.5-coder-0.5b", max_tokens=128)
REQUEST = {
    "prompt": "Describe tea in all lowercase letters, without any commas.",
    "responses": ["green tea is calm and grassy", "Green tea, calm and grassy."],
}


def test_llm_planner_decides():
    result = score(REQUEST, RewardContext(planner="llm", models={"planner": SMALL}))
    plan = result.plan
    assert plan.fallback is None, plan.fallback
    assert plan.planner == "llm"
    assert plan.prompt_version == "planner.v1"
    assert plan.model_calls == 1  # grammar-constrained: the first answer is valid
    assert plan.verifiers and set(plan.verifiers) <= set(VERIFIERS)
    assert all(plan.reasons[v] for v in plan.verifiers)
    assert len(result.rewards) == 2


def test_llm_judger_compares_both_orders():
    result = score(REQUEST, RewardContext(judger="llm", models={"judge": SMALL}, disable=("preference",)))
    assert result.judger == "llm", result.notes
    assert result.prompt_versions.get("judge") == "judge.v1"
    assert result.model_calls >= 2  # one pair, judged in both orders
    assert not any("failed" in note for note in result.notes), result.notes
    assert all(r is not None and 0.0 <= r <= 1.0 for r in result.rewards)
    assert sum(result.rewards) == pytest.approx(1.0)  # shares of one pair's wins
