"""verl's custom reward function: `compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs)`.

Point verl at this file:

    custom_reward_function.path=$(python -c "import reward_agent.integrations.verl as m; print(m.__file__)")
    custom_reward_function.name=compute_score

verl loads it by path (`importlib.util.spec_from_file_location("custom_module", path)`), not
as part of the package, so every import here is absolute (`reward_agent` must be installed in
verl's environment). All of verl's call shapes work:

* `compute_score(data_source, solution_str, ground_truth)`: positional, no prompt;
* `compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info={...})`: the
  reward manager's call;
* the same with extra keywords (`reward_router_address=...`, `reward_model_tokenizer=...` from
  verl's reward loop, anything from `reward_kwargs`): accepted and ignored.

The prompt is read from `extra_info` (`prompt`, `question`, `messages`, or a chat list under
`prompt`). Without one, the sample is scored with what there is: the preference model is left
out (it would judge the response against no question) and the reference or constraints
decide; where nothing applies the reward is missing. `ground_truth` may be a string, a number,
numpy arrays or scalars (verl reads parquet with pandas), or IFEval-style constraints (see
`reward_agent.integrations.labels`). Scores in-process, or through the server at
$REWARD_AGENT_URL.

Returns a dict (verl keeps the extra keys as per-sample logs): `score` (the reward, or
`missing_score`, default 0.0, where no verifier had evidence) and `reward_missing` (bool), so a
missing reward is never an unmarked 0.
"""

from __future__ import annotations

import os
from typing import Any

from reward_agent.context import RewardContext
from reward_agent.integrations.labels import label_fields, plain
from reward_agent.types import RewardRequest, RewardResult
from reward_agent.verifiers.base import VERIFIERS

# Where no prompt reaches the reward function, this text stands in (RewardRequest needs one);
# the verifiers that would judge the response against it (`needs_prompt` on their spec: the
# preference model among the built-ins) are left out.
NO_PROMPT = "(the prompt was not passed to the reward function)"

_client = None


def _score(request: RewardRequest, context: RewardContext | None = None) -> RewardResult:
    global _client
    url = os.environ.get("REWARD_AGENT_URL")
    if url:
        if _client is None:
            from reward_agent.integrations.client import RewardClient

            _client = RewardClient(url)
        return _client.score(request)
    from reward_agent import score
    from reward_agent.context import load_context

    return score(request, context if context is not None else load_context())


def prompt_bound_verifiers() -> list[str]:
    """Ids of the registered verifiers that score a response against the prompt (`needs_prompt`)."""
    return [vid for vid in VERIFIERS if VERIFIERS.get(vid).needs_prompt]


def _prompt_fields(extra_info: dict[str, Any]) -> dict[str, Any] | None:
    """`prompt` or `messages` from extra_info, or None when it carries no prompt."""
    messages = extra_info.get("messages")
    if messages is None and isinstance(extra_info.get("prompt"), list):
        messages = extra_info["prompt"]  # verl datasets keep the prompt as a chat list
    if isinstance(messages, list) and messages:
        return {"messages": [{"role": m["role"], "content": str(m.get("content") or "")} for m in messages]}
    for key in ("prompt", "question", "problem"):
        text = extra_info.get(key)
        if isinstance(text, str) and text.strip():
            return {"prompt": text}
    return None


def build_request(solution_str: str, ground_truth: Any, extra_info: dict[str, Any] | None = None) -> RewardRequest:
    """The RewardRequest for one verl sample (see the module docstring for where fields come from)."""
    extra = plain(extra_info) if extra_info is not None else {}
    if not isinstance(extra, dict):
        raise ValueError(f"extra_info must be a dict, got {type(extra_info).__name__}")
    fields: dict[str, Any] = {"responses": [solution_str]}
    prompt = _prompt_fields(extra)
    if prompt is None:
        fields["prompt"] = NO_PROMPT
        fields["disable"] = prompt_bound_verifiers()
    else:
        fields.update(prompt)
    fields.update(label_fields(ground_truth))
    return RewardRequest(**fields)


def compute_score(
    data_source: str | None = None,
    solution_str: str = "",
    ground_truth: Any = None,
    extra_info: dict[str, Any] | None = None,
    missing_score: float = 0.0,
    context: RewardContext | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """verl's reward-function signature; see the module docstring for the returned dict.

    `kwargs` takes what verl's reward loop adds (`reward_router_address`, ...): not used here,
    since reward-agent runs its own reward model.
    """
    result = _score(build_request(solution_str, ground_truth, extra_info), context)
    reward = result.rewards[0]
    return {"score": missing_score if reward is None else float(reward), "reward_missing": reward is None}
