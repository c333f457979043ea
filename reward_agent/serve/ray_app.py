"""`reward-agent serve --ray`: the same FastAPI app on Ray Serve, with the RM as a batched deployment.

    Serve proxy (host:port) --> RewardService x replicas   (create_app(): every route, auth, limits, guard)
                                   |  preference verifier: load_rm(context.rm) is bound to a
                                   |  `ray_serve` backend (rm/ray_serve.py), i.e. a deployment handle
                                   v
                                RewardModel x rm_replicas  (@serve.batch: the pairs of many concurrent
                                                            calls scored in one model call)

Each app replica runs the app `reward-agent serve` runs, built in the replica from the same context and
settings; only where the preference scores are computed changes. `bind_rm` makes `load_rm(context.rm)`
answer with the handle-backed model, so plans, evidence and `/v1/config` read the configured RM spec as
without Ray. The one extra route, `GET /v1/rm/batching`, shows the batch sizes the RM deployment reached
(behind the same auth as every other route).

Import this module only on the Ray path: it imports Ray at the top.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator
from typing import Any

from ray import serve

from ..context import RewardContext
from ..errors import ConfigError, RewardAgentError
from ..rm.base import RawScores, RMItem
from ..rm.ray_serve import BatchScorer, ScoreFailure
from ..rm.spec import RMSpec
from .ray_options import RayServeOptions
from .settings import ServeSettings

__all__ = ["RayServeOptions", "RewardModelDeployment", "RewardService", "application", "build_app", "deploy", "ray_served",
           "run_ray_serve"]

RM_DEPLOYMENT = "RewardModel"
APP_DEPLOYMENT = "RewardService"
CONCURRENT_BATCHES = 8  # Serve batches in flight at the RM replica (queued in BatchScorer, merged)


class DeployFailed(RewardAgentError):
    """Ray Serve could not bring the application up (a replica failed to start, e.g. the RM did not load)."""


@serve.deployment(name=RM_DEPLOYMENT)
class RewardModelDeployment:
    """The context's reward model, loaded once per replica, scoring concurrent calls in batches."""

    def __init__(self, spec: RMSpec, max_batch_size: int, batch_wait_timeout_s: float) -> None:
        from ..rm.auto import load_rm

        self._scorer = BatchScorer(load_rm(spec), max_calls=max_batch_size)
        self.score.set_max_batch_size(max_batch_size)
        self.score.set_batch_wait_timeout_s(batch_wait_timeout_s)

    def describe(self) -> dict[str, Any]:
        return self._scorer.describe()

    # Sizes are reset per deployment in __init__. Serve's batches may overlap (it forms the next while
    # one is scored): BatchScorer queues them and merges what queued while the model was busy.
    @serve.batch(max_batch_size=64, batch_wait_timeout_s=0.01, max_concurrent_batches=CONCURRENT_BATCHES)
    async def score(self, calls: list[list[RMItem]]) -> list[RawScores | ScoreFailure]:
        return await self._scorer.score_calls(calls)

    def stats(self) -> dict[str, Any]:
        """Batch sizes reached so far (see `BatchStats.as_dict`)."""
        return self._scorer.stats.as_dict()

    def reset_stats(self) -> dict[str, Any]:
        return self._scorer.reset_stats()


@serve.deployment(name=APP_DEPLOYMENT)
@serve.ingress()
class RewardService:
    """One app replica: `create_app(context, settings)`, its preference RM bound to the RM deployment."""

    async def __init__(self, rm: Any, context: RewardContext, settings: ServeSettings) -> None:
        from ..rm.auto import AutoRM, bind_rm
        from .app import create_app

        if rm is not None:
            # Asks the deployment for the model's identity: a blocking call, so off the event loop.
            served = await asyncio.to_thread(AutoRM.load, backend="ray_serve", handle=rm)
            bind_rm(context.rm, served)
        self._app = create_app(context, settings, warm_up_before_serving=True)
        self._app.add_api_route("/v1/rm/batching", _batching_route(rm), methods=["GET"],
                                summary="Batch sizes the Ray Serve RM deployment reached (serve --ray only)")

    def __serve_build_asgi_app__(self) -> Any:
        return self._app


def _batching_route(rm: Any) -> Any:
    async def batching() -> dict[str, Any]:
        if rm is None:
            return {"rm_deployment": None, "reason": "the preference verifier is disabled"}
        return {"rm_deployment": RM_DEPLOYMENT, **(await rm.stats.remote())}

    return batching


