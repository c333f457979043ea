"""metrics.json and report.md (with PNG plots beside it) for a benchmark run.

Plots use matplotlib's Agg backend (files only, no display). Three kinds: reward distributions
of the preferred vs the other response, accuracy per subset as bars, and RM-Bench's 3x3
chosen-style x rejected-style accuracy heatmap.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["accuracy_bars", "reward_histogram", "style_heatmap", "write_metrics", "write_report"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)  # files only: benchmarks run on machines without a display
    import matplotlib.pyplot as plt

    return plt


def write_metrics(out: str | Path, metrics: dict[str, Any]) -> Path:
    """`out/metrics.json`, pretty-printed."""
    path = Path(out) / "metrics.json"
    path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def reward_histogram(path: Path, preferred: Sequence[float | None], other: Sequence[float | None],
                     title: str, labels: tuple[str, str] = ("chosen", "rejected")) -> Path:
    """Overlaid histograms of two reward lists (None values left out)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    bins = [i / 25 for i in range(26)]  # rewards live in [0, 1]
    for values, label, color in ((preferred, labels[0], "tab:green"), (other, labels[1], "tab:red")):
        clean = [v for v in values if v is not None]
        ax.hist(clean, bins=bins, alpha=0.55, label=f"{label} (n={len(clean)})", color=color)
    ax.set_xlabel("reward")
    ax.set_ylabel("responses")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def accuracy_bars(path: Path, accuracies: dict[str, float], title: str, counts: dict[str, int] | None = None) -> Path:
    """Horizontal bars of accuracy per subset, with a 0.5 chance line."""
    plt = _plt()
    names = list(accuracies)
    fig, ax = plt.subplots(figsize=(6.5, 0.38 * len(names) + 1.4))
    ax.barh(range(len(names)), [accuracies[n] for n in names], color="tab:blue")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([f"{n} (n={counts[n]})" if counts else n for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0.5, color="grey", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("accuracy")
    ax.set_title(title)
    for i, n in enumerate(names):
        ax.text(min(accuracies[n] + 0.01, 0.93), i, f"{accuracies[n]:.3f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def style_heatmap(path: Path, matrix: list[list[float]], title: str,
                  styles: Sequence[str] = ("concise", "detailed", "markdown")) -> Path:
    """RM-Bench's matrix: rows = chosen style, columns = rejected style; upper triangle = hard."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.6, 4))
    im = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(styles)))
    ax.set_yticks(range(len(styles)))
    ax.set_xticklabels(styles)
    ax.set_yticklabels(styles)
    ax.set_xlabel("rejected style")
    ax.set_ylabel("chosen style")
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="white" if v < 0.6 else "black")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def write_report(out: str | Path, title: str, summary: list[tuple[str, Any]], sections: list[tuple[str, str]],
                 plots: list[tuple[str, Path]], metrics: dict[str, Any]) -> Path:
    """`out/report.md`: a summary table, free-text sections, the plots, and the efficiency block."""
    out = Path(out)
    lines = [f"# {title}", "", "| metric | value |", "| --- | --- |"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in summary]
    for heading, body in sections:
        lines += ["", f"## {heading}", "", body.rstrip()]
    if plots:
        lines += ["", "## Plots", ""]
        for caption, path in plots:
            lines += [f"![{caption}]({path.name})", "", f"*{caption}*", ""]
    eff = metrics.get("efficiency")
    if eff:
        calls = eff["model_calls"]
        cache = eff["cache"]
        lines += ["", "## Efficiency", "",
                  f"- this run: {eff['run']['new_items']} new items ({eff['run']['resumed_items']} resumed) in "
                  f"{eff['run']['elapsed_s']:.1f} s = {eff['run']['items_per_s']:.3f} items/s",
                  *([f"- all {eff['all_runs']['invocations']} invocation(s) together: {eff['all_runs']['items']} items in "
                     f"{eff['all_runs']['elapsed_s']:.1f} s = {eff['all_runs']['items_per_s']:.3f} items/s"]
                    if eff.get("all_runs") else []),
                  f"- model calls per item: {calls['per_item_total']} ({', '.join(f'{k} {v}' for k, v in calls['per_item'].items()) or 'none'})",
                  f"- cache (this run): {cache['hits']} hits, {cache['misses']} misses"]
    files = [("all figures", "metrics.json"), ("one row per item", "results.jsonl"),
             ("configuration", "results.config.json"), ("timings per invocation", "results.run.json")]
    listed = [f"{what}: `{name}`" for what, name in files if (out / name).exists() or name == "metrics.json"]
    lines += ["", "Files: " + "; ".join(listed) + ".", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
