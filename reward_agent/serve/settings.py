"""ServeSettings: the limits and switches of the HTTP service (not of the reward graph)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..errors import ConfigError
from ..redaction import remember

TOKEN_ENV = "REWARD_AGENT_TOKEN"


@dataclass(frozen=True)
class ServeSettings:
    """Service limits. Every limit is enforced before any reward work starts, with a 4xx that names it."""

    token: str | None = field(default=None, repr=False, metadata={"help": f"Bearer token required on every route except /health and /ready (env {TOKEN_ENV})."})
    max_body_bytes: int = field(default=8 * 1024 * 1024, metadata={"help": "Largest request body accepted (413 above)."})
    max_json_depth: int = field(default=64, metadata={"help": "Deepest JSON nesting accepted, counted on the raw body before parsing (400 above)."})
    max_responses: int = field(default=256, metadata={"help": "Most responses in one request (413 above)."})
    max_response_chars: int = field(default=100_000, metadata={"help": "Most characters in one response or prompt (413 above)."})
    max_batch_items: int = field(default=1024, metadata={"help": "Most requests in one /v1/score/batch or queries in /get_reward."})
    request_timeout_s: float = field(default=300.0, metadata={"help": "Wall-clock limit of a non-streaming request (504 past it)."})
    header_timeout_s: float = field(default=10.0, metadata={"help": "A connection must deliver a request's whole header within this (closed otherwise)."})
    body_timeout_s: float = field(default=60.0, metadata={"help": "A request's whole body must arrive within this after its header (408 otherwise)."})
    missing_reward: float = field(default=0.0, metadata={"help": "/get_reward: number sent where no verifier had evidence (masked by extra_logs.reward_missing)."})
    warmup: bool = field(default=True, metadata={"help": "Run one warm-up request at startup; /ready says 503 until it finished."})

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in {"max_body_bytes", "max_json_depth", "max_responses", "max_response_chars", "max_batch_items"} and value < 1:
                raise ConfigError(f"{f.name} must be >= 1, got {value}")
            if f.name.endswith("_timeout_s") and value <= 0:
                raise ConfigError(f"{f.name} must be > 0, got {value}")
        if self.token is not None:
            remember([self.token])  # scrubbed from every response body and log line

    @classmethod
    def from_env(cls, **overrides: Any) -> ServeSettings:
        """Defaults, then `REWARD_AGENT_TOKEN`, then explicit `overrides` (None values ignored)."""
        settings = cls(token=os.environ.get(TOKEN_ENV) or None)
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    def public(self) -> dict[str, Any]:
        """The settings as `/v1/config` shows them (the token only as whether one is set)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "token"}
        out["auth"] = self.token is not None
        return out
