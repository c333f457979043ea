"""The compiled graph mounted with LangServe at `/reward`, so `langserve.RemoteRunnable` is a client.

Three things LangServe needs from us:
* input/output types it can turn into JSON Schema and validate: pydantic models wrapping
  RewardRequest/RewardResult (the graph's own TypedDict allows any dict as the request, which
  would let bad requests through validation and fail inside the graph as a 500);
* the server's RewardContext bound to every call (`graph.bind(context=...)`);
* a serializer that also knows LangGraph's `Send` (it appears in `stream_events`).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Depends, FastAPI, HTTPException, Request
from langchain_core.runnables import Runnable
from langgraph.types import Send
from langserve import add_routes
from langserve.serialization import WellKnownLCSerializer, default
from pydantic import BaseModel

from ..context import RewardContext
from ..types import RewardRequest, RewardResult
from .limits import LimitExceeded, check_batch_size, check_request_limits
from .settings import ServeSettings

PATH = "/reward"


class RewardGraphInput(BaseModel):
    """Input of `/reward/invoke`: `{"request": RewardRequest}`."""

    request: RewardRequest


class RewardGraphOutput(BaseModel):
    """Output of `/reward/invoke`: `{"result": RewardResult}`."""

    result: RewardResult


def _default(obj: Any) -> Any:
    if isinstance(obj, Send):
        return {"node": obj.node, "arg": obj.arg}
    return default(obj)


class GraphSerializer(WellKnownLCSerializer):
    """LangServe's serializer, plus LangGraph's `Send` (as `{"node", "arg"}`)."""

    def dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=_default)


def limits_modifier(settings: ServeSettings):
    """A LangServe `per_req_config_modifier` that applies the request limits (413) to /reward."""

    async def modify(config: dict[str, Any], request: Request) -> dict[str, Any]:
        body = await request.json()
        try:
            if isinstance(body, dict) and isinstance(body.get("inputs"), list):
                check_batch_size(len(body["inputs"]), settings, "inputs")
                for i, item in enumerate(body["inputs"]):
                    if isinstance(item, dict):
                        check_request_limits(item.get("request"), settings, f"inputs[{i}].request")
            elif isinstance(body, dict) and isinstance(body.get("input"), dict):
                check_request_limits(body["input"].get("request"), settings, "input.request")
        except LimitExceeded as exc:
            raise HTTPException(413, str(exc)) from None
        return config

    return modify


async def check_envelope(request: Request) -> None:
    """A FastAPI dependency on every /reward route: the LangServe envelope's own fields have the
    types LangServe assumes (422 otherwise), since it would raise a TypeError (a 500) on e.g.
    `"config": null`. The `input` itself is validated by LangServe against RewardGraphInput."""
    if request.method != "POST":
        return
    body = await request.json()
    if not isinstance(body, dict):
        raise HTTPException(422, f"expected a JSON object with `input`, got {type(body).__name__}")
    batch = request.url.path.endswith("/batch")
    config = body.get("config", {})
    configs = config if batch and isinstance(config, list) else [config]
    if not all(isinstance(c, dict) for c in configs):
        shape = "an object or a list of objects" if batch else "an object"
        raise HTTPException(422, f"`config` must be {shape}, got {type(config).__name__}")
    if "kwargs" in body and not isinstance(body["kwargs"], dict):
        raise HTTPException(422, f"`kwargs` must be an object, got {type(body['kwargs']).__name__}")


def mount_graph(app: FastAPI, graph: Runnable, context: RewardContext, settings: ServeSettings) -> None:
    """`add_routes` for the graph at `/reward` (invoke, batch, stream, stream_events, schemas, playground)."""
    add_routes(
        app,
        graph.bind(context=context),
        path=PATH,
        input_type=RewardGraphInput,
        output_type=RewardGraphOutput,
        per_req_config_modifier=limits_modifier(settings),
        serializer=GraphSerializer(),
        disabled_endpoints=["feedback", "public_trace_link"],
        dependencies=[Depends(check_envelope)],
    )
