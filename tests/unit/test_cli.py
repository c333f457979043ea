"""The CLI: score prints JSON with per-verifier signals; bench ifeval-verify writes its metrics."""

import json

from typer.testing import CliRunner

from reward_agent.cli import app

runner = CliRunner()


def test_score_json_has_signals_with_per_response_scores():
    result = runner.invoke(
        app,
        ["score", "-p", "Reply in all lowercase letters.", "-r", "this answer is written entirely in lowercase letters as asked", "-r", "This Answer Is Not", "--json"],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["signals"]["constraints"]["scores"] == [1.0, 0.0]
    # The preference RM scores every response too; equal default weights, so the reward is the mean.
    pref = out["signals"]["preference"]["scores"]
    assert out["rewards"] == [(1.0 + pref[0]) / 2, (0.0 + pref[1]) / 2] and out["best_index"] == 0


def test_score_with_explicit_constraint_and_table_output():
    result = runner.invoke(
        app, ["score", "-p", "Tell me about tea.", "-r", "tea, tea", "-c", "punctuation:no_comma"]
    )
    assert result.exit_code == 0, result.output
    assert "punctuation:no_comma" in result.output and "Rewards" in result.output


def test_score_bad_constraint_json_is_a_usage_error():
    result = runner.invoke(app, ["score", "-p", "x", "-r", "y", "-c", "length_constraints:number_words={oops"])
    assert result.exit_code != 0 and "not JSON" in result.output


def test_unknown_judger_is_reported_not_a_traceback():
    result = runner.invoke(app, ["score", "-p", "Use no commas.", "-r", "y", "--judger", "wieghted_sum"])
    assert result.exit_code == 2 and "weighted_sum" in result.output


def test_bench_ifeval_verify_writes_metrics(tmp_path, data_dir):
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        ["bench", "ifeval-verify", "--data", str(data_dir / "ifeval" / "text_bison_verdicts.jsonl"),
         "--out", str(out), "--limit", "20"],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("instruction_agreement_strict", "prompt_agreement_strict", "instruction_agreement_loose",
                "prompt_agreement_loose", "extraction_precision", "extraction_recall"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["items"] == 20
    assert len((out / "results.jsonl").read_text().splitlines()) == 20


def test_bench_missing_file(tmp_path):
    result = runner.invoke(app, ["bench", "ifeval-verify", "--data", str(tmp_path / "no.jsonl"), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "not a file" in result.output
