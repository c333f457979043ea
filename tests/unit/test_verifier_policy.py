"""`run_verifier`: the one policy the graph and `/v1/verify` run a verifier under."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from reward_agent.context import RewardContext
from reward_agent.errors import ConfigError
from reward_agent.graph import build_graph
from reward_agent.serve.app import create_app
from reward_agent.serve.settings import ServeSettings
from reward_agent.types import RewardRequest, Signal
from reward_agent.verifiers.base import VERIFIERS, VerifierSpec, register_verifier
from reward_agent.verifiers.policy import failed_signal, run_verifier

REQUEST = RewardRequest(prompt="Describe tea.", responses=["green tea", "black tea"])
CONTEXT = RewardContext(verifier_timeout_s=0.2)
LEAKY = "RuntimeError: rm at http://<redacted>@rm.local/get_reward refused Bearer <redacted>"


def spec(run, vid: str = "policy_probe") -> VerifierSpec:
    return VerifierSpec(id=vid, description="a test verifier", node=f"verify_{vid}", run=run,
                        applies=lambda request, context: (True, "always"))


async def ok(request, context):
    return Signal(verifier="policy_probe", status="ok", scores=[1.0, 0.25], evidence={"n": 2})


async def hang(request, context):
    await asyncio.sleep(30)


async def leak(request, context):
    raise RuntimeError("rm at http://alice:hunter2@rm.local/get_reward refused Bearer sk-abcdef123456")


async def short(request, context):
    return Signal(verifier="policy_probe", status="ok", scores=[1.0])


async def skipped(request, context):
    return Signal(verifier="policy_probe", status="skipped", error="nothing to check")


async def misconfigured(request, context):
    raise ConfigError("no model configured")


def run(run_fn, **kw) -> Signal:
    return asyncio.run(run_verifier(spec(run_fn), REQUEST, CONTEXT, **kw))


def test_an_ok_signal_passes_through_with_its_latency():
    signal = run(ok)
    assert signal.model_dump(exclude={"latency_s"}) == Signal(
        verifier="policy_probe", status="ok", scores=[1.0, 0.25], evidence={"n": 2}).model_dump(exclude={"latency_s"})
    assert signal.latency_s > 0


def test_a_skipped_signal_without_scores_passes_through():
    signal = run(skipped)
    assert signal.status == "skipped" and signal.error == "nothing to check"


def test_a_timeout_is_a_failed_signal_naming_the_limit():
    signal = run(hang)
    assert signal.status == "failed" and signal.scores is None
    assert signal.error == "timed out after 0.2 s"
    assert signal.latency_s >= 0.2  # the time spent waiting is recorded, not 0


def test_an_exception_is_a_failed_signal_with_its_error_redacted():
    signal = run(leak)
    assert signal.status == "failed" and signal.verifier == "policy_probe"
    assert signal.error == LEAKY
    assert "hunter2" not in signal.model_dump_json() and "sk-abcdef" not in signal.model_dump_json()


def test_the_wrong_number_of_scores_is_a_failure():
    signal = run(short)
    assert signal.status == "failed"
    assert signal.error == "ValueError: verifier 'policy_probe' returned 1 scores for 2 responses"


def test_propagate_lets_the_caller_answer_chosen_errors_itself():
    assert run(misconfigured).error == "ConfigError: no model configured"
    with pytest.raises(ConfigError, match="no model configured"):
        run(misconfigured, propagate=(ConfigError,))


def test_failed_signal_formats_timeouts_and_errors():
    assert failed_signal("x", TimeoutError(), 1.5).error == "timed out after 1.5 s"
    assert failed_signal("x", KeyError("k"), 1.5).error == "KeyError: 'k'"


@pytest.fixture
def probes():
    """Register the failing verifiers for one test and remove them after."""
    added = {"policy_hang": hang, "policy_leak": leak}
    for vid, fn in added.items():
        register_verifier(spec(fn, vid))
    yield list(added)
    for vid in added:
        VERIFIERS.unregister(vid)


def test_the_graph_and_the_route_give_the_same_failed_signals(probes):
    """Both callers go through `run_verifier`: the same status and error text, byte for byte."""
    context = RewardContext(verifier_timeout_s=0.2)
    others = [vid for vid in VERIFIERS if vid not in probes]
    body = REQUEST.model_dump(exclude_none=True) | {"verifiers": probes, "disable": others}
    graphed = build_graph().invoke({"request": body}, context=context)["result"].signals
    with TestClient(create_app(context, ServeSettings(warmup=False))) as client:
        routed = {vid: client.post(f"/v1/verify/{vid}", json=REQUEST.model_dump(exclude_none=True)) for vid in probes}
    assert set(graphed) == set(probes)
    for vid in probes:
        assert routed[vid].status_code == 200, routed[vid].text
        assert routed[vid].json()["status"] == graphed[vid].status == "failed"
        assert routed[vid].json()["error"] == graphed[vid].error
    assert graphed["policy_hang"].error == "timed out after 0.2 s"
    assert graphed["policy_leak"].error == LEAKY
