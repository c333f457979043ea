"""Profiles fill model roles under explicit settings; env, file and per-run values layer as documented."""

from __future__ import annotations

import pytest

from reward_agent.context import RewardContext, load_context
from reward_agent.errors import ConfigError


def test_agentic_profile_sets_extractor_and_coder() -> None:
    context = RewardContext(profile="agentic")
    for role in ("extractor", "coder"):
        spec = context.model_for(role)
        assert spec is not None and (spec.provider, spec.model) == ("llamacpp", "qwen2.5-coder-1.5b")
    assert context.model_for("judge") is None and context.model_for("planner") is None


def test_a_role_the_user_configured_keeps_the_users_model(tmp_path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("models:\n  coder: {provider: llamacpp, model: qwen2.5-coder-0.5b}\n")
    context = load_context(config, environ={"REWARD_AGENT_PROFILE": "agentic"})
    assert context.profile == "agentic"
    assert context.model_for("coder").model == "qwen2.5-coder-0.5b"
    assert context.model_for("extractor").model == "qwen2.5-coder-1.5b"


def test_default_profile_adds_nothing_and_unknown_profiles_are_named() -> None:
    assert RewardContext().models == {} and RewardContext().profile == "default"
    with pytest.raises(ConfigError, match="agentic"):
        load_context(environ={}, profile="agentc")
