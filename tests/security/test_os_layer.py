"""Layer 3 alone: with the gate off and full builtins, the operating-system confinement (dropped
uid, user/network/mount/IPC namespaces, read-only filesystem, no capabilities, resource limits,
process-group kill, output cap) contains every program whose harm is on the host.
"""

from __future__ import annotations

import ctypes
import secrets
from dataclasses import replace
from pathlib import Path

import pytest

from reward_agent.sandbox import execute_batch

from .conftest import FAST, Host, run
from .hostile import HOSTILE

# Hostile programs in real sandboxes, many of them running until their deadline (minutes in all):
# `make test-security` and `make test` run them, `make test-fast` does not.
pytestmark = pytest.mark.integration

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
        "infinite_loop": {"timeout"},
        "signal_ignore_then_loop": {"timeout"},
        # MemoryError at the address-space limit; on a loaded machine filling it can outlast the
        # deadline first. Either way no verdict.
        "memory_bomb": {"error", "timeout"},
        "fork_bomb": {"error"},
        "huge_output_fd": {"timeout"},  # a check process's fd 1 is /dev/null: it writes until its deadline
        "recursion_bomb": {"error"},
    }
    for name, statuses in expected.items():
        result = run(execute_batch(by_name[name].code, [host.response], limits=FAST,
                                   _unsafe_skip_gate=True, _unsafe_full_builtins=True))
        assert result.outcomes[0].status in statuses, (name, result.outcomes[0], result.exit)
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


# ------------------------------------------------------------------------------------------------
# The IPC namespace: System V objects made inside die with the run; the host's are out of sight
# ------------------------------------------------------------------------------------------------

_IPC_CREAT = 0o1000
_SYSV_PROBE = (
    "import ctypes\n"
    "def check(r):\n"
    "    libc = ctypes.CDLL(None, use_errno=True)\n"
    "    created = libc.shmget({key}, 4096, 0o1666) >= 0 and libc.msgget({key}, 0o1666) >= 0\n"
    "    sees_host = libc.shmget({host_key}, 0, 0) >= 0\n"
    "    return created and not sees_host\n"
)


def _sysv_keys(kind: str) -> set[int]:
    """Keys of the host's System V objects of `kind` ("shm", "msg"), read from /proc/sysvipc."""
    lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
    return {int(line.split()[0]) for line in lines if line.strip()}


def _remove_sysv(libc, key: int) -> None:
    ipc_rmid = 0
    for get, ctl in ((libc.shmget, libc.shmctl), (libc.msgget, libc.msgctl)):
        ident = get(key, 0, 0)
        if ident >= 0:
            ctl(ident, ipc_rmid, None)


def test_sysv_ipc_made_inside_does_not_survive_the_run(full_isolation) -> None:
    if "ipc_namespace" not in full_isolation.layers:
        pytest.skip("this machine does not allow an IPC namespace")
    libc = ctypes.CDLL(None, use_errno=True)
    key, host_key = (secrets.randbelow(2**30) + 1 for _ in range(2))
    host_id = libc.shmget(host_key, 4096, _IPC_CREAT | 0o600)
    assert host_id >= 0, "the host could not create its own segment"
    code = _SYSV_PROBE.format(key=key, host_key=host_key)
    without_ipc = replace(full_isolation, unshare=tuple(a for a in full_isolation.unshare if a != "-i"),
                          layers=tuple(layer for layer in full_isolation.layers if layer != "ipc_namespace"))
    try:
        # The honest verdict: the check made a segment and a queue, and could not see the host's.
        result = run(execute_batch(code, ["x"], limits=FAST, _unsafe_skip_gate=True, _unsafe_full_builtins=True))
        assert [o.status for o in result.outcomes] == ["passed"], result.outcomes
        assert "ipc_namespace" in result.layers
        assert key not in _sysv_keys("shm") and key not in _sysv_keys("msg")
        # The control: without the namespace the same program leaves both behind on the host.
        leaky = run(execute_batch(code, ["x"], limits=FAST, isolation=without_ipc,
                                  _unsafe_skip_gate=True, _unsafe_full_builtins=True))
        assert "ipc_namespace" not in leaky.layers
        assert [o.status for o in leaky.outcomes] == ["failed"]  # it sees the host's segment
        assert key in _sysv_keys("shm") and key in _sysv_keys("msg")
    finally:
        _remove_sysv(libc, key)
        _remove_sysv(libc, host_key)
