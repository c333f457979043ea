"""Size limits on what one request may ask for, checked on the raw JSON before any work starts."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .settings import ServeSettings


class LimitExceeded(ValueError):
    """A request asks for more than the server allows (HTTP 413); the message names the limit."""


def check_request_limits(raw: Any, settings: ServeSettings, where: str = "request") -> None:
    """Raise LimitExceeded when `raw` (a request's JSON) has too many or too long responses.

    Works on the raw dict so it runs before validation; shapes it does not understand are
    left to validation, which reports them as 422.
    """
    if not isinstance(raw, dict):
        return
    responses = raw.get("responses")
    if isinstance(responses, list):
        if len(responses) > settings.max_responses:
            raise LimitExceeded(
                f"{where}.responses has {len(responses)} items; the limit is {settings.max_responses}"
            )
        for i, response in enumerate(responses):
            if isinstance(response, str) and len(response) > settings.max_response_chars:
                raise LimitExceeded(
                    f"{where}.responses[{i}] has {len(response)} characters; the limit is {settings.max_response_chars}"
                )
    prompt = raw.get("prompt")
    if isinstance(prompt, str) and len(prompt) > settings.max_response_chars:
        raise LimitExceeded(f"{where}.prompt has {len(prompt)} characters; the limit is {settings.max_response_chars}")
    messages = raw.get("messages")
    if isinstance(messages, list):
        total = sum(len(m.get("content", "")) for m in messages if isinstance(m, dict) and isinstance(m.get("content"), str))
        if total > settings.max_response_chars:
            raise LimitExceeded(f"{where}.messages have {total} characters; the limit is {settings.max_response_chars}")


def check_batch_size(count: int, settings: ServeSettings, what: str) -> None:
    """Raise LimitExceeded when a batch holds more than `max_batch_items` entries."""
    if count > settings.max_batch_items:
        raise LimitExceeded(f"{what} has {count} items; the limit is {settings.max_batch_items}")


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line per problem, `field.path: message`, the way the CLI reports bad requests."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    return "; ".join(parts)
