"""The one owner of secrets: what counts as one, and how it is masked in dumps, messages and logs.

Secrets live in the configuration: model API keys (`ModelSpec.api_key`, a `SecretStr`), reward
model options (`rm.options.headers.Authorization`, a generative judge's `api_key`), the server's
bearer token, and credentials written into a URL (`http://user:password@host/...`, or a
`?api_key=` query parameter). The real value is only read where it is sent (the HTTP client of
the model or reward server); everything that shows configuration or reports an error goes through
this module:

* `redact(value)` masks a JSON-like structure: `SecretStr`s, values under secret-looking keys
  (`api_key`, `authorization`, `token`, `password`, ...), and credentials inside URLs;
* `redact_url(url)` / `redact_text(text)` mask URL credentials, bearer tokens and every secret
  value seen so far (`remember`), for messages built from exceptions;
* `install_log_redaction()` applies `redact_text` to every log record of the process.

Masking known values is the safety net under the structural one (typed secrets, redacted URLs in
messages): a secret that reaches a message by a path nobody foresaw is still replaced.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from pydantic import SecretStr

__all__ = [
    "MASK",
    "REVEAL",
    "collect_secrets",
    "install_log_redaction",
    "is_secret_key",
    "redact",
    "redact_text",
    "redact_url",
    "remember",
    "reveal",
    "scrub_bytes",
    "scrub_text",
]

MASK = "<redacted>"
# Passed as `model_dump(context=REVEAL)` by the few callers that need real values (cache keys
# that must tell two keys apart); every other dump is masked.
REVEAL = {"reveal_secrets": True}

# Secret values shorter than this are not scrubbed from free text: masking "abc" everywhere
# would corrupt output, and no real credential is that short.
MIN_SCRUB_LENGTH = 8

# Key names (lowercased, '-' as '_') whose string values are credentials. Matched at the end of
# the key, so `x_api_key`, `hf_token`, `proxy_authorization` count, and `max_tokens`,
# `tokenizer`, `api_key_env` (the *name* of a variable) do not.
_SECRET_KEY = re.compile(
    r"(?:^|_)(?:api_?key|access_key|secret_key|private_key|secret|token|access_token|password|passwd"
    r"|authorization|auth|cookie|credentials?|bearer)$"
)
# `scheme://userinfo@`: anything between `//` and `@` before the host is a credential.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s@?#\"'<>]+)@")
# Credential-looking query parameters.
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&](?:api[_-]?key|key|token|access_token|auth|password|secret|sig|signature)=)(?P<value>[^&#\s\"'<>]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<scheme>\bBearer\s+)(?P<value>[A-Za-z0-9._~+/=-]{6,})", re.IGNORECASE)

_known: set[str] = set()
_known_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None


def is_secret_key(key: object) -> bool:
    """Whether a mapping key names a credential (`Authorization`, `api_key`, `x-api-key`, ...)."""
    if not isinstance(key, str):
        return False
    normalised = key.strip().lower().replace("-", "_")
    return not normalised.endswith("_env") and bool(_SECRET_KEY.search(normalised))


def reveal(value: Any) -> Any:
    """The real value of a `SecretStr` (anything else unchanged): only where it is sent."""
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def remember(values: Iterable[Any]) -> None:
    """Add secret values to the set scrubbed from every message, log line and HTTP body."""
    global _pattern
    fresh = {v for v in (reveal(v) for v in values) if isinstance(v, str) and len(v) >= MIN_SCRUB_LENGTH}
    with _known_lock:
        if fresh - _known:
            _known.update(fresh)
            # Longest first, so a secret that contains another is masked whole.
            _pattern = re.compile("|".join(re.escape(s) for s in sorted(_known, key=len, reverse=True)))


def collect_secrets(value: Any, key: object = None) -> list[str]:
    """Every secret value inside a structure (real values, for `remember`): SecretStrs, values
    under secret keys, URL credentials."""
    out: list[str] = []
    if isinstance(value, SecretStr):
        out.append(value.get_secret_value())
    elif isinstance(value, str):
        if is_secret_key(key) and value:
            out.append(value)
            out.extend(m.group("value") for m in _BEARER.finditer(value))
        out.extend(_url_secrets(value))
    elif isinstance(value, dict):
        for k, v in value.items():
            out.extend(collect_secrets(v, k))
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            out.extend(collect_secrets(v, key))
    elif hasattr(value, "model_fields") and hasattr(value, "__dict__"):  # a pydantic model: its raw fields
        for name in type(value).model_fields:
            out.extend(collect_secrets(getattr(value, name, None), name))
    return out


def _url_secrets(text: str) -> list[str]:
    found = []
    for match in _URL_USERINFO.finditer(text):
        userinfo = match.group("userinfo")
        found.append(userinfo)
        # The password alone too; a user name alone is not scrubbed from free text (a name like
        # "reward" would mask ordinary words), only as part of the whole userinfo.
        _, sep, password = userinfo.partition(":")
        if sep and password:
            found.append(password)
        # HTTP clients send userinfo as `Authorization: Basic base64(user:password)`; a server
        # that echoes its request headers in an error body would echo that form.
        found.append(base64.b64encode(unquote(userinfo).encode()).decode())
    found.extend(m.group("value") for m in _QUERY_SECRET.finditer(text))
    return found


def redact_url(url: str) -> str:
    """`url` with its userinfo and credential query parameters masked (`http://<redacted>@host/x`)."""
    return _QUERY_SECRET.sub(lambda m: m.group("key") + MASK, _URL_USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", url))


def scrub_text(text: str) -> str:
    """`text` with every remembered secret value masked, and nothing else changed (for data
    files, whose other URLs and words must stay as they are)."""
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None and text else text


def redact_text(text: str) -> str:
    """`text` with URL credentials, bearer/basic tokens and every remembered secret masked."""
    if not isinstance(text, str) or not text:
        return text
    text = redact_url(text)
    text = _BEARER.sub(lambda m: m.group("scheme") + MASK, text)
    return scrub_text(text)


def redact(value: Any, key: object = None) -> Any:
    """A copy of a JSON-like structure with every secret masked (see the module docstring)."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, str):
        if is_secret_key(key) and value:
            return MASK
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v, key) for v in value)
    return value


def scrub_bytes(body: bytes) -> bytes:
    """An HTTP body with every remembered secret (raw or JSON-escaped) replaced by as many `*`.

    Same length, so a Content-Length already sent stays right and streamed chunks can be
    scrubbed one by one.
    """
    with _known_lock:
        secrets = list(_known)
    for secret in secrets:
        for form in _encoded_forms(secret):
            if form in body:
                body = body.replace(form, b"*" * len(form))
    return body


def _encoded_forms(secret: str) -> set[bytes]:
    import json

    forms = {secret.encode("utf-8", "surrogatepass")}
    forms.add(json.dumps(secret)[1:-1].encode())
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1].encode("utf-8", "surrogatepass"))
    return {f for f in forms if f}


class _RedactingRecordFactory:
    """Wraps the process's LogRecord factory: message and traceback text are redacted once, at
    creation, so every handler (uvicorn's included, whenever it was configured) sees them masked."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: leave it to the handler to report
            return record
        cleaned = redact_text(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters print exc_text when set; dropping exc_info keeps handlers that format the
            # exception themselves from printing the unredacted one.
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return record


def install_log_redaction() -> None:
    """Make every log record of this process secret-free (idempotent)."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RedactingRecordFactory):
        logging.setLogRecordFactory(_RedactingRecordFactory(factory))
