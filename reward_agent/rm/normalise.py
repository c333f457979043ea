"""Normalisation of raw reward-model scores to [0, 1], with the choice recorded.

Raw RM outputs (logits, Likert scores, win shares) live on different scales; the judger mixes
scores in [0, 1]. Methods:

- `sigmoid`: 1 / (1 + exp(-(raw - shift) / scale)); per item, so it works for N = 1.
- `rank`: per group (the N responses of one prompt), rank / (N - 1), ties averaged.
- `zscore`: per group, the standard normal CDF of (raw - mean) / std; a constant group is 0.5.
- `linear`: (raw - low) / (high - low), clipped; for scores with known bounds (a 1-10 rubric).
- `identity`: raw already in [0, 1] (checked).

`rank` and `zscore` need at least two responses in a group: a group of one falls back to
`sigmoid` and the `Normalisation` record says so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import ConfigError

__all__ = ["Method", "Normalisation", "NormalisedScores", "normalise"]

Method = Literal["sigmoid", "rank", "zscore", "linear", "identity"]


class Normalisation(BaseModel):
    """How raw scores become [0, 1] scores. Frozen: part of cache keys and of the evidence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Method = Field(default="sigmoid", description="sigmoid, rank, zscore, linear or identity.")
    scale: float = Field(default=1.0, gt=0, description="sigmoid: temperature of the raw score.")
    shift: float = Field(default=0.0, description="sigmoid: the raw score that maps to 0.5.")
    low: float | None = Field(default=None, description="linear: the raw score that maps to 0.")
    high: float | None = Field(default=None, description="linear: the raw score that maps to 1.")

    @model_validator(mode="after")
    def _check(self) -> Normalisation:
        if self.method == "linear":
            if self.low is None or self.high is None or not self.high > self.low:
                raise ConfigError(f"linear normalisation needs low < high, got low={self.low}, high={self.high}")
        return self

    def describe(self) -> dict[str, Any]:
        """The fields that matter for this method (for evidence and reports)."""
        if self.method == "sigmoid":
            return {"method": "sigmoid", "scale": self.scale, "shift": self.shift}
        if self.method == "linear":
            return {"method": "linear", "low": self.low, "high": self.high}
        return {"method": self.method}


class NormalisedScores(BaseModel):
    """Scores in [0, 1], the method used, and any per-group fallback."""

    scores: list[float]
    normalisation: dict[str, Any]
    fallbacks: list[str] = Field(default_factory=list)


def _sigmoid(x: float, scale: float, shift: float) -> float:
    z = (x - shift) / scale
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _ranks(values: list[float]) -> list[float]:
    """Average ranks from 0 (lowest) to n - 1 (ties share the mean of their ranks)."""
    from scipy.stats import rankdata

    return [float(r) - 1.0 for r in rankdata(values, method="average")]


def normalise(
    raw: Sequence[float], how: Normalisation | None = None, groups: Sequence[Hashable] | None = None
) -> NormalisedScores:
    """Map `raw` to [0, 1] by `how` (default sigmoid, scale 1). `groups[i]` names item i's group
    for `rank` and `zscore` (default: one group of everything)."""
    how = how or Normalisation()
    values = [float(x) for x in raw]
    bad = [i for i, x in enumerate(values) if not math.isfinite(x)]
    if bad:
        raise ValueError(f"raw scores at {bad} are not finite: {[values[i] for i in bad]}")
    if groups is not None and len(groups) != len(values):
        raise ValueError(f"{len(groups)} group labels for {len(values)} scores")
    if how.method == "sigmoid":
        return NormalisedScores(scores=[_sigmoid(x, how.scale, how.shift) for x in values],
                                normalisation=how.describe())
    if how.method == "identity":
        outside = [x for x in values if not 0.0 <= x <= 1.0]
        if outside:
            raise ValueError(f"identity normalisation needs raw scores in [0, 1]; got {outside[:3]}")
        return NormalisedScores(scores=values, normalisation=how.describe())
    if how.method == "linear":
        assert how.low is not None and how.high is not None
        span = how.high - how.low
        return NormalisedScores(scores=[min(1.0, max(0.0, (x - how.low) / span)) for x in values],
                                normalisation=how.describe())
    members: dict[Hashable, list[int]] = defaultdict(list)
    for i, g in enumerate(groups if groups is not None else [0] * len(values)):
        members[g].append(i)
    scores = [0.0] * len(values)
    fallbacks = []
    for g, idx in members.items():
        vals = [values[i] for i in idx]
        if len(idx) == 1:
            scores[idx[0]] = _sigmoid(vals[0], how.scale, how.shift)
            fallbacks.append(f"group {g!r} has one response: sigmoid(scale={how.scale:g}, shift={how.shift:g})")
            continue
        if how.method == "rank":
            out = [r / (len(idx) - 1) for r in _ranks(vals)]
        else:
            mean = sum(vals) / len(vals)
            std = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals))
            out = [0.5 if std == 0 else 0.5 * (1.0 + math.erf((v - mean) / std / math.sqrt(2))) for v in vals]
        for i, s in zip(idx, out):
            scores[i] = s
    return NormalisedScores(scores=scores, normalisation=how.describe(), fallbacks=fallbacks)
