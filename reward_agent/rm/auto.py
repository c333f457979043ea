"""The backend registry and the one loader, `AutoRM.load`.

Backends are registered by name, lazily as "module:object" (importing torch or httpx only when a
backend that needs it is used). A backend entry is a factory `f(model, **options) -> RewardModel`;
options are checked against the factory's signature up front, with "did you mean" hints.
"""

from __future__ import annotations

import difflib
import inspect
import threading
from collections.abc import Callable
from typing import Any

from ..cache import Cache, canonical_json
from ..errors import ConfigError
from ..redaction import REVEAL
from ..registry import Registry
from .base import RewardModel
from .spec import RMSpec

__all__ = ["BACKENDS", "AutoRM", "bind_rm", "check_spec", "load_rm", "loaded_rm_caches", "register_backend"]

Factory = Callable[..., RewardModel]
BACKENDS: Registry[Factory] = Registry("reward-model backend")

BACKENDS.register("embedded", "reward_agent.rm.embedded:EmbeddedRM")
BACKENDS.register("transformers", "reward_agent.rm.hf:TransformersRM")
BACKENDS.register("http", "reward_agent.rm.http:HttpRM")
BACKENDS.register("vllm", "reward_agent.rm.vllm:load_vllm")
BACKENDS.register("generative", "reward_agent.rm.generative:GenerativeRM")
BACKENDS.register("custom", "reward_agent.rm.custom:load_custom")
BACKENDS.register("ensemble", "reward_agent.rm.ensemble:load_ensemble")
BACKENDS.register("prm", "reward_agent.rm.prm:load_prm")
BACKENDS.register("ray_serve", "reward_agent.rm.ray_serve:RayServeRM")


def register_backend(name: str, factory: Factory | str, *, replace: bool = False) -> None:
    """Make a backend loadable by name: a RewardModel subclass, a factory, or "module:object"."""
    BACKENDS.register(name, factory, replace=replace)


def _infer_backend(model: Any) -> str:
    if model is None or model == "embedded":
        return "embedded"
    if callable(model) and not isinstance(model, str):
        return "custom"
    if isinstance(model, str) and model.startswith(("http://", "https://")):
        return "http"
    return "transformers"


def _check_options(name: str, factory: Factory, model: Any, options: dict[str, Any]) -> None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return  # a builtin or C callable: let the call itself complain
    params = signature.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    known = [p for p, v in params.items() if v.kind in (v.KEYWORD_ONLY, v.POSITIONAL_OR_KEYWORD) and p not in ("self", "model")]
    unknown = sorted(set(options) - set(known))
    if unknown:
        hints = []
        for u in unknown:
            close = difflib.get_close_matches(u, known, n=1)
            hints.append(f"{u!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(
            f"the {name!r} backend got unknown option(s) {', '.join(hints)}; it takes: {', '.join(known) or '(none)'}"
        )


def _takes_model(factory: Factory) -> bool:
    """Whether the factory accepts a positional model argument (a RewardModel subclass may not)."""
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return True
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)


class AutoRM:
    """`AutoRM.load(model, backend=..., **options)`: one call for every kind of reward model."""

    @staticmethod
    def load(model: Any = None, backend: str | None = None, **options: Any) -> RewardModel:
        """Load a reward model.

        `model` is a model id or path (transformers, vllm), a URL (http), a callable or
        "module:function" (custom), or None for the embedded default. `backend` defaults to what
        `model` looks like. `options` go to the backend (see each backend's docstring).
        """
        name = backend or _infer_backend(model)
        factory = BACKENDS.get(name)
        _check_options(name, factory, model, options)
        if _takes_model(factory):
            rm = factory(model, **options)
        elif model is not None:
            raise ConfigError(f"the {name!r} backend takes no model argument; got model={model!r}")
        else:
            rm = factory(**options)
        if not isinstance(rm, RewardModel):
            raise ConfigError(f"backend {name!r} built a {type(rm).__name__}, not a RewardModel")
        return rm

    @staticmethod
    def from_spec(spec: RMSpec | dict[str, Any]) -> RewardModel:
        """Load from an `RMSpec` (the form configuration files use)."""
        spec = spec if isinstance(spec, RMSpec) else RMSpec.model_validate(spec)
        rm = AutoRM.load(spec.model or None, backend=spec.backend, **spec.options)
        if spec.cache:
            from .cached import CachedRM

            rm = CachedRM(rm, Cache(spec.cache_path) if spec.cache_path else Cache())
        return rm


def check_spec(spec: RMSpec) -> None:
    """Fail now, with "did you mean", on an unknown backend or option of `spec`; nothing is loaded.

    Importing a backend's module is cheap (each imports torch/httpx inside its functions), so
    a configuration is checked against the factory's real signature when it is read.
    """
    factory = BACKENDS.get(spec.backend)
    _check_options(spec.backend, factory, spec.model or None, dict(spec.options))


_LOADED: dict[str, RewardModel] = {}
_LOADED_LOCK = threading.Lock()


def _loaded_key(spec: RMSpec) -> str:
    # Real values: two specs differing only in a credential are two clients.
    return canonical_json(spec.model_dump(mode="json", context=REVEAL))


def load_rm(spec: RMSpec) -> RewardModel:
    """The reward model for `spec`, loaded once per process (models are expensive to load)."""
    key = _loaded_key(spec)
    with _LOADED_LOCK:
        rm = _LOADED.get(key)
        if rm is None:
            rm = AutoRM.from_spec(spec)
            _LOADED[key] = rm
        return rm


def loaded_rm_caches() -> list[Cache]:
    """The score caches of the reward models `load_rm` holds in this process, for hit/miss accounting.

    A model keeps its scores in a `Cache` when its spec asked for one (`CachedRM.cache`), or when a
    backend of its own exposes one as `cache`. Only models already loaded are looked at: this loads
    and imports nothing, so counting cache hits never pulls in a model.
    """
    with _LOADED_LOCK:
        models = list(_LOADED.values())
    caches = (getattr(rm, "cache", None) for rm in models)
    return [cache for cache in caches if isinstance(cache, Cache)]


def bind_rm(spec: RMSpec, rm: RewardModel) -> None:
    """From now on, `load_rm(spec)` in this process answers with `rm` (already built).

    For a process that must score `spec` somewhere else while everything that reads the
    configuration (plans, evidence, `/v1/config`) still sees `spec` itself: a Ray Serve app
    replica binds the context's RM spec to a `ray_serve` backend (`AutoRM.load(backend=
    "ray_serve", ...)`), whose scores come from the one batched RM deployment.
    """
    with _LOADED_LOCK:
        _LOADED[_loaded_key(spec)] = rm
