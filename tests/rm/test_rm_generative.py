"""The generative (LLM-judge) backend's mechanics with a deterministic judge model: both orders,
votes, log-prob preferences, round-robin and knockout, pointwise rubric, and no default scores.
The real embedded model drives it in tests/integration/test_rm_generative_embedded.py."""

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from reward_agent.rm import AutoRM, RMError
from reward_agent.rm.generative import parse_choice


class QualityJudge(BaseChatModel):
    """Prefers the response with more '+' signs; rates pointwise by '+' count. Can be biased to A,
    send log-probs, or answer nonsense. Counts its calls."""

    bias_a: bool = False
    logprobs: bool = False
    nonsense: bool = False
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "quality-judge"

    @staticmethod
    def _section(text: str, start: str, end: str | None) -> str:
        body = text.split(start, 1)[1]
        return body.split(end, 1)[0] if end else body

    def _generate(self, messages, stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        self.calls += 1
        text = messages[-1].content
        meta: dict[str, Any] = {}
        if self.nonsense:
            answer = "Both are lovely."
        elif "[Response A]" in text:
            a = self._section(text, "[Response A]", "[Response B]").count("+")
            b = self._section(text, "[Response B]", "Which response").count("+")
            answer = "A" if self.bias_a or a >= b else "B"
            if self.logprobs:
                import math

                p_a = 0.5 + 0.1 * (a - b)
                p_a = min(max(p_a, 0.05), 0.95)
                meta = {"logprobs": {"content": [{"token": answer, "logprob": math.log(max(p_a, 1 - p_a)),
                                                   "top_logprobs": [{"token": "A", "logprob": math.log(p_a)},
                                                                    {"token": "B", "logprob": math.log(1 - p_a)}]}]}}
        else:
            plus = self._section(text, "[Response]", "Rate the response").count("+")
            answer = '{"score": %d, "reason": "counted"}' % min(10, 1 + plus)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=answer, response_metadata=meta))])


RESPONSES = ["ok +", "great +++", "bad", "good ++"]


def load(judge, **options):
    return AutoRM.load(backend="generative", chat_model=judge, **options)


def test_parse_choice():
    assert parse_choice("A") == "A" and parse_choice(" b.") is None and parse_choice("B.") == "B"
    assert parse_choice("Response B is better.\nAnswer: B") == "B"
    assert parse_choice("[[A]]") == "A" and parse_choice("<answer>B</answer>") == "B"
    assert parse_choice("A or B, hard to say") is None and parse_choice("Neither") is None


def test_round_robin_both_orders_gives_win_shares():
    judge = QualityJudge()
    out = load(judge).score_batch("Q", RESPONSES)
    assert out.raw == pytest.approx([1 / 3, 1.0, 0.0, 2 / 3])
    assert judge.calls == 6 * 2  # 6 pairs, both orders, k = 1
    assert out.model_calls == 12 and out.normalisation["method"] == "identity"


def test_both_orders_cancel_a_position_bias():
    out = load(QualityJudge(bias_a=True)).score_batch("Q", RESPONSES)
    assert out.raw == pytest.approx([0.5] * 4)  # always "A": no information, and no fake winner


def test_votes_over_k_samples_and_log_probs():
    judge = QualityJudge(logprobs=True)
    out = load(judge, k=3).score_batch("Q", RESPONSES[:2])
    assert judge.calls == 2 * 3
    assert out.raw == pytest.approx([0.3, 0.7])  # P(A) from the top log-probs, both orders averaged
    assert "temperature" in " ".join(out.details["notes"])


def test_knockout_finds_the_best_with_n_minus_1_matches():
    judge = QualityJudge()
    out = load(judge, tournament="knockout").score_batch("Q", RESPONSES)
    assert judge.calls == 3 * 2
    assert out.raw[1] == 1.0 and max(range(4), key=lambda i: out.raw[i]) == 1
    assert out.raw == pytest.approx([0.0, 1.0, 0.0, 0.5])
    assert [m["winner"] for m in out.details["matches"]] == [1, 3, 1]


def test_pointwise_rubric_and_single_responses():
    out = load(QualityJudge(), mode="pointwise").score_batch("Q", RESPONSES)
    assert out.raw == pytest.approx([1 / 9, 3 / 9, 0.0, 2 / 9])
    single = load(QualityJudge()).score_batch(["Q1", "Q2", "Q2"], ["a ++", "b", "c +"])
    assert single.raw[0] == pytest.approx(2 / 9)
    assert "rated pointwise" in single.details["notes"][0]
    assert single.raw[1:] == [0.0, 1.0]


def test_a_judge_that_never_answers_fails_the_batch():
    with pytest.raises(RMError, match="no valid verdict"):
        load(QualityJudge(nonsense=True)).score_batch("Q", RESPONSES[:2])
    with pytest.raises(RMError, match="knockout round 1"):
        load(QualityJudge(nonsense=True), tournament="knockout").score_batch("Q", RESPONSES[:2])
    # Pointwise, each rating fails after its repair round: two answers each, all counted.
    with pytest.raises(RMError, match=r"2 invalid votes in 4 calls"):
        load(QualityJudge(nonsense=True), mode="pointwise").score_batch("Q", RESPONSES[:2])
