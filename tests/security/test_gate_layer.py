"""Layer 1 alone: the static gate rejects every hostile program it can see, before anything runs."""

from __future__ import annotations

import pytest

from reward_agent.sandbox import execute_batch, inspect_source

from .conftest import FAST, Host, run
from .hostile import HOSTILE

GATED = [h for h in HOSTILE if h.gate]
UNGATED = [h for h in HOSTILE if not h.gate]


@pytest.mark.parametrize("hostile", GATED, ids=lambda h: h.name)
def test_gate_rejects(hostile) -> None:
    verdict = inspect_source(hostile.code)
    assert not verdict.ok
    assert verdict.reason and "line" in verdict.reason


@pytest.mark.parametrize("hostile", UNGATED, ids=lambda h: h.name)
def test_pure_python_resource_attacks_pass_the_gate(hostile) -> None:
    # The gate cannot see an infinite loop or a memory bomb; the process layer must stop them.
    assert inspect_source(hostile.code).ok


def test_rejected_programs_never_start_a_process(host: Host) -> None:
    for hostile in GATED:
        result = run(execute_batch(hostile.code, [host.response, host.response], limits=FAST))
        assert [o.status for o in result.outcomes] == ["rejected", "rejected"]
        assert result.exit == "not started" and "static_gate" in result.layers
    host.assert_untouched()


def test_there_are_at_least_thirty_hostile_programs() -> None:
    assert len(HOSTILE) >= 30
    assert len({h.name for h in HOSTILE}) == len(HOSTILE)
