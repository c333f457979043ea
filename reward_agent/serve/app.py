"""create_app(): the one FastAPI app of `reward-agent serve`.

    /reward/*            LangServe routes of the compiled graph (RemoteRunnable works against them)
    /v1/score[/batch]    RewardRequest -> RewardResult
    /get_reward          OpenRLHF remote reward-model protocol
    /v1/verify/{id}      one verifier's Signal (constraints, factuality, preference, ...)
    /health /ready       liveness, readiness (warm-up done)
    /v1/config           context, verifiers and limits

Every route sits behind GuardMiddleware (auth, body size/depth/UTF-8/JSON checks, timeouts,
secret scrubbing of response bodies); log records are redacted process-wide.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from ..context import RewardContext, default_context
from ..redaction import install_log_redaction, redact_text
from .guard import GuardMiddleware
from .langserve_routes import mount_graph
from .limits import describe_validation_error
from .routes import router
from .settings import ServeSettings
from .state import ServeState


def create_app(
    context: RewardContext | None = None,
    settings: ServeSettings | None = None,
    graph: Any = None,
    *,
    warm_up_before_serving: bool = False,
) -> FastAPI:
    """The reward service for `context` (default: environment/defaults) under `settings`.

    `warm_up_before_serving`: the lifespan startup awaits the warm-up instead of running it in the
    background, so the app takes no request before it is warm. Ray Serve runs the startup before a
    replica gets traffic; uvicorn alone keeps the default (answer `/health` at once, `/ready` 503).
    """
    from .. import build_graph

    install_log_redaction()
    state = ServeState(
        graph=graph if graph is not None else build_graph(),
        context=context if context is not None else default_context(),
        settings=settings if settings is not None else ServeSettings.from_env(),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state.settings.warmup and warm_up_before_serving:
            await state.warm_up()
            yield
            return
        task = asyncio.create_task(state.warm_up()) if state.settings.warmup else None
        if task is None:
            state.mark_ready_without_warmup()
        yield
        if task is not None and not task.done():
            task.cancel()

    app = FastAPI(title="reward-agent", summary="Rewards with evidence, as a service.", lifespan=lifespan)
    app.state.reward = state
    app.add_middleware(GuardMiddleware, settings=state.settings)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ValidationError, _model_validation_error)
    app.add_exception_handler(Exception, _server_fault)
    app.include_router(router)
    mount_graph(app, state.graph, state.context, state.settings)
    return app


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own 422s (LangServe's bodies), with the field path in a one-line message too."""
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return JSONResponse({"detail": f"invalid request: {problems}", "errors": _jsonable(exc.errors())}, status_code=422)


async def _model_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A pydantic ValidationError that reached the app: LangServe validates `/reward/batch` inputs
    inside its handler and lets it escape. Every model the routes build is built from the
    request, so this is the caller's error (422), not the server's."""
    assert isinstance(exc, ValidationError)
    return JSONResponse({"detail": redact_text(f"invalid request: {describe_validation_error(exc)}")}, status_code=422)


async def _server_fault(request: Request, exc: Exception) -> JSONResponse:
    """A fault of the server (not of the request): 500, with the error named rather than hidden."""
    return JSONResponse({"detail": redact_text(f"server error: {type(exc).__name__}: {exc}")}, status_code=500)


def _jsonable(errors: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(errors, custom_encoder={Exception: str})
