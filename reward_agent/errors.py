"""Typed errors. Library code raises these; only the CLI and the server turn them into messages."""

from __future__ import annotations


class RewardAgentError(Exception):
    """Base class of every error reward-agent raises on purpose."""


class ConfigError(RewardAgentError):
    """A setting is missing or wrong. The message says what was passed and how to fix it."""


class UnknownIdError(ConfigError, KeyError):
    """An id (verifier, checker, judger, model role, prompt) is not registered."""

    def __init__(self, kind: str, name: str, known: list[str], suggestions: list[str]) -> None:
        self.kind, self.name, self.known, self.suggestions = kind, name, known, suggestions
        hint = f" Did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown {kind} {name!r}.{hint} Known: {', '.join(known) or '(none)'}.")

    def __str__(self) -> str:  # KeyError would otherwise print the message quoted
        return self.args[0]


class ModelOutputError(RewardAgentError):
    """A model answered, but not in the shape asked for (garbage instead of the JSON schema).

    `model_calls` is what the failed attempt cost: the answers received, the last one `raw`. There
    was an answer, so it is at least 1. Callers that fall back add it to their own count.
    """

    def __init__(self, message: str, raw: str, model_calls: int = 1) -> None:
        if model_calls < 1:
            raise ValueError(f"a ModelOutputError follows at least one answered call, not {model_calls}")
        super().__init__(message)
        self.raw = raw
        self.model_calls = model_calls

    def __reduce__(self) -> tuple[object, ...]:  # pickled (a Ray worker's error) with its fields, not just the message
        return (type(self), (self.args[0], self.raw, self.model_calls))


class ModelCallError(RewardAgentError):
    """A model could not be reached or kept failing after bounded retries.

    `model_calls` counts the calls that were answered before the failure (the first answers of a
    structured call whose repair round could not reach the model); a call that never got through
    costs none we can count, hence the default 0.
    """

    def __init__(self, message: str, model_calls: int = 0) -> None:
        if model_calls < 0:
            raise ValueError(f"model_calls={model_calls} must be 0 or more")
        super().__init__(message)
        self.model_calls = model_calls

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.args[0], self.model_calls))


class CheckerError(RewardAgentError):
    """A constraint checker could not reach a verdict (bad arguments, a missing resource)."""
