"""The embedded default RM: the shipped head loads offline, scores are deterministic and do not
depend on what else is in the batch, and it beats chance on questions it never saw."""

import pytest

from reward_agent.rm.embedded import DEFAULT_WEIGHTS, load_head
from reward_agent.rm.minilm import load_minilm
from reward_agent.train.data import load_preference_file, pairs_from_ratings, split_by_question


def test_shipped_head_is_small_and_describes_itself():
    assert DEFAULT_WEIGHTS.is_file() and DEFAULT_WEIGHTS.stat().st_size < 500_000
    head = load_head()
    assert head.parts and head.meta["calibration"]["scale"] > 0
    assert head.meta["training"]["data"] == "arena-bench-v1-rated.jsonl"


def test_scores_are_deterministic_and_batch_independent(embedded_rm):
    responses = ["Paris is the capital of France.", "I like turtles.", "The capital is Paris, on the Seine."]
    together = embedded_rm.score_batch("What is the capital of France?", responses)
    alone = [embedded_rm.score_batch("What is the capital of France?", [r]).raw[0] for r in responses]
    assert together.raw == pytest.approx(alone, abs=1e-5)
    assert together.normalisation["method"] == "sigmoid"
    assert together.normalisation["shift"] == pytest.approx(load_head().meta["calibration"]["shift"])


def test_encoder_memo_encodes_each_text_once():
    encoder = load_minilm()
    first = encoder.encode(["memo test a", "memo test b", "memo test a"])
    assert (first[0] - first[2]).abs().max() == 0
    size = len(encoder._memo)
    again = encoder.encode(["memo test b"])
    assert len(encoder._memo) == size and (again[0] - first[1]).abs().max() == 0


@pytest.mark.integration  # scores every held-out pair with the real model (minutes on 2 cores)
def test_beats_chance_on_held_out_questions(embedded_rm, data_dir):
    """Pairs with a clear rating gap (>= 4) from 12 held-out questions (the training split's test side)."""
    _, rated = load_preference_file(data_dir / "preference" / "arena-bench-v1-rated.jsonl")
    pairs = pairs_from_ratings(rated, min_gap=4)
    _, test_q = split_by_question([p.question_id for p in pairs_from_ratings(rated, min_gap=2)], 0.2, seed=0)
    chosen_q = sorted(test_q)[:12]
    test = [p for p in pairs if p.question_id in chosen_q]
    raw = embedded_rm.score_batch([p.prompt for p in test] * 2, [p.chosen for p in test] + [p.rejected for p in test]).raw
    accuracy = sum(c > r for c, r in zip(raw[: len(test)], raw[len(test):])) / len(test)
    assert len(test) > 100
    assert accuracy > 0.6, accuracy
