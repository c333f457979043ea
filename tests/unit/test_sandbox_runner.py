"""The process layer on well-behaved and broken checkers: typed outcomes, limits, layers."""

from __future__ import annotations

import asyncio
import time

import pytest

from reward_agent.sandbox import Limits, detect_isolation, execute_batch
from reward_agent.sandbox.isolation import BASE_LAYERS

FAST = Limits(per_response_timeout_s=1.0, startup_s=3.0)


def run(code: str, responses: list[str], **kwargs):
    return asyncio.run(execute_batch(code, responses, limits=kwargs.pop("limits", FAST), **kwargs))


def test_verdicts_per_response_in_one_process() -> None:
    code = "import re\ndef check(response):\n    return len(re.findall(r'\\?', response)) == 2\n"
    result = run(code, ["a? b?", "no", "???", "why? how?"])
    assert [o.status for o in result.outcomes] == ["passed", "failed", "failed", "passed"]
    assert result.verdicts == [True, False, False, True]
    assert result.exit == "exit 0"


def test_every_base_layer_is_recorded() -> None:
    result = run("def check(r):\n    return True\n", ["x"])
    assert set(BASE_LAYERS) <= set(result.layers)
    assert "static_gate" in result.layers and "restricted_builtins" in result.layers
    assert set(detect_isolation().layers) <= set(result.layers)


def test_an_exception_is_an_error_not_a_verdict() -> None:
    result = run("def check(r):\n    return 1 / len(r) > 0\n", ["", "a"])
    assert result.outcomes[0].status == "error"
    assert "ZeroDivisionError" in (result.outcomes[0].message or "")
    assert result.outcomes[1].status == "passed"


@pytest.mark.parametrize("value", ["1", "'yes'", "None", "[True]"])
def test_a_non_bool_answer_is_an_error(value: str) -> None:
    result = run(f"def check(r):\n    return {value}\n", ["x"])
    assert result.outcomes[0].status == "error"
    assert "not bool" in (result.outcomes[0].message or "")


def test_a_slow_response_times_out_alone() -> None:
    code = "def check(r):\n    while r == 'slow':\n        pass\n    return True\n"
    started = time.perf_counter()
    result = run(code, ["a", "slow", "b"])
    assert [o.status for o in result.outcomes] == ["passed", "timeout", "passed"]
    assert time.perf_counter() - started < 3


def test_a_broken_definition_fails_every_response() -> None:
    result = run("X = 1 / 0\ndef check(r):\n    return True\n", ["a", "b"])
    assert [o.status for o in result.outcomes] == ["error", "error"]
    assert "could not be defined" in (result.outcomes[0].message or "")


def test_the_gate_rejects_before_starting() -> None:
    result = run("import os\ndef check(r):\n    return True\n", ["a", "b"])
    assert [o.status for o in result.outcomes] == ["rejected", "rejected"]
    assert "import of 'os'" in (result.outcomes[0].message or "")


def test_wall_clock_kill_keeps_verdicts_already_reached() -> None:
    # The last response defeats the per-response timer (the gate is off to let it): the batch is
    # killed at its wall-clock limit, earlier verdicts survive and the rest are timeouts.
    code = "def check(r):\n    if r != 'stuck':\n        return True\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass\n"
    limits = Limits(per_response_timeout_s=0.5, startup_s=1.0)
    result = run(code, ["a", "b", "stuck", "c"], limits=limits, _unsafe_skip_gate=True, _unsafe_full_builtins=True)
    assert [o.status for o in result.outcomes] == ["passed", "passed", "timeout", "timeout"]
    assert result.exit and result.exit.startswith("killed: wall-clock")


def test_output_cap() -> None:
    code = "import os\ndef check(r):\n    while True:\n        os.write(1, b'x' * 65536)\n"
    result = run(code, ["a"], limits=Limits(per_response_timeout_s=2, output_bytes=100_000),
                 _unsafe_skip_gate=True, _unsafe_full_builtins=True)
    assert result.outcomes[0].status == "error" and result.exit == "killed: output cap exceeded"


def test_unicode_and_large_batches_round_trip() -> None:
    responses = [f"réponse {i} — ✓ \u0000 \U0001f600" for i in range(200)]
    result = run("def check(r):\n    return '✓' in r and r.endswith('\\U0001f600')\n", responses)
    assert result.verdicts == [True] * 200


def test_empty_batch_starts_nothing() -> None:
    result = run("def check(r):\n    return True\n", [])
    assert result.outcomes == [] and result.exit == "not started"
