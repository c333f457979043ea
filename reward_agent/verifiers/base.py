"""The verifier registry: what the planner can choose and the graph can run.

A verifier is an id, a description the planner (rules or LLM) can read, the graph node it
runs as, a rule saying whether it applies to a request, and an async `run` that returns a
Signal over all N responses. Built-in verifiers are registered lazily by "module:object";
users register their own with `register_verifier` before building the graph.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..registry import Registry
from ..types import RewardRequest, Signal

if TYPE_CHECKING:  # annotations only: `context` validates verifier ids against VERIFIERS (below)
    from ..context import RewardContext

RunVerifier = Callable[[RewardRequest, "RewardContext"], Awaitable[Signal]]
AppliesRule = Callable[[RewardRequest, "RewardContext"], tuple[bool, str]]


@dataclass(frozen=True)
class VerifierSpec:
    """A verifier the graph can run.

    `run` must score all responses in one call (so prompt-level work is done once) and
    return an `ok` or `skipped` Signal; raising or timing out is turned into a `failed`
    Signal by the graph. `applies` is the rule-based planner's test: (chosen?, why).
    `hard` marks verifiers whose violations the gated judger caps.
    """

    id: str
    description: str
    node: str
    run: RunVerifier
    applies: AppliesRule
    default_weight: float = 1.0
    hard: bool = False


VERIFIERS: Registry[VerifierSpec] = Registry("verifier")

# Built-ins, imported on first use so that importing the package stays cheap.
VERIFIERS.register("constraints", "reward_agent.verifiers.constraints.verifier:VERIFIER")
VERIFIERS.register("preference", "reward_agent.verifiers.preference:VERIFIER")
VERIFIERS.register("factuality", "reward_agent.verifiers.factuality.verifier:VERIFIER")
VERIFIERS.register("correctness", "reward_agent.verifiers.correctness.verifier:VERIFIER")
VERIFIERS.register("safety", "reward_agent.verifiers.safety.verifier:VERIFIER")


def register_verifier(spec: VerifierSpec, *, replace: bool = False) -> None:
    """Make a verifier available to the planner and to graphs built after this call."""
    VERIFIERS.register(spec.id, spec, replace=replace)


def all_verifiers() -> list[VerifierSpec]:
    """Every registered verifier, imported."""
    return [VERIFIERS.get(name) for name in VERIFIERS]
