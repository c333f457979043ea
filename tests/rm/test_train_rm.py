"""Reward-model training: pairs from ratings, the split by question, the embedded trainer and
the TRL path end to end through `reward-agent train-rm`, and the report they write."""

import json
import re

import pytest
from typer.testing import CliRunner

from reward_agent.cli import app
from reward_agent.errors import ConfigError
from reward_agent.train.data import RatedAnswer, load_preference_file, pairs_from_ratings, split_by_question


def rated(qid, ratings):
    return [RatedAnswer(qid, f"prompt {qid}", f"answer {k}", r) for k, r in enumerate(ratings)]


def test_pairs_from_rating_gaps():
    pairs = pairs_from_ratings(rated("q", [9, 2, 8, 2]), min_gap=2)
    assert sorted((p.chosen, p.rejected, p.margin) for p in pairs) == [
        ("answer 0", "answer 1", 7), ("answer 0", "answer 3", 7), ("answer 2", "answer 1", 6), ("answer 2", "answer 3", 6)]
    assert len(pairs_from_ratings(rated("q", [9, 2, 8, 2]), min_gap=1)) == 5
    with pytest.raises(ConfigError, match="min_gap"):
        pairs_from_ratings([], min_gap=0)


def test_split_by_question_is_disjoint_and_seeded():
    ids = [f"q{i}" for i in range(50)]
    train, test = split_by_question(ids * 3, 0.2, seed=7)
    assert not train & test and len(test) == 10 and train | test == set(ids)
    assert split_by_question(ids, 0.2, seed=7) == (train, test)
    assert split_by_question(ids, 0.2, seed=8) != (train, test)


def test_loader_reads_both_shapes_and_refuses_a_mix(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n")
    pairs, answers = load_preference_file(path)
    assert len(pairs) == 1 and not answers
    path.write_text(path.read_text() + json.dumps({"prompt": "p", "response": "a", "gpt4_rating": 3}) + "\n")
    with pytest.raises(ConfigError, match="mixes"):
        load_preference_file(path)
    path.write_text(json.dumps({"prompt": "p", "text": "a"}) + "\n")
    with pytest.raises(ConfigError, match="expected 'chosen'"):
        load_preference_file(path)


@pytest.fixture(scope="module")
def tiny_rated(tmp_path_factory):
    """20 questions, 3 rated answers each; the best answers are the longest (a length trap)."""
    rows = []
    for q in range(20):
        answers = [(f"A careful answer to question {q}: the reason, an example, and a caveat.", 9),
                   (f"Answer {q}, brief.", 5), (f"no idea {q}", 1)]
        for k, (text, rating) in enumerate(answers):
            rows.append({"question_id": f"q{q}", "prompt": f"Question number {q}?", "model": f"m{k}",
                         "response": text, "gpt4_rating": rating})
    path = tmp_path_factory.mktemp("data") / "rated.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


@pytest.mark.integration  # trains a real model
def test_train_rm_command_embedded(tiny_rated, tmp_path):
    out = tmp_path / "run"
    export = tmp_path / "head.safetensors"
    result = CliRunner().invoke(app, ["train-rm", "--data", str(tiny_rated), "--out", str(out), "--epochs", "30",
                                      "--export", str(export), "--test-fraction", "0.25"])
    assert result.exit_code == 0, result.output
    assert "pairwise accuracy" in result.output
    for name in ("report.md", "metrics.json", "histogram.png", "length_vs_score.png", "embedded_rm.safetensors"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["pairs"] == 5 * 3 and metrics["accuracy"] >= 0.8
    report = (out / "report.md").read_text()
    assert "Warning: length drives this reward" in report  # the data rewards length, and the report says so
    assert "held-out questions / pairs: 5 / 15" in report
    # The exported head loads as the embedded RM and reproduces the run's scores.
    from reward_agent.rm import AutoRM

    rm = AutoRM.load(backend="embedded", weights=str(export))
    assert rm.default_normalisation.method == "sigmoid"
    out2 = rm.score_batch("Question number 3?", ["A careful answer to question 3: the reason, an example, and a caveat.",
                                                   "no idea 3"])
    assert out2.raw[0] > out2.raw[1]


def test_train_rm_command_shaping_options(tiny_rated, tmp_path):
    out = tmp_path / "shaped"
    result = CliRunner().invoke(app, ["train-rm", "--data", str(tiny_rated), "--out", str(out), "--epochs", "5",
                                      "--test-fraction", "0.25", "--length-balance", "weight",
                                      "--hard-negatives", "filler,markdown", "--hard-negatives-per-question", "1",
                                      "--embedding-cache", str(tmp_path / "emb.pt")])
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    # Every arena pair here has the longer answer chosen; the constructed negatives and the weights balance it.
    share = re.search(r"before / after balancing: ([0-9.]+) / ([0-9.]+)", report)
    assert share and float(share.group(1)) < 1.0 and share.group(2) == "0.500"
    assert "filler 15, markdown 15" in report
    assert (tmp_path / "emb.pt").is_file()
    from reward_agent.rm.embedded import load_head

    assert load_head(out / "embedded_rm.safetensors").meta["id"].endswith("-lbw-fi-ma")
    assert json.loads((out / "embedded_rm.length_control.json").read_text())["head"].endswith("-lbw-fi-ma")
    bad = CliRunner().invoke(app, ["train-rm", "--data", str(tiny_rated), "--out", str(out), "--length-balance", "more"])
    assert bad.exit_code == 2 and "--length-balance" in bad.output
    bad = CliRunner().invoke(app, ["train-rm", "--data", str(tiny_rated), "--out", str(out), "--hard-negatives", "padding"])
    assert bad.exit_code == 2 and "unknown hard-negative" in " ".join(bad.output.split())


def test_train_rm_reports_bad_input(tmp_path):
    result = CliRunner().invoke(app, ["train-rm", "--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "is not a file" in " ".join(result.output.split())


@pytest.mark.integration  # trains a real model
def test_trl_reward_trainer_fine_tunes_a_real_small_model(tiny_rated, tiny_rm_dir, tmp_path):
    pytest.importorskip("trl")
    from reward_agent.train.run import TrainRMConfig, train_rm

    config = TrainRMConfig(data=tiny_rated, out=tmp_path / "trl", trainer="transformers", base_model=str(tiny_rm_dir),
                           epochs=2, lr=5e-5, batch_size=8, max_length=48, test_fraction=0.25, progress=False)
    metrics = train_rm(config)
    assert (tmp_path / "trl" / "model" / "config.json").is_file()
    assert metrics["info"]["training"]["trainer"].startswith("trl.RewardTrainer")
    assert metrics["pairs"] == 15 and 0.0 <= metrics["accuracy"] <= 1.0
    assert (tmp_path / "trl" / "report.md").is_file()
