"""Clients of `reward-agent serve` (httpx): RewardClient (sync) and AsyncRewardClient.

    with RewardClient("http://127.0.0.1:8000", token="...") as client:
        result = client.score({"prompt": "...", "responses": ["...", "..."]})   # a RewardResult

A 4xx/5xx answer raises RewardServerError carrying the status and the server's message.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from ..errors import RewardAgentError
from ..types import RewardRequest, RewardResult, Signal

URL_ENV = "REWARD_AGENT_URL"


class RewardServerError(RewardAgentError):
    """The server refused or failed a request; `status` is the HTTP status, the message its detail."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def _payload(request: RewardRequest | dict[str, Any]) -> dict[str, Any]:
    if isinstance(request, RewardRequest):
        return request.model_dump(mode="json", exclude_none=True)
    return request


def _checked(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise RewardServerError(response.status_code, str(detail))
    return response.json()


def _headers(token: str | None) -> dict[str, str]:
    token = token if token is not None else os.environ.get("REWARD_AGENT_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def _batch_items(items: list[dict[str, Any]]) -> list[RewardResult | RewardServerError]:
    return [RewardResult.model_validate(item["result"]) if item["ok"]
            else RewardServerError(item["status"], item["error"]["message"]) for item in items]


class RewardClient:
    """Synchronous client. `base_url` defaults to $REWARD_AGENT_URL, `token` to $REWARD_AGENT_TOKEN."""

    def __init__(self, base_url: str | None = None, token: str | None = None, timeout: float = 300.0) -> None:
        base_url = base_url or os.environ.get(URL_ENV)
        if not base_url:
            raise RewardAgentError(f"no server URL: pass base_url or set ${URL_ENV}")
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=_headers(token), timeout=timeout)

    def score(self, request: RewardRequest | dict[str, Any]) -> RewardResult:
        return RewardResult.model_validate(_checked(self._http.post("/v1/score", json=_payload(request))))

    def score_batch(self, requests: list[RewardRequest | dict[str, Any]]) -> list[RewardResult | RewardServerError]:
        """One entry per request: its result, or the error the server reported for that item."""
        return _batch_items(_checked(self._http.post("/v1/score/batch", json=[_payload(r) for r in requests])))

    def verify(self, verifier: str, request: RewardRequest | dict[str, Any]) -> Signal:
        return Signal.model_validate(_checked(self._http.post(f"/v1/verify/{verifier}", json=_payload(request))))

    def get_reward(self, query: list[str], prompts: list[str], labels: list[Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"query": query, "prompts": prompts}
        if labels is not None:
            body["labels"] = labels
        return _checked(self._http.post("/get_reward", json=body))

    def health(self) -> dict[str, Any]:
        return _checked(self._http.get("/health"))

    def config(self) -> dict[str, Any]:
        return _checked(self._http.get("/v1/config"))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RewardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRewardClient:
    """Asynchronous client with the same methods as RewardClient, awaited."""

    def __init__(self, base_url: str | None = None, token: str | None = None, timeout: float = 300.0,
                 max_connections: int = 100) -> None:
        base_url = base_url or os.environ.get(URL_ENV)
        if not base_url:
            raise RewardAgentError(f"no server URL: pass base_url or set ${URL_ENV}")
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=_headers(token), timeout=timeout, limits=limits)

    async def score(self, request: RewardRequest | dict[str, Any]) -> RewardResult:
        return RewardResult.model_validate(_checked(await self._http.post("/v1/score", json=_payload(request))))

    async def score_batch(self, requests: list[RewardRequest | dict[str, Any]]) -> list[RewardResult | RewardServerError]:
        return _batch_items(_checked(await self._http.post("/v1/score/batch", json=[_payload(r) for r in requests])))

    async def verify(self, verifier: str, request: RewardRequest | dict[str, Any]) -> Signal:
        return Signal.model_validate(_checked(await self._http.post(f"/v1/verify/{verifier}", json=_payload(request))))

    async def health(self) -> dict[str, Any]:
        return _checked(await self._http.get("/health"))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncRewardClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
