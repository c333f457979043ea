"""The correctness verifier: answer extraction, comparison by value (real math-verify in its worker
process), typed outcomes including timeouts, planning, and the end-to-end ranking through the CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reward_agent.cli import app
from reward_agent.context import RewardContext
from reward_agent.planner import make_plan
from reward_agent.types import RewardRequest, CodeTestsReference
from reward_agent.verifiers.correctness.compare import MathVerifyWorker, close_default_worker, compare_answer
from reward_agent.verifiers.correctness.extract import extract_answer, extract_reference
from reward_agent.verifiers.correctness.verifier import check_correctness

SLOW = str(Path(__file__).with_name("correctness_slow.py"))


@pytest.fixture(scope="module", autouse=True)
def _fresh_default_worker():
    close_default_worker()
    yield
    close_default_worker()


@pytest.fixture(scope="module")
def worker():
    w = MathVerifyWorker()
    yield w
    w.close()


@pytest.mark.parametrize(
    "text, answer, rule",
    [
        ("She makes 9 * 2 = $<<9*2=18>>18 every day.\nA: 18", "18", "answer_line"),
        ("So 2 + 1 = 3 bolts.\n#### 3", "3", "hashes"),
        ("Thus the answer is $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}", "boxed"),
        ("Adding up, the final answer is 72.", "72", "answer_is"),
        ("**Answer:** 1,000", "1,000", "answer_line"),
        ("72", "72", "whole_response"),
        ("Paris", "Paris", "whole_response"),
        # Unfinished solution: the fallback reads the last number, and says so.
        ("He pays 5 * 16 = $<<5*16=80>>80, then 3 more for the second glass, so", "3", "last_number"),
        # Calculator annotations are never the answer.
        ("Total is 2 * 3 = <<2*3=6>>6 apples and then some", "6", "last_number"),
    ],
)
def test_extraction_rules(text, answer, rule):
    found = extract_answer(text)
    assert found is not None and (found.answer, found.rule) == (answer, rule)


def test_no_answer_at_all_is_none_and_the_fallback_can_be_refused():
    assert extract_answer("I am not sure how to solve this problem, sorry about that.\nMaybe ask again") is None
    assert extract_answer("It is about 12 or so, I think. Hard to say\nreally") is not None
    assert extract_answer("It is about 12 or so, I think. Hard to say\nreally", allow_last_number=False) is None


def test_reference_reads_gsm8k_worked_solution_and_plain_answers():
    gold = extract_reference("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nA: 18")
    assert (gold.answer, gold.rule) == ("18", "answer_line")
    assert extract_reference("Natalia sold 48/2 = 24 clips.\n#### 72").answer == "72"
    assert extract_reference(" 72 ").answer == "72"


@pytest.mark.parametrize(
    "answer, gold, outcome, rule",
    [
        ("72", "72.0", "correct", "numeric"),
        ("$1,000", "1000", "correct", "numeric"),
        ("50", "72", "incorrect", "numeric"),
        ("\\frac{1}{2}", "0.5", "correct", "math_verify"),
        ("0.5", "\\frac{1}{2}", "correct", "math_verify"),
        ("\\boxed{72}", "72", "correct", "math_verify"),
        ("\\frac{2}{3}", "\\frac{1}{2}", "incorrect", "math_verify"),
        ("x^2+2x+1", "(x+1)^2", "correct", "math_verify"),
        ("\\{1, 2\\}", "\\{2, 1\\}", "correct", "math_verify"),
        ("[1, 2)", "[1, 2)", "correct", "math_verify"),
        ("(1, 2)", "[1, 2]", "incorrect", "math_verify"),
        ("72 apples", "72", "correct", "math_verify"),
        ("I have no idea", "72", "unparsable", "math_verify"),
        ("paris.", "Paris", "correct", "normalised_match"),
        ("The (B)", "B", "correct", "normalised_match"),
        ("London", "Paris", "incorrect", "normalised_match"),
    ],
)
def test_comparison_by_value(worker, answer, gold, outcome, rule):
    result = compare_answer(answer, gold, worker=worker)
    assert (result.outcome, result.rule) == (outcome, rule), result


def test_a_comparison_interrupted_by_the_worker_timer_is_a_timeout_and_the_worker_survives():
    w = MathVerifyWorker(compare_target=f"{SLOW}:slow_compare")
    try:
        slow = compare_answer("slow", "\\pi", worker=w, timeout_s=1.0)
        assert slow.outcome == "timeout" and "longer than 1s" in (slow.detail or "")
        assert compare_answer("\\pi", "\\pi", worker=w, timeout_s=1.0).outcome == "correct"
        assert w.restarts == 0
    finally:
        w.close()


def test_a_comparison_that_ignores_the_timer_is_killed_at_the_hard_deadline():
    w = MathVerifyWorker(compare_target=f"{SLOW}:stuck_compare")
    try:
        stuck = compare_answer("stuck", "\\pi", worker=w, timeout_s=0.5)
        assert stuck.outcome == "timeout" and "killed" in (stuck.detail or "")
        assert w.restarts == 1
        # A fresh worker answers the next comparison.
        assert compare_answer("\\pi", "\\pi", worker=w, timeout_s=0.5).outcome == "correct"
    finally:
        w.close()


def _plan(**kw):
    return asyncio.run(make_plan(RewardRequest(prompt="How many?", responses=["r"], **kw), RewardContext()))


def test_planner_chooses_correctness_only_with_a_checkable_reference():
    assert "correctness" not in _plan().verifiers
    assert _plan().reasons["correctness"] == "not chosen: the request carries no reference answer"
    with_ref = _plan(reference="72")
    assert "correctness" in with_ref.verifiers and "'72'" in with_ref.reasons["correctness"]
    assert "correctness" in _plan(reference=CodeTestsReference(tests="assert f() == 1")).verifiers
    essay = "A long reference essay about the history of printing. " * 10
    prose = _plan(reference=essay)
    assert "correctness" not in prose.verifiers and "free text" in prose.reasons["correctness"]


def test_reference_accepts_tests_as_json_and_stays_a_string_otherwise():
    req = RewardRequest.model_validate({"prompt": "p", "responses": ["r"],
                                        "reference": {"kind": "tests", "tests": "assert f(2) == 4"}})
    assert isinstance(req.reference, CodeTestsReference) and req.reference.timeout_s == 5.0
    assert RewardRequest(prompt="p", responses=["r"], reference="72").reference == "72"
    # A numeric ground truth (as RL datasets store it) is the same reference as its text.
    assert RewardRequest(prompt="p", responses=["r"], reference=72).reference == "72"


def test_signal_has_typed_outcomes_and_scores():
    request = RewardRequest(
        prompt="q", reference="Worked out.\n#### 72",
        responses=["So 72.\nA: 72", "A: 50", "no idea", "The answer is 72.0"],
    )
    signal = asyncio.run(check_correctness(request, RewardContext()))
    assert signal.status == "ok" and signal.scores == [1.0, 0.0, None, 1.0]
    results = signal.evidence["results"]
    assert [r["outcome"] for r in results] == ["correct", "incorrect", "unparsable", "correct"]
    assert results[0]["extraction_rule"] == "answer_line" and results[3]["extraction_rule"] == "answer_is"
    assert signal.evidence["gold"] == "72" and signal.evidence["counts"] == {"correct": 2, "incorrect": 1,
                                                                              "unparsable": 1}


def test_context_can_score_unparsable_answers_as_wrong():
    request = RewardRequest(prompt="q", reference="72", responses=["A: 72", "I would rather not say."])
    signal = asyncio.run(check_correctness(request, RewardContext(unparsable_answers="wrong")))
    assert signal.scores == [1.0, 0.0]
    assert signal.evidence["results"][1]["outcome"] == "unparsable"
    assert "unparsable_answers='wrong'" in signal.evidence["results"][1]["scored_as"]


QUESTION = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
            "How many clips did Natalia sell altogether in April and May?")


@pytest.mark.parametrize("order", [("A: 72", "A: 50"), ("A: 50", "A: 72")])
def test_cli_ranks_the_correct_answer_first(order):
    responses = [f"In May she sold 48 / 2 = 24 clips. Altogether 48 + 24 = 72... let me write it.\n{a}"
                 for a in order]
    args = ["score", "-p", QUESTION, "--reference", "72", "--json"]
    for r in responses:
        args += ["-r", r]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    correct = order.index("A: 72")
    assert out["best_index"] == correct
    assert out["signals"]["correctness"]["scores"][correct] == 1.0
    assert out["signals"]["correctness"]["scores"][1 - correct] == 0.0
    assert "correctness" in out["plan"]["verifiers"] and "preference" in out["plan"]["verifiers"]
    assert out["rewards"][correct] > 0.5 > out["rewards"][1 - correct]


def test_gated_judger_caps_a_wrong_answer():
    from reward_agent import score

    # gate_cap 0: the preference model's opinion (> 0) cannot lift a wrong answer above nothing.
    result = score({"prompt": QUESTION, "reference": "72", "responses": ["A: 72", "A: 50"]},
                   RewardContext(judger="gated", gate_cap=0.0))
    assert result.best_index == 0 and result.rewards[0] > 0.5 and result.rewards[1] == 0.0
    assert any("capped at 0.0" in note and "correctness" in note for note in result.notes)
