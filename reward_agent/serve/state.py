"""What the app holds for its lifetime: the graph, the context, the limits, and readiness."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from ..context import RewardContext
from ..redaction import redact_text
from ..types import RewardRequest, RewardResult
from ..verifiers.base import VERIFIERS
from .settings import ServeSettings


class GraphError(RuntimeError):
    """The graph ran but produced no result: a server-side fault (HTTP 500), not the caller's."""

# A tiny request that touches every registered verifier, so lazy imports and model loads
# happen at startup rather than inside the first real request.
WARMUP_REQUEST = {"prompt": "Answer in all lowercase letters.", "responses": ["ok"]}


@dataclass
class Readiness:
    """Whether the server has finished loading (graph built, verifiers and models warmed up)."""

    ready: bool = False
    phase: str = "starting"
    error: str | None = None
    verifiers: dict[str, str] = field(default_factory=dict)
    warmup_s: float | None = None

    @property
    def degraded(self) -> list[str]:
        """Verifiers whose warm-up failed: the server answers, but their signals will be `failed`."""
        return sorted(v for v, status in self.verifiers.items() if status.startswith("failed"))

    def summary(self) -> dict[str, Any]:
        """What `/ready` tells a caller without the token: ready or not, and the phase."""
        return {"ready": self.ready, "phase": self.phase}

    def as_dict(self) -> dict[str, Any]:
        return {"ready": self.ready, "phase": self.phase, "error": self.error, "degraded": self.degraded,
                "verifiers": self.verifiers, "warmup_s": self.warmup_s}


@dataclass
class ServeState:
    """The server's graph and settings; one instance per app, on `app.state.reward`."""

    graph: Any
    context: RewardContext
    settings: ServeSettings
    readiness: Readiness = field(default_factory=Readiness)

    async def score(self, request: RewardRequest | dict[str, Any]) -> RewardResult:
        """Run the graph on the event loop (async nodes; nothing blocks the loop on model calls)."""
        out = await self.graph.ainvoke({"request": request}, context=self.context)
        if not isinstance(out, dict) or "result" not in out:
            raise GraphError("the reward graph ended without a result (a node failed without an error handler)")
        return out["result"]

    async def warm_up(self) -> None:
        """Score WARMUP_REQUEST with every enabled verifier forced; record the outcome."""
        started = time.perf_counter()
        self.readiness.phase = "warming up"
        enabled = [v for v in VERIFIERS if v not in self.context.disable]
        try:
            result = await self.score({**WARMUP_REQUEST, "verifiers": enabled})
        except Exception as exc:  # readiness reports it; the server stays up for /health and /v1/config
            # Errors name URLs and options: stored redacted, since /ready shows them.
            self.readiness.phase, self.readiness.error = "failed", redact_text(f"{type(exc).__name__}: {exc}")
            return
        self.readiness.verifiers = {
            vid: s.status if s.status != "failed" else redact_text(f"failed: {s.error}") for vid, s in result.signals.items()
        }
        self.readiness.warmup_s = round(time.perf_counter() - started, 3)
        self.readiness.ready, self.readiness.phase = True, "ready"

    def mark_ready_without_warmup(self) -> None:
        self.readiness.ready, self.readiness.phase = True, "ready (no warm-up)"


def get_state(request: Request) -> ServeState:
    """The ServeState of the app handling `request`."""
    return request.app.state.reward
