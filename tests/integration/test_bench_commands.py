"""`reward-agent bench ...` for real: the embedded RM and constraint checkers through the graph.

The resumption test starts the command as a subprocess, kills it with SIGKILL once rows are on
disk, runs it again, and compares the results file byte for byte with an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reward_agent.bench.judgebench import judgebench_metrics
from reward_agent.bench.pairs import pairwise_metrics
from reward_agent.bench.rm_bench_run import rmbench_metrics
from reward_agent.cli import app

pytestmark = pytest.mark.integration

TOPICS = ["green tea", "the moon", "rivers", "bicycles", "owls", "granite", "jazz", "lighthouses", "maple trees",
          "glaciers", "bread", "comets", "coral reefs", "chess", "volcanoes", "honeybees", "deserts", "violins",
          "tides", "paper", "salt", "wolves", "clouds", "copper", "tulips", "kites", "caves", "otters", "ink",
          "bridges", "snow", "lanterns", "pepper", "canyons", "ferns", "harbors", "marble", "sparrows", "wool",
          "islands"]


def write_pairs(path: Path, n: int) -> Path:
    """n pairs whose chosen answer follows a stated constraint and whose rejected one breaks it."""
    with open(path, "w", encoding="utf-8") as fh:
        for i, topic in enumerate(TOPICS[:n]):
            if i % 2:
                prompt = f"Describe {topic} in one sentence, all in lowercase letters."
                chosen = f"{topic} are quietly remarkable and worth a closer look on a slow afternoon."
                rejected = chosen.upper()
            else:
                prompt = f"Tell me about {topic}. Do not use any commas in your answer."
                chosen = f"{topic.capitalize()} have a long history and people still study them today."
                rejected = f"{topic.capitalize()}, in short, have a long, long history, and people study them."
            fh.write(json.dumps({"id": f"p{i}", "prompt": prompt, "chosen": chosen, "rejected": rejected,
                                 "subset": "lowercase" if i % 2 else "no_comma"}) + "\n")
    return path


def bench_cmd(data: Path, out: Path, *extra: str) -> list[str]:
    # `python -c` rather than the console script: works from any venv layout.
    return [sys.executable, "-c", "from reward_agent.cli import app; app()", "bench", "pairs", "--data", str(data),
            "--out", str(out), "--concurrency", "2", "--no-progress", *extra]


def line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_kill_9_then_resume_gives_the_same_bytes_as_an_uninterrupted_run(tmp_path):
    data = write_pairs(tmp_path / "pairs.jsonl", 40)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    results = killed / "results.jsonl"

    proc = subprocess.Popen(bench_cmd(data, killed), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while line_count(results) < 3:
        assert proc.poll() is None, f"bench exited early: {proc.stderr.read().decode()[-2000:]}"
        assert time.monotonic() < deadline, "no rows written within 300 s"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    partial = results.read_bytes()
    assert 3 <= partial.count(b"\n") < 40, "the run must have been cut short for this test to mean anything"

    resumed = subprocess.run(bench_cmd(data, killed), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    uninterrupted = subprocess.run(bench_cmd(data, clean), capture_output=True, text=True, timeout=600)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-2000:]

    final = results.read_bytes()
    assert final.startswith(partial[: partial.rfind(b"\n") + 1])
    assert final == (clean / "results.jsonl").read_bytes()
    runs = json.loads((killed / "results.run.json").read_text())["runs"]
    assert runs[-1]["resumed"] >= 3 and runs[-1]["done"] + runs[-1]["resumed"] == 40

    # The outputs the command promises, and metrics that agree with the rows.
    rows = [json.loads(line) for line in final.decode().splitlines()]
    metrics = json.loads((killed / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(pairwise_metrics(rows)["accuracy"])
    assert set(metrics["per_subset"]) == {"lowercase", "no_comma"}
    assert metrics["efficiency"]["model_calls"]["items_with_calls"] == 40
    assert {r["chosen_position"] for r in rows} == {"A", "B"}
    assert all("constraints" in r["verifiers"] and "preference" in r["verifiers"] for r in rows)
    # The constraint verifier sees the stated constraint: the chosen answers follow it.
    assert metrics["accuracy"] > 0.75
    for name in ("report.md", "rewards.png", "accuracy_by_subset.png", "results.config.json"):
        assert (killed / name).stat().st_size > 0

    # Resuming under another configuration is refused with a message, and --force starts over.
    other_seed = subprocess.run(bench_cmd(data, killed, "--seed", "1", "--limit", "4"), capture_output=True,
                                text=True, timeout=600)
    assert other_seed.returncode == 2 and "--force" in other_seed.stderr


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def test_rm_bench_command_on_the_shared_data(runner, data_dir, tmp_path):
    out = tmp_path / "rmb"
    result = runner.invoke(app, ["bench", "rm-bench", "--data", str(data_dir / "rm-bench"), "--out", str(out),
                                 "--limit", "3", "--no-progress"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["chat/8", "chat/12", "chat/18"]  # the first items of chat.json, in order
    assert all(len(r["rewards"]) == 6 and sorted(r["order"]) == list(range(6)) for r in rows)
    assert all(r["model_calls"]["planner"] == 0 for r in rows)  # the rule planner calls no model
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["hard"] == pytest.approx(rmbench_metrics(rows)["hard"])
    assert "wrong" in metrics["tie_rule"]
    assert len(metrics["per_domain"]["chat"]["matrix"]) == 3
    assert (out / "style_matrix.png").stat().st_size > 0

    # --report-only rescores nothing: the rows stay byte for byte, the metrics follow the new tie rule.
    before = (out / "results.jsonl").read_bytes()
    result = runner.invoke(app, ["bench", "rm-bench", "--data", str(data_dir / "rm-bench"), "--out", str(out),
                                 "--limit", "3", "--report-only", "--tie-credit", "0.5", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (out / "results.jsonl").read_bytes() == before
    half = json.loads((out / "metrics.json").read_text())
    assert "0.5" in half["tie_rule"] and half["hard"] == pytest.approx(rmbench_metrics(rows, 0.5)["hard"])
    assert half["efficiency"]["run"]["new_items"] == 0


def test_judgebench_command_on_the_shared_data(runner, data_dir, tmp_path):
    out = tmp_path / "jb"
    result = runner.invoke(app, ["bench", "judgebench", "--data", str(data_dir / "judgebench" / "gpt-4o-2024-05-13.jsonl"),
                                 "--out", str(out), "--limit", "2", "--no-progress"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(len(r["judgments"]) == 2 for r in rows)
    # The embedded RM scores each response alone, so the two orders must agree.
    assert all(r["decisions"][0] == r["decisions"][1] for r in rows)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["accuracy"] == judgebench_metrics(rows)["accuracy"]
    assert metrics["efficiency"]["model_calls"]["requests_per_item"] == 2


def test_bench_errors_are_messages(runner, tmp_path):
    result = runner.invoke(app, ["bench", "pairs", "--data", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "does not exist" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p"}\n')
    result = runner.invoke(app, ["bench", "pairs", "--data", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "bad.jsonl:1" in result.output
