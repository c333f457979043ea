"""The `http` backend: remote reward servers, speaking OpenRLHF's `/get_reward` protocol.

Request: `POST {url}` with `{"query": [prompt + response, ...], "prompts": [prompt, ...]}`;
answer: `{"rewards": [float, ...]}` (a `"scores"` list is accepted too). `query` is the full
sequence the policy produced, as OpenRLHF sends it: the prompt text (the chat rendered with a
local tokenizer's chat template when `tokenizer=` is given, else the plain prompt) followed by
`separator` and the response.

Pairs are sent in batches of `batch_size`, at most `max_concurrency` requests at once, each with
`timeout_s`, retried `retries` times on connection errors, timeouts, 429 and 5xx.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..redaction import redact_url
from ._http import HttpSettings, post_batches, run_sync
from .base import RawScores, RewardModel, RMError, RMItem

__all__ = ["HttpRM"]


class HttpRM(RewardModel):
    """An OpenRLHF-style remote reward model at `model` (the full URL, e.g. http://host:5000/get_reward)."""

    backend = "http"

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 64,
        timeout_s: float = 60.0,
        retries: int = 2,
        backoff_s: float = 0.5,
        max_concurrency: int = 4,
        headers: dict[str, str] | None = None,
        separator: str = "\n",
        tokenizer: str | None = None,
    ) -> None:
        if not model or not str(model).startswith(("http://", "https://")):
            raise ConfigError(f"the http backend needs model= a URL like http://127.0.0.1:5000/get_reward, got {model!r}")
        self.url = str(model)
        self.shown_url = redact_url(self.url)  # for messages, details and cache identity
        self.settings = HttpSettings(timeout_s=timeout_s, retries=retries, backoff_s=backoff_s,
                                     max_concurrency=max_concurrency, batch_size=batch_size, headers=dict(headers or {}))
        self.separator = separator
        self.tokenizer_path = tokenizer
        self._tokenizer: Any = None
        if tokenizer:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(tokenizer, local_files_only=True)

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "url": self.shown_url, "separator": self.separator, "tokenizer": self.tokenizer_path}

    def render(self, item: RMItem) -> tuple[str, str]:
        """(prompt, query) for one pair, as the server receives them."""
        if self._tokenizer is not None and getattr(self._tokenizer, "chat_template", None):
            prompt = self._tokenizer.apply_chat_template(item.messages(with_response=False), tokenize=False,
                                                         add_generation_prompt=True)
            return prompt, prompt + item.response
        prompt = item.prompt_text()
        return prompt, prompt + self.separator + item.response

    def _parse(self, body: Any, chunk: list[RMItem]) -> list[float]:
        values = body.get("rewards", body.get("scores")) if isinstance(body, dict) else None
        if not isinstance(values, list):
            raise RMError(f"reward server {self.shown_url} answered without a 'rewards' list: {str(body)[:200]}")
        if len(values) != len(chunk):
            raise RMError(f"reward server {self.shown_url} returned {len(values)} rewards for {len(chunk)} queries")
        try:
            return [float(v[0] if isinstance(v, list) else v) for v in values]
        except (TypeError, ValueError, IndexError) as exc:
            raise RMError(f"reward server {self.shown_url} returned non-numeric rewards: {exc}") from None

    def _payload(self, chunk: list[RMItem]) -> dict[str, Any]:
        rendered = [self.render(it) for it in chunk]
        return {"query": [q for _, q in rendered], "prompts": [p for p, _ in rendered]}

    async def _ascore_raw(self, items: list[RMItem]) -> RawScores:
        size = self.settings.batch_size
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        results, requests = await post_batches(self.url, chunks, self._payload, self.settings, self._parse)
        raw = [v for part in results for v in part]
        return RawScores(raw=raw, details={"url": self.shown_url, "requests": requests, "batches": len(chunks)},
                         model_calls=requests)

    def _score_raw(self, items: list[RMItem]) -> RawScores:
        return run_sync(self._ascore_raw(items))
