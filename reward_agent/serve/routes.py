"""The REST routes: /v1/score, /v1/score/batch, /get_reward, /v1/verify/{id}, /health, /ready, /v1/config.

Bodies are read as JSON (the guard has already checked size, UTF-8 and syntax) and validated
here, so every problem with a request is a 4xx that names the field: 413 for limits, 422 for
wrong types or values. Errors of one item of a batch are reported for that item only.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from .. import __name__ as _package
from ..errors import ConfigError, ModelCallError, RewardAgentError
from ..redaction import redact, redact_text
from ..types import RewardRequest
from ..verifiers.base import VERIFIERS
from ..verifiers.policy import run_verifier
from . import openrlhf
from .guard import token_matches
from .limits import LimitExceeded, check_batch_size, check_request_limits, describe_validation_error
from .state import ServeState, get_state

router = APIRouter()

# Verifiers the design names; asking for one that is not registered is 501, not 404.
PLANNED_VERIFIERS = ("constraints", "factuality", "preference")


def parse_request(raw: Any, state: ServeState, where: str = "request") -> RewardRequest:
    """Limits (413), then validation (422), of one raw reward request."""
    if not isinstance(raw, dict):
        raise HTTPException(422, f"{where}: expected a JSON object, got {type(raw).__name__}")
    try:
        check_request_limits(raw, state.settings, where)
    except LimitExceeded as exc:
        raise HTTPException(413, str(exc)) from None
    try:
        return RewardRequest.model_validate(raw)
    except ValidationError as exc:
        raise HTTPException(422, f"invalid {where}: {describe_validation_error(exc)}") from None


def error_status(exc: BaseException) -> int:
    """HTTP status for an error raised while scoring a valid-looking request."""
    if isinstance(exc, (ConfigError, ValidationError, ValueError)):
        return 422
    if isinstance(exc, ModelCallError):
        return 502
    return 500


def error_body(exc: BaseException) -> dict[str, str]:
    message = describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
    return {"type": type(exc).__name__, "message": redact_text(message)}


async def _score_or_http(state: ServeState, request: RewardRequest) -> dict[str, Any]:
    try:
        result = await state.score(request)
    except (RewardAgentError, ValidationError, ValueError) as exc:
        raise HTTPException(error_status(exc), error_body(exc)["message"]) from None
    return result.model_dump(mode="json")


@router.post("/v1/score", summary="Reward one request (RewardRequest -> RewardResult)")
async def score(request: Request) -> dict[str, Any]:
    state = get_state(request)
    return await _score_or_http(state, parse_request(await request.json(), state))


@router.post("/v1/score/batch", summary="Reward a list of requests; errors are reported per item")
async def score_batch(request: Request) -> list[dict[str, Any]]:
    """Body: a list of RewardRequest (or `{"requests": [...]}`). Answer: one item per request,
    `{"ok": true, "result": RewardResult}` or `{"ok": false, "status": 4xx, "error": {...}}`."""
    state = get_state(request)
    body = await request.json()
    items = body.get("requests") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise HTTPException(422, "expected a JSON list of requests (or {\"requests\": [...]})")
    try:
        check_batch_size(len(items), state.settings, "batch")
    except LimitExceeded as exc:
        raise HTTPException(413, str(exc)) from None

    async def one(i: int, raw: Any) -> dict[str, Any]:
        try:
            parsed = parse_request(raw, state, f"requests[{i}]")
            return {"ok": True, "result": (await state.score(parsed)).model_dump(mode="json")}
        except HTTPException as exc:
            return {"ok": False, "status": exc.status_code, "error": {"type": "BadRequest", "message": exc.detail}}
        except Exception as exc:  # one item's failure is that item's answer, never the batch's
            return {"ok": False, "status": error_status(exc), "error": error_body(exc)}

    return list(await asyncio.gather(*(one(i, raw) for i, raw in enumerate(items))))


@router.post("/get_reward", summary="OpenRLHF remote reward-model protocol (token also as /get_reward/<token> or ?token=)")
async def get_reward(request: Request) -> dict[str, Any]:
    state = get_state(request)
    raw = await request.json()
    try:
        body = openrlhf.GetRewardRequest.model_validate(raw)
    except ValidationError as exc:
        raise HTTPException(422, f"invalid get_reward body: {describe_validation_error(exc)}") from None
    try:
        check_batch_size(len(body.query), state.settings, "query")
        for i, query in enumerate(body.query):
            if len(query) > state.settings.max_response_chars * 2:
                raise LimitExceeded(f"query[{i}] has {len(query)} characters; the limit is {state.settings.max_response_chars * 2}")
        grouped = openrlhf.group_queries(body, max_responses=state.settings.max_responses)
    except LimitExceeded as exc:
        raise HTTPException(413, str(exc)) from None
    except (ValidationError, ValueError, RecursionError) as exc:  # RecursionError: a label's JSON text nested too deep
        message = "nested too deeply" if isinstance(exc, RecursionError) else redact_text(str(exc))
        raise HTTPException(422, f"invalid get_reward labels: {message}") from None
    results = await asyncio.gather(*(state.score(g.request) for g in grouped.groups), return_exceptions=True)
    fill = state.settings.missing_reward if body.missing_reward is None else body.missing_reward
    return openrlhf.assemble(len(body.query), grouped, list(results), fill)


@router.post("/v1/verify/{verifier_id}", summary="One verifier's Signal on its own (no planner, no judger)")
async def verify(verifier_id: str, request: Request) -> dict[str, Any]:
    """The registry is read per request, so a verifier registered later is served at once."""
    state = get_state(request)
    if verifier_id not in VERIFIERS:
        registered = ", ".join(VERIFIERS) or "(none)"
        if verifier_id in PLANNED_VERIFIERS:
            raise HTTPException(501, f"not available: no {verifier_id} verifier registered (registered: {registered})")
        raise HTTPException(404, str(VERIFIERS.unknown(verifier_id)))
    if verifier_id in state.context.disable:
        raise HTTPException(403, f"verifier {verifier_id!r} is disabled in this server's configuration")
    parsed = parse_request(await request.json(), state)
    spec = VERIFIERS.get(verifier_id)
    try:  # the graph's policy: a timeout or an error is a failed Signal (data), not an HTTP error
        signal = await run_verifier(spec, parsed, state.context, propagate=(ValidationError, ConfigError))
    except (ValidationError, ConfigError) as exc:  # the request or the configuration is wrong
        raise HTTPException(422, error_body(exc)["message"]) from None
    return signal.model_dump(mode="json")


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: graph built and verifiers/models warmed up")
async def ready(request: Request) -> JSONResponse:
    """Open to all (probes send no token); the detail (errors, per-verifier status) only with the
    token when one is set, since warm-up errors describe the configuration."""
    state = get_state(request)
    readiness = state.readiness
    token = state.settings.token
    body = readiness.as_dict() if token is None or token_matches(request.scope, token) else readiness.summary()
    return JSONResponse(body, status_code=200 if readiness.ready else 503)


@router.get("/v1/config", summary="What this server runs: context, verifiers, limits")
async def config(request: Request) -> dict[str, Any]:
    state = get_state(request)
    # Typed secrets dump masked; redact() also masks secret-named keys and URL credentials anywhere.
    context = redact(state.context.model_dump(mode="json"))
    verifiers = []
    for vid in VERIFIERS:
        spec = VERIFIERS.get(vid)
        verifiers.append({"id": vid, "description": spec.description, "weight": state.context.weight_of(vid, spec.default_weight),
                          "hard": spec.hard, "enabled": vid not in state.context.disable})
    return {"package": _package, "context": context, "verifiers": verifiers, "limits": state.settings.public(),
            "readiness": state.readiness.as_dict()}
