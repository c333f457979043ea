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
    """A model answered, but not in the shape asked for (garbage instead of the JSON schema)."""

    def __init__(self, message: str, raw: str) -> None:
        super().__init__(message)
        self.raw = raw


class ModelCallError(RewardAgentError):
    """A model could not be reached or kept failing after bounded retries."""


class CheckerError(RewardAgentError):
    """A constraint checker could not reach a verdict (bad arguments, a missing resource)."""
