"""The process layer on well-behaved and broken checkers: typed outcomes, limits, layers."""

from __future__ import annotations

import asyncio
import time

import pytest

from reward_agent.sandbox import Limits, detect_isolation, execute_batch, run_checker
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


def test_a_check_that_defeats_in_process_timers_times_out_alone() -> None:
    # The stuck response swallows every exception in a loop (the gate is off to let it): the
    # supervisor kills its process at the deadline, and the responses after it are still judged.
    code = "def check(r):\n    if r != 'stuck':\n        return True\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass\n"
    limits = Limits(per_response_timeout_s=0.5, startup_s=1.0)
    result = run(code, ["a", "b", "stuck", "c"], limits=limits, _unsafe_skip_gate=True, _unsafe_full_builtins=True)
    assert [o.status for o in result.outcomes] == ["passed", "passed", "timeout", "passed"]
    assert result.exit == "exit 0"


def test_wall_clock_kill_keeps_verdicts_already_reached() -> None:
    # Each slow response stays within its own limit, but together they exceed the batch's wall
    # clock: the batch is killed, verdicts already reached survive and the rest are timeouts.
    code = "def check(r):\n    if r == 'slow':\n        n = 0\n        while n < 10 ** 9:\n            n += 1\n    return True\n"
    limits = Limits(per_response_timeout_s=1.0, startup_s=1.0, max_wall_s=2.5)
    result = run(code, ["a", "b", "slow", "slow", "slow", "c"], limits=limits)
    statuses = [o.status for o in result.outcomes]
    assert statuses[:2] == ["passed", "passed"]
    assert statuses[2:] == ["timeout"] * 4
    assert result.exit and result.exit.startswith("killed: wall-clock")


def test_output_cap() -> None:
    # Only the supervisor writes to the host (a check process's fd 1 is /dev/null); the cap still
    # bounds what the host reads from it: a cap below the size of its first line kills the batch.
    result = run("def check(r):\n    return True\n", ["a"], limits=Limits(per_response_timeout_s=2, output_bytes=50))
    assert result.outcomes[0].status == "error" and result.exit == "killed: output cap exceeded"


def test_flooding_stdout_from_a_check_reaches_nobody() -> None:
    code = "import os\ndef check(r):\n    while r == 'flood':\n        os.write(1, b'x' * 65536)\n    return True\n"
    result = run(code, ["flood", "ok"], limits=Limits(per_response_timeout_s=1, output_bytes=100_000),
                 _unsafe_skip_gate=True, _unsafe_full_builtins=True)
    assert [o.status for o in result.outcomes] == ["timeout", "passed"] and result.exit == "exit 0"


def test_a_lone_surrogate_travels_to_the_check_and_back() -> None:
    # The request is ASCII-escaped JSON: "\ud800" reaches the check as itself; a message that
    # echoes it comes back escaped, so that it encodes as UTF-8 wherever it goes next.
    code = "def check(r):\n    if r == 'boom':\n        raise ValueError(chr(0xD800))\n    return r == chr(0xD800)\n"
    result = asyncio.run(run_checker(code, ["\ud800", "x\udfff", "boom"], FAST))  # the public entry point
    assert [o.status for o in result.outcomes] == ["passed", "failed", "error"]
    assert "\\ud800" in (result.outcomes[2].message or "")
    (result.outcomes[2].message or "").encode("utf-8")


def test_each_response_is_judged_from_a_clean_state() -> None:
    # One process per response: module state a check mutates does not reach the next response.
    code = "seen = []\ndef check(r):\n    seen.append(r)\n    return len(seen) == 1\n"
    assert run(code, ["a", "b", "c"]).verdicts == [True, True, True]


def test_unicode_and_large_batches_round_trip() -> None:
    responses = [f"réponse {i} — ✓ \u0000 \U0001f600" for i in range(200)]
    result = run("def check(r):\n    return '✓' in r and r.endswith('\\U0001f600')\n", responses)
    assert result.verdicts == [True] * 200


def test_empty_batch_starts_nothing() -> None:
    result = run("def check(r):\n    return True\n", [])
    assert result.outcomes == [] and result.exit == "not started"


def test_the_runtime_getattr_answers_only_the_allow_list() -> None:
    # With the gate off, an alias of getattr is the runner's guarded one: allowed names work,
    # frame attributes are refused (an error, not a verdict).
    code = "GA = getattr\ndef check(r):\n    if r == 'frame':\n        return GA((x for x in r), 'gi_frame') is None\n    return GA(r, 'upper')() == 'OK'\n"
    result = run(code, ["ok", "frame"], _unsafe_skip_gate=True)
    assert [o.status for o in result.outcomes] == ["passed", "error"]
    assert "gi_frame" in (result.outcomes[1].message or "")
    assert "attribute_allow_list" in result.layers and "per_response_process" in result.layers
