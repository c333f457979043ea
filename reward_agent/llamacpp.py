"""GGUF models run in-process with llama.cpp (llama-cpp-python): the `llamacpp` provider.

Owns `LlamaCppChatModel` (a LangChain chat model) and the process-wide loaded `Llama` objects. A
model is named by a registered artefact (`qwen2.5-coder-1.5b`, located in the verified model store,
see `reward_agent.models`) or by a path to a `.gguf` file.

Why in-process rather than llama.cpp's HTTP server on loopback: both run the same kernels on the
same cores, and in-process needs no port, no child process to supervise and no start-up wait; it
also takes a grammar object directly. A server remains one config line away (`provider: openai`
with llama.cpp's `base_url`); `benchmarks/bench_llamacpp.py` times the two against each other.

Structured calls are constrained by a grammar built from the pydantic schema's JSON schema
(`json_schema=` call option), so a small model cannot answer malformed JSON or a wrong shape.
Generation on one loaded model is serialised by a lock: a llama.cpp context is not thread-safe,
and on a CPU two concurrent generations would only share the same cores.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from .errors import ConfigError, ModelCallError

__all__ = ["LlamaCppChatModel", "LoadedGGUF", "load_gguf", "resolve_gguf"]

_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool", "function": "tool"}


def resolve_gguf(model: str) -> Path:
    """The GGUF file for `model`: a registered artefact name (verified store) or a path to a file."""
    from .models import ARTEFACTS, locate

    if model in ARTEFACTS:
        return locate(model)
    path = Path(model).expanduser()
    if path.suffix == ".gguf" and path.is_file():
        return path
    known = ", ".join(ARTEFACTS.names())
    raise ConfigError(f"llamacpp model {model!r} is neither a registered model ({known}) nor a .gguf file")


@dataclass
class LoadedGGUF:
    """One loaded model, the lock that serialises its use, and how long loading took."""

    llama: Any
    path: Path
    n_ctx: int
    load_seconds: float
    lock: threading.Lock


_LOADED: dict[tuple[str, int], LoadedGGUF] = {}
_PROMPT_CACHE_BYTES = 512 * 2**20
_LOADED_LOCK = threading.Lock()


def _threads() -> int:
    wanted = os.environ.get("REWARD_AGENT_LLAMA_THREADS")
    return int(wanted) if wanted else max(1, os.cpu_count() or 1)


def load_gguf(path: Path, n_ctx: int) -> LoadedGGUF:
    """The process-wide `Llama` for (path, n_ctx), loaded on first use (memory-mapped, a second or two)."""
    key = (str(path), n_ctx)
    with _LOADED_LOCK:
        loaded = _LOADED.get(key)
        if loaded is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ConfigError("the llamacpp provider needs llama-cpp-python (installed by `make setup`)") from exc
            started = time.perf_counter()
            threads = _threads()
            llama = Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                verbose=False, seed=0,
            )
            # Keep the evaluated state of recent prompts: extraction and code generation alternate,
            # and each role's long fixed instructions are then evaluated once, not on every call.
            from llama_cpp import LlamaRAMCache

            llama.set_cache(LlamaRAMCache(capacity_bytes=_PROMPT_CACHE_BYTES))
            loaded = LoadedGGUF(llama, path, n_ctx, time.perf_counter() - started, threading.Lock())
            _LOADED[key] = loaded
        return loaded


@atexit.register
def _close_all() -> None:
    """Free the models before the interpreter tears down llama_cpp's module globals: freeing them
    later (in `__del__` during shutdown) raises noisy errors from half-dismantled modules."""
    with _LOADED_LOCK:
        for loaded in _LOADED.values():
            close = getattr(loaded.llama, "close", None)
            if close is not None:
                close()
        _LOADED.clear()


_GRAMMARS: dict[str, Any] = {}


def _grammar(schema: dict[str, Any]) -> Any:
    """A llama.cpp grammar accepting exactly the JSON documents of `schema` (built once per schema)."""
    from llama_cpp import LlamaGrammar

    text = json.dumps(schema, sort_keys=True)
    grammar = _GRAMMARS.get(text)
    if grammar is None:
        try:
            grammar = LlamaGrammar.from_json_schema(text, verbose=False)
        except Exception as exc:  # a schema feature the converter lacks: say which, do not guess
            raise ConfigError(f"cannot build a decoding grammar for this JSON schema: {exc}") from exc
        _GRAMMARS[text] = grammar
    return grammar


def _chat_dicts(messages: list[BaseMessage]) -> list[dict[str, str]]:
    out = []
    for message in messages:
        role = _ROLES.get(message.type) or getattr(message, "role", None) or "user"
        out.append({"role": role, "content": message.text})
    return out


class LlamaCppChatModel(BaseChatModel):
    """A GGUF chat model run in-process by llama.cpp, with grammar-constrained JSON on request.

    Call options: `temperature`, `max_tokens`, `seed` (reproducible sampling), `stop`, and
    `json_schema` (a JSON schema dict: decoding is constrained to it).
    """

    # Read by `reward_agent.structured`: this model accepts `json_schema=` and decodes under it.
    constrained_json: ClassVar[bool] = True

    model_name: str
    gguf_path: str
    n_ctx: int = 8192
    temperature: float = 0.0
    max_tokens: int = 512

    @property
    def _llm_type(self) -> str:
        return "reward-agent-llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "temperature": self.temperature, "max_tokens": self.max_tokens}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        max_tokens = int(kwargs.pop("max_tokens", None) or self.max_tokens)
        temperature = float(kwargs.pop("temperature", self.temperature))
        seed = kwargs.pop("seed", None)
        schema = kwargs.pop("json_schema", None)
        kwargs.pop("response_format", None)  # json mode without a schema: the schema path is the one used
        unknown = sorted(k for k in kwargs if not k.startswith("ls_"))
        if unknown:
            raise ConfigError(f"LlamaCppChatModel does not support call option(s): {', '.join(unknown)}")
        loaded = load_gguf(Path(self.gguf_path), self.n_ctx)
        options: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature, "stop": stop or []}
        if temperature == 0:
            options["top_k"] = 1  # greedy: the same answer every time
        if seed is not None:
            options["seed"] = int(seed)
        if schema is not None:
            options["grammar"] = _grammar(schema)
        with loaded.lock:
            try:
                out = loaded.llama.create_chat_completion(messages=_chat_dicts(messages), **options)
            except ValueError as exc:  # e.g. the prompt does not fit the context
                raise ModelCallError(f"llama.cpp generation failed: {exc}") from exc
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        n_in, n_out = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata={"input_tokens": n_in, "output_tokens": n_out, "total_tokens": n_in + n_out},
            response_metadata={"model_name": self.model_name, "finish_reason": choice.get("finish_reason")},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # CPU-bound and holding a lock: off the event loop.
        return await asyncio.to_thread(self._generate, messages, stop, None, **kwargs)
