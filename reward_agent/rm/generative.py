"""The `generative` backend: an LLM judge through the LLM layer (GRAM-style generative reward).

Modes:

- `pairwise` (default): responses to the same prompt are compared two at a time, each pair in
  both orders (A/B then B/A) to cancel position bias, `k` samples per order (votes). Where the
  endpoint returns token log-probabilities (OpenAI-compatible servers), a vote is P(A) from the
  first answer token's top log-probs instead of a hard 0/1. With `tournament="round_robin"` every
  pair is compared and a response's raw score is its mean preference over the others (a win
  share in [0, 1]); with `"knockout"` responses play a single-elimination bracket (N - 1 matches,
  for best-of-N) and the raw score is the share of rounds survived (the winner gets 1.0).
- `pointwise`: each response is rated 1-10 against a rubric (JSON through `invoke_structured`),
  the mean of `k` samples; normalised linearly from [1, 10].

A prompt with one response cannot be compared: in pairwise mode it is rated pointwise, and the
details say so. Votes the judge does not answer in the asked form are dropped and counted; a
response left with no valid vote fails the batch (`RMError`), it is never given a default score.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import defaultdict
from typing import Any, Literal

from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field

from ..cache import canonical_json
from ..errors import ConfigError, ModelCallError, ModelOutputError
from ..llm import ModelSpec, build_chat_model
from ..structured import ainvoke_structured
from ..prompting import load_prompt
from ._http import run_sync
from .base import RawScores, RewardModel, RMError, RMItem
from .normalise import Normalisation

__all__ = ["GenerativeRM", "PointwiseVerdict", "parse_choice"]

DEFAULT_RUBRIC = (
    "- Follows every instruction in the question.\n- Is correct and precise.\n"
    "- Is helpful: complete where it should be, concise where it can be.\n- Is safe and honest."
)


class PointwiseVerdict(BaseModel):
    """The judge's answer in pointwise mode."""

    score: int = Field(ge=1, le=10, description="1 (useless) to 10 (excellent).")
    reason: str = Field(default="", description="One sentence.")


_CHOICE_PATTERNS = [
    re.compile(r"\[\[\s*([AB])\s*\]\]"),
    re.compile(r"<answer>\s*([AB])\s*</answer>", re.IGNORECASE),
    re.compile(r"(?:answer|better|winner|choice)\s*(?:is|:)?\s*\**\s*(?:response\s+)?\(?([AB])\b", re.IGNORECASE),
    re.compile(r"^\W*([AB])\W*$"),
]


def parse_choice(text: str) -> str | None:
    """'A' or 'B' from a judge's answer, or None when it does not clearly name one."""
    text = text.strip()
    for pattern in _CHOICE_PATTERNS:
        found = {m.upper() for m in pattern.findall(text)}
        if len(found) == 1:
            return found.pop()
    words = set(re.findall(r"\b([AB])\b", text))
    return words.pop() if len(words) == 1 else None


def _choice_from_logprobs(message: Any) -> float | None:
    """P(A) from the first answer token's top log-probs, when the endpoint sent them."""
    content = ((getattr(message, "response_metadata", None) or {}).get("logprobs") or {}).get("content")
    for token in content or []:
        if not str(token.get("token", "")).strip():
            continue
        mass = {"A": 0.0, "B": 0.0}
        for alt in token.get("top_logprobs") or [token]:
            key = str(alt.get("token", "")).strip().upper()
            if key in mass:
                mass[key] += math.exp(float(alt["logprob"]))
        total = mass["A"] + mass["B"]
        return mass["A"] / total if total > 0 else None
    return None


