"""`RayServeOptions`: how `serve --ray` lays the service out on Ray (no Ray import: checked before Ray starts)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["RayServeOptions"]


@dataclass(frozen=True)
class RayServeOptions:
    """How `serve --ray` lays the service out on Ray.

    address: an existing cluster (`ray start --head` prints it); None reads `$RAY_ADDRESS`, and
        without it a local Ray is started for the run with just the CPUs the replicas reserve.
    replicas / cpus_per_replica: app replicas (each runs the graph; no model weights) and their CPUs.
    rm_replicas / rm_cpus / rm_gpus: the RM deployment's replicas, each holding the model once.
    max_batch_size: most calls (requests) the RM deployment scores in one model call; 1 = no batching.
    batch_wait_timeout_s: how long a batch waits for more calls once its first one arrived.
    max_ongoing_requests: requests one app replica works on at the same time (the graph is async).
    """

    address: str | None = None
    replicas: int = 1
    cpus_per_replica: float = 1.0
    rm_replicas: int = 1
    rm_cpus: float = 1.0
    rm_gpus: float = 0.0
    max_batch_size: int = 64
    batch_wait_timeout_s: float = 0.01
    max_ongoing_requests: int = 256
    app_name: str = "reward-agent"

    def __post_init__(self) -> None:
        for name in ("replicas", "rm_replicas", "max_batch_size", "max_ongoing_requests"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.removesuffix('_s').replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        for name in ("cpus_per_replica", "rm_cpus", "rm_gpus", "batch_wait_timeout_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.removesuffix('_s').replace('_', '-')} must be >= 0, got {getattr(self, name)}")

    def cpus_needed(self, with_rm: bool = True) -> int:
        """CPUs the replicas reserve (what a local Ray is started with; at least 2)."""
        rm = self.rm_replicas * self.rm_cpus if with_rm else 0.0
        return max(2, math.ceil(self.replicas * self.cpus_per_replica + rm))
