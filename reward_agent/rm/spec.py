"""`RMSpec`: which reward model the preference verifier uses, as configuration (JSON/YAML-able).

Kept free of heavy imports: `reward_agent.context` imports it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .normalise import Normalisation

__all__ = ["RMSpec"]


class RMSpec(BaseModel):
    """A reward model as settings: backend name, model id/path/URL, backend options, normalisation.

    Examples (YAML):
        rm: {backend: embedded}
        rm: {backend: transformers, model: Skywork/Skywork-Reward-Llama-3.1-8B-v0.2,
             options: {device: cuda, dtype: bfloat16, batch_size: 16}}
        rm: {backend: http, model: "http://127.0.0.1:5000/get_reward", options: {timeout_s: 30}}
        rm: {backend: generative, options: {judge: {provider: openai, base_url: ..., model: ...}}}
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: str = Field(default="embedded", description="Backend id: embedded, transformers, http, vllm, generative, custom, ensemble, prm.")
    model: str = Field(default="", description="Model id or path, URL, or 'module:function' (custom).")
    options: dict[str, Any] = Field(default_factory=dict, description="Backend options (batch_size, device, ...).")
    normalisation: Normalisation | None = Field(
        default=None, description="How raw scores become [0, 1]; default: the backend's own calibration."
    )
    cache: bool = Field(default=False, description="Cache scores in the SQLite cache (content-addressed).")
    cache_path: str | None = Field(default=None, description="Cache file; default: the shared cache.")
