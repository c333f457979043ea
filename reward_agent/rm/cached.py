"""`CachedRM`: a content-addressed cache in front of any reward model.

Each pair is keyed by the model's identity and the pair itself (chat + response); raw scores
and objectives are stored in `reward_agent.cache.Cache` (SQLite). A batch is answered from the
cache where it can and the misses are scored together in one call to the wrapped model.
Normalisation is applied after the cache, so one cached raw score serves every method.
"""

from __future__ import annotations

from typing import Any

from ..cache import Cache
from .base import RawScores, RewardModel, RMItem

__all__ = ["CachedRM"]

NAMESPACE = "rm.scores"


class CachedRM(RewardModel):
    """Wraps `rm`; `hits`/`misses` count pairs answered from/added to the cache by this object."""

    backend = "cached"

    def __init__(self, rm: RewardModel, cache: Cache) -> None:
        self.rm = rm
        self.cache = cache
        self.default_normalisation = rm.default_normalisation
        self.hits = 0
        self.misses = 0

    def identity(self) -> dict[str, Any]:
        return self.rm.identity()

    def _key(self, item: RMItem) -> dict[str, Any]:
        return {"rm": self.rm.identity(), "pair": item.key()}

    def _lookup(self, items: list[RMItem]) -> tuple[list[dict[str, Any] | None], list[int]]:
        found = [self.cache.get(NAMESPACE, self._key(it)) for it in items]
        return found, [i for i, f in enumerate(found) if f is None]

    def _merge(self, items: list[RMItem], found: list[dict[str, Any] | None], missing: list[int],
               fresh: RawScores | None) -> RawScores:
        calls = 0
        if fresh is not None:
            calls = fresh.model_calls
            for k, i in enumerate(missing):
                entry = {"raw": fresh.raw[k],
                         "objectives": {n: v[k] for n, v in (fresh.objectives or {}).items()} or None}
                self.cache.put(NAMESPACE, self._key(items[i]), entry)
                found[i] = entry
        self.hits += len(items) - len(missing)
        self.misses += len(missing)
        names = sorted({n for f in found if f and f.get("objectives") for n in f["objectives"]})
        objectives = {n: [f["objectives"][n] for f in found] for n in names} if names else None  # type: ignore[index]
        details = {"cache_hits": len(items) - len(missing), "cache_misses": len(missing)}
        if fresh is not None:
            details["scored"] = fresh.details
        return RawScores(raw=[f["raw"] for f in found], objectives=objectives,  # type: ignore[index]
                         details=details, model_calls=calls)

    def _score_raw(self, items: list[RMItem]) -> RawScores:
        found, missing = self._lookup(items)
        fresh = self.rm._score_raw([items[i] for i in missing]) if missing else None
        return self._merge(items, found, missing, fresh)

    async def _ascore_raw(self, items: list[RMItem]) -> RawScores:
        found, missing = self._lookup(items)
        fresh = await self.rm._ascore_raw([items[i] for i in missing]) if missing else None
        return self._merge(items, found, missing, fresh)

    def close(self) -> None:
        self.rm.close()
