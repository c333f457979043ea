"""The `custom` backend: any Python callable or RewardModel subclass users bring.

A callable takes TRL's reward-function signature, which RL users already have:

    def my_rm(prompts: list[str], completions: list[str], **kwargs) -> list[float]: ...

`kwargs` holds `chats` (each prompt as a list of role/content dicts). Register it by name
(`register_backend`) or pass it directly: `AutoRM.load(my_rm)`, or in configuration as
`{backend: custom, model: "my_pkg.rewards:my_rm"}`. A subclass of `RewardModel` (or a factory
returning one) is used as it is.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ConfigError
from ..registry import import_target
from .base import RawScores, RewardModel, RMError, RMItem
from .normalise import Normalisation

__all__ = ["CallableRM", "load_custom"]


class CallableRM(RewardModel):
    """Wraps `fn(prompts, completions, **kwargs) -> list[float]` as a RewardModel."""

    backend = "custom"

    def __init__(self, fn: Callable[..., Sequence[float]], *, name: str | None = None,
                 normalisation: Normalisation | None = None, **fn_kwargs: Any) -> None:
        if not callable(fn):
            raise ConfigError(f"custom reward model must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.name = name or f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"
        self.fn_kwargs = fn_kwargs
        if normalisation is not None:
            self.default_normalisation = normalisation

    def identity(self) -> dict[str, Any]:
        # Keyed by name: caching a custom function assumes the name pins down its behaviour.
        return {**super().identity(), "name": self.name}

    def _score_raw(self, items: list[RMItem]) -> RawScores:
        try:
            values = self.fn([it.prompt_text() for it in items], [it.response for it in items],
                             chats=[it.messages(with_response=False) for it in items], **self.fn_kwargs)
        except RMError:
            raise
        except Exception as exc:  # user code: any failure is a failed batch, reported with its cause
            raise RMError(f"custom reward function {self.name} raised {type(exc).__name__}: {exc}") from exc
        try:
            raw = [float(v) for v in values]
        except (TypeError, ValueError) as exc:
            raise RMError(f"custom reward function {self.name} must return numbers: {exc}") from exc
        return RawScores(raw=raw, details={"function": self.name})


def load_custom(model: Any = None, **options: Any) -> RewardModel:
    """`model`: a callable, a RewardModel, a RewardModel subclass, or "module:object" naming one."""
    target = import_target(model) if isinstance(model, str) else model
    if target is None:
        raise ConfigError("the custom backend needs model= (a callable, a RewardModel or 'module:object')")
    if isinstance(target, RewardModel):
        if options:
            raise ConfigError(f"options {sorted(options)} cannot be applied to an already built RewardModel")
        return target
    if inspect.isclass(target) and issubclass(target, RewardModel):
        return target(**options)
    if callable(target):
        return CallableRM(target, **options)
    raise ConfigError(f"custom reward model {model!r} is a {type(target).__name__}, not a callable or RewardModel")
