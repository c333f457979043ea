"""The sandbox: the only place untrusted (model-written) code runs.

Layers, each enough on its own for the hostile programs in tests/security/:

1. `gate.inspect_source`: a static AST gate (import allow-list, no dunder access, no open/exec/...);
2. the child runner (`runner.py`): restricted builtins and importer, per-response timers;
3. the operating system (`isolation.py`): isolated interpreter, empty environment, private working
   directory, resource limits, process-group kill, output cap, and where the machine allows it a
   dropped uid and user/network/mount namespaces with a read-only filesystem.

    from reward_agent.sandbox import run_checker
    result = await run_checker("def check(response):\\n    return '?' in response\\n", ["why?", "no"])
    result.outcomes   # [Outcome('passed'), Outcome('failed')]
    result.layers     # the isolation layers actually applied
"""

from __future__ import annotations

from collections.abc import Sequence

from .gate import GateVerdict, inspect_source
from .isolation import Isolation, Limits, detect_isolation
from .outcomes import BatchResult, Outcome, Status
from .policy import ALLOWED_IMPORTS, POLICY_VERSION
from .pool import Job, SandboxPool, default_pool
from .process import execute_batch

__all__ = [
    "ALLOWED_IMPORTS",
    "POLICY_VERSION",
    "BatchResult",
    "GateVerdict",
    "Isolation",
    "Job",
    "Limits",
    "Outcome",
    "SandboxPool",
    "Status",
    "default_pool",
    "detect_isolation",
    "execute_batch",
    "inspect_source",
    "run_checker",
]


async def run_checker(code: str, responses: Sequence[str], limits: Limits | None = None) -> BatchResult:
    """Gate `code`, then run its `check` over all `responses` in one sandbox process (via the pool)."""
    return await default_pool().run(code, responses, limits)
