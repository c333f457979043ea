"""Profiles: named bundles of settings, applied under everything the user sets.

`profile: agentic` (CLI `--profile agentic`, `REWARD_AGENT_PROFILE=agentic`, or the `RewardContext`
field) gives the `extractor` and `coder` roles the embedded Qwen2.5-Coder-1.5B, run in-process by
llama.cpp. A role the user configured keeps the user's model: a profile only fills gaps. Adding a
profile is one `register_profile(...)` call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .registry import Registry

AGENTIC_MODEL = {"provider": "llamacpp", "model": "qwen2.5-coder-1.5b", "max_tokens": 512}


@dataclass(frozen=True)
class Profile:
    """A named set of context defaults; `models` maps roles to model specs (as dicts)."""

    name: str
    description: str
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def apply(self, data: dict[str, Any]) -> dict[str, Any]:
        """`data` with this profile's values filled in where `data` has none."""
        out = {**self.settings, **data}
        if self.models:
            given = dict(data.get("models") or {})
            out["models"] = {**self.models, **given}
        return out


PROFILES: Registry[Profile] = Registry("profile")


def register_profile(profile: Profile, *, replace: bool = False) -> None:
    PROFILES.register(profile.name, profile, replace=replace)


register_profile(Profile("default", "no model roles: rules plan, rules extract, built-in checkers only"))
# Extraction and code generation are what a 1.5B coder model measurably does well (README, agentic
# path). Planning, judging and claims stay off: rules plan as well on the measured sets, and the
# judge/claims prompts need a stronger model than this one.
register_profile(Profile(
    "agentic",
    "the embedded Qwen2.5-Coder-1.5B (llama.cpp, in-process) reads constraints the rules miss and writes "
    "checker code for constraints no built-in covers",
    models={"extractor": AGENTIC_MODEL, "coder": AGENTIC_MODEL},
    # A first-time checker costs model calls at ~10 tokens/s on 2 CPU cores: minutes, not seconds.
    # Later requests for the same constraint hit the cache and take milliseconds.
    # Three drafts per checker, kept by agreement on all drafts' tests: measured on "Begin your reply
    # with the word 'Primary'", the greedy draft's own test was wrong in every repair round, while a
    # sampled draft got both right (README, agentic path).
    settings={"verifier_timeout_s": 900.0, "checker_candidates": 3},
))
