"""Process reward scoring: a score per step of a step-by-step answer, aggregated per answer.

`StepRM(rm, delimiter="\n", aggregate="min")` splits each response into steps on `delimiter`
(empty steps dropped), scores every prefix (steps 1..k) of every response in one batch with
the wrapped reward model, maps each prefix score to [0, 1] with the model's calibration, and
aggregates the step scores by `min` (a chain is as good as its worst step), `product` (the
chance that every step is right), `last` (the outcome so far) or `mean`.

A wrapped model that is a true PRM (one score per step in one pass, like Qwen2.5-Math-PRM) can
provide `step_scores(items, steps) -> list[list[float]]` in [0, 1]; it is then used instead of
prefix scoring.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from ..errors import ConfigError
from .base import PromptLike, RawScores, RewardModel, RMError, RMItem
from .normalise import Normalisation, normalise

__all__ = ["AGGREGATES", "StepRM", "load_prm", "score_steps", "split_steps"]

Aggregate = Literal["min", "product", "last", "mean"]
AGGREGATES: dict[str, Any] = {
    "min": min,
    "product": math.prod,
    "last": lambda xs: xs[-1],
    "mean": lambda xs: sum(xs) / len(xs),
}


def split_steps(response: str, delimiter: str) -> list[str]:
    """The non-empty steps of `response` (the whole response when it has no delimiter)."""
    if not delimiter:
        raise ConfigError("the step delimiter must be a non-empty string")
    steps = [s for s in response.split(delimiter) if s.strip()]
    return steps or [response]


class StepRM(RewardModel):
    """Scores responses step by step with `rm` and aggregates; raw scores are already in [0, 1]."""

    backend = "prm"
    default_normalisation = Normalisation(method="identity")

    def __init__(self, rm: RewardModel, *, delimiter: str = "\n", aggregate: Aggregate = "min",
                 step_normalisation: Normalisation | None = None) -> None:
        if aggregate not in AGGREGATES:
            raise ConfigError(f"aggregate={aggregate!r} is not one of {', '.join(AGGREGATES)}")
        if not delimiter:
            raise ConfigError("the step delimiter must be a non-empty string")
        self.rm = rm
        self.delimiter = delimiter
        self.aggregate = aggregate
        self.step_normalisation = step_normalisation or rm.default_normalisation
        if self.step_normalisation.method in ("rank", "zscore"):
            raise ConfigError("step scores need a per-item normalisation (sigmoid, linear or identity), not "
                              f"{self.step_normalisation.method!r}: a step's score must not depend on its neighbours")

    @classmethod
    def from_spec(cls, model: Any = None, *, base: dict[str, Any], delimiter: str = "\n",
                  aggregate: Aggregate = "min") -> StepRM:
        """Build from configuration: `base` is the RMSpec dict of the model that scores prefixes."""
        from .auto import AutoRM

        if model:
            raise ConfigError("the prm backend takes base={...} (the step scorer's spec), not model=")
        return cls(AutoRM.from_spec(base), delimiter=delimiter, aggregate=aggregate)

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "base": self.rm.identity(), "delimiter": self.delimiter,
                "aggregate": self.aggregate, "step_normalisation": self.step_normalisation.describe()}

    def _plan(self, items: list[RMItem]) -> tuple[list[list[str]], list[RMItem]]:
        steps = [split_steps(it.response, self.delimiter) for it in items]
        prefixes = [RMItem(it.chat, self.delimiter.join(s[: k + 1]))
                    for it, s in zip(items, steps) for k in range(len(s))]
        return steps, prefixes

    def _finish_steps(self, steps: list[list[str]], per_step: list[list[float]], calls: int) -> RawScores:
        raw, report = [], []
        for s, scores in zip(steps, per_step):
            if len(scores) != len(s):
                raise RMError(f"step scorer returned {len(scores)} scores for {len(s)} steps")
            raw.append(float(AGGREGATES[self.aggregate](scores)))
            report.append({"n_steps": len(s), "scores": scores})
        return RawScores(raw=raw, details={"steps": report, "aggregate": self.aggregate, "delimiter": self.delimiter,
                                           "step_normalisation": self.step_normalisation.describe()},
                         model_calls=calls)

    def _split(self, steps: list[list[str]], flat: list[float]) -> list[list[float]]:
        out, k = [], 0
        for s in steps:
            out.append(flat[k : k + len(s)])
            k += len(s)
        return out

    def _score_raw(self, items: list[RMItem]) -> RawScores:
        steps, prefixes = self._plan(items)
        native = getattr(self.rm, "step_scores", None)
        if callable(native):
            return self._finish_steps(steps, native(items, steps), 0)
        out = self.rm._score_raw(prefixes)
        return self._finish_steps(steps, self._split(steps, normalise(out.raw, self.step_normalisation).scores),
                                  out.model_calls)

    async def _ascore_raw(self, items: list[RMItem]) -> RawScores:
        steps, prefixes = self._plan(items)
        if callable(getattr(self.rm, "step_scores", None)):
            return await super()._ascore_raw(items)
        out = await self.rm._ascore_raw(prefixes)
        return self._finish_steps(steps, self._split(steps, normalise(out.raw, self.step_normalisation).scores),
                                  out.model_calls)


def load_prm(model: Any = None, *, base: dict[str, Any], delimiter: str = "\n", aggregate: Aggregate = "min") -> StepRM:
    """The `prm` backend's loader (`AutoRM.load(backend="prm", base={...}, delimiter="\\n\\n")`)."""
    return StepRM.from_spec(model, base=base, delimiter=delimiter, aggregate=aggregate)


def score_steps(rm: RewardModel, prompt: PromptLike, response: str, *, delimiter: str = "\n",
                aggregate: Aggregate = "min") -> list[float]:
    """Per-step scores in [0, 1] of a step-by-step `response`, scored by `rm` (prefix by prefix,
    or natively when `rm` has `step_scores`). Lives here, not on `RewardModel`, because step
    scoring is this module's concern and `rm.base` must not import its own subclasses."""
    out = StepRM(rm, delimiter=delimiter, aggregate=aggregate).score_batch(prompt, [response])
    return out.details["steps"][0]["scores"]
