"""Registry-backed settings are checked when a context is loaded; per-run values layer over the environment."""

from __future__ import annotations

import pytest

from reward_agent import RewardContext, load_context, score
from reward_agent.context import default_context, layer_context
from reward_agent.errors import ConfigError
from reward_agent.types import Signal
from reward_agent.verifiers.base import VERIFIERS, VerifierSpec, register_verifier


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"judger": "wieghted_sum"}, "judger: unknown judger 'wieghted_sum'. Did you mean 'weighted_sum'?"),
        ({"rm": {"backend": "transformerz"}}, "rm: unknown reward-model backend 'transformerz'. Did you mean 'transformers'?"),
        ({"weights": {"prefrence": 2}}, "weights: unknown verifier 'prefrence'. Did you mean 'preference'?"),
        ({"disable": ["constraintz"]}, "disable: unknown verifier 'constraintz'. Did you mean 'constraints'?"),
        ({"rm": {"backend": "http", "model": "http://h/get_reward", "options": {"timout_s": 3}}},
         "rm: the 'http' backend got unknown option(s) 'timout_s' (did you mean 'timeout_s'?)"),
        ({"retrieval": {"sources": ["local", "wbe"]}}, "unknown retrieval source 'wbe'. Did you mean 'web'?"),
        ({"planner": "rulez"}, "planner: Input should be 'rules' or 'llm'; did you mean 'rules'?"),
        ({"jduger": "gated"}, "jduger: unknown setting; did you mean 'judger'?"),
        ({"rm": {"backnd": "http"}}, "rm.backnd: unknown setting; did you mean 'backend'?"),
    ],
)
def test_typos_fail_at_load_with_a_suggestion(settings: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_context(environ={}, **settings)
    message = str(caught.value)
    assert needle in message
    assert "\n" not in message  # one line


def test_typos_in_the_environment_and_files_fail_too(tmp_path) -> None:
    with pytest.raises(ConfigError, match="Did you mean 'preference'"):
        load_context(environ={"REWARD_AGENT_WEIGHTS": "prefrence=2"})
    with pytest.raises(ConfigError, match="Did you mean 'gated'"):
        load_context(environ={"REWARD_AGENT_JUDGER": "gatd"})
    config = tmp_path / "c.yaml"
    config.write_text("disable: [constraintz]\n")
    with pytest.raises(ConfigError, match="Did you mean 'constraints'"):
        load_context(config, environ={})


def test_direct_construction_is_checked_too() -> None:
    with pytest.raises(ConfigError, match="Did you mean 'weighted_sum'"):
        RewardContext(judger="wieghted_sum")


def test_verifiers_registered_before_loading_are_accepted() -> None:
    async def run(request, context):
        return Signal(verifier="shouting", status="ok", scores=[1.0] * len(request.responses))

    spec = VerifierSpec(id="shouting", description="test", node="verify_shouting", run=run,
                        applies=lambda r, c: (False, "never planned"))
    with pytest.raises(ConfigError, match="unknown verifier 'shouting'"):
        RewardContext(weights={"shouting": 2.0})
    register_verifier(spec)
    try:
        assert load_context(environ={}, weights={"shouting": 2.0}, disable=["shouting"]).weights == {"shouting": 2.0}
    finally:
        VERIFIERS.unregister("shouting")


def test_run_values_layer_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REWARD_AGENT_JUDGER", "gated")
    monkeypatch.setenv("REWARD_AGENT_GATE_CAP", "0.2")
    monkeypatch.setenv("REWARD_AGENT_DISABLE", "preference,factuality")
    default_context.cache_clear()
    try:
        run = RewardContext(gate_cap=0.1)
        layered = layer_context(run)
        assert (layered.judger, layered.gate_cap, layered.disable) == ("gated", 0.1, ("preference", "factuality"))
        assert layer_context(None) == default_context() and layer_context(None).judger == "gated"
        # Through the graph: the environment's judger and disable list apply, the run's cap wins.
        request = {"prompt": "Describe tea in all lowercase letters. Do not use any commas.",
                   "responses": ["tea is calm, and green", "Tea"]}
        result = score(request, RewardContext(gate_cap=0.1))
        assert result.judger == "gated" and "preference" not in result.signals
        assert max(r for r in result.rewards if r is not None) <= 0.1  # both violate a constraint: capped at the run's 0.1
        # A field the run sets is replaced whole (here: disable).
        result = score(request, RewardContext(disable=("factuality", "preference", "constraints")))
        assert result.judger == "gated" and result.signals == {}
    finally:
        default_context.cache_clear()
