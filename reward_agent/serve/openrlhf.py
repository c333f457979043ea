"""OpenRLHF's remote reward-model protocol (`--remote_rm_url`), mapped onto reward requests.

OpenRLHF POSTs `{"query": [...], "prompts": [...], "labels": [...]}`, where each query is the
prompt text followed by the generated response, and expects `{"rewards": [...],
"scores": [...], "extra_logs": {...}}` with one number per query.

Missing rewards are explicit. Where no verifier had evidence for a response (or the prompt
could not be split off its query) the reward is `missing_reward` (a number, because OpenRLHF
turns rewards into a tensor) and `extra_logs["reward_missing"][i]` is 1.0, so the trainer can
mask it; it is never an unmarked 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..types import ConstraintSpec, RewardRequest, RewardResult


class GetRewardRequest(BaseModel):
    """The body OpenRLHF sends."""

    model_config = ConfigDict(extra="ignore")

    query: list[str] = Field(min_length=1, description="Full texts: prompt followed by the response.")
    prompts: list[str] | None = Field(default=None, description="The prompt of each query (to split it off).")
    labels: list[Any] | None = Field(
        default=None,
        description="Per query: a reference answer (string) or constraints "
        "(a list of {id, kwargs}, or an object with instruction_id_list and kwargs, possibly as JSON text).",
    )
    missing_reward: float | None = Field(default=None, description="Override of the server's fill value.")

    @model_validator(mode="after")
    def _aligned(self) -> GetRewardRequest:
        for name in ("prompts", "labels"):
            values = getattr(self, name)
            if values is not None and len(values) != len(self.query):
                raise ValueError(f"`{name}` has {len(values)} items but `query` has {len(self.query)}")
        return self


def split_response(query: str, prompt: str | None) -> str | None:
    """The response part of `query`: what follows `prompt`. None when the prompt is not in it.

    The exact prefix is tried first; otherwise the last occurrence of the prompt (a chat
    template may add a BOS token or a system turn before it).
    """
    if prompt is None:
        return None
    if query.startswith(prompt):
        return query[len(prompt):]
    at = query.rfind(prompt) if prompt else -1
    return query[at + len(prompt):] if at >= 0 else None


def constraints_from_label(label: Any) -> list[ConstraintSpec] | None:
    """IFEval-style constraints carried by a label, or None when the label is not constraints."""
    if isinstance(label, str):
        text = label.strip()
        if not text.startswith(("{", "[")):
            return None
        try:
            label = json.loads(text)
        except json.JSONDecodeError:
            return None
    if isinstance(label, dict) and "instruction_id_list" in label:
        ids = label["instruction_id_list"]
        kwargs = label.get("kwargs") or [{}] * len(ids)
        return [ConstraintSpec(id=i, kwargs={k: v for k, v in (kw or {}).items() if v is not None})
                for i, kw in zip(ids, kwargs)]
    if isinstance(label, dict) and isinstance(label.get("constraints"), list):
        return [ConstraintSpec.model_validate(c) for c in label["constraints"]]
    if isinstance(label, list) and all(isinstance(c, dict) and "id" in c for c in label):
        return [ConstraintSpec.model_validate(c) for c in label]
    return None


@dataclass
class Group:
    """Queries sharing a prompt and label: scored as one request, so prompt-level work happens once."""

    request: RewardRequest
    indices: list[int]


def group_queries(body: GetRewardRequest) -> tuple[list[Group], dict[int, str]]:
    """Requests to score (grouped by prompt and label) and the indices that could not be split."""
    unsplit: dict[int, str] = {}
    groups: dict[str, tuple[dict[str, Any], list[int], list[str]]] = {}
    for i, query in enumerate(body.query):
        prompt = body.prompts[i] if body.prompts is not None else None
        response = split_response(query, prompt)
        if response is None or prompt is None or not prompt.strip():
            unsplit[i] = "no prompt given" if prompt is None else "the prompt is not part of the query"
            continue
        label = body.labels[i] if body.labels is not None else None
        key = json.dumps([prompt, label], sort_keys=True, default=str)
        if key not in groups:
            fields: dict[str, Any] = {"prompt": prompt}
            constraints = constraints_from_label(label)
            if constraints is not None:
                fields["constraints"] = constraints
            elif isinstance(label, str) and label.strip():
                fields["reference"] = label
            groups[key] = (fields, [], [])
        groups[key][1].append(i)
        groups[key][2].append(response)
    out = [Group(RewardRequest(**fields, responses=responses), indices) for fields, indices, responses in groups.values()]
    return out, unsplit


def assemble(
    n: int, groups: list[Group], results: list[RewardResult | BaseException], unsplit: dict[int, str], fill: float
) -> dict[str, Any]:
    """The OpenRLHF answer: rewards/scores with `fill` where missing, and per-query extra_logs."""
    rewards: list[float | None] = [None] * n
    reasons: dict[int, str] = dict(unsplit)
    verifier_scores: dict[str, list[float]] = {}
    for group, result in zip(groups, results):
        if isinstance(result, BaseException):
            for i in group.indices:
                reasons[i] = f"{type(result).__name__}: {result}"
            continue
        for j, i in enumerate(group.indices):
            rewards[i] = result.rewards[j]
            if result.rewards[j] is None:
                reasons[i] = "no verifier had evidence for this response"
            for vid, signal in result.signals.items():
                if signal.scores is not None and signal.scores[j] is not None:
                    verifier_scores.setdefault(vid, [float("nan")] * n)[i] = float(signal.scores[j])
    filled = [fill if r is None else float(r) for r in rewards]
    extra_logs: dict[str, list[float]] = {"reward_missing": [1.0 if r is None else 0.0 for r in rewards]}
    # OpenRLHF averages extra_logs into its metrics, so NaN would poison them: missing is the fill, masked above.
    for vid, scores in verifier_scores.items():
        extra_logs[f"{vid}_score"] = [fill if s != s else s for s in scores]
    return {
        "rewards": filled,
        "scores": filled,
        "extra_logs": extra_logs,
        "missing_reasons": {str(i): why for i, why in sorted(reasons.items())},
    }
