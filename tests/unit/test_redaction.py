"""What counts as a secret, and how it is masked (reward_agent.redaction)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from reward_agent.redaction import MASK, collect_secrets, is_secret_key, redact, redact_url, remember, scrub_bytes, scrub_text


@pytest.mark.parametrize("key", ["api_key", "Authorization", "X-Api-Key", "hf_token", "password", "proxy-authorization",
                                 "access_token", "client_secret", "Cookie", "credentials"])
def test_secret_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["max_tokens", "tokenizer", "api_key_env", "model", "base_url", "batch_size", "keywords"])
def test_ordinary_keys(key: str) -> None:
    assert not is_secret_key(key)


def test_redact_masks_keys_urls_and_secretstrs_and_keeps_the_rest() -> None:
    value = {"headers": {"Authorization": "Bearer abcdefgh123", "Accept": "application/json"},
             "judge": {"api_key": SecretStr("k-12345678"), "api_key_env": "OPENAI_API_KEY", "max_tokens": 16},
             "urls": ["https://u:p4ssw0rd-long@host:1/x?api_key=zzzzzzzz&page=2", "http://host/plain"]}
    out = redact(value)
    assert out["headers"] == {"Authorization": MASK, "Accept": "application/json"}
    assert out["judge"] == {"api_key": MASK, "api_key_env": "OPENAI_API_KEY", "max_tokens": 16}
    assert out["urls"] == [f"https://{MASK}@host:1/x?api_key={MASK}&page=2", "http://host/plain"]
    assert value["headers"]["Authorization"] == "Bearer abcdefgh123"  # a copy: the original is untouched


def test_url_credentials_and_their_basic_form_are_collected() -> None:
    found = collect_secrets({"model": "http://user:pa55word-xyz@h/get_reward"})
    assert "pa55word-xyz" in found and "user:pa55word-xyz" in found and "dXNlcjpwYTU1d29yZC14eXo=" in found
    assert "user" not in found  # a user name alone would mask ordinary words
    assert redact_url("http://h/x") == "http://h/x"


def test_scrubbing_known_values_keeps_length_in_bodies() -> None:
    remember(["scrub-me-0123456789", "short"])
    body = b'{"error": "got scrub-me-0123456789 and short"}'
    assert scrub_bytes(body) == b'{"error": "got ' + b"*" * 19 + b' and short"}'  # short values are not scrubbed
    assert scrub_text("x scrub-me-0123456789 y") == f"x {MASK} y"