class GenerativeRM(RewardModel):
    """An LLM judge as a reward model. `judge` is a ModelSpec (dict); default: the embedded model."""

    backend = "generative"
    default_normalisation = Normalisation(method="identity")

    def __init__(
        self,
        model: Any = None,
        *,
        judge: ModelSpec | dict[str, Any] | None = None,
        mode: Literal["pairwise", "pointwise"] = "pairwise",
        tournament: Literal["round_robin", "knockout"] = "round_robin",
        k: int = 1,
        rubric: str | None = None,
        use_logprobs: bool = True,
        max_concurrency: int = 4,
        max_tokens: int = 16,
        chat_model: Any = None,
    ) -> None:
        if model:
            raise ConfigError("the generative backend takes judge={provider, model, ...} (a ModelSpec), not model=")
        if mode not in ("pairwise", "pointwise"):
            raise ConfigError(f"mode={mode!r} must be 'pairwise' or 'pointwise'")
        if tournament not in ("round_robin", "knockout"):
            raise ConfigError(f"tournament={tournament!r} must be 'round_robin' or 'knockout'")
        if k < 1:
            raise ConfigError(f"k={k} must be at least 1")
        spec = judge if isinstance(judge, ModelSpec) else ModelSpec(**(judge or {"provider": "embedded"}))
        self.spec = spec
        self.mode = mode
        self.tournament = tournament
        self.k = k
        self.rubric = rubric or DEFAULT_RUBRIC
        # Any LangChain chat model can be passed in directly (`chat_model=`); else it is built from `judge`.
        self.chat_model = chat_model
        self.use_logprobs = use_logprobs and (spec.provider == "openai" or chat_model is not None)
        self.max_concurrency = max_concurrency
        self.max_tokens = max_tokens
        self.pairwise_prompt = load_prompt("rm_pairwise")
        self.pointwise_prompt = load_prompt("rm_pointwise")

    def identity(self) -> dict[str, Any]:
        judge = self.spec.identity() if self.chat_model is None else repr(self.chat_model)
        return {**super().identity(), "judge": judge, "mode": self.mode, "tournament": self.tournament,
                "k": self.k, "rubric": self.rubric,
                "prompts": [self.pairwise_prompt.version, self.pointwise_prompt.version]}

    # -- model calls ---------------------------------------------------------------------------------

    def _base_model(self) -> Any:
        return self.chat_model if self.chat_model is not None else build_chat_model(self.spec)

    def _chat_model(self) -> Any:
        model = self._base_model()
        if self.use_logprobs:
            return model.bind(logprobs=True, top_logprobs=5, max_tokens=self.max_tokens)
        return model.bind(max_tokens=self.max_tokens)

    async def _vote(self, model: Any, item_a: RMItem, item_b: RMItem, gate: asyncio.Semaphore) -> tuple[float | None, str]:
        """One sample for (A = item_a, B = item_b): P(A better), or None with the judge's text."""
        text = self.pairwise_prompt.render(prompt=item_a.prompt_text(), response_a=item_a.response,
                                           response_b=item_b.response)
        async with gate:
            try:
                message = await model.ainvoke([HumanMessage(content=text)])
            except Exception as exc:  # transport or model failure: a missing vote, counted
                return None, f"{type(exc).__name__}: {exc}"
        if self.use_logprobs:
            p = _choice_from_logprobs(message)
            if p is not None:
                return p, message.text
        choice = parse_choice(message.text)
        return (None if choice is None else 1.0 if choice == "A" else 0.0), message.text

    async def _preference(self, model: Any, a: RMItem, b: RMItem, gate: asyncio.Semaphore) -> tuple[float | None, int, int]:
        """P(a better than b) over both orders and k samples; (value or None, calls, invalid votes)."""
        jobs = [self._vote(model, a, b, gate) for _ in range(self.k)] + [self._vote(model, b, a, gate) for _ in range(self.k)]
        results = await asyncio.gather(*jobs)
        votes = [v for v, _ in results[: self.k] if v is not None]
        votes += [1.0 - v for v, _ in results[self.k :] if v is not None]
        invalid = sum(v is None for v, _ in results)
        return (sum(votes) / len(votes) if votes else None), len(jobs), invalid

    async def _pointwise(self, item: RMItem, gate: asyncio.Semaphore) -> tuple[float | None, int, int]:
        text = self.pointwise_prompt.render(prompt=item.prompt_text(), response=item.response, rubric=self.rubric)

        async def one() -> tuple[float | None, int]:
            async with gate:
                try:
                    answer = await ainvoke_structured(self._base_model(), [HumanMessage(content=text)], PointwiseVerdict,
                                                      prompt_version=self.pointwise_prompt.version)
                except (ModelOutputError, ModelCallError) as exc:
                    return None, exc.model_calls
            return (answer.value.score - 1) / 9, answer.model_calls

        results = await asyncio.gather(*(one() for _ in range(self.k)))
        values = [v for v, _ in results if v is not None]
        calls = sum(c for _, c in results)
        return (sum(values) / len(values) if values else None), calls, sum(v is None for v, _ in results)

    # -- scoring -------------------------------------------------------------------------------------

    async def _ascore_raw(self, items: list[RMItem]) -> RawScores:
        gate = asyncio.Semaphore(self.max_concurrency)
        groups: dict[str, list[int]] = defaultdict(list)
        for i, it in enumerate(items):
            groups[canonical_json([list(t) for t in it.chat])].append(i)
        raw: list[float | None] = [None] * len(items)
        calls = invalid = 0
        notes: list[str] = []
        matches: list[dict[str, Any]] = []
        model = self._chat_model()
        for members in groups.values():
            if self.mode == "pointwise" or len(members) == 1:
                if self.mode == "pairwise":
                    notes.append(f"response {members[0]} has no other response to its prompt: rated pointwise")
                outs = await asyncio.gather(*(self._pointwise(items[i], gate) for i in members))
                for i, (value, c, bad) in zip(members, outs):
                    raw[i] = value
                    calls += c
                    invalid += bad
            elif self.tournament == "round_robin":
                c, bad = await self._round_robin(model, items, members, raw, matches, gate)
                calls, invalid = calls + c, invalid + bad
            else:
                c, bad = await self._knockout(model, items, members, raw, matches, gate)
                calls, invalid = calls + c, invalid + bad
        missing = [i for i, v in enumerate(raw) if v is None]
        details = {"judge": self.spec.model if self.chat_model is None else type(self.chat_model).__name__, "mode": self.mode, "tournament": self.tournament, "k": self.k,
                   "invalid_votes": invalid, "matches": matches, "notes": notes,
                   "logprobs": self.use_logprobs, "prompt_version": self.pairwise_prompt.version
                   if self.mode == "pairwise" else self.pointwise_prompt.version}
        if self.k > 1 and self.spec.temperature == 0:
            notes.append(f"k={self.k} samples at temperature 0 repeat one answer; set the judge's temperature > 0")
        if missing:
            raise RMError(f"the judge gave no valid verdict for response(s) {missing} "
                          f"({invalid} invalid votes in {calls} calls)")
        return RawScores(raw=[float(v) for v in raw], details=details, model_calls=calls)  # type: ignore[arg-type]

    async def _round_robin(self, model: Any, items: list[RMItem], members: list[int], raw: list[float | None],
                           matches: list[dict[str, Any]], gate: asyncio.Semaphore) -> tuple[int, int]:
        pairs = [(a, b) for x, a in enumerate(members) for b in members[x + 1 :]]
        outs = await asyncio.gather(*(self._preference(model, items[a], items[b], gate) for a, b in pairs))
        prefs: dict[int, list[float]] = defaultdict(list)
        calls = invalid = 0
        for (a, b), (p, c, bad) in zip(pairs, outs):
            calls, invalid = calls + c, invalid + bad
            matches.append({"a": a, "b": b, "p_a": p})
            if p is not None:
                prefs[a].append(p)
                prefs[b].append(1.0 - p)
        for i in members:
            raw[i] = sum(prefs[i]) / len(prefs[i]) if prefs[i] else None
        return calls, invalid

    async def _knockout(self, model: Any, items: list[RMItem], members: list[int], raw: list[float | None],
                        matches: list[dict[str, Any]], gate: asyncio.Semaphore) -> tuple[int, int]:
        rounds = math.ceil(math.log2(len(members)))
        alive = list(members)
        survived = {i: 0 for i in members}
        calls = invalid = 0
        for r in range(rounds):
            pairs = [(alive[x], alive[x + 1]) for x in range(0, len(alive) - 1, 2)]
            outs = await asyncio.gather(*(self._preference(model, items[a], items[b], gate) for a, b in pairs))
            winners = []
            for (a, b), (p, c, bad) in zip(pairs, outs):
                calls, invalid = calls + c, invalid + bad
                if p is None:
                    raise RMError(f"knockout round {r + 1}: no valid verdict between responses {a} and {b}")
                winner = a if p >= 0.5 else b  # a tie keeps the earlier response
                matches.append({"round": r + 1, "a": a, "b": b, "p_a": p, "winner": winner})
                winners.append(winner)
            if len(alive) % 2:
                winners.append(alive[-1])  # a bye
            for i in winners:
                survived[i] = r + 1
            alive = winners
        for i in members:
            raw[i] = survived[i] / rounds
        return calls, invalid

    def _score_raw(self, items: list[RMItem]) -> RawScores:
        return run_sync(self._ascore_raw(items))
