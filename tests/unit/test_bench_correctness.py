"""benchmarks/bench_correctness_gsm8k.py on a few real GSM8K rows: metrics land in --out, and a
label that contradicts the final answer is counted as a disagreement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.integration  # the benchmark script end to end, in a subprocess
def test_bench_writes_agreement_and_counts_a_flipped_label(tmp_path, data_dir):
    rows = [json.loads(line) for line in (data_dir / "gsm8k" / "example_model_solutions.dev.jsonl").open()][:3]
    rows[0]["175b_verification"]["is_correct"] = not rows[0]["175b_verification"]["is_correct"]
    data = tmp_path / "three.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_correctness_gsm8k.py"), "--data", str(data),
                           "--out", str(out), "--rm-questions", "0"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    agreement = metrics["agreement"]["all"]
    assert agreement["solutions"] == 12 and agreement["coverage"] == 1.0
    assert agreement["disagreements"] == 1 and agreement["agreement_over_covered"] == round(11 / 12, 4)
    assert metrics["agreement"]["heldout"]["solutions"] == 0
    assert all(v["all"]["same_verdict"] == 1.0 for k, v in metrics["format_robustness"].items())
    assert metrics["best_of_4"]["rm_questions"] == 0


def test_bench_missing_data_is_a_message(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_correctness_gsm8k.py"), "--data",
                           str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "not found" in done.stderr and "Traceback" not in done.stderr
