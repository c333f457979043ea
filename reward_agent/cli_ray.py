"""The `--ray` options shared by `bench`, `best-of-n` and `annotate` (see `reward_agent.batch.ray_pool`)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from .errors import ConfigError

__all__ = ["CpusOpt", "GpusOpt", "RayAddressOpt", "RayOpt", "WorkersOpt", "ray_serve_options", "ray_settings"]

RayOpt = Annotated[bool, typer.Option("--ray", help="Score on a pool of Ray actors (same rows as without).")]
RayAddressOpt = Annotated[Optional[str], typer.Option(
    "--ray-address", help="Ray cluster address; default $RAY_ADDRESS, else a local Ray started for the run.")]
WorkersOpt = Annotated[int, typer.Option("--workers", help="--ray: actors, each loading the models once.")]
CpusOpt = Annotated[float, typer.Option("--cpus-per-worker", help="--ray: CPUs each actor reserves.")]
GpusOpt = Annotated[float, typer.Option("--gpus-per-worker", help="--ray: GPUs each actor reserves.")]


def ray_settings(ray: bool, address: str | None, workers: int, cpus: float, gpus: float, concurrency: int) -> Any:
    """The RaySettings of `--ray ...` (None without --ray); --concurrency is spread over the workers."""
    if not ray:
        if address is not None:
            raise ConfigError("--ray-address needs --ray")
        return None
    from .batch.ray_pool import RaySettings

    return RaySettings(address=address, workers=workers, cpus_per_worker=cpus, gpus_per_worker=gpus,
                       concurrency_per_worker=max(1, -(-concurrency // max(workers, 1))))


def ray_serve_options(ray: bool, address: str | None = None, **given: Any) -> Any:
    """The RayServeOptions of `serve --ray ...` (None without --ray); options left unset keep their
    defaults. A Ray option without --ray is an error rather than silently ignored."""
    given = {k: v for k, v in given.items() if v is not None}
    if not ray:
        if address is not None or given:
            named = ["--ray-address"] * (address is not None) + [f"--{k.removesuffix('_s').replace('_', '-')}" for k in given]
            raise ConfigError(f"{', '.join(named)} need(s) --ray")
        return None
    # A dataclass free of Ray imports, so the options are checked before Ray starts.
    from .serve.ray_options import RayServeOptions

    return RayServeOptions(address=address, **given)
