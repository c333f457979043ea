"""A bounded pool of sandbox runs: many checkers in parallel, never blocking the event loop.

Each job is one checker over all its responses (one process). The bound is an asyncio semaphore
per event loop (LangGraph's synchronous API runs nodes on per-thread loops, and an asyncio
semaphore belongs to one loop).
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from .isolation import Limits
from .outcomes import BatchResult
from .process import execute_batch


@dataclass(frozen=True)
class Job:
    """One checker to run over a batch of responses."""

    code: str
    responses: Sequence[str]


class SandboxPool:
    """Runs jobs with at most `max_workers` sandbox processes alive per event loop."""

    def __init__(self, max_workers: int | None = None, limits: Limits | None = None) -> None:
        self.max_workers = max_workers or max(2, os.cpu_count() or 2)
        if self.max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self.limits = limits or Limits()
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            semaphore = self._semaphores.get(loop)
            if semaphore is None:
                semaphore = self._semaphores[loop] = asyncio.Semaphore(self.max_workers)
            return semaphore

    async def run(self, code: str, responses: Sequence[str], limits: Limits | None = None) -> BatchResult:
        """One checker over `responses`, in one process, when a slot is free."""
        async with self._semaphore():
            return await execute_batch(code, list(responses), limits=limits or self.limits)

    async def run_all(self, jobs: Sequence[Job], limits: Limits | None = None) -> list[BatchResult]:
        """Every job, in parallel up to the bound; results in job order."""
        return list(await asyncio.gather(*(self.run(job.code, job.responses, limits) for job in jobs)))


_DEFAULT: SandboxPool | None = None
_DEFAULT_LOCK = threading.Lock()


def default_pool() -> SandboxPool:
    """The process-wide pool (one slot per CPU, at least 2)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = SandboxPool()
        return _DEFAULT
