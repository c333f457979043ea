"""`RMSpec`: which reward model the preference verifier uses, as configuration (JSON/YAML-able).

Kept free of heavy imports: `reward_agent.context` imports it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, FieldSerializationInfo, field_serializer, model_validator

from ..redaction import collect_secrets, redact, redact_url, remember

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

    @model_validator(mode="after")
    def _remember_secrets(self) -> RMSpec:
        """Options may hold credentials (headers, a judge's api_key, a URL with user:password@):
        they stay as given here, for the backend to send, and are masked in every dump."""
        remember(collect_secrets(self.options) + collect_secrets(self.model))
        return self

    def __repr_args__(self) -> Any:  # repr/str show what dumps show
        for name, value in super().__repr_args__():
            yield name, redact(value) if name == "options" else redact_url(value) if name == "model" else value

    # JSON dumps (what leaves the process: /v1/config, run configs) are masked; Python dumps
    # round-trip (`RMSpec(**spec.model_dump())`); `context=redaction.REVEAL` unmasks JSON.
    @field_serializer("model")
    def _mask_model(self, model: str, info: FieldSerializationInfo) -> str:
        return model if not info.mode_is_json() or (info.context or {}).get("reveal_secrets") else redact_url(model)

    @field_serializer("options")
    def _mask_options(self, options: dict[str, Any], info: FieldSerializationInfo) -> dict[str, Any]:
        return options if not info.mode_is_json() or (info.context or {}).get("reveal_secrets") else redact(options)
