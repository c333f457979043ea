"""The evaluation report of a trained reward model: numbers, plots and warnings, as Markdown.

Held-out pairwise accuracy (ties count half) and mean margin, accuracy by rating gap, chosen
and rejected score histograms (PNG), the correlation of response length with score (a
reward-hacking warning when it is strong), a length-only baseline for comparison, and RM-Bench
accuracy when given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PairEval", "evaluate_pairs", "length_correlation", "write_report"]

LENGTH_WARNING = 0.3  # |Spearman rho| of length vs score above which the report warns


@dataclass
class PairEval:
    """Scores of held-out pairs: chosen/rejected scores and lengths, and the rating gaps."""

    chosen: list[float]
    rejected: list[float]
    chosen_len: list[int]
    rejected_len: list[int]
    gaps: list[float]


def length_correlation(lengths: list[int], scores: list[float]) -> dict[str, float]:
    """Pearson and Spearman correlation of response length (characters) with score."""
    if len(lengths) < 2 or len(set(lengths)) < 2 or len(set(scores)) < 2:
        return {"pearson": float("nan"), "spearman": float("nan")}  # undefined for constant input
    from scipy.stats import pearsonr, spearmanr

    return {"pearson": float(pearsonr(lengths, scores)[0]), "spearman": float(spearmanr(lengths, scores)[0])}


def evaluate_pairs(ev: PairEval) -> dict[str, Any]:
    """Accuracy, margin, accuracy by gap, the length baseline and the length correlation."""
    n = len(ev.chosen)
    if n == 0:
        raise ValueError("no held-out pairs to evaluate")
    right = [1.0 if c > r else 0.5 if c == r else 0.0 for c, r in zip(ev.chosen, ev.rejected)]
    longer = [1.0 if a > b else 0.5 if a == b else 0.0 for a, b in zip(ev.chosen_len, ev.rejected_len)]
    by_gap: dict[str, list[float]] = {}
    for g, ok in zip(ev.gaps, right):
        bucket = "1-2" if g < 3 else "3-5" if g < 6 else "6-9"
        by_gap.setdefault(bucket, []).append(ok)
    lengths = ev.chosen_len + ev.rejected_len
    scores = ev.chosen + ev.rejected
    return {
        "pairs": n,
        "accuracy": sum(right) / n,
        "mean_margin": sum(c - r for c, r in zip(ev.chosen, ev.rejected)) / n,
        "accuracy_by_gap": {k: {"pairs": len(v), "accuracy": sum(v) / len(v)} for k, v in sorted(by_gap.items())},
        "length_baseline_accuracy": sum(longer) / n,
        "length_vs_score": length_correlation(lengths, scores),
    }


def _histogram(ev: PairEval, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    lo, hi = min(ev.chosen + ev.rejected), max(ev.chosen + ev.rejected)
    bins = [lo + (hi - lo) * k / 40 for k in range(41)] if hi > lo else 10
    ax.hist(ev.chosen, bins=bins, alpha=0.6, label="chosen", color="tab:green")
    ax.hist(ev.rejected, bins=bins, alpha=0.6, label="rejected", color="tab:red")
    ax.set_xlabel("raw reward")
    ax.set_ylabel("responses")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _scatter(ev: PairEval, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.scatter(ev.chosen_len + ev.rejected_len, ev.chosen + ev.rejected, s=4, alpha=0.3)
    ax.set_xscale("symlog")
    ax.set_xlabel("response length (characters)")
    ax.set_ylabel("raw reward")
    ax.set_title("length vs reward (held-out answers)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _fmt(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def _comparison_rows(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Rows of the before/after table: the same measure of both heads, and the change."""

    def get(m: dict[str, Any], *path: str) -> float | None:
        for key in path:
            m = m.get(key) if isinstance(m, dict) else None  # type: ignore[assignment]
        return m if isinstance(m, (int, float)) else None  # type: ignore[return-value]

    h = after["heldout"]["pairs"]
    rows = [
        (f"held-out pairwise accuracy ({h} pairs)", ("heldout", "accuracy")),
        (f"largest-gap pair per held-out question ({get(after, 'largest_gap_heldout', 'pairs')})",
         ("largest_gap_heldout", "accuracy")),
        ("length vs score, Spearman (held-out answers; lower is better)", ("heldout", "length_vs_score", "spearman")),
        ("RM-Bench chat easy", ("rmbench", "easy")),
        ("RM-Bench chat normal", ("rmbench", "normal")),
        ("RM-Bench chat hard", ("rmbench", "hard")),
        ("RM-Bench chat average", ("rmbench", "average")),
        ("JudgeBench accuracy (pointwise; ties not correct)", ("judgebench", "accuracy")),
    ]
    out = []
    for label, path in rows:
        b, a = get(before, *path), get(after, *path)
        if a is None and b is None:
            continue
        delta = f"{a - b:+.3f}" if a is not None and b is not None else "-"
        out.append(f"| {label} | {_fmt(b) if b is not None else '-'} | {_fmt(a) if a is not None else '-'} | {delta} |")
    return out


