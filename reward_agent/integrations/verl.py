"""verl's custom reward function: `compute_score(data_source, solution_str, ground_truth, extra_info=None)`.

Point verl at it with `custom_reward_function.path=<this file's module path>` and
`custom_reward_function.name=compute_score`. The prompt is read from `extra_info` (`prompt`,
`question` or `messages`); `ground_truth` is taken as IFEval-style constraints when it holds
them (a list of `{id, kwargs}`, or `{instruction_id_list, kwargs}`, or that as JSON text),
else as the reference answer. Scores in-process, or through the server at $REWARD_AGENT_URL.

Returns a dict (verl keeps the extra keys as per-sample logs): `score` (the reward, or
`missing_score`, default 0.0, where no verifier had evidence) and `reward_missing` (bool), so a
missing reward is never an unmarked 0.
"""

from __future__ import annotations

import os
from typing import Any

from ..serve.openrlhf import constraints_from_label
from ..context import RewardContext
from ..types import RewardRequest

_client = None


def _score(request: RewardRequest, context: RewardContext | None = None):
    global _client
    url = os.environ.get("REWARD_AGENT_URL")
    if url:
        if _client is None:
            from .client import RewardClient

            _client = RewardClient(url)
        return _client.score(request)
    from .. import score
    from ..context import load_context

    return score(request, context if context is not None else load_context())


def build_request(solution_str: str, ground_truth: Any, extra_info: dict[str, Any] | None) -> RewardRequest:
    """The RewardRequest for one verl sample."""
    extra = extra_info or {}
    fields: dict[str, Any] = {"responses": [solution_str]}
    if extra.get("messages"):
        fields["messages"] = extra["messages"]
    else:
        prompt = extra.get("prompt") or extra.get("question")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("verl compute_score needs the prompt in extra_info['prompt'], ['question'] or ['messages']")
        fields["prompt"] = prompt
    constraints = constraints_from_label(ground_truth)
    if constraints is not None:
        fields["constraints"] = constraints
    elif isinstance(ground_truth, str) and ground_truth.strip():
        fields["reference"] = ground_truth
    return RewardRequest(**fields)


def compute_score(
    data_source: str, solution_str: str, ground_truth: Any, extra_info: dict[str, Any] | None = None,
    missing_score: float = 0.0, context: RewardContext | None = None,
) -> dict[str, Any]:
    """verl's reward-function signature; see the module docstring for the returned dict."""
    result = _score(build_request(solution_str, ground_truth, extra_info), context)
    reward = result.rewards[0]
    return {"score": missing_score if reward is None else float(reward), "reward_missing": reward is None}
