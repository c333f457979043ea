"""Code answers against reference tests, through the real sandbox (one process per response)."""

from __future__ import annotations

import asyncio

from reward_agent.context import RewardContext
from reward_agent.types import RewardRequest, CodeTestsReference
from reward_agent.verifiers.correctness.extract import extract_code
from reward_agent.verifiers.correctness.verifier import check_correctness

TESTS = "assert square(2) == 4\nassert square(-3) == 9\nassert square(0) == 0"

CORRECT = "Here you go:\n```python\ndef square(x):\n    return x * x\n```\nIt multiplies x by itself."
WRONG = "```python\ndef square(x):\n    return x + x\n```"
RAISES = "```python\ndef square(x):\n    raise ValueError('not today')\n```"
LOOPS = "```python\ndef square(x):\n    while True:\n        pass\n```"
LOOPS_AT_TOP = "```python\nwhile True:\n    pass\ndef square(x):\n    return x * x\n```"
NO_CODE = "```text\nsquare it\n```"
FORBIDDEN = "```python\nimport os\ndef square(x):\n    return x * x\n```"
NOT_PYTHON = "```python\ndef square(x) return x*x\n```"


def _run(responses, timeout_s=1.0):
    request = RewardRequest(prompt="Write square(x).", responses=responses,
                            reference=CodeTestsReference(tests=TESTS, timeout_s=timeout_s))
    return asyncio.run(check_correctness(request, RewardContext()))


def test_code_outcomes_through_the_sandbox():
    signal = _run([CORRECT, WRONG, RAISES, LOOPS, LOOPS_AT_TOP, NO_CODE, FORBIDDEN, NOT_PYTHON])
    results = signal.evidence["results"]
    assert [r["outcome"] for r in results] == [
        "correct", "incorrect", "error", "timeout", "timeout", "unparsable", "error", "incorrect"]
    assert signal.scores == [1.0, 0.0, None, None, None, None, None, 0.0]
    assert "ValueError: not today" in results[2]["detail"]
    assert "rejected by the sandbox gate" in results[6]["detail"] and "'os'" in results[6]["detail"]
    assert "SyntaxError" in results[7]["detail"]
    assert results[0]["extraction_rule"] == "last_python_block" and signal.evidence["reference_kind"] == "tests"


def test_a_program_cannot_take_over_the_harness_names():
    # Its own AssertionError would turn a failed assert into an error (no evidence instead of wrong).
    shadow = "```python\nclass AssertionError(Exception):\n    pass\ndef square(x):\n    return x + x\n```"
    own_check = "```python\ndef check(x):\n    return True\ndef square(x):\n    return x * x\n```"
    via_global = "```python\ndef square(x):\n    global check\n    return x * x\n```"
    local_is_fine = "```python\ndef square(x):\n    check = x * x\n    return check\n```"
    signal = _run([shadow, own_check, via_global, local_is_fine])
    results = signal.evidence["results"]
    assert [r["outcome"] for r in results] == ["error", "error", "error", "correct"]
    assert "`AssertionError`" in results[0]["detail"] and "`check`" in results[1]["detail"]


def test_code_extraction():
    assert extract_code("```py\nx = 1\n```\ntext\n```python\ny = 2\n```").code == "y = 2"
    assert extract_code("def f():\n    return 1").rule == "whole_response"
    assert extract_code("```bash\nls\n```") is None and extract_code("  ") is None