def write_report(out_dir: Path, ev: PairEval, info: dict[str, Any], rmbench: dict[str, Any] | None = None, *,
                 measures: dict[str, Any] | None = None, before: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write `report.md`, `histogram.png`, `length_vs_score.png` and `metrics.json` into `out_dir`.

    `measures` (from `evaluate.evaluate_rm`) adds the largest-gap pairs and JudgeBench; `before`
    (the same measures of the head this run may replace) adds a before/after table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = evaluate_pairs(ev)
    _histogram(ev, out_dir / "histogram.png", f"held-out pairs (accuracy {metrics['accuracy']:.3f})")
    _scatter(ev, out_dir / "length_vs_score.png")
    rho = metrics["length_vs_score"]["spearman"]
    warning = (
        f"**Warning: length drives this reward (Spearman rho = {rho:.2f} between length and score).** "
        "A policy optimised against it will learn to write longer, not better. Pair it with verifiers, "
        "a length penalty, or length-balanced training pairs."
        if abs(rho) > LENGTH_WARNING else
        f"Length and score are weakly related (Spearman rho = {rho:.2f}, below the {LENGTH_WARNING} warning line)."
    )
    lines = [
        f"# Reward model evaluation: {info.get('name', 'reward model')}",
        "",
        "## Data",
        "",
        *[f"- {k}: {_fmt(v)}" for k, v in info.get("data", {}).items()],
        "",
        "## Held-out pairs (questions never seen in training)",
        "",
        "| metric | value |",
        "| --- | --- |",
        f"| pairs | {metrics['pairs']} |",
        f"| pairwise accuracy | {metrics['accuracy']:.3f} |",
        f"| mean margin (chosen - rejected, raw) | {metrics['mean_margin']:.3f} |",
        f"| length-only baseline (longer wins) | {metrics['length_baseline_accuracy']:.3f} |",
        f"| length vs score, Pearson / Spearman | {metrics['length_vs_score']['pearson']:.3f} / {rho:.3f} |",
        "",
        "| rating gap | pairs | accuracy |",
        "| --- | --- | --- |",
        *[f"| {k} | {v['pairs']} | {v['accuracy']:.3f} |" for k, v in metrics["accuracy_by_gap"].items()],
        "",
        warning,
        "",
        "![chosen and rejected score histograms](histogram.png)",
        "",
        "![length vs score](length_vs_score.png)",
        "",
    ]
    if measures and before:
        lines += [
            f"## Before / after (before: head `{before.get('head', 'baseline')}`; after: this run)",
            "",
            "| measure | before | after | change |",
            "| --- | --- | --- | --- |",
            *_comparison_rows(before, measures),
            "",
        ]
    if measures:
        lines += [f"- largest-gap pair per held-out question: {_fmt(measures['largest_gap_heldout']['accuracy'])} "
                  f"({measures['largest_gap_heldout']['pairs']} pairs)", ""]
        jb = measures.get("judgebench")
        if jb:
            lines += [f"## JudgeBench ({jb['file']}, {jb['pairs']} pairs; a pointwise score decides both orders alike)",
                      "", "| category | pairs | accuracy |", "| --- | --- | --- |",
                      *[f"| {k} | {v['pairs']} | {v['accuracy']:.3f} |" for k, v in jb["by_category"].items()],
                      f"| all | {jb['pairs']} | {jb['accuracy']:.3f} |", ""]
    if rmbench:
        lines += [
            f"## RM-Bench ({rmbench.get('file', 'chat')}, {rmbench['items']} items)",
            "",
            "| easy | normal | hard | average |",
            "| --- | --- | --- | --- |",
            f"| {rmbench['easy']:.3f} | {rmbench['normal']:.3f} | {rmbench['hard']:.3f} | {rmbench['average']:.3f} |",
            "",
        ]
    if info.get("training"):
        lines += ["## Training", "", *[f"- {k}: {_fmt(v)}" for k, v in info["training"].items()], ""]
    (out_dir / "report.md").write_text("\n".join(lines), encoding="utf-8")
    full = {**metrics, "rmbench": rmbench, "info": info}
    if measures:
        full["largest_gap_heldout"] = measures["largest_gap_heldout"]
        full["judgebench"] = measures.get("judgebench")
    if before:
        full["before"] = before
    (out_dir / "metrics.json").write_text(json.dumps(full, indent=1, default=str), encoding="utf-8")
    return full
