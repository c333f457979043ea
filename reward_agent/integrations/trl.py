"""A TRL reward function: `make_trl_reward_fn()` -> `f(prompts, completions, **kwargs) -> list[float | None]`.

    from reward_agent.integrations import make_trl_reward_fn
    trainer = GRPOTrainer(..., reward_funcs=[make_trl_reward_fn(url="http://127.0.0.1:8000")])

Local (the graph in this process) when no URL is given, else through the server. It takes
what `GRPOTrainer._calculate_rewards` passes: `prompts`, `completions` (strings, or chat lists
whose content may be None for a tool-call-only turn, or a list of content blocks), and every
other dataset column as a keyword (plus `completion_ids`, `trainer_state`, ..., ignored).
IFEval-style columns (`instruction_id_list` and `kwargs`, or `constraints`) become the
request's constraints; a `reference`/`ground_truth`/`answer`/`solution` column its reference.
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
from .labels import reference_from_label

RewardFn = Callable[..., list[float | None]]


def content_text(content: Any) -> str:
    """A chat message's content as text.

    A string is itself; `None` (an assistant turn that only calls tools) is empty text, never
    the word "None"; content blocks (`[{"type": "text", "text": ...}, {"type": "image", ...}]`)
    are their text blocks joined, other blocks (images, audio) dropped.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        return "\n".join(str(block.get("text", "")) for block in content
                         if isinstance(block, dict) and block.get("type", "text") == "text" and block.get("text") is not None)
    raise TypeError(f"message content must be a string, None or a list of content blocks, got {type(content).__name__}")


def _text(completion: Any) -> str:
    """A completion as the text to score.

    A string is itself. A chat list (TRL's conversational completions) is the text of its
    assistant turns, joined by newlines: tool results (`role: tool`) are not the model's words,
    and an assistant turn that only calls a tool (`content: None`, `tool_calls: [...]`) adds no
    text. A completion that is nothing but tool calls is therefore scored as empty text (it
    said nothing to the user, and a blank response follows no constraint), never as the word
    "None" (which would pass "mention none", say). The tool call's arguments are not scored:
    they are addressed to a tool, not to the user the constraints speak of.
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, list):
        turns = [m for m in completion if isinstance(m, dict)]
        if len(turns) != len(completion):
            raise TypeError("a chat completion must be a list of message dicts")
        said = [content_text(m.get("content")) for m in turns if m.get("role", "assistant") == "assistant"]
        return "\n".join(t for t in said if t)
    raise TypeError(f"completion must be a string or a chat list, got {type(completion).__name__}")


def _message(m: dict[str, Any]) -> Message:
    role = m.get("role")
    text = content_text(m.get("content"))
    if role in ("system", "user", "assistant"):
        return Message(role=role, content=text)
    # tool results and other roles stay visible as context, marked with their role
    return Message(role="user", content=f"[{role}] {text}")


def _prompt_fields(prompt: Any) -> dict[str, Any]:
    """`prompt` or `messages` for a RewardRequest from a TRL prompt (string or chat list)."""
    if isinstance(prompt, str):
        return {"prompt": prompt}
    if isinstance(prompt, list):
        return {"messages": [_message(m) for m in prompt]}
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


REFERENCE_COLUMNS = ("reference", "ground_truth", "answer", "solution")


def reference_from_columns(kwargs: dict[str, Any], i: int, columns: tuple[str, ...] = REFERENCE_COLUMNS) -> str | None:
    """Sample i's reference answer: the first of `columns` the dataset has (None when it has none)."""
    for column in columns:
        values = kwargs.get(column)
        if isinstance(values, (list, tuple)) and i < len(values):
            return reference_from_label(values[i])
    return None


def build_requests(prompts: list[Any], completions: list[Any], kwargs: dict[str, Any],
                   reference_columns: tuple[str, ...] = REFERENCE_COLUMNS) -> tuple[list[RewardRequest], list[list[int]]]:
    """Group consecutive samples with the same prompt, constraints and reference into one request each."""
    if len(prompts) != len(completions):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
    requests: list[RewardRequest] = []
    indices: list[list[int]] = []
    last_key: str | None = None
    pending: tuple[dict[str, Any], list[str], list[int]] | None = None
    for i, (prompt, completion) in enumerate(zip(prompts, completions)):
        constraints = constraints_from_columns(kwargs, i)
        reference = reference_from_columns(kwargs, i, reference_columns)
        key = json.dumps([prompt, [c.model_dump() for c in constraints] if constraints is not None else None, reference],
                         default=str)
        if key != last_key or pending is None:
            if pending is not None:
                requests.append(RewardRequest(**pending[0], responses=pending[1]))
                indices.append(pending[2])
            fields = _prompt_fields(prompt)
            if constraints is not None:
                fields["constraints"] = constraints
            if reference is not None:
                fields["reference"] = reference
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
    reference_columns: tuple[str, ...] = REFERENCE_COLUMNS,
) -> RewardFn:
    """A TRL GRPO reward function scoring with reward-agent (in-process, or at `url`).

    `reference_columns`: dataset columns read, first found wins, as each sample's reference
    answer (pass `()` to read none)."""
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
        requests, indices = build_requests(prompts, completions, kwargs, reference_columns)
        rewards: list[float | None] = [missing] * len(completions)
        for result, idx in zip(run(requests), indices):
            for j, i in enumerate(idx):
                value = result.rewards[j]
                rewards[i] = missing if value is None else value
        return rewards

    reward_agent_reward.__name__ = "reward_agent"  # TRL logs reward functions by __name__
    return reward_agent_reward
