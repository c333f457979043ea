"""Wire types: the JSONL and HTTP format of reward-agent.

Everything that crosses a boundary (a JSONL line, an HTTP body, the graph's input and
output) is one of these pydantic models. A request goes in, a result comes out; the
result carries the plan and every verifier's signal so a reward can always be audited.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

Role = Literal["system", "user", "assistant"]
SignalStatus = Literal["ok", "skipped", "failed"]
ConstraintSource = Literal["request", "rules", "llm"]


class Message(BaseModel):
    """One turn of a chat."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str


class ConstraintSpec(BaseModel):
    """An instruction constraint, IFEval style: a registered checker id plus its arguments.

    `source` says where it came from (the caller, the rule library, an LLM) and `text`
    keeps the words of the prompt it was read from, so evidence can point back at them.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="Checker id, e.g. 'length_constraints:number_words'.")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="Arguments of the checker.")
    source: ConstraintSource = "request"
    text: str | None = Field(default=None, description="The words of the prompt that stated it.")

    @field_validator("kwargs", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        # IFEval files carry `{}` or `null` for argument-less checkers; both mean "no arguments".
        return {} if value is None else value


class CodeTestsReference(BaseModel):
    """A reference for code answers: Python tests each response's program must pass.

    `tests` is Python run after the response's code, e.g. `"assert add(2, 2) == 4"`; an
    AssertionError means the program is wrong, any other exception is an error (no evidence).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["tests"] = "tests"
    tests: str = Field(min_length=1, description="Python statements (asserts) run against the response's code.")
    timeout_s: float = Field(default=5.0, gt=0, le=60, description="Sandbox time limit per response.")


def last_user_turn(messages: list[Message]) -> str:
    """The content of the last user turn of a chat (the instruction its responses answer)."""
    return next(m.content for m in reversed(messages) if m.role == "user")


class RewardRequest(BaseModel):
    """What a caller asks: a prompt (or chat) and 1..N candidate responses."""

    model_config = ConfigDict(extra="forbid")

    prompt: str | None = Field(default=None, description="The user prompt. Give this or `messages`.")
    messages: list[Message] | None = Field(
        default=None, description="A chat ending with the user turn the responses answer."
    )
    responses: list[str] = Field(min_length=1, description="Candidate responses to reward.")
    reference: str | CodeTestsReference | None = Field(
        default=None,
        description="Optional reference: the correct answer (text, a number, LaTeX, or a worked solution "
        "ending in `#### X` / `A: X`), or tests for code answers ({\"kind\": \"tests\", \"tests\": ...}).",
    )
    constraints: list[ConstraintSpec] | None = Field(
        default=None,
        description="Constraints given by the caller; when absent they are extracted from the prompt.",
    )
    verifiers: list[str] | None = Field(
        default=None, description="Verifier ids to run regardless of the planner."
    )
    disable: list[str] = Field(default_factory=list, description="Verifier ids never to run.")
    id: str | None = Field(default=None, description="Caller's id for this item, echoed in the result.")

    @field_validator("reference", mode="before")
    @classmethod
    def _number_reference_is_text(cls, value: Any) -> Any:
        # RL data often stores a numeric ground truth (72, not "72"); it is the same reference.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return value

    @model_validator(mode="after")
    def _exactly_one_prompt_form(self) -> RewardRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of `prompt` (a string) or `messages` (a chat list)")
        if self.prompt is not None and not self.prompt.strip():
            raise ValueError("`prompt` is empty")
        if self.messages is not None:
            if not self.messages:
                raise ValueError("`messages` is empty")
            if not any(m.role == "user" for m in self.messages):
                raise ValueError("`messages` has no user turn")
        clash = set(self.verifiers or ()) & set(self.disable)
        if clash:
            raise ValueError(f"verifiers both forced and disabled: {sorted(clash)}")
        return self

    @property
    def user_prompt(self) -> str:
        """The instruction the responses answer: `prompt`, or the last user turn of `messages`."""
        if self.prompt is not None:
            return self.prompt
        assert self.messages is not None
        return last_user_turn(self.messages)

    def chat(self) -> list[Message]:
        """The conversation as messages (a bare prompt becomes one user turn)."""
        if self.messages is not None:
            return list(self.messages)
        return [Message(role="user", content=self.user_prompt)]


class Plan(BaseModel):
    """Which verifiers run for a request, and why. Recorded in every result."""

    verifiers: list[str] = Field(description="Verifier ids chosen, in run order.")
    reasons: dict[str, str] = Field(default_factory=dict, description="Why each verifier was chosen or not.")
    planner: str = Field(description="Which planner decided: 'rules' or 'llm'.")
    fallback: str | None = Field(
        default=None, description="Set when the configured planner failed and the rules decided instead."
    )
    model_calls: int = 0
    prompt_version: str | None = None


class Signal(BaseModel):
    """One verifier's verdict over all N responses.

    `scores[i]` is in [0, 1], or None when the verifier has no evidence for response i
    (every check on it errored, say). A `failed` or `skipped` signal has no scores and is
    left out by the judger; it is never read as 0.
    """

    verifier: str
    status: SignalStatus
    scores: list[float | None] | None = None
    raw_scores: list[float | None] | None = Field(
        default=None, description="Unnormalised scores when the verifier has them (an RM's logits)."
    )
    evidence: dict[str, Any] = Field(default_factory=dict, description="Verifier-specific evidence.")
    error: str | None = Field(default=None, description="Why the verifier failed or was skipped.")
    latency_s: float = 0.0
    model_calls: int = 0

    @field_validator("scores")
    @classmethod
    def _scores_in_unit_interval(cls, scores: list[float | None] | None) -> list[float | None] | None:
        for i, s in enumerate(scores or ()):
            if s is not None and (math.isnan(s) or not 0.0 <= s <= 1.0):
                raise ValueError(f"scores[{i}] = {s} is outside [0, 1]")
        return scores

    @model_validator(mode="after")
    def _status_matches_payload(self) -> Signal:
        if self.status == "ok" and self.scores is None:
            raise ValueError("an 'ok' signal needs scores")
        if self.status != "ok" and not self.error:
            raise ValueError(f"a '{self.status}' signal needs an error saying why")
        return self


class RewardResult(BaseModel):
    """The answer: one reward per response, and everything behind it."""

    id: str | None = None
    rewards: list[float | None] = Field(
        description="Reward per response in [0, 1]; None where no signal had evidence for it."
    )
    best_index: int | None = Field(description="Index of the highest reward (first on ties); None if none.")
    plan: Plan
    signals: dict[str, Signal] = Field(description="Each verifier's signal, by verifier id.")
    judger: str = Field(description="Judger that merged the signals (after any fallback).")
    weights: dict[str, float] = Field(default_factory=dict, description="Weights used, by verifier id.")
    notes: list[str] = Field(default_factory=list, description="Fallbacks and other things worth knowing.")
    prompt_versions: dict[str, str] = Field(default_factory=dict)
    model_calls: int = 0
    # The judger's share of `model_calls` (the plan and the signals carry their own), so that calls
    # can be split by role without subtracting. Kept out of the JSON and its schema: the result's
    # wire shape (API, CLI, batch files) is what it was; a result read back from JSON has 0 here.
    judger_model_calls: SkipJsonSchema[int] = Field(default=0, ge=0, exclude=True)
    latency_s: float = 0.0
