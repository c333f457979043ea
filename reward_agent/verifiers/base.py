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
class EvidenceLine:
    """One line a verifier adds under the CLI's rewards table.

    `text` is rich console markup (the CLI prints with rich); `markup=False` prints it as it is,
    for text that is not markup, such as generated code whose brackets must not be read as tags.
    """

    text: str
    markup: bool = True


RenderEvidence = Callable[[Signal], list[EvidenceLine]]


@dataclass(frozen=True)
class VerifierSpec:
    """A verifier the graph can run.

    `run` must score all responses in one call (so prompt-level work is done once) and
    return an `ok` or `skipped` Signal; raising or timing out is turned into a `failed`
    Signal by `verifiers.policy.run_verifier` (for the graph and `/v1/verify` alike).
    `applies` is the rule-based planner's test: (chosen?, why).
    `hard` marks verifiers whose violations the gated judger caps.

    What callers outside the graph need to know about a verifier is declared here, so that
    they look it up instead of naming verifier ids (a new verifier with the same property is
    treated the same way):

    - `uses_reward_model`: `run` scores with the context's reward model (`context.rm`). The CLI
      loads (or, for Ray Serve, checks) that model up front unless every such verifier is
      disabled, and the batch `rm` configuration runs only these verifiers.
    - `needs_prompt`: `run` judges each response against the prompt, so its score means nothing
      without the real one; callers that have no prompt (verl's reward function, when
      `extra_info` carries none) disable it instead of scoring against a stand-in text.
    - `render_evidence`: extra lines the CLI prints under the rewards table for an `ok` Signal
      of this verifier (per-item detail that the one-line summaries cannot hold).
    """

    id: str
    description: str
    node: str
    run: RunVerifier
    applies: AppliesRule
    default_weight: float = 1.0
    hard: bool = False
    uses_reward_model: bool = False
    needs_prompt: bool = False
    render_evidence: RenderEvidence | None = None


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
