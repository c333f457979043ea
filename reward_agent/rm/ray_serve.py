"""A reward model shared by many callers through Ray Serve, scored in dynamic batches.

Two halves, one per side of a Serve deployment handle:

* `BatchScorer` (in the RM deployment, `reward_agent.serve.ray_app`): takes the calls that
  `@serve.batch` gathered from concurrent requests, scores all their pairs in ONE call to the
  wrapped model, and hands each call back its own slice. It keeps the batch sizes it reached
  (`BatchStats`), which is how a run shows that batching happened.
* `RayServeRM` (the `ray_serve` backend of the RM registry): a `RewardModel` whose `_score_raw`
  is a call to that deployment. Its identity and default normalisation are the served model's,
  so the preference verifier's evidence is the same as with the model in-process.

A batch the model refuses is retried call by call, so one bad request cannot fail the
requests that happened to share its batch; each call gets its scores or its own `RMError`.

Ray is imported only when a `RayServeRM` is built: `import reward_agent.rm` never needs it.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from .base import RawScores, RewardModel, RMError, RMItem
from .normalise import Normalisation

__all__ = ["BatchScorer", "BatchStats", "RayServeRM", "ScoreFailure"]


@dataclass(frozen=True)
class ScoreFailure:
    """What one call gets back when its pairs could not be scored (raised as `RMError` by the caller)."""

    message: str


@dataclass
class BatchStats:
    """Sizes of the batches the model was called with: calls (requests) and pairs per batch."""

    batches: int = 0
    calls: int = 0
    pairs: int = 0
    failed_batches: int = 0
    calls_histogram: Counter[int] = field(default_factory=Counter)
    pairs_histogram: Counter[int] = field(default_factory=Counter)

    def record(self, calls: int, pairs: int) -> None:
        self.batches += 1
        self.calls += calls
        self.pairs += pairs
        self.calls_histogram[calls] += 1
        self.pairs_histogram[pairs] += 1

    def as_dict(self) -> dict[str, Any]:
        """JSON-able: totals, mean and max batch sizes, and the histograms (size -> batches)."""
        return {
            "batches": self.batches, "calls": self.calls, "pairs": self.pairs, "failed_batches": self.failed_batches,
            "mean_calls_per_batch": round(self.calls / self.batches, 3) if self.batches else None,
            "max_calls_per_batch": max(self.calls_histogram, default=None),
            "mean_pairs_per_batch": round(self.pairs / self.batches, 3) if self.batches else None,
            "max_pairs_per_batch": max(self.pairs_histogram, default=None),
            "calls_histogram": {str(k): v for k, v in sorted(self.calls_histogram.items())},
            "pairs_histogram": {str(k): v for k, v in sorted(self.pairs_histogram.items())},
        }


def _slice(raw: RawScores, start: int, stop: int) -> RawScores:
    """One call's part of a batch's scores. Details and model calls are the batch's: the one model
    call that scored the batch is the call that scored each of its requests."""
    objectives = {name: values[start:stop] for name, values in raw.objectives.items()} if raw.objectives else None
    return RawScores(raw=raw.raw[start:stop], objectives=objectives, details=raw.details, model_calls=raw.model_calls)


class BatchScorer:
    """Scores gathered calls (each a list of `RMItem`) with one model call; records batch sizes.

    Serve's `@serve.batch` forms a batch from the calls that arrive within `batch_wait_timeout_s`,
    and keeps forming the next ones while the model is still busy with the last: under a steady
    trickle of requests each of those is one call. So the batches Serve hands over queue here, and
    whenever the model is free the next model call takes every queued call (up to `max_calls`):
    the longer the model is busy, the larger its next batch. With `max_calls=1` nothing is merged.
    """

    def __init__(self, rm: RewardModel, max_calls: int | None = None) -> None:
        self.rm = rm
        self.max_calls = max_calls
        self.stats = BatchStats()
        self._queue: deque[tuple[list[RMItem], asyncio.Future[RawScores | ScoreFailure]]] = deque()
        self._model_free: asyncio.Lock | None = None  # created on the loop that uses it

    def describe(self) -> dict[str, Any]:
        """What a `RayServeRM` needs to stand in for the model: its identity and normalisation."""
        return {"identity": self.rm.identity(), "normalisation": self.rm.default_normalisation.model_dump()}

    async def score_calls(self, calls: list[list[RMItem]]) -> list[RawScores | ScoreFailure]:
        """Each call's RawScores (or ScoreFailure), in order; scored together with whatever else is queued."""
        loop = asyncio.get_running_loop()
        if self._model_free is None:
            self._model_free = asyncio.Lock()
        futures = []
        for call in calls:
            future: asyncio.Future[RawScores | ScoreFailure] = loop.create_future()
            self._queue.append((call, future))
            futures.append(future)
        # Whoever holds the lock scores from the head of the queue, so these calls are taken by an
        # earlier holder or by this one; FIFO, so none waits behind later ones.
        while not all(f.done() for f in futures):
            async with self._model_free:
                if self._queue and not all(f.done() for f in futures):
                    await self._score_next()
        return [f.result() for f in futures]

    async def _score_next(self) -> None:
        taken = []
        while self._queue and (self.max_calls is None or len(taken) < self.max_calls):
            taken.append(self._queue.popleft())
        answers = await self._score_merged([call for call, _ in taken])
        for (_, future), answer in zip(taken, answers):
            future.set_result(answer)

    async def _score_merged(self, calls: list[list[RMItem]]) -> list[RawScores | ScoreFailure]:
        items = [item for call in calls for item in call]
        self.stats.record(len(calls), len(items))
        if not items:
            return [RawScores(raw=[]) for _ in calls]
        try:
            raw = await self.rm._ascore_raw(items)
            if len(raw.raw) != len(items):
                raise RMError(f"{self.rm.backend} backend returned {len(raw.raw)} scores for {len(items)} pairs")
        except Exception:  # noqa: BLE001 - retried per call below, where each call gets its own outcome
            if len(calls) == 1:
                return [await self._score_alone(calls[0])]
            self.stats.failed_batches += 1
            return [await self._score_alone(call) for call in calls]
        out: list[RawScores | ScoreFailure] = []
        start = 0
        for call in calls:
            out.append(_slice(raw, start, start + len(call)))
            start += len(call)
        return out

    async def _score_alone(self, call: list[RMItem]) -> RawScores | ScoreFailure:
        if not call:
            return RawScores(raw=[])
        try:
            return await self.rm._ascore_raw(call)
        except Exception as exc:  # noqa: BLE001 - the caller raises it as RMError, typed and named
            return ScoreFailure(f"{type(exc).__name__}: {exc}")

    def reset_stats(self) -> dict[str, Any]:
        """Start counting afresh; returns the counts so far."""
        before, self.stats = self.stats.as_dict(), BatchStats()
        return before


