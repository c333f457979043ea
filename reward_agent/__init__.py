"""reward-agent: turn a prompt and candidate responses into rewards you can audit.

    from reward_agent import score
    result = score({"prompt": "Answer in under 20 words.", "responses": ["...", "..."]})
    result.rewards, result.best_index, result.signals["constraints"].evidence

`build_graph()` gives the compiled LangGraph graph itself (invoke it with
`{"request": {...}}` and `context=RewardContext(...)`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .context import RewardContext, load_context
from .types import ConstraintSpec, Message, Plan, RewardRequest, RewardResult, Signal

__all__ = [
    "ConstraintSpec",
    "Message",
    "Plan",
    "RewardContext",
    "RewardRequest",
    "RewardResult",
    "Signal",
    "ascore",
    "build_graph",
    "load_context",
    "score",
]


def build_graph(*args: Any, **kwargs: Any):
    """Compile the reward graph (see `reward_agent.graph.build_graph`)."""
    from .graph import build_graph as _build

    return _build(*args, **kwargs)


@lru_cache(maxsize=1)
def _shared_graph():
    return build_graph()


def score(request: RewardRequest | dict[str, Any], context: RewardContext | None = None) -> RewardResult:
    """Reward one request through the compiled graph (synchronous)."""
    out = _shared_graph().invoke({"request": request}, context=context)
    return out["result"]


async def ascore(request: RewardRequest | dict[str, Any], context: RewardContext | None = None) -> RewardResult:
    """Reward one request through the compiled graph (async)."""
    out = await _shared_graph().ainvoke({"request": request}, context=context)
    return out["result"]
