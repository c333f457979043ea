"""Verdicts are honest: no hostile checker makes a response that raised, looped or was never judged
come out `passed`, whichever layers are on.

Each program in `forgery.py` runs three ways:

- all layers (`run_checker`, the public entry point): the gate rejects most of them outright;
- without the gate: the runner's restricted builtins and attribute allow-list, then the process
  layer, must keep every outcome honest;
- without the gate and with real builtins: the per-response process layer alone (fds 0-2 on
  /dev/null, only its own report pipe, the supervisor's deadline) must give exactly the expected
  outcomes, although these programs then reach the runner's globals, `os`, `gc` and every fd.
"""

from __future__ import annotations

import pytest

from reward_agent.sandbox import execute_batch, run_checker

from .conftest import FAST, Host, run
from .forgery import FORGERIES, Forgery

# Hostile programs in real sandboxes, many of them running until their deadline (minutes in all):
# `make test-security` and `make test` run them, `make test-fast` does not.
pytestmark = pytest.mark.integration

ALL = [pytest.param(f, id=f.name) for f in FORGERIES]
WITHOUT_GATE = [pytest.param(f, id=f.name) for f in FORGERIES if not f.needs_gate]
PROCESS_LAYER = [pytest.param(f, id=f.name) for f in FORGERIES if f.process_layer is not None]


def _statuses(result) -> list[str]:
    return [o.status for o in result.outcomes]


def _assert_honest(forgery: Forgery, statuses: list[str], allowed: tuple[frozenset[str], ...], extra=frozenset()):
    assert len(statuses) == len(forgery.responses)
    for response, status, ok in zip(forgery.responses, statuses, allowed):
        assert status in ok | extra, f"{forgery.name}: response {response!r} ended {status!r}, honest is {sorted(ok)}"


@pytest.mark.parametrize("forgery", ALL)
def test_all_layers_give_honest_verdicts(forgery: Forgery, host: Host) -> None:
    result = run(run_checker(forgery.code, list(forgery.responses), FAST))
    _assert_honest(forgery, _statuses(result), forgery.honest, extra=frozenset({"rejected"}))
    host.assert_untouched()


@pytest.mark.parametrize("forgery", WITHOUT_GATE)
def test_runtime_and_process_layers_give_honest_verdicts(forgery: Forgery, host: Host) -> None:
    result = run(execute_batch(forgery.code, list(forgery.responses), limits=FAST, _unsafe_skip_gate=True))
    assert "restricted_builtins" in result.layers and "per_response_process" in result.layers
    _assert_honest(forgery, _statuses(result), forgery.honest)
    host.assert_untouched()


@pytest.mark.parametrize("forgery", PROCESS_LAYER)
def test_the_process_layer_alone_gives_exact_verdicts(forgery: Forgery, host: Host) -> None:
    result = run(execute_batch(forgery.code, list(forgery.responses), limits=FAST,
                               _unsafe_skip_gate=True, _unsafe_full_builtins=True))
    assert "restricted_builtins" not in result.layers and "per_response_process" in result.layers
    assert forgery.process_layer is not None
    _assert_honest(forgery, _statuses(result), forgery.process_layer)
    host.assert_untouched()


def test_a_checker_that_escapes_the_runtime_decides_only_its_own_verdicts() -> None:
    # The limit of the layers below the gate, stated as a test: module-level code that reaches
    # the runner's globals (attribute syntax, which the runtime cannot refuse) decides its own
    # process's verdict, as `return True` would. Its twin that tries to decide the *next*
    # response's verdict from this one is stopped by the process layer (see FORGERIES).
    (own,) = [f for f in FORGERIES if f.name == "patch_the_reporter_from_module_level"]
    assert _statuses(run(run_checker(own.code, ["a"], FAST))) == ["rejected"]
    assert _statuses(run(execute_batch(own.code, ["a"], limits=FAST, _unsafe_skip_gate=True))) == ["passed"]


def test_the_issue_12_reproduction_gives_an_error_for_b() -> None:
    (issue,) = [f for f in FORGERIES if f.name == "issue12_getattr_alias_generator_frames"]
    gated = run(run_checker(issue.code, ["a", "b"]))
    assert _statuses(gated) == ["rejected", "rejected"]
    assert "getattr" in (gated.outcomes[0].message or "")
    runtime = run(execute_batch(issue.code, ["a", "b"], limits=FAST, _unsafe_skip_gate=True))
    assert _statuses(runtime) == ["error", "error"]
    assert "gi_frame" in (runtime.outcomes[0].message or "")
    alone = run(execute_batch(issue.code, ["a", "b"], limits=FAST, _unsafe_skip_gate=True, _unsafe_full_builtins=True))
    assert _statuses(alone) == ["failed", "error"]
    assert "should be an error outcome" in (alone.outcomes[1].message or "")


def test_a_late_verdict_is_a_timeout_and_the_next_response_keeps_its_limit() -> None:
    code = (
        "def check(response):\n"
        "    if response == 'ok':\n"
        "        return True\n"
        "    for _ in range(1000):\n"
        "        try:\n"
        "            while True:\n"
        "                pass\n"
        "        finally:\n"
        "            continue\n"
        "    return True\n"
    )
    result = run(run_checker(code, ["loop", "ok", "loop", "ok"], FAST))
    assert _statuses(result) == ["timeout", "passed", "timeout", "passed"]
    assert result.exit == "exit 0"  # every limit held per response; the batch's wall clock never fired



def test_a_thread_racing_the_deadline_cannot_turn_a_timeout_into_a_verdict(host: Host) -> None:
    # RLIMIT_NPROC 0 stops threads as well; relaxed here so that the thread really runs, writes a
    # well-formed report and host line after 0.3 s, while the main thread loops to its deadline.
    (race,) = [f for f in FORGERIES if f.name == "thread_races_the_deadline"]
    result = run(execute_batch(race.code, ["a", "b"], limits=FAST, _unsafe_skip_gate=True,
                               _unsafe_full_builtins=True, _unsafe_allow_fork=True))
    assert _statuses(result) == ["timeout", "timeout"]
    host.assert_untouched()
