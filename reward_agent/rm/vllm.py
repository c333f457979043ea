"""The `vllm` backend: vLLM's pooling engine in-process, or a `vllm serve` pooling endpoint over HTTP.

- `base_url=` given (e.g. `http://gpu-box:8000`): the served path. Pairs go to vLLM's
  `/pooling` endpoint (or `/classify`, `endpoint="classify"`). With `chat=True` (default) each pair
  is one request with `messages`, so the server applies the model's own chat template; with
  `chat=False` pairs are sent in batches as `input` texts (templated locally when `tokenizer=` is
  a local path). The HTTP plumbing (timeouts, retries, concurrency) is shared with the `http`
  backend.
- no `base_url`: the in-process engine, `vllm.LLM(model, runner="pooling")`. vLLM is an optional
  extra (`pip install 'reward-agent[vllm]'`), Linux + CUDA only; without it this raises a
  `ConfigError` saying so. This path is not exercised by the test suite (no GPU there); the
  served path is, against a loopback server speaking the same protocol.

The raw score is the model's output for the sequence (the last token's value when the server
returns one per token); a multi-output head keeps every output as an objective.
"""

from __future__ import annotations

from typing import Any, Literal

from ..errors import ConfigError
from ..redaction import redact_url
from ._http import HttpSettings, post_batches, run_sync
from .base import RawScores, RewardModel, RMError, RMItem
from .normalise import Normalisation

__all__ = ["VllmEngineRM", "VllmServedRM", "load_vllm", "vllm_output_value"]

VLLM_MISSING = (
    "the vllm backend's in-process engine needs the `vllm` package, which is not installed. "
    "vLLM runs on Linux with a CUDA GPU: pip install 'reward-agent[vllm]' there. On a machine "
    "without a GPU, run `vllm serve MODEL --runner pooling` on a GPU host and pass base_url= "
    "(the served pooling endpoint), or use backend='transformers' to run the model here."
)


def vllm_output_value(data: Any) -> list[float]:
    """The per-sequence output vector from a pooling result: a number, a vector, or per-token rows."""
    if isinstance(data, (int, float)):
        return [float(data)]
    if hasattr(data, "tolist"):
        data = data.tolist()
    if isinstance(data, list) and data and isinstance(data[0], list):
        data = data[-1]  # one row per token (reward pooling over ALL tokens): the last token scores the sequence
    if not isinstance(data, list) or not data:
        raise RMError(f"unexpected pooling output: {str(data)[:200]}")
    return [float(x) for x in data]


def _raw_scores(vectors: list[list[float]], details: dict[str, Any], calls: int) -> RawScores:
    width = {len(v) for v in vectors}
    if len(width) != 1:
        raise RMError(f"pooling outputs have different sizes: {sorted(width)}")
    if width == {1}:
        return RawScores(raw=[v[0] for v in vectors], details=details, model_calls=calls)
    objectives = {f"objective_{k}": [v[k] for v in vectors] for k in range(len(vectors[0]))}
    return RawScores(raw=[sum(v) / len(v) for v in vectors], objectives=objectives,
                     details={**details, "raw_from": "mean of objectives"}, model_calls=calls)


