"""reward-agent: turn a prompt and candidate responses into rewards you can audit.

    from reward_agent import score
    result = score({"prompt": "Answer in under 20 words.", "responses": ["...", "..."]})
    result.rewards, result.best_index, result.signals["constraints"].evidence

`build_graph()` gives the compiled LangGraph graph itself (invoke it with
`{"request": {...}}` and `context=RewardContext(...)`).

Extension points, one registry each (see the README's "Extending" section):

    from reward_agent import VerifierSpec, register_verifier         # verifiers
    from reward_agent import RewardModel, register_rm_backend        # reward-model backends
    from reward_agent import CheckerSpec, register_checker           # constraint checkers
    from reward_agent import Judgement, register_judger              # judgers
    from reward_agent import BenchmarkSpec, register_benchmark       # `reward-agent bench NAME`
    from reward_agent import SourceSpec, register_source             # factuality evidence sources

They are imported on first use, so `import reward_agent` stays cheap.
"""

from __future__ import annotations

import threading
from typing import Any

from .context import RewardContext, load_context
from .registry import import_target
from .types import ConstraintSpec, Message, Plan, RewardRequest, RewardResult, Signal

# The public extension API: name -> "module:object", imported by `__getattr__` on first use.
_EXTENSION_API = {
    "VerifierSpec": "reward_agent.verifiers.base:VerifierSpec",
    "register_verifier": "reward_agent.verifiers.base:register_verifier",
    "RewardModel": "reward_agent.rm.base:RewardModel",
    "RawScores": "reward_agent.rm.base:RawScores",
    "register_rm_backend": "reward_agent.rm.auto:register_backend",
    "CheckerSpec": "reward_agent.verifiers.constraints.base:CheckerSpec",
    "register_checker": "reward_agent.verifiers.constraints.base:register_checker",
    "Judgement": "reward_agent.judger:Judgement",
    "register_judger": "reward_agent.judger:register_judger",
    "BenchmarkSpec": "reward_agent.bench.registry:BenchmarkSpec",
    "register_benchmark": "reward_agent.bench.registry:register_benchmark",
    "SourceSpec": "reward_agent.retrieval.base:SourceSpec",
    "register_source": "reward_agent.retrieval.base:register_source",
}

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
    *_EXTENSION_API,
]


def __getattr__(name: str) -> Any:
    """The extension API, imported when first asked for (PEP 562)."""
    target = _EXTENSION_API.get(name)
    if target is None:
        raise AttributeError(f"module 'reward_agent' has no attribute {name!r}")
    value = import_target(target)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXTENSION_API})


def build_graph(*args: Any, **kwargs: Any):
    """Compile the reward graph (see `reward_agent.graph.build_graph`)."""
    from .graph import build_graph as _build

    return _build(*args, **kwargs)


_shared: tuple[int, Any] | None = None  # (verifier registry version, the graph built over it)
_shared_lock = threading.Lock()


def _shared_graph():
    """The graph `score`/`ascore` run: built once, and again whenever the verifier registry changed
    since (a `score()` user cannot rebuild it, so a verifier registered later must still be found)."""
    global _shared
    from .verifiers.base import VERIFIERS

    with _shared_lock:
        if _shared is None or _shared[0] != VERIFIERS.version:
            version = VERIFIERS.version  # read before building: a registration meanwhile rebuilds next time
            _shared = (version, build_graph())
        return _shared[1]


def score(request: RewardRequest | dict[str, Any], context: RewardContext | None = None) -> RewardResult:
    """Reward one request through the compiled graph (synchronous)."""
    out = _shared_graph().invoke({"request": request}, context=context)
    return out["result"]


async def ascore(request: RewardRequest | dict[str, Any], context: RewardContext | None = None) -> RewardResult:
    """Reward one request through the compiled graph (async)."""
    out = await _shared_graph().ainvoke({"request": request}, context=context)
    return out["result"]
