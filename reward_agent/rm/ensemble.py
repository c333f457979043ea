"""`EnsembleRM`: several reward models as one, by weighted mean or conservative minimum.

Members speak different scales, so each member's raw scores are first mapped to [0, 1] with its
own calibration (its `default_normalisation`, or one given per member); the ensemble's raw score
is then the weighted mean (`mode="mean"`) or the minimum (`mode="min"`, the conservative choice
against reward hacking: a response must satisfy every model) of those, already in [0, 1].
A member that fails fails the ensemble: a partial ensemble would silently change what it means.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from ..cache import canonical_json
from ..errors import ConfigError
from .base import RawScores, RewardModel, RMError, RMItem
from .normalise import Normalisation, normalise

__all__ = ["EnsembleRM", "load_ensemble"]


class EnsembleRM(RewardModel):
    """`EnsembleRM([(rm_a, 0.5), (rm_b, 0.5)], mode="mean")` (or plain RMs, weight 1 each)."""

    backend = "ensemble"
    default_normalisation = Normalisation(method="identity")

    def __init__(self, members: list[RewardModel | tuple[RewardModel, float]], *, mode: Literal["mean", "min"] = "mean",
                 normalisations: list[Normalisation | None] | None = None) -> None:
        if not members:
            raise ConfigError("an ensemble needs at least one member")
        if mode not in ("mean", "min"):
            raise ConfigError(f"ensemble mode={mode!r} must be 'mean' or 'min'")
        pairs = [m if isinstance(m, tuple) else (m, 1.0) for m in members]
        if any(w < 0 for _, w in pairs) or sum(w for _, w in pairs) <= 0:
            raise ConfigError(f"ensemble weights must be >= 0 with a positive sum, got {[w for _, w in pairs]}")
        self.members = [m for m, _ in pairs]
        self.weights = [float(w) for _, w in pairs]
        self.mode = mode
        norms = normalisations or [None] * len(self.members)
        if len(norms) != len(self.members):
            raise ConfigError(f"{len(norms)} normalisations for {len(self.members)} members")
        self.normalisations = [n or m.default_normalisation for n, m in zip(norms, self.members)]

    @classmethod
    def from_specs(cls, model: Any = None, *, members: list[dict[str, Any]], mode: Literal["mean", "min"] = "mean") -> EnsembleRM:
        """Build from configuration: `members` is a list of RMSpec dicts, each with an optional `weight`."""
        from .auto import AutoRM

        if model:
            raise ConfigError("the ensemble backend takes members=[...], not model=")
        built, norms = [], []
        for spec in members:
            spec = dict(spec)
            weight = float(spec.pop("weight", 1.0))
            rm = AutoRM.from_spec(spec)
            built.append((rm, weight))
            norms.append(Normalisation.model_validate(spec["normalisation"]) if spec.get("normalisation") else None)
        return cls(built, mode=mode, normalisations=norms)

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "mode": self.mode, "weights": self.weights,
                "members": [m.identity() for m in self.members],
                "normalisations": [n.describe() for n in self.normalisations]}

    def _combine(self, items: list[RMItem], outs: list[RawScores]) -> RawScores:
        groups = [canonical_json([list(t) for t in it.chat]) for it in items]
        per_member = []
        for k, (out, how) in enumerate(zip(outs, self.normalisations)):
            if len(out.raw) != len(items):
                raise RMError(f"ensemble member {k} returned {len(out.raw)} scores for {len(items)} pairs")
            per_member.append(normalise(out.raw, how, groups).scores)
        if self.mode == "min":
            raw = [min(col) for col in zip(*per_member)]
        else:
            total = sum(self.weights)
            raw = [sum(w * s for w, s in zip(self.weights, col)) / total for col in zip(*per_member)]
        objectives = {f"member_{k}": scores for k, scores in enumerate(per_member)}
        details = {"mode": self.mode, "weights": self.weights,
                   "member_raw": [o.raw for o in outs], "members": [m.backend for m in self.members]}
        return RawScores(raw=raw, objectives=objectives, details=details,
                         model_calls=sum(o.model_calls for o in outs))

    def _score_raw(self, items: list[RMItem]) -> RawScores:
        return self._combine(items, [self._member(k, m._score_raw, items) for k, m in enumerate(self.members)])

    async def _ascore_raw(self, items: list[RMItem]) -> RawScores:
        async def run(k: int, m: RewardModel) -> RawScores:
            try:
                return await m._ascore_raw(items)
            except RMError as exc:
                raise RMError(f"ensemble member {k} ({m.backend}) failed: {exc}") from exc

        outs = await asyncio.gather(*(run(k, m) for k, m in enumerate(self.members)))
        return self._combine(items, list(outs))

    @staticmethod
    def _member(k: int, fn: Any, items: list[RMItem]) -> RawScores:
        try:
            return fn(items)
        except RMError as exc:
            raise RMError(f"ensemble member {k} failed: {exc}") from exc

    def close(self) -> None:
        for m in self.members:
            m.close()


def load_ensemble(model: Any = None, *, members: list[dict[str, Any]], mode: Literal["mean", "min"] = "mean") -> EnsembleRM:
    """The `ensemble` backend's loader (`AutoRM.load(backend="ensemble", members=[...], mode="min")`)."""
    return EnsembleRM.from_specs(model, members=members, mode=mode)