class RayServeRM(RewardModel):
    """The `ray_serve` backend: scores on a Ray Serve RM deployment (see `reward_agent.serve.ray_app`).

    Options: `handle` (a `DeploymentHandle`, as the serving app passes it), or `app` and
    `deployment` (names, looked up with `serve.get_deployment_handle` from any process connected
    to the cluster); `timeout_s` (per call). Building one asks the deployment for the served model's
    identity and normalisation, so build it off the event loop (`load_rm` callers already do).
    """

    backend = "ray_serve"

    def __init__(self, *, handle: Any = None, app: str | None = None, deployment: str = "RewardModel",
                 timeout_s: float = 300.0) -> None:
        from ..errors import ConfigError

        if handle is None:
            if not app:
                raise ConfigError("the ray_serve backend needs a deployment handle, or app= and deployment= names")
            try:
                from ray import serve
            except ImportError as exc:  # pragma: no cover - depends on the installed extras
                raise ConfigError("the ray_serve backend needs Ray: pip install 'reward-agent[ray]'") from exc
            handle = serve.get_deployment_handle(deployment, app_name=app)
        self.handle = handle
        self.timeout_s = timeout_s
        try:
            described = handle.describe.remote().result(timeout_s=timeout_s)
        except Exception as exc:  # noqa: BLE001 - a deployment that is not there is a load failure
            raise RMError(f"the Ray Serve RM deployment did not answer: {type(exc).__name__}: {exc}") from exc
        self._identity: dict[str, Any] = described["identity"]
        self.default_normalisation = Normalisation.model_validate(described["normalisation"])

    def identity(self) -> dict[str, Any]:
        return self._identity

    @staticmethod
    def _unwrap(answer: RawScores | ScoreFailure) -> RawScores:
        if isinstance(answer, ScoreFailure):
            raise RMError(answer.message)
        return answer

    def _score_raw(self, items: list[RMItem]) -> RawScores:
        try:
            answer = self.handle.score.remote(items).result(timeout_s=self.timeout_s)
        except Exception as exc:  # noqa: BLE001 - as in _ascore_raw
            raise RMError(f"the Ray Serve RM deployment failed: {type(exc).__name__}: {exc}") from exc
        return self._unwrap(answer)

    async def _ascore_raw(self, items: list[RMItem]) -> RawScores:
        try:
            answer = await asyncio.wait_for(self.handle.score.remote(items), self.timeout_s)
        except TimeoutError as exc:
            raise RMError(f"the Ray Serve RM deployment did not answer within {self.timeout_s:g} s") from exc
        except Exception as exc:  # noqa: BLE001 - a lost replica or a Serve error: the RM failed, typed as such
            raise RMError(f"the Ray Serve RM deployment failed: {type(exc).__name__}: {exc}") from exc
        return self._unwrap(answer)
