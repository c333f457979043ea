"""The README's trainer examples (examples/trainers/*.py) run as written and print what they claim."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("script", "printed"),
    [
        ("trl_grpo_reward.py", "rewards: [1.0, 0.0, 1.0, 0.0]"),
        ("verl_compute_score.py", "{'score': 0.0, 'reward_missing': False}"),
        ("openrlhf_remote_rm.py", "stripped from the first response: {'<|im_end|>': 1}"),
    ],
)
def test_example_runs(script: str, printed: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "HF_HUB_OFFLINE": "1"}
    env.pop("REWARD_AGENT_URL", None)
    out = subprocess.run([sys.executable, str(REPO / "examples" / "trainers" / script)], capture_output=True, text=True,
                         env=env, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert printed in out.stdout
