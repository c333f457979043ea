"""Plot and Markdown report of a best-of-n run (from its metrics dict, nothing recomputed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["METRIC_LABELS", "plot_curves", "write_report"]

METRIC_LABELS = {
    "prompt_strict": "IFEval prompt-level strict acc.",
    "prompt_loose": "IFEval prompt-level loose acc.",
    "instruction_strict": "IFEval instruction-level strict acc.",
    "instruction_loose": "IFEval instruction-level loose acc.",
    "rating": "mean rating of the pick",
}
_BASELINE_STYLE = {"oracle": ("black", "--"), "random": ("grey", ":")}


def plot_curves(summary: dict[str, Any], ns: Sequence[int], path: Path, title: str) -> None:
    """Quality against n (log2 x-axis): one panel per metric, one line per configuration and baseline."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server
    import matplotlib.pyplot as plt

    metrics = list(next(iter(summary["baselines"].values()), {}))
    if not metrics:
        return
    cols = min(2, len(metrics))
    rows = (len(metrics) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        for k, (name, curves) in enumerate(summary["configs"].items()):
            ys = [curves[metric][str(n)] for n in ns]
            # Thinner, marked differently: equal curves stay visible on top of each other.
            ax.plot(ns, ys, marker="os^D"[k % 4], markersize=max(7 - 2 * k, 3), linewidth=max(2.5 - 0.8 * k, 0.8),
                    label=f"picked by {name}")
        for name, curves in summary["baselines"].items():
            colour, style = _BASELINE_STYLE.get(name, ("grey", "-."))
            ax.plot(ns, [curves[metric][str(n)] for n in ns], color=colour, linestyle=style, label=name)
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(ns), [str(n) for n in ns])
        ax.set_xlabel("n (responses sampled per prompt)")
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    fig.suptitle(f"{title}: {summary['items_with_quality']} prompts")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _table(summary: dict[str, Any], ns: Sequence[int]) -> list[str]:
    lines: list[str] = []
    metrics = list(next(iter(summary["baselines"].values()), {}))
    for metric in metrics:
        lines += [f"**{METRIC_LABELS.get(metric, metric)}**", "",
                  "| picked by | " + " | ".join(f"n={n}" for n in ns) + " |",
                  "| --- |" + " ---: |" * len(ns)]
        for name, curves in list(summary["configs"].items()) + list(summary["baselines"].items()):
            label = name if name in summary["configs"] else f"_{name}_"
            lines.append(f"| {label} | " + " | ".join(_fmt(curves[metric][str(n)]) for n in ns) + " |")
        lines.append("")
    return lines


def write_report(metrics: dict[str, Any], path: Path) -> None:
    """`report.md`: the curves as tables, failures, fallbacks and efficiency."""
    ns = metrics["n"]
    src = metrics.get("source") or {}
    lines = [
        "# best-of-n", "",
        f"Data: `{src.get('data', '?')}`" + (f" (adapter `{src['adapter']}`)" if src.get("adapter") else "")
        + f"; {metrics['items']} prompts, {metrics['evaluated_items']} scored by every configuration; "
        f"up to {metrics['max_responses']} responses per prompt.",
        "",
        "The pick for n is the highest reward among the first n sampled responses (ties: first). "
        "`oracle` is the best response among the first n, `random` the expected quality of a random one.",
        "",
        *([f"Groups: {src['groups']}.", ""] if src.get("groups") else []),
        *([f"Only group `{src['group']}` was run.", ""] if src.get("group") else []),
        *([f"Share of prompts where `{metrics['same_pick_share']['configs'][0]}` and "
           f"`{metrics['same_pick_share']['configs'][1]}` pick the same response: "
           + ", ".join(f"n={n}: {metrics['same_pick_share'][str(n)]:.2f}" for n in ns) + ".", ""]
          if metrics.get("same_pick_share") else []),
        "## All evaluated prompts", "",
        *_table(metrics["overall"], ns),
    ]
    for group, summary in metrics["groups"].items():
        lines += [f"## Group `{group}` ({summary['items_with_quality']} prompts)", "", *_table(summary, ns)]
    short = {n: c for n, c in metrics["short_items"].items() if c}
    lines += ["## Caveats", ""]
    if short:
        lines.append("- Prompts with fewer responses than n (all their responses are used): "
                     + ", ".join(f"n={n}: {c}" for n, c in short.items()) + ".")
    for name, fb in metrics["no_reward_fallbacks"].items():
        if any(fb.values()):
            lines.append(f"- `{name}`: prompts where no response among the first n had a reward (first sample "
                         "used): " + ", ".join(f"n={n}: {c}" for n, c in fb.items() if c) + ".")
    for name, failed in metrics["failed"].items():
        if failed["count"]:
            lines.append(f"- `{name}`: {failed['count']} prompt(s) failed to score and are left out; e.g. "
                         + "; ".join(f"{k}: {v}" for k, v in list(failed["examples"].items())[:2]))
    if metrics["check_errors"]:
        lines.append(f"- {metrics['check_errors']} IFEval checks errored; counted as not followed.")
    if lines[-1] == "":
        lines.append("- none")
    lines += ["", "## Efficiency", "", "| configuration | new items | items/s | model calls per item | cache hits / misses |",
              "| --- | ---: | ---: | --- | --- |"]
    for name, eff in metrics["efficiency"].items():
        calls = eff["model_calls"]["per_item"]
        calls_text = ", ".join(f"{k} {v:g}" for k, v in calls.items() if v) or "0"
        cache = eff["cache"]
        lines.append(f"| {name} | {eff['run']['new_items']} | {eff['run']['items_per_s']:.3f} | {calls_text} | "
                     f"{cache['hits']} / {cache['misses']} |")
    lines += ["", "Configurations are scored one after the other in one process: the first pays for loading the "
              "models, later ones reuse them (and the embedded RM's in-process embedding memo), so compare "
              "their items/s with that in mind. Model calls count reward-model batches and LLM calls.", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
