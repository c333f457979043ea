"""Typed outcomes of sandboxed checks: one per response, and the batch around them.

`passed` and `failed` are verdicts. `error`, `timeout` and `rejected` are not: a caller must treat
them as missing evidence, never as a pass and never silently as a fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["passed", "failed", "error", "timeout", "rejected"]
VERDICTS: frozenset[str] = frozenset({"passed", "failed"})


@dataclass(frozen=True)
class Outcome:
    """What one check of one response came to. `message` says why for non-verdicts."""

    status: Status
    message: str | None = None

    @property
    def verdict(self) -> bool | None:
        """True/False for passed/failed; None (missing evidence) for everything else."""
        return {"passed": True, "failed": False}.get(self.status)

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status, **({"message": self.message} if self.message else {})}


@dataclass(frozen=True)
class BatchResult:
    """One checker over a batch of responses in one sandbox process."""

    outcomes: list[Outcome]
    layers: tuple[str, ...] = ()
    wall_s: float = 0.0
    exit: str | None = None  # "exit 0", "killed: wall-clock limit", "signal SIGKILL", ...
    problems: tuple[str, ...] = field(default=())

    @property
    def verdicts(self) -> list[bool | None]:
        return [o.verdict for o in self.outcomes]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for outcome in self.outcomes:
            out[outcome.status] = out.get(outcome.status, 0) + 1
        return out


def rejected_batch(reason: str, n: int, layers: tuple[str, ...] = ()) -> BatchResult:
    """Every response `rejected` by the gate, with its reason; nothing ran."""
    return BatchResult([Outcome("rejected", reason)] * n, layers=("static_gate", *layers), exit="not started")
