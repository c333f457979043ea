"""The real `reward-agent best-of-n` and `annotate` commands on a tiny fixture, with the embedded defaults.

Nothing is faked: the embedded reward model scores the responses, the rule planner picks the
verifiers, the constraint verifier reads the constraints from the prompt text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from typer.testing import CliRunner  # noqa: E402

from reward_agent.batch.best_of_n import pick_index  # noqa: E402
from reward_agent.cli import app  # noqa: E402

pytestmark = pytest.mark.integration

ITEMS = [
    {"key": 1, "prompt": "Write two sentences about the sea. Do not use any commas in your response.",
     "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}],
     "responses": ["The sea is wide, deep, and blue. Waves roll in all day, every day.",
                   "The sea is wide and deep. Its waves roll in all day long.",
                   "Sea.",
                   "The ocean, which covers most of the planet, is home to whales, fish, and coral."],
     "ratings": [5, 9, 2, 6]},
    {"key": 2, "prompt": "Describe a cat in your entire response in English, using only lowercase letters.",
     "instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}],
     "responses": ["A Cat Is A Small Furry Animal That Likes To Sleep In The Sun.",
                   "a cat is a small furry animal that likes to sleep in the sun and chase mice.",
                   "CATS ARE GREAT PETS FOR MANY PEOPLE.",
                   "a cat is a small animal with soft fur, sharp claws and a long tail that it uses for balance."],
     "ratings": [6, 8, 3, 9]},
    {"key": 3, "prompt": "What is the capital of France?",
     "instruction_id_list": [], "kwargs": [],
     "responses": ["The capital of France is Paris.", "I don't know.", "Paris.", "It is Lyon."],
     "ratings": [9, 1, 8, 2]},
]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bon") / "samples.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in ITEMS), encoding="utf-8")
    return path


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    return result.output


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_best_of_n_end_to_end(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "bon"
    _invoke("best-of-n", "--data", str(data), "--out", str(out), "--n", "1,2,4", "--signals", "rm,rm+verifiers",
            "--concurrency", "2", "--no-progress")
    metrics = json.loads((out / "metrics.json").read_text())
    assert (out / "best_of_n.png").stat().st_size > 0 and "# best-of-n" in (out / "report.md").read_text()
    assert metrics["evaluated_items"] == 3 and not any(f["count"] for f in metrics["failed"].values())
    for name, folder in (("rm", "rm"), ("rm+verifiers", "rm_verifiers")):
        scores = _jsonl(out / folder / "scores.jsonl")
        assert [s["id"] for s in scores] == ["1", "2", "3"]
        indices = _jsonl(out / folder / "pick_indices.jsonl")
        for item, row, picked in zip(ITEMS, scores, indices):
            assert len(row["rewards"]) == 4 and all(r is not None and 0 <= r <= 1 for r in row["rewards"])
            for n in (1, 2, 4):
                assert picked[f"n{n}"] == pick_index(row["rewards"], n)
        for n in (1, 2, 4):
            picks = _jsonl(out / folder / f"picks_n{n}.jsonl")
            assert [set(p) for p in picks] == [{"prompt", "response"}] * 3  # IFEval's input_response format
            assert [p["response"] for p in picks] == [it["responses"][ix[f"n{n}"]] for it, ix in zip(ITEMS, indices)]
        assert [p["response"] for p in _jsonl(out / folder / "picks_n1.jsonl")] == [it["responses"][0] for it in ITEMS]
        # The constraints come from the prompt, never from the gold list: only rm+verifiers checks them.
        plans = [s["plan"] for s in scores]
        if name == "rm":
            assert plans == [["preference"]] * 3
        else:
            assert "constraints" in plans[0] and "constraints" in plans[1]
        curves = metrics["overall"]["configs"][name]
        oracle, random = metrics["overall"]["baselines"]["oracle"], metrics["overall"]["baselines"]["random"]
        for metric in ("prompt_strict", "instruction_loose", "rating"):
            for n in ("1", "2", "4"):
                assert random[metric][n] <= oracle[metric][n] + 1e-9
                assert curves[metric][n] <= oracle[metric][n] + 1e-9
            assert curves[metric]["1"] == pytest.approx(oracle[metric]["1"])  # n=1: the first sample, no choice
        eff = metrics["efficiency"][name]
        assert eff["run"]["new_items"] == 3 and eff["model_calls"]["per_item"]["preference"] == 1.0
    # Resuming scores nothing again and reproduces the metrics.
    _invoke("best-of-n", "--data", str(data), "--out", str(out), "--n", "1,2,4", "--signals", "rm,rm+verifiers",
            "--no-progress")
    again = json.loads((out / "metrics.json").read_text())
    assert again["overall"] == metrics["overall"]
    assert again["efficiency"]["rm"]["run"]["resumed_items"] == 3 and again["efficiency"]["rm"]["run"]["new_items"] == 0


def test_annotate_end_to_end(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "dpo.jsonl"
    _invoke("annotate", "--data", str(data), "--out", str(out), "--rule", "best-worst", "--concurrency", "2",
            "--no-progress")
    metrics = json.loads((tmp_path / "dpo.metrics.json").read_text())
    rows = _jsonl(out)
    skipped = sum(v["count"] for v in metrics["skipped"].values())
    assert metrics["prompts"] == 3 and metrics["pairs_written"] == len(rows) == 3 - skipped
    for row in rows:
        item = next(it for it in ITEMS if str(it["key"]) == row["prompt_id"])
        assert row["prompt"] == item["prompt"]
        assert row["chosen"] == item["responses"][row["chosen_index"]]
        assert row["rejected"] == item["responses"][row["rejected_index"]]
        assert row["chosen_score"] == max(row["rewards"]) and row["rejected_score"] == min(row["rewards"])
        assert row["margin"] == pytest.approx(row["chosen_score"] - row["rejected_score"])
        assert "preference" in row["signals"] and row["signals"]["preference"]["status"] == "ok"
        assert len(row["signals"]["preference"]["evidence"]["summaries"]) == 4
    assert (tmp_path / "dpo.margins.png").stat().st_size > 0
    # all-pairs with a margin threshold only re-selects: the saved scores are reused.
    _invoke("annotate", "--data", str(data), "--out", str(out), "--rule", "all-pairs", "--min-margin", "0.05",
            "--no-progress")
    metrics = json.loads((tmp_path / "dpo.metrics.json").read_text())
    assert metrics["efficiency"]["run"]["new_items"] == 0
    assert all(r["margin"] >= 0.05 for r in _jsonl(out)) and metrics["pairs_written"] == len(_jsonl(out))


def test_bad_arguments_are_clear_errors(data: Path, tmp_path: Path) -> None:
    def fails(*args: str) -> str:
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 2, result.output
        return " ".join(result.output.split())  # rich wraps long lines

    assert "must list integers >= 1" in fails("best-of-n", "--data", str(data), "--out", str(tmp_path), "--n", "0,2")
    assert "nope.jsonl' does not exist" in fails("annotate", "--data", str(tmp_path / "nope.jsonl"),
                                                 "--out", str(tmp_path / "x.jsonl"))
    assert "must be one of best-worst, all-pairs" in fails("annotate", "--data", str(data), "--out",
                                                           str(tmp_path / "x.jsonl"), "--rule", "top")