class VllmServedRM(RewardModel):
    """A reward model served by `vllm serve ... --runner pooling`, reached over HTTP."""

    backend = "vllm"

    def __init__(self, model: str, *, base_url: str, endpoint: Literal["pooling", "classify"] = "pooling",
                 chat: bool = True, tokenizer: str | None = None, separator: str = "\n",
                 settings: HttpSettings | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url {redact_url(base_url)!r} must start with http:// or https://")
        if endpoint not in ("pooling", "classify"):
            raise ConfigError(f"endpoint={endpoint!r} must be 'pooling' or 'classify'")
        if endpoint == "classify" and chat:
            raise ConfigError("vLLM's /classify endpoint takes texts: pass chat=False (and tokenizer= for a template)")
        self.model_name = model
        self.url = base_url.rstrip("/").removesuffix("/v1") + f"/{endpoint}"
        self.shown_url = redact_url(self.url)  # for messages, details and cache identity
        self.endpoint = endpoint
        self.chat = chat
        self.separator = separator
        self.settings = settings or HttpSettings()
        self._tokenizer: Any = None
        if tokenizer:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(tokenizer, local_files_only=True)
        if endpoint == "classify":
            self.default_normalisation = Normalisation(method="identity")  # /classify returns probabilities

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "model": self.model_name, "url": self.shown_url, "chat": self.chat}

    def _text(self, item: RMItem) -> str:
        if self._tokenizer is not None and getattr(self._tokenizer, "chat_template", None):
            return self._tokenizer.apply_chat_template(item.messages(), tokenize=False)
        return item.prompt_text() + self.separator + item.response

    def _payload(self, chunk: list[RMItem]) -> dict[str, Any]:
        if self.chat:
            return {"model": self.model_name, "messages": chunk[0].messages()}
        return {"model": self.model_name, "input": [self._text(it) for it in chunk]}

    def _parse(self, body: Any, chunk: list[RMItem]) -> list[list[float]]:
        rows = body.get("data") if isinstance(body, dict) else None
        if not isinstance(rows, list) or len(rows) != len(chunk):
            raise RMError(f"vLLM {self.shown_url} answered {len(rows) if isinstance(rows, list) else 'no'} results "
                          f"for {len(chunk)} inputs: {str(body)[:200]}")
        rows = sorted(rows, key=lambda r: r.get("index", 0))
        key = "probs" if self.endpoint == "classify" else "data"
        try:
            return [vllm_output_value(r[key]) for r in rows]
        except (KeyError, TypeError) as exc:
            raise RMError(f"vLLM {self.shown_url} result without {key!r}: {str(rows[0])[:200]}") from exc

    async def _ascore_raw(self, items: list[RMItem]) -> RawScores:
        size = 1 if self.chat else self.settings.batch_size
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        results, requests = await post_batches(self.url, chunks, self._payload, self.settings, self._parse)
        vectors = [v for part in results for v in part]
        return _raw_scores(vectors, {"url": self.shown_url, "requests": requests}, requests)

    def _score_raw(self, items: list[RMItem]) -> RawScores:
        return run_sync(self._ascore_raw(items))


class VllmEngineRM(RewardModel):
    """vLLM's offline pooling engine in this process (GPU). Untested here: no GPU in CI."""

    backend = "vllm"

    def __init__(self, model: str, *, task: Literal["classify", "reward"] = "classify", **engine_options: Any) -> None:
        try:
            import vllm
        except ImportError as exc:
            raise ConfigError(VLLM_MISSING) from exc
        self.model_name = model
        self.task = task
        self.llm = vllm.LLM(model=model, runner="pooling", **engine_options)
        self.tokenizer = self.llm.get_tokenizer()
        if task == "classify":
            self.default_normalisation = Normalisation(method="identity")

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "model": self.model_name, "task": self.task}

    def _score_raw(self, items: list[RMItem]) -> RawScores:
        texts = [self.tokenizer.apply_chat_template(it.messages(), tokenize=False) for it in items]
        try:
            outputs = self.llm.classify(texts) if self.task == "classify" else self.llm.reward(texts)
        except Exception as exc:  # engine errors (OOM, too long): a failed batch with its cause
            raise RMError(f"vLLM engine failed on {len(texts)} inputs: {type(exc).__name__}: {exc}") from exc
        key = "probs" if self.task == "classify" else "data"
        vectors = [vllm_output_value(getattr(o.outputs, key)) for o in outputs]
        return _raw_scores(vectors, {"model": self.model_name, "engine": "vllm", "task": self.task}, 1)


def load_vllm(
    model: str | None = None,
    *,
    base_url: str | None = None,
    endpoint: Literal["pooling", "classify"] = "pooling",
    chat: bool = True,
    tokenizer: str | None = None,
    separator: str = "\n",
    batch_size: int = 64,
    timeout_s: float = 60.0,
    retries: int = 2,
    backoff_s: float = 0.5,
    max_concurrency: int = 8,
    headers: dict[str, str] | None = None,
    task: Literal["classify", "reward"] = "classify",
    engine_options: dict[str, Any] | None = None,
) -> RewardModel:
    """The served client when `base_url` is given, else the in-process engine (needs vllm + a GPU)."""
    if not model:
        raise ConfigError("the vllm backend needs model= (the model id the server serves, or to load)")
    if base_url:
        settings = HttpSettings(timeout_s=timeout_s, retries=retries, backoff_s=backoff_s,
                                max_concurrency=max_concurrency, batch_size=batch_size, headers=dict(headers or {}))
        return VllmServedRM(model, base_url=base_url, endpoint=endpoint, chat=chat, tokenizer=tokenizer,
                            separator=separator, settings=settings)
    return VllmEngineRM(model, task=task, **(engine_options or {}))
