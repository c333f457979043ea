"""Context precedence: defaults < environment < config file < per-run values."""

import pytest

from reward_agent.context import RewardContext, load_context
from reward_agent.errors import ConfigError


def test_defaults_are_offline():
    ctx = load_context(environ={})
    assert ctx == RewardContext()
    assert ctx.planner == "rules" and ctx.judger == "weighted_sum" and not ctx.models


def test_precedence(tmp_path):
    env = {"REWARD_AGENT_JUDGER": "gated", "REWARD_AGENT_CONSTRAINT_MODE": "loose", "REWARD_AGENT_WEIGHTS": "constraints=2"}
    assert load_context(environ=env).judger == "gated"
    cfg = tmp_path / "c.yaml"
    cfg.write_text("judger: llm\nweights: {constraints: 3}\n")
    ctx = load_context(cfg, environ=env)
    assert (ctx.judger, ctx.constraint_mode, ctx.weights) == ("llm", "loose", {"constraints": 3})
    ctx = load_context(cfg, environ=env, judger="weighted_sum")
    assert ctx.judger == "weighted_sum"


def test_models_from_environment():
    env = {
        "REWARD_AGENT_JUDGE_MODEL": "qwen",
        "REWARD_AGENT_JUDGE_BASE_URL": "http://127.0.0.1:8001/v1",
        "REWARD_AGENT_JUDGE_API_KEY": "k",
    }
    spec = load_context(environ=env).model_for("judge")
    assert spec.provider == "openai" and spec.model == "qwen" and spec.base_url.startswith("http://127.0.0.1")


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"planner": "magic"}, "planner"),
        ({"weights": {"constraints": -1}}, ">= 0"),
        ({"models": {"poet": {"provider": "embedded"}}}, "unknown model role"),
        ({"verifier_timeout_s": 0}, "verifier_timeout_s"),
        ({"colour": 1}, "colour"),
    ],
)
def test_bad_settings_are_named(overrides, needle):
    with pytest.raises(ConfigError, match=needle):
        load_context(environ={}, **overrides)


def test_missing_config_file():
    with pytest.raises(ConfigError, match="does not exist"):
        load_context("/nonexistent/config.yaml", environ={})
