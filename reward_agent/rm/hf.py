"""The `transformers` backend: sequence-classification reward models run in-process.

Skywork-Reward, internlm2-reward, ArmoRM (with `trust_remote_code`), or any
`AutoModelForSequenceClassification` checkpoint. Pairs are rendered with the tokenizer's chat
template (prompt turns + the response as the assistant turn); a tokenizer without a template
(an encoder like BERT) gets the (prompt, response) text pair.

True batching: every pair is tokenized once, pairs are sorted by length, cut into batches of
`batch_size`, padded per batch only to that batch's longest sequence, scored, and put back in
input order. Scores do not depend on the batch size or on the padding (tests prove it).

Multi-objective models (num_labels > 1, or a custom head returning per-objective rewards such as
ArmoRM's 19) keep every objective; the raw score is the head's own `score` when it has one, else
the weighted mean of the objectives (`objective_weights`, default equal).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .base import RawScores, RewardModel, RMError, RMItem

__all__ = ["TransformersRM", "encode_items"]

_DTYPES = ("float32", "bfloat16", "float16", "auto")


def encode_items(tokenizer: Any, items: list[RMItem], max_length: int | None = None) -> list[list[int]]:
    """Token ids of (prompt, response) pairs: the chat template when the tokenizer has one (the
    response as the assistant turn), else the (prompt text, response) text pair. Training
    (`reward_agent.train.trl_trainer`) uses this too, so a model is scored as it was trained."""
    truncation = max_length is not None
    if getattr(tokenizer, "chat_template", None):
        texts = [tokenizer.apply_chat_template(it.messages(), tokenize=False) for it in items]
        # The template already holds the special tokens (BOS etc.); do not add them twice.
        enc = tokenizer(texts, add_special_tokens=False, truncation=truncation, max_length=max_length)
    else:
        enc = tokenizer([it.prompt_text() for it in items], [it.response for it in items],
                        truncation="longest_first" if truncation else False, max_length=max_length)
    return [list(ids) for ids in enc["input_ids"]]


def _quiet() -> Any:
    from ..embedded import _quiet_transformers

    return _quiet_transformers()


def looks_like_path(model: str | Path) -> bool:
    """Whether `model` names a local path rather than a Hugging Face id ("org/name" is an id)."""
    text = str(model)
    return isinstance(model, Path) or text.startswith(("/", "./", "../", "~", ".\\")) or text in (".", "..")


class TransformersRM(RewardModel):
    """A Hugging Face sequence-classification reward model.

    Options: `batch_size` (default 8), `dtype` (float32, bfloat16, float16, auto), `device`
    (cpu, cuda, cuda:1, auto), `max_length` (tokens; longer inputs are truncated), `trust_remote_code` (custom heads),
    `objective_names`, `objective_weights`, `local_files_only` (default True: never download).
    """

    backend = "transformers"

    def __init__(
        self,
        model: str | Path,
        *,
        batch_size: int = 8,
        dtype: str = "float32",
        device: str = "cpu",
        max_length: int | None = None,
        trust_remote_code: bool = False,
        objective_names: list[str] | None = None,
        objective_weights: list[float] | None = None,
        local_files_only: bool = True,
    ) -> None:
        if not model:
            raise ConfigError("the transformers backend needs model= (a Hugging Face id or a local path)")
        if looks_like_path(model) and not Path(model).expanduser().exists():
            raise ConfigError(f"reward model path {str(model)!r} does not exist")
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} must be at least 1")
        if dtype not in _DTYPES:
            raise ConfigError(f"dtype={dtype!r} is not one of {', '.join(_DTYPES)}")
        self.model_name = str(model)
        self.batch_size = batch_size
        self.dtype = dtype
        self.max_length = max_length
        self.trust_remote_code = trust_remote_code
        self._lock = threading.Lock()
        self.model, self.tokenizer = self._load(local_files_only)
        self.device = self._place(device)
        self.num_labels = int(getattr(self.model.config, "num_labels", 1))
        if objective_names is not None and len(objective_names) != self.num_labels:
            raise ConfigError(f"{len(objective_names)} objective_names for a model with {self.num_labels} outputs")
        self.objective_names = objective_names or (
            [str(self.model.config.id2label.get(i, f"objective_{i}")) for i in range(self.num_labels)]
            if self.num_labels > 1 else None
        )
        if objective_weights is not None and len(objective_weights) != self.num_labels:
            raise ConfigError(f"{len(objective_weights)} objective_weights for {self.num_labels} outputs")
        self.objective_weights = objective_weights

    # -- loading -----------------------------------------------------------------------------------

    def _load(self, local_files_only: bool) -> tuple[Any, Any]:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        dtype = "auto" if self.dtype == "auto" else getattr(torch, self.dtype)
        kwargs = {"trust_remote_code": self.trust_remote_code, "local_files_only": local_files_only}
        try:
            with _quiet():
                tokenizer = AutoTokenizer.from_pretrained(self.model_name, **kwargs)
                model = AutoModelForSequenceClassification.from_pretrained(self.model_name, dtype=dtype, **kwargs)
        except (OSError, ValueError) as exc:
            hint = "" if not local_files_only else " (local_files_only=True: the model must be on disk or in the HF cache)"
            raise ConfigError(f"cannot load reward model {self.model_name!r}{hint}: {exc}") from exc
        model.eval()
        if tokenizer.pad_token_id is None:
            # Decoder RMs often ship without a pad token; padding is masked out, so eos serves.
            tokenizer.pad_token = tokenizer.eos_token
            model.config.pad_token_id = tokenizer.pad_token_id
        return model, tokenizer

    def _place(self, device: str) -> str:
        import torch

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"device={device!r} but no CUDA device is available; use device='cpu'")
        self.model.to(device)
        return device

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "model": self.model_name, "dtype": self.dtype, "max_length": self.max_length,
                "objective_weights": self.objective_weights}

    # -- scoring -----------------------------------------------------------------------------------

    def encode(self, items: list[RMItem]) -> list[list[int]]:
        """Token ids of each pair as the model sees it (chat template, or a text pair)."""
        return encode_items(self.tokenizer, items, self.max_length)

    def _score_raw(self, items: list[RMItem]) -> RawScores:
        import torch

        ids = self.encode(items)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        values: list[list[float]] = [[] for _ in ids]
        heads: list[float | None] = [None] * len(ids)
        pad = int(self.tokenizer.pad_token_id)
        batches = 0
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                width = max(len(ids[i]) for i in chunk)
                input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for row, i in enumerate(chunk):
                    seq = torch.tensor(ids[i], dtype=torch.long)
                    # Always pad on the right: real tokens never see the pads (bidirectional
                    # encoders mask them, causal decoders only look left), and positions stay
                    # those of the unpadded sequence, so a score does not depend on its batch.
                    input_ids[row, : len(seq)], mask[row, : len(seq)] = seq, 1
                try:
                    out = self.model(input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device))
                except RuntimeError as exc:  # out of memory, bad shapes: a failed batch, not a crash
                    raise RMError(f"{self.model_name}: forward pass failed on a batch of {len(chunk)}: {exc}") from exc
                batches += 1
                logits, head = self._outputs(out)
                for row, i in enumerate(chunk):
                    values[i] = logits[row]
                    heads[i] = None if head is None else head[row]
        return self._combine(values, heads, batches)

    @staticmethod
    def _outputs(out: Any) -> tuple[list[list[float]], list[float] | None]:
        """(per-objective values, the head's own overall score if any) for one batch."""
        rewards = getattr(out, "rewards", None)  # ArmoRM-style custom heads
        score = getattr(out, "score", None)
        logits = rewards if rewards is not None else getattr(out, "logits", None)
        if logits is None:
            raise RMError("the model's output has neither `logits` nor `rewards`")
        logits = logits.float().reshape(logits.shape[0], -1).cpu().tolist()
        head = score.float().reshape(-1).cpu().tolist() if score is not None and hasattr(score, "float") else None
        return logits, head

    def _combine(self, values: list[list[float]], heads: list[float | None], batches: int) -> RawScores:
        width = len(values[0])
        details: dict[str, Any] = {"model": self.model_name, "batches": batches, "batch_size": self.batch_size}
        if width == 1 and all(h is None for h in heads):
            return RawScores(raw=[v[0] for v in values], details=details, model_calls=batches)
        names = self.objective_names if self.objective_names and len(self.objective_names) == width else [
            f"objective_{i}" for i in range(width)
        ]
        objectives = {name: [v[k] for v in values] for k, name in enumerate(names)}
        if all(h is not None for h in heads):
            raw = [float(h) for h in heads]  # type: ignore[arg-type]
            details["raw_from"] = "the model's own score head"
        else:
            weights = self.objective_weights or [1.0] * width
            total = sum(weights)
            raw = [sum(w * x for w, x in zip(weights, v)) / total for v in values]
            details["raw_from"] = "weighted mean of objectives" if self.objective_weights else "mean of objectives"
        return RawScores(raw=raw, objectives=objectives, details=details, model_calls=batches)
