"""The reward-model protocol: score a batch of (prompt or chat, response) pairs.

Every backend subclasses `RewardModel` and implements one method, `_score_raw(items)`, which
returns raw scores (and, for multi-objective models, a score per objective). The base class
does the rest the same way for all backends: input checks, broadcasting one prompt to N
responses, normalisation to [0, 1] (recorded in the output), async, single-item convenience,
and step scoring (PRM).

A backend that cannot score raises `RMError`; it never returns a made-up score. A batch
is scored whole or not at all.
"""

from __future__ import annotations

import asyncio
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

from ..cache import canonical_json
from ..errors import RewardAgentError
from .normalise import Normalisation, normalise

__all__ = [
    "Chat",
    "PromptLike",
    "RMError",
    "RMItem",
    "RMOutput",
    "RawScores",
    "RewardModel",
    "as_items",
]

Chat = tuple[tuple[str, str], ...]
# A prompt string, or a chat: a list of {"role", "content"} dicts ending with the user turn.
PromptLike = Union[str, Sequence[Mapping[str, str]]]


class RMError(RewardAgentError):
    """A reward model could not score a batch (load failure, server error, bad output)."""


@dataclass(frozen=True)
class RMItem:
    """One (prompt or chat, response) pair. `chat` holds (role, content) turns without the response."""

    chat: Chat
    response: str

    @property
    def prompt(self) -> str:
        """The last user turn: what the response answers."""
        return next((c for r, c in reversed(self.chat) if r == "user"), self.chat[-1][1])

    def prompt_text(self) -> str:
        """The conversation as plain text (the user turn alone when the chat is one turn)."""
        if len(self.chat) == 1:
            return self.chat[0][1]
        return "\n\n".join(f"{role}: {content}" for role, content in self.chat)

    def messages(self, with_response: bool = True) -> list[dict[str, str]]:
        """Chat-template messages, with the response as the final assistant turn."""
        turns = [{"role": r, "content": c} for r, c in self.chat]
        return turns + [{"role": "assistant", "content": self.response}] if with_response else turns

    def key(self) -> dict[str, Any]:
        """JSON-able identity of the pair (for caches)."""
        return {"chat": [list(t) for t in self.chat], "response": self.response}


def _to_chat(prompt: PromptLike) -> Chat:
    if isinstance(prompt, str):
        return (("user", prompt),)
    turns = []
    for turn in prompt:
        if hasattr(turn, "role") and hasattr(turn, "content"):  # pydantic Message objects
            turns.append((str(turn.role), str(turn.content)))
        else:
            turns.append((str(turn["role"]), str(turn["content"])))
    if not turns:
        raise RMError("a chat prompt needs at least one turn")
    return tuple(turns)


def _is_single_chat(prompts: Any) -> bool:
    return (
        isinstance(prompts, Sequence) and not isinstance(prompts, str) and len(prompts) > 0
        and all(isinstance(t, Mapping) or hasattr(t, "role") for t in prompts)
    )


def as_items(prompts: PromptLike | Sequence[PromptLike], responses: Sequence[str]) -> list[RMItem]:
    """Pair prompts with responses. One prompt (a string or a chat) is shared by all responses."""
    if isinstance(responses, str):
        raise RMError("responses must be a list of strings, not one string")
    if isinstance(prompts, str) or _is_single_chat(prompts):
        chats = [_to_chat(prompts)] * len(responses)  # type: ignore[arg-type]
    else:
        chats = [_to_chat(p) for p in prompts]  # type: ignore[union-attr]
        if len(chats) != len(responses):
            raise RMError(f"{len(chats)} prompts for {len(responses)} responses; give one prompt or one per response")
    return [RMItem(c, str(r)) for c, r in zip(chats, responses)]


@dataclass
class RawScores:
    """What a backend returns for a batch: one raw score per item, in input order."""

    raw: list[float]
    objectives: dict[str, list[float]] | None = None
    details: dict[str, Any] = field(default_factory=dict)
    model_calls: int = 0


