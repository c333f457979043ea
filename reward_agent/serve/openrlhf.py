"""OpenRLHF's remote reward-model protocol (`--remote_rm_url`), mapped onto reward requests.

OpenRLHF POSTs `{"query": [...], "prompts": [...], "labels": [...]}` with no Authorization
header. Each query is `tokenizer.decode(prompt_ids + response_ids, skip_special_tokens=False)`:
the prompt after the chat template, then the generated text, special tokens kept (a Qwen
response ends in `<|im_end|>`, maybe padded with `<|endoftext|>`). The server:

* splits each query into prompt and response and strips the special tokens and the chat
  framing (`reward_agent.integrations.decoded`; the token list is `$REWARD_AGENT_SPECIAL_TOKENS`
  or a default for common templates), recording per query what it removed (`stripped`, and
  `extra_logs.special_tokens_stripped`); without `prompts` it splits on the query's own framing;
* reads labels: IFEval-style constraints (a list of `{id, kwargs}`, or `{instruction_id_list,
  kwargs}`, or that as JSON text) become the request's constraints; any other string (or
  number) is the reference answer; `""` (OpenRLHF's label when the dataset has none) is nothing;
* groups queries with the same prompt and label into one request, so a prompt's N samples are
  scored together (at most the server's `max_responses` per group: 413 above);
* takes the token in the URL (`/get_reward/<token>` or `?token=`), see `take_url_token`.

It answers `{"rewards": [...], "scores": [...], "extra_logs": {...}}` with one number per
query. Missing rewards are explicit: where no verifier had evidence for a response (or the
query could not be split) the reward is `missing_reward` (a number, because OpenRLHF turns
rewards into a tensor) and `extra_logs["reward_missing"][i]` is 1.0, so the trainer can mask
it; it is never an unmarked 0. `missing_reasons` says why, per query.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..integrations.decoded import SpecialTokens, Stripped, decode_query, special_tokens_from_env
from ..integrations.labels import constraints_from_label, label_fields
from ..types import RewardRequest, RewardResult
from .limits import LimitExceeded

__all__ = ["GetRewardRequest", "Group", "Grouped", "assemble", "constraints_from_label", "group_queries", "take_url_token"]


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


@dataclass
class Group:
    """Queries sharing a prompt and label: scored as one request, so the N samples of a prompt
    are rewarded together (and prompt-level work happens once)."""

    request: RewardRequest
    indices: list[int]


@dataclass
class Grouped:
    """The requests to score, the queries that could not be split (index -> why), and what was
    stripped from each query that could."""

    groups: list[Group]
    unsplit: dict[int, str]
    stripped: dict[int, Stripped]


def group_queries(body: GetRewardRequest, tokens: SpecialTokens | None = None,
                  max_responses: int | None = None) -> Grouped:
    """Split every query into prompt and response (special tokens and chat framing stripped, see
    `reward_agent.integrations.decoded`) and group them by prompt and label.

    Raises LimitExceeded when a group has more than `max_responses` responses: rewards of one
    prompt's samples are computed together, so a group is never silently cut in two.
    """
    tokens = tokens if tokens is not None else special_tokens_from_env()
    unsplit: dict[int, str] = {}
    stripped: dict[int, Stripped] = {}
    groups: dict[str, tuple[dict[str, Any], list[int], list[str]]] = {}
    for i, query in enumerate(body.query):
        prompt = body.prompts[i] if body.prompts is not None else None
        decoded = decode_query(query, prompt, tokens)
        if isinstance(decoded, str):
            unsplit[i] = decoded
            continue
        request_prompt, response, stripped[i] = decoded
        label = body.labels[i] if body.labels is not None else None
        key = json.dumps([request_prompt.key(), label], sort_keys=True, default=str)
        if key not in groups:
            groups[key] = ({**request_prompt.fields(), **label_fields(label)}, [], [])
        groups[key][1].append(i)
        groups[key][2].append(response)
    out = []
    for fields, indices, responses in groups.values():
        if max_responses is not None and len(responses) > max_responses:
            raise LimitExceeded(
                f"queries {indices[0]}..{indices[-1]} share one prompt and label: {len(responses)} responses "
                f"in one group; the limit is {max_responses} (raise the server's --max-responses, or send fewer "
                "samples per prompt)"
            )
        out.append(Group(RewardRequest(**fields, responses=responses), indices))
    return Grouped(out, unsplit, stripped)
def assemble(n: int, grouped: Grouped, results: list[RewardResult | BaseException], fill: float) -> dict[str, Any]:
    """The OpenRLHF answer: rewards/scores with `fill` where missing, per-query extra_logs (numbers
    only: OpenRLHF turns them into tensors), and per query what was stripped before scoring."""
    rewards: list[float | None] = [None] * n
    reasons: dict[int, str] = dict(grouped.unsplit)
    verifier_scores: dict[str, list[float]] = {}
    for group, result in zip(grouped.groups, results):
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
    extra_logs["special_tokens_stripped"] = [
        float(sum(grouped.stripped[i].response_tokens.values())) if i in grouped.stripped else 0.0 for i in range(n)
    ]
    return {
        "rewards": filled,
        "scores": filled,
        "extra_logs": extra_logs,
        "missing_reasons": {str(i): why for i, why in sorted(reasons.items())},
        "stripped": [grouped.stripped[i].as_dict() if i in grouped.stripped else None for i in range(n)],
    }


# -- auth a client without headers can use ------------------------------------------------------------

URL_TOKEN_PREFIX = "/get_reward/"


def take_url_token(scope: MutableMapping[str, Any]) -> str | None:
    """The token an OpenRLHF URL carries, removed from the ASGI scope; None when it carries none.

    OpenRLHF's client sends no Authorization header, so `/get_reward` also takes the token in
    the URL: `http://HOST:PORT/get_reward/<token>` or `http://HOST:PORT/get_reward?token=<token>`.
    The scope is rewritten to plain `/get_reward` (without the `token` parameter) before anything
    routes or logs it, so the token never reaches the access log. Only `/get_reward` takes it.
    """
    path: str = scope.get("path", "")
    token: str | None = None
    if path.startswith(URL_TOKEN_PREFIX) and "/" not in path[len(URL_TOKEN_PREFIX):]:
        token = path[len(URL_TOKEN_PREFIX):]  # ASGI paths arrive percent-decoded
        scope["path"] = "/get_reward"
        scope["raw_path"] = b"/get_reward"
    elif path != "/get_reward":
        return None
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    if any(k == "token" for k, _ in query):
        token = token if token is not None else next(v for k, v in query if k == "token")
        scope["query_string"] = urlencode([(k, v) for k, v in query if k != "token"]).encode("latin-1")
    return token
