"""Layer 3 alone: with the gate off and full builtins, the operating-system confinement (dropped
uid, user/network/mount namespaces, read-only filesystem, no capabilities, resource limits,
process-group kill, output cap) contains every program whose harm is on the host.
"""

from __future__ import annotations

import pytest

from reward_agent.sandbox import execute_batch

from .conftest import FAST, Host, run
from .hostile import HOSTILE

REQUIRED = ("uid_drop", "net_namespace", "mount_namespace", "fs_readonly", "masked_dirs", "no_capabilities")
OS_CASES = [h for h in HOSTILE if h.os_layer]


@pytest.fixture
def full_isolation(isolation):
    missing = [layer for layer in REQUIRED if layer not in isolation.layers + isolation.runner_layers]
    if missing:
        pytest.skip(f"this machine does not allow {missing}; only the gate and the runner protect it")
    return isolation


@pytest.mark.parametrize("hostile", OS_CASES, ids=lambda h: h.name)
def test_contained_by_the_operating_system_alone(hostile, host: Host, full_isolation) -> None:
    result = run(execute_batch(hostile.code, [host.response], limits=FAST,
                               _unsafe_skip_gate=True, _unsafe_full_builtins=True))
    (outcome,) = result.outcomes
    assert outcome.status in {"failed", "error", "timeout"}, (outcome, result.exit)
    assert "restricted_builtins" not in result.layers
    host.assert_untouched()


def test_resource_attacks_end_the_way_they_should(host: Host, full_isolation) -> None:
    by_name = {h.name: h for h in HOSTILE}
    expected = {
        "infinite_loop": "timeout",
        "signal_ignore_then_loop": "timeout",
        "memory_bomb": "error",
        "fork_bomb": "error",
        "huge_output_fd": "error",
        "recursion_bomb": "error",
    }
    for name, status in expected.items():
        result = run(execute_batch(by_name[name].code, [host.response], limits=FAST,
                                   _unsafe_skip_gate=True, _unsafe_full_builtins=True))
        assert result.outcomes[0].status == status, (name, result.outcomes[0], result.exit)
    host.assert_untouched()


def test_children_and_daemons_die_with_the_run_when_forks_are_allowed(host: Host, full_isolation) -> None:
    # RLIMIT_NPROC normally forbids forks outright; here it is relaxed to prove the next layer:
    # the wall-clock kill of the process group and the sweep of the sandbox uid.
    code = (
        "import os, time\n"
        "def check(r):\n"
        "    d = r.split('|')[0]\n"
        "    if os.fork() == 0:\n"  # a plain child in the process group
        "        time.sleep(30)\n"
        "        os._exit(0)\n"
        "    if os.fork() == 0:\n"  # a daemon that leaves the process group and the session
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(30)\n"
        "            open(d + '/RA_PWNED_daemon', 'w').write('x')\n"
        "        os._exit(0)\n"
        "    while True:\n"
        "        pass\n"
    )
    result = run(execute_batch(code, [host.response], limits=FAST, _unsafe_skip_gate=True,
                               _unsafe_full_builtins=True, _unsafe_allow_fork=True))
    assert result.outcomes[0].status == "timeout"
    assert "nproc_limited" in result.layers
    host.assert_untouched()
