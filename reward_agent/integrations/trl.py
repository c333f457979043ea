"""A TRL reward function: `make_trl_reward_fn()` -> `f(prompts, completions, **kwargs) -> list[float | None]`.

    from reward_agent.integrations import make_trl_reward_fn
    trainer = GRPOTrainer(..., reward_funcs=[make_trl_reward_fn(url="http://127.0.0.1:8000")])

Local (the graph in this process) when no URL is given, else through the server. Prompts and
completions may be strings or chat lists, as TRL passes them. IFEval-style dataset columns
(`instruction_id_list` and `kwargs`, or `constraints`) become the request's constraints.
Completions of the same prompt (TRL's `num_generations`) are scored in one request, so
prompt-level work happens once per group.

Where no verifier had evidence the reward is None: TRL >= 0.17 treats None as "this reward
function does not apply" (NaN, left out of its nansum over reward functions). Pass
`missing=0.0` (or any number) to get a number instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..context import RewardContext
from ..types import ConstraintSpec, Message, RewardRequest, RewardResult

RewardFn = Callable[..., list[float | None]]


def _text(completion: Any) -> str:
    """A completion as text: a string, or the content of a chat list's assistant turn(s)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(str(m.get("content", "")) for m in completion if isinstance(m, dict))
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    raise TypeError(f"completion must be a string or a chat list, got {type(completion).__name__}")


def _prompt_fields(prompt: Any) -> dict[str, Any]:
    """`prompt` or `messages` for a RewardRequest from a TRL prompt (string or chat list)."""
    if isinstance(prompt, str):
        return {"prompt": prompt}
    if isinstance(prompt, list):
        return {"messages": [Message(role=m["role"], content=str(m["content"])) for m in prompt]}
    raise TypeError(f"prompt must be a string or a chat list, got {type(prompt).__name__}")


def constraints_from_columns(kwargs: dict[str, Any], i: int) -> list[ConstraintSpec] | None:
    """Sample i's constraints from dataset columns, or None when the dataset has none."""
    if "constraints" in kwargs and kwargs["constraints"] is not None:
        raw = kwargs["constraints"][i]
        if raw is None:
            return None
        raw = json.loads(raw) if isinstance(raw, str) else raw
        return [ConstraintSpec.model_validate(c) for c in raw]
    if "instruction_id_list" in kwargs and kwargs["instruction_id_list"] is not None:
        ids = kwargs["instruction_id_list"][i]
        if ids is None:
            return None
        args = (kwargs.get("kwargs") or [None] * (i + 1))[i] or [{}] * len(ids)
        return [ConstraintSpec(id=cid, kwargs={k: v for k, v in (a or {}).items() if v is not None})
                for cid, a in zip(ids, args)]
    return None


def build_requests(prompts: list[Any], completions: list[Any], kwargs: dict[str, Any]) -> tuple[list[RewardRequest], list[list[int]]]:
    """Group consecutive samples with the same prompt and constraints into one request each."""
    if len(prompts) != len(completions):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
    requests: list[RewardRequest] = []
    indices: list[list[int]] = []
    last_key: str | None = None
    pending: tuple[dict[str, Any], list[str], list[int]] | None = None
    for i, (prompt, completion) in enumerate(zip(prompts, completions)):
        constraints = constraints_from_columns(kwargs, i)
        key = json.dumps([prompt, [c.model_dump() for c in constraints] if constraints is not None else None], default=str)
        if key != last_key or pending is None:
            if pending is not None:
                requests.append(RewardRequest(**pending[0], responses=pending[1]))
                indices.append(pending[2])
            fields = _prompt_fields(prompt)
            if constraints is not None:
                fields["constraints"] = constraints
            pending, last_key = (fields, [], []), key
        pending[1].append(_text(completion))
        pending[2].append(i)
    if pending is not None:
        requests.append(RewardRequest(**pending[0], responses=pending[1]))
        indices.append(pending[2])
    return requests, indices


def make_trl_reward_fn(
    url: str | None = None,
    *,
    token: str | None = None,
    context: RewardContext | None = None,
    missing: float | None = None,
    timeout: float = 300.0,
) -> RewardFn:
    """A TRL GRPO reward function scoring with reward-agent (in-process, or at `url`)."""
    if url is not None:
        from .client import RewardClient

        client = RewardClient(url, token=token, timeout=timeout)

        def run(requests: list[RewardRequest]) -> list[RewardResult]:
            results = client.score_batch(requests)
            for r in results:
                if isinstance(r, Exception):
                    raise r
            return results  # type: ignore[return-value]
    else:
        from .. import score

        def run(requests: list[RewardRequest]) -> list[RewardResult]:
            return [score(r, context) for r in requests]

    def reward_agent_reward(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        requests, indices = build_requests(prompts, completions, kwargs)
        rewards: list[float | None] = [missing] * len(completions)
        for result, idx in zip(run(requests), indices):
            for j, i in enumerate(idx):
                value = result.rewards[j]
                rewards[i] = missing if value is None else value
        return rewards

    reward_agent_reward.__name__ = "reward_agent"  # TRL logs reward functions by __name__
    return reward_agent_reward