@dataclass
class RMOutput:
    """Scores for a batch: raw values, their [0, 1] form, and how the one became the other."""

    raw: list[float]
    scores: list[float]
    normalisation: dict[str, Any]
    objectives: dict[str, list[float]] | None = None
    details: dict[str, Any] = field(default_factory=dict)
    model_calls: int = 0
    fallbacks: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.raw)


class RewardModel(ABC):
    """Base class of every backend. Subclasses implement `_score_raw` (and may override
    `_ascore_raw` with a native async version, as the HTTP backends do)."""

    backend: ClassVar[str] = "custom"
    #: How this model's raw scores are best mapped to [0, 1] unless the caller says otherwise.
    default_normalisation: Normalisation = Normalisation()

    @abstractmethod
    def _score_raw(self, items: list[RMItem]) -> RawScores:
        """Raw scores for `items` (never empty), in order. Raise `RMError` on failure."""

    async def _ascore_raw(self, items: list[RMItem]) -> RawScores:
        # Local models are CPU/GPU bound: keep them off the event loop.
        return await asyncio.to_thread(self._score_raw, items)

    def identity(self) -> dict[str, Any]:
        """What determines this model's scores (for cache keys). Override to add settings."""
        return {"backend": self.backend, "class": f"{type(self).__module__}.{type(self).__qualname__}"}

    def describe(self) -> str:
        """A short human description (for evidence and the CLI)."""
        return canonical_json(self.identity())

    # -- public API --------------------------------------------------------------------------------

    def score_batch(
        self,
        prompts: PromptLike | Sequence[PromptLike],
        responses: Sequence[str],
        *,
        normalisation: Normalisation | None = None,
        groups: Sequence[Any] | None = None,
    ) -> RMOutput:
        """Score every (prompt, response) pair in one call.

        `groups` names the group of each item for per-prompt `rank`/`zscore` normalisation
        (default: items with the same prompt form a group).
        """
        items = as_items(prompts, responses)
        if not items:
            return RMOutput([], [], (normalisation or self.default_normalisation).describe())
        return self._finish(items, self._score_raw(items), normalisation, groups)

    async def ascore_batch(
        self,
        prompts: PromptLike | Sequence[PromptLike],
        responses: Sequence[str],
        *,
        normalisation: Normalisation | None = None,
        groups: Sequence[Any] | None = None,
    ) -> RMOutput:
        """Async `score_batch`."""
        items = as_items(prompts, responses)
        if not items:
            return RMOutput([], [], (normalisation or self.default_normalisation).describe())
        return self._finish(items, await self._ascore_raw(items), normalisation, groups)

    def score(self, prompt: PromptLike, response: str, *, return_details: bool = False) -> float | RMOutput:
        """The [0, 1] score of one response (or the whole `RMOutput` with `return_details=True`)."""
        out = self.score_batch(prompt, [response])
        return out if return_details else out.scores[0]

    def close(self) -> None:
        """Release resources (connections, GPU memory). The default has none."""

    # -- internals ---------------------------------------------------------------------------------

    def _finish(
        self, items: list[RMItem], raw: RawScores, how: Normalisation | None, groups: Sequence[Any] | None
    ) -> RMOutput:
        if len(raw.raw) != len(items):
            raise RMError(f"{self.backend} backend returned {len(raw.raw)} scores for {len(items)} pairs")
        values = [float(x) for x in raw.raw]
        bad = [i for i, x in enumerate(values) if not math.isfinite(x)]
        if bad:
            raise RMError(f"{self.backend} backend returned non-finite scores at {bad}")
        for name, per in (raw.objectives or {}).items():
            if len(per) != len(items):
                raise RMError(f"objective {name!r} has {len(per)} scores for {len(items)} pairs")
        if groups is None:
            groups = [canonical_json([list(t) for t in item.chat]) for item in items]
        how = how or self.default_normalisation
        try:
            normalised = normalise(values, how, groups)
        except ValueError as exc:
            raise RMError(f"cannot normalise {self.backend} scores: {exc}") from exc
        return RMOutput(
            raw=values,
            scores=normalised.scores,
            normalisation=normalised.normalisation,
            objectives=raw.objectives,
            details=raw.details,
            model_calls=raw.model_calls,
            fallbacks=normalised.fallbacks,
        )
