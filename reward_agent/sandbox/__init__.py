"""The sandbox: the only place untrusted (model-written) code runs.

Layers, each enough on its own for the hostile programs in tests/security/:

1. `gate.inspect_source`: a static AST gate (import allow-list, attribute allow-list, no dunder
   access, no open/exec/..., `getattr` only called directly with a constant allowed name);
2. the child runner (`runner.py`): a supervisor that never runs checker code forks one check
   process per response, with restricted builtins and importer and the same attribute allow-list
   in `getattr`; the check process's only way out is its own report pipe, read by the supervisor
   under the response's deadline, so no checker can write another response's verdict or turn a
   timeout into one (why this design: the runner's docstring);
3. the operating system (`isolation.py`): isolated interpreter, empty environment, private working
   directory, resource limits, process-group kill, output cap, and where the machine allows it a
   dropped uid and user/network/mount/IPC namespaces with a read-only filesystem.

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
    """Gate `code`, then run its `check` over all `responses` in one sandbox (via the pool): one
    outcome per response, `passed`/`failed` only when `check` returned a bool within the deadline.
    Any str travels, lone surrogates included."""
    return await default_pool().run(code, responses, limits)
