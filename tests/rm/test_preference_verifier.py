"""The preference verifier in the real graph: the embedded RM by default, one batched call for
all N responses, raw and [0, 1] scores, the normalisation recorded, failures as data."""

import asyncio

import pytest

from reward_agent import build_graph, score
from reward_agent.context import RewardContext, load_context
from reward_agent.rm.auto import BACKENDS, register_backend
from reward_agent.rm.base import RawScores, RewardModel
from reward_agent.verifiers.base import VERIFIERS

PROMPT = "How do I boil an egg?"
GOOD = "Put the egg in boiling water for 7 to 9 minutes, then cool it in cold water before peeling."
BAD = "Eggs are a food."


class SpyRM(RewardModel):
    """Records every batch it is asked to score; score = words."""

    backend = "spy"
    batches: list[int] = []

    def __init__(self, model=None):
        pass

    def _score_raw(self, items):
        SpyRM.batches.append(len(items))
        return RawScores(raw=[float(len(it.response.split())) for it in items])


class BrokenRM(RewardModel):
    backend = "broken"

    def __init__(self, model=None):
        pass

    def _score_raw(self, items):
        from reward_agent.rm import RMError

        raise RMError("GPU fell off the bus")


@pytest.fixture
def test_backends():
    register_backend("spy", SpyRM)
    register_backend("broken", BrokenRM)
    SpyRM.batches = []
    yield
    BACKENDS.unregister("spy")
    BACKENDS.unregister("broken")


def test_embedded_rm_scores_every_request_by_default():
    result = score({"prompt": PROMPT, "responses": [GOOD, BAD, GOOD]})
    assert result.plan.verifiers == ["preference"]
    sig = result.signals["preference"]
    assert sig.status == "ok" and len(sig.raw_scores) == 3
    assert all(0.0 < s < 1.0 for s in sig.scores)
    assert sig.scores[0] == pytest.approx(sig.scores[2])  # same pair, same score
    assert sig.evidence["backend"] == "embedded" and sig.evidence["normalisation"]["method"] == "sigmoid"
    assert result.rewards == sig.scores
    assert VERIFIERS.get("preference").node == "score_preference"


def test_all_responses_go_in_one_batch(test_backends):
    ctx = RewardContext(rm={"backend": "spy"})
    result = score({"prompt": PROMPT, "responses": [GOOD, BAD, "a b c", "d"]}, ctx)
    assert SpyRM.batches == [4]
    assert result.signals["preference"].raw_scores == [float(len(GOOD.split())), 4.0, 3.0, 1.0]


def test_rank_normalisation_for_n_and_sigmoid_for_one(test_backends):
    ctx = RewardContext(rm={"backend": "spy", "normalisation": {"method": "rank"}})
    result = score({"prompt": PROMPT, "responses": [GOOD, BAD, "a b c"]}, ctx)
    assert result.signals["preference"].scores == [1.0, 0.5, 0.0]
    assert result.signals["preference"].evidence["normalisation"] == {"method": "rank"}
    single = score({"prompt": PROMPT, "responses": [BAD]}, ctx).signals["preference"]
    assert single.evidence["normalisation"]["method"] == "sigmoid"
    assert "needs N > 1" in single.evidence["normalisation_note"]
    assert single.scores[0] == pytest.approx(1 / (1 + 2.718281828459045 ** -4))


def test_a_failing_rm_is_a_failed_signal_not_a_score(test_backends):
    result = score({"prompt": "Answer in all lowercase letters.",
                    "responses": ["the weather is fine today and i feel great", "The Weather Is Fine Today."]},
                   RewardContext(rm={"backend": "broken"}))
    sig = result.signals["preference"]
    assert sig.status == "failed" and "GPU fell off the bus" in sig.error and sig.scores is None
    # The judge renormalises over what is present: the constraint verdicts alone.
    assert result.rewards == [1.0, 0.0]


def test_preference_and_constraints_mix_with_equal_default_weights():
    request = {"prompt": "Describe tea in all lowercase letters.", "responses": ["green tea is calm", "Green Tea."]}
    result = score(request)
    assert result.plan.verifiers == ["constraints", "preference"]
    pref = result.signals["preference"].scores
    assert result.weights == {"constraints": 1.0, "preference": 1.0}
    assert result.rewards == pytest.approx([(1.0 + pref[0]) / 2, (0.0 + pref[1]) / 2])
    gated = score(request, RewardContext(judger="gated"))
    assert gated.rewards[1] <= 0.3


def test_context_from_environment_and_async_graph():
    ctx = load_context(environ={"REWARD_AGENT_RM_BACKEND": "custom", "REWARD_AGENT_RM_MODEL": "test_rm_core:length_rm"})
    assert ctx.rm.backend == "custom"
    out = asyncio.run(build_graph().ainvoke({"request": {"prompt": "Q", "responses": ["ab", "abcd"]}}, context=ctx))
    assert out["result"].signals["preference"].raw_scores == [2.0, 4.0]
