"""Layers 2 and 3 without the gate: the child runner (restricted builtins and importer, timers) and
the operating-system confinement around it contain every hostile program, and the host is untouched.
"""

from __future__ import annotations

import pytest

from reward_agent.sandbox import execute_batch

from .conftest import FAST, Host, run
from .hostile import HOSTILE

# Hostile programs in real sandboxes, many of them running until their deadline (minutes in all):
# `make test-security` and `make test` run them, `make test-fast` does not.
pytestmark = pytest.mark.integration

CASES = [pytest.param(h, id=h.name, marks=() if h.without_gate else pytest.mark.skip(
    reason="only the gate stops format-field reads; they yield reprs, nothing callable")) for h in HOSTILE]


@pytest.mark.parametrize("hostile", CASES)
def test_contained_without_the_gate(hostile, host: Host) -> None:
    result = run(execute_batch(hostile.code, [host.response], limits=FAST, _unsafe_skip_gate=True))
    (outcome,) = result.outcomes
    assert outcome.status in {"failed", "error", "timeout"}, (outcome, result.exit)
    assert "static_gate" not in result.layers and "restricted_builtins" in result.layers
    host.assert_untouched()