def application(context: RewardContext, settings: ServeSettings, options: RayServeOptions) -> Any:
    """The Serve application (RM deployment bound into the app deployment), not yet running."""
    rm = None
    if "preference" not in context.disable:
        rm = RewardModelDeployment.options(
            num_replicas=options.rm_replicas,
            ray_actor_options={"num_cpus": options.rm_cpus, "num_gpus": options.rm_gpus},
            # A batch can only fill with calls the replica has accepted.
            max_ongoing_requests=max(CONCURRENT_BATCHES * options.max_batch_size, options.max_ongoing_requests),
        ).bind(context.rm, options.max_batch_size, options.batch_wait_timeout_s)
    return RewardService.options(
        num_replicas=options.replicas,
        ray_actor_options={"num_cpus": options.cpus_per_replica},
        max_ongoing_requests=options.max_ongoing_requests,
    ).bind(rm, context, settings)


def build_app(args: dict[str, str]) -> Any:
    """An application builder for Serve config files and `serve run` (what a KubeRay RayService points at):

        serve run reward_agent.serve.ray_app:build_app replicas=2 max_batch_size=64 config=ctx.yaml

    Arguments: `config` (context YAML/JSON), `profile`, and any `RayServeOptions` field except
    `address`; the token comes from $REWARD_AGENT_TOKEN. Host and port are the Serve config's.
    """
    from dataclasses import fields
    from pathlib import Path

    from ..context import load_context

    given = dict(args)
    config, profile = given.pop("config", None), given.pop("profile", None)
    types = {f.name: f.type for f in fields(RayServeOptions) if f.name != "address"}
    unknown = sorted(set(given) - set(types))
    if unknown:
        raise ConfigError(f"unknown build_app argument(s) {unknown}; known: config, profile, {', '.join(types)}")
    convert = {"int": int, "float": float, "str": str}
    options = RayServeOptions(**{k: convert[str(types[k])](v) for k, v in given.items()})
    context = load_context(Path(config) if config else None, profile=profile)
    return application(context, ServeSettings.from_env(), options)


def deploy(context: RewardContext, settings: ServeSettings, options: RayServeOptions,
           host: str = "127.0.0.1", port: int = 8000) -> Any:
    """Start Serve's HTTP proxy on host:port (if Serve is not running yet) and deploy the application.

    Returns the ingress handle once every replica is up (the RM loaded, each app replica warmed up).
    """
    serve.start(http_options={"host": host, "port": port})
    try:
        return serve.run(application(context, settings, options), name=options.app_name, route_prefix="/")
    except RuntimeError as exc:
        raise DeployFailed(f"Ray Serve could not deploy {options.app_name!r}: {_last_line(str(exc))}") from exc


def _last_line(text: str) -> str:
    """The exception line at the end of a traceback Serve puts into its error message."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text


@contextlib.contextmanager
def ray_served(context: RewardContext, settings: ServeSettings, options: RayServeOptions,
               host: str = "127.0.0.1", port: int = 8000) -> Iterator[str]:
    """Connect to Ray (or start a local one), deploy, yield the base URL; delete the app at the end.

    A Ray already initialised in this process (a test's, a notebook's) is used as it is.
    """
    from ..batch.ray_pool import RaySettings, ray_session

    # The batch runner's connection: $RAY_ADDRESS, runtime env (PYTHONPATH, offline flags) for the replicas.
    connection = RaySettings(address=options.address, workers=1, cpus_per_worker=0.0,
                             local_cpus=options.cpus_needed("preference" not in context.disable))
    with ray_session(connection):
        try:
            deploy(context, settings, options, host, port)
            yield f"http://{host}:{port}"
        finally:
            with contextlib.suppress(Exception):
                serve.delete(options.app_name)


def run_ray_serve(context: RewardContext, settings: ServeSettings, options: RayServeOptions,
                  host: str = "127.0.0.1", port: int = 8000, announce: Any = print) -> None:
    """What `reward-agent serve --ray` runs: deploy, then keep the driver alive until interrupted
    (Ctrl-C, or SIGTERM as systemd and Kubernetes send it); then the app is deleted and a local Ray
    shut down, rather than left running without its driver."""

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with ray_served(context, settings, options, host, port) as url:
            announce(f"reward-agent on Ray Serve at {url} ({options.replicas} app replica(s), RM deployment "
                     f"max_batch_size={options.max_batch_size}); Ctrl-C stops it")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(1.0)
    finally:
        signal.signal(signal.SIGTERM, previous)
