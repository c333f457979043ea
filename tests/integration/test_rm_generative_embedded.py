"""The generative reward backend driven by the real embedded model (SmolLM2-135M).

A 135M model is a poor judge: it may answer "A"/"B" or something else. Either way the backend
must finish with a win share per response or fail the batch with RMError, and never invent a
score. Where it answers, both orders were asked.
"""

import pytest

from reward_agent.rm import AutoRM, RMError

pytestmark = pytest.mark.integration

JUDGE = {"provider": "embedded", "max_tokens": 8}
PROMPT = "What is the capital of France?"
RESPONSES = ["The capital of France is Paris.", "France has no capital.", "Paris."]


def _check(out, n):
    assert len(out.raw) == n and all(0.0 <= x <= 1.0 for x in out.raw)
    assert out.scores == out.raw and out.normalisation == {"method": "identity"}


def test_pairwise_round_robin_with_the_embedded_judge():
    rm = AutoRM.load(backend="generative", judge=JUDGE)
    try:
        out = rm.score_batch(PROMPT, RESPONSES[:2])
    except RMError as exc:
        assert "no valid verdict" in str(exc)
        return
    _check(out, 2)
    assert out.model_calls == 2  # one pair, both orders
    assert out.raw[0] + out.raw[1] == pytest.approx(1.0)


def test_knockout_and_pointwise_with_the_embedded_judge():
    rm = AutoRM.load(backend="generative", judge=JUDGE, tournament="knockout")
    try:
        out = rm.score_batch(PROMPT, RESPONSES)
        _check(out, 3)
        assert out.model_calls == 4 and max(out.raw) == 1.0  # 2 matches x 2 orders; one champion
    except RMError as exc:
        assert "knockout" in str(exc) or "no valid verdict" in str(exc)
    pointwise = AutoRM.load(backend="generative", judge={"provider": "embedded", "max_tokens": 48}, mode="pointwise")
    try:
        out = pointwise.score_batch(PROMPT, RESPONSES[:1])
        _check(out, 1)
    except RMError as exc:
        assert "no valid verdict" in str(exc)
