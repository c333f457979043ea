"""The correctness verifier on GSM8K model solutions: agreement with the labels, and best-of-4.

Data: `gsm8k/example_model_solutions.dev.jsonl` (660 GSM8K test questions, four GPT-3 solutions
each, labelled `is_correct` by the dataset's authors; the reference is `ground_truth`).

(a) Agreement: the correctness verifier (the registered verifier's own `run`, reference =
    `ground_truth`) on all 2,640 solutions, against `is_correct`: coverage (share of solutions
    with a verdict: correct or incorrect) and agreement over the covered ones.
(c) Format robustness: each solution's final `A: X` line rewritten in other forms (`#### X`,
    "The answer is X.", `\\boxed{X}`, `$\\frac{2X}{2}$`, `A: $X` with thousands separators,
    `A: X dollars`); the verdict on the rewritten solution must equal the verdict on the
    original. The dataset's own solutions all use `A: X`, so (a) alone cannot show that the
    other rules and the by-value comparison hold up.
(b) Best-of-4: per question, the solution each method picks, scored by its label:
    - `oracle`: 1 when any of the four is correct;
    - `random`: the expected accuracy of a uniform pick (share of correct solutions);
    - `rm_alone`: the highest raw score of the embedded preference RM;
    - `correctness_then_rm`: the correctness verdict first (correct > no evidence > incorrect),
      ties broken by the RM's raw score;
    - `pipeline`: `best_index` of the reward graph with its default settings (rule planner,
      `weighted_sum` judger), which plans preference + correctness for these requests.
    (b) runs the whole graph per question (the RM dominates its cost); `--rm-questions N` limits
    it to the first N questions, and the metrics say so.

Held out: the extraction rules were developed on questions 1-330 only; every number is
reported for `dev` (1-330), `heldout` (331-660) and `all`.

    python benchmarks/bench_correctness_gsm8k.py [--data .../example_model_solutions.dev.jsonl]
        [--out DIR] [--rm-questions N]

Writes DIR/metrics.json and DIR/per_question.jsonl (default DIR: a fresh runs/correctness_gsm8k-*).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tqdm import tqdm  # noqa: E402

from reward_agent.bench.rundir import fresh_run_dir  # noqa: E402
from reward_agent import build_graph  # noqa: E402
from reward_agent.context import RewardContext  # noqa: E402
from reward_agent.types import RewardRequest  # noqa: E402
from reward_agent.verifiers.correctness.extract import as_number  # noqa: E402
from reward_agent.verifiers.correctness.verifier import check_correctness  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("REWARD_AGENT_DATA", REPO.parent / "shared" / "data"))
DEFAULT_DATA = DATA_ROOT / "gsm8k" / "example_model_solutions.dev.jsonl"
SOLVERS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")
DEV_QUESTIONS = 330  # rules were developed on these; the rest is held out


def load(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        sys.exit(f"error: data file {str(path)!r} not found")
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    for i, row in enumerate(rows):
        missing = [k for k in ("question", "ground_truth", *SOLVERS) if k not in row]
        if missing:
            sys.exit(f"error: line {i + 1} of {path} lacks {missing}")
    return rows


def request_of(row: dict[str, Any], qid: int) -> RewardRequest:
    return RewardRequest(id=str(qid), prompt=row["question"], reference=row["ground_truth"],
                         responses=[row[s]["solution"] for s in SOLVERS])


async def verdicts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The correctness verifier's evidence for every question (the comparisons run in a thread)."""
    context = RewardContext()
    out = []
    for qid, row in enumerate(tqdm(rows, desc="correctness", unit="q")):
        signal = await check_correctness(request_of(row, qid), context)
        out.append({"scores": signal.scores, "results": signal.evidence["results"], "gold": signal.evidence["gold"]})
    return out


VARIANTS = {
    "hashes": lambda x: f"#### {x}",
    "answer_is": lambda x: f"The answer is {x}.",
    "boxed": lambda x: f"So the total is $\\boxed{{{x}}}$",
    "latex_fraction": lambda x: f"A: $\\frac{{{_plain(2 * Fraction(x))}}}{{2}}$",
    "dollars_commas": lambda x: f"A: ${_commas(Fraction(x))}",
    "units": lambda x: f"A: {x} dollars",
}


def _plain(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(float(value))


def _commas(value: Fraction) -> str:
    return f"{value.numerator:,}" if value.denominator == 1 else str(float(value))


def rewrite(solution: str, variant: str) -> str | None:
    """The solution with its last `A: X` line in another form; None when it has no numeric one."""
    lines = solution.rstrip().split("\n")
    last = lines[-1]
    if not last.startswith("A:"):
        return None
    value = as_number(last[2:].strip())
    if value is None:
        return None
    return "\n".join(lines[:-1] + [VARIANTS[variant](_plain(value))])


async def robustness(rows: list[dict[str, Any]], checked: list[dict[str, Any]]) -> dict[str, Any]:
    """Per variant and split: solutions rewritten, and the share whose verdict did not change."""
    context = RewardContext()
    tally: dict[str, dict[str, Counter]] = {v: {"dev": Counter(), "heldout": Counter(), "all": Counter()}
                                            for v in VARIANTS}
    examples: dict[str, list] = {v: [] for v in VARIANTS}
    for qid, row in enumerate(tqdm(rows, desc="format robustness", unit="q")):
        for variant in VARIANTS:
            rewritten = [rewrite(row[s]["solution"], variant) for s in SOLVERS]
            keep = [k for k, r in enumerate(rewritten) if r is not None]
            if not keep:
                continue
            request = RewardRequest(prompt=row["question"], reference=row["ground_truth"],
                                    responses=[rewritten[k] for k in keep])  # type: ignore[misc]
            signal = await check_correctness(request, context)
            for j, k in enumerate(keep):
                same = signal.scores[j] == checked[qid]["scores"][k]  # type: ignore[index]
                for split in (split_of(qid), "all"):
                    tally[variant][split]["rewritten"] += 1
                    tally[variant][split]["same_verdict"] += same
                if not same and len(examples[variant]) < 3:
                    examples[variant].append({"qid": qid + 1, "solver": SOLVERS[k],
                                              "result": signal.evidence["results"][j]})
    return {v: {split: {"rewritten": c["rewritten"],
                        "same_verdict": round(c["same_verdict"] / c["rewritten"], 4) if c["rewritten"] else None}
                for split, c in splits.items()} | {"changed_examples": examples[v]}
            for v, splits in tally.items()}


def agreement(items: list[tuple[float | None, bool, dict[str, Any]]]) -> dict[str, Any]:
    """Coverage and agreement of verdicts (1.0/0.0/None) with labels."""
    covered = [(s, label) for s, label, _ in items if s is not None]
    agree = sum((s == 1.0) == label for s, label in covered)
    confusion = Counter(f"{'verdict_correct' if s == 1.0 else 'verdict_incorrect'}|"
                        f"{'label_correct' if label else 'label_incorrect'}" for s, label in covered)
    return {
        "solutions": len(items),
        "with_verdict": len(covered),
        "coverage": round(len(covered) / len(items), 4) if items else None,
        "agreement_over_covered": round(agree / len(covered), 4) if covered else None,
        "disagreements": len(covered) - agree,
        "outcomes": dict(Counter(r["outcome"] for _, _, r in items)),
        "extraction_rules": dict(Counter(str(r["extraction_rule"]) for _, _, r in items)),
        "confusion": dict(sorted(confusion.items())),
    }


def pick_correctness_then_rm(scores: list[float | None], raw: list[float]) -> int:
    rank = {1.0: 2, None: 1, 0.0: 0}
    return max(range(len(raw)), key=lambda i: (rank[scores[i]], raw[i], -i))


def best_of_4(per_question: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(per_question)
    if not n:
        return {"questions": 0}
    acc: dict[str, float] = Counter()
    for q in per_question:
        labels = q["labels"]
        acc["oracle"] += any(labels)
        acc["random"] += sum(labels) / len(labels)
        for method in ("rm_alone", "correctness_then_rm", "pipeline"):
            acc[method] += labels[q["picks"][method]] if q["picks"][method] is not None else 0
    return {"questions": n, **{k: round(v / n, 4) for k, v in acc.items()}}


def split_of(qid: int) -> str:
    return "dev" if qid < DEV_QUESTIONS else "heldout"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=None,
                        help="Output directory (default: a fresh runs/correctness_gsm8k-<time>).")
    parser.add_argument("--rm-questions", type=int, default=None,
                        help="Run the RM/pipeline part (b) on the first N questions only (default: all).")
    args = parser.parse_args()
    out = args.out or fresh_run_dir("correctness_gsm8k", REPO)
    out.mkdir(parents=True, exist_ok=True)
    rows = load(args.data)

    started = time.perf_counter()
    checked = asyncio.run(verdicts(rows))
    verify_s = time.perf_counter() - started
    items: dict[str, list] = {"dev": [], "heldout": [], "all": []}
    for qid, (row, got) in enumerate(zip(rows, checked)):
        for k, solver in enumerate(SOLVERS):
            item = (got["scores"][k], bool(row[solver]["is_correct"]), got["results"][k])
            items[split_of(qid)].append(item)
            items["all"].append(item)

    started = time.perf_counter()
    robust = asyncio.run(robustness(rows, checked))
    robust_s = time.perf_counter() - started

    rm_n = len(rows) if args.rm_questions is None else min(args.rm_questions, len(rows))
    graph, context = build_graph(), RewardContext()
    per_question = []
    started = time.perf_counter()
    plans: Counter[str] = Counter()
    for qid in tqdm(range(rm_n), desc="graph (RM + correctness)", unit="q"):
        row = rows[qid]
        result = graph.invoke({"request": request_of(row, qid)}, context=context)["result"]
        plans[",".join(result.plan.verifiers)] += 1
        pref = result.signals["preference"]
        if pref.status != "ok" or pref.raw_scores is None:
            sys.exit(f"error: the preference RM failed on question {qid + 1}: {pref.error}")
        raw = [float(r) for r in pref.raw_scores]  # type: ignore[arg-type]
        corr = result.signals["correctness"]
        assert corr.scores == checked[qid]["scores"], f"question {qid + 1}: verdicts differ between runs"
        per_question.append({
            "qid": qid + 1, "split": split_of(qid), "gold": checked[qid]["gold"],
            "labels": [bool(row[s]["is_correct"]) for s in SOLVERS],
            "correctness": checked[qid]["scores"], "rm_raw": [round(r, 4) for r in raw],
            "rewards": [None if r is None else round(r, 4) for r in result.rewards],
            "picks": {"rm_alone": max(range(len(raw)), key=lambda i: (raw[i], -i)),
                      "correctness_then_rm": pick_correctness_then_rm(checked[qid]["scores"], raw),
                      "pipeline": result.best_index},
            "outcomes": [r["outcome"] for r in checked[qid]["results"]],
            "extracted": [r["extracted"] for r in checked[qid]["results"]],
        })
    graph_s = time.perf_counter() - started

    metrics = {
        "data": str(args.data.name),
        "questions": len(rows),
        "solutions": len(rows) * len(SOLVERS),
        "splits": {"dev": f"questions 1-{DEV_QUESTIONS} (extraction rules developed here)",
                   "heldout": f"questions {DEV_QUESTIONS + 1}-{len(rows)} (not looked at while developing)"},
        "agreement": {split: agreement(v) for split, v in items.items()},
        "format_robustness": robust,
        "best_of_4": {
            "rm_questions": rm_n,
            "rm_subset_note": None if rm_n == len(rows) else f"RM/pipeline part run on the first {rm_n} questions only",
            "rm": "embedded preference RM (default context)",
            "pipeline": "reward graph, default context: rule planner, weighted_sum judger",
            "plans": dict(plans),
            "dev": best_of_4([q for q in per_question if q["split"] == "dev"]),
            "heldout": best_of_4([q for q in per_question if q["split"] == "heldout"]),
            "all": best_of_4(per_question),
        },
        "timing_s": {"correctness_all_solutions": round(verify_s, 1), "format_robustness": round(robust_s, 1), "graph": round(graph_s, 1)},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "command": "python benchmarks/bench_correctness_gsm8k.py " + " ".join(sys.argv[1:]),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    with (out / "per_question.jsonl").open("w", encoding="utf-8") as handle:
        for q in per_question:
            handle.write(json.dumps(q) + "\n")
    print(json.dumps({"agreement": {k: {m: v[m] for m in ("coverage", "agreement_over_covered", "disagreements")}
                                    for k, v in metrics["agreement"].items()},
                      "format_robustness": {v: r["all"]["same_verdict"] for v, r in robust.items()},
                      "best_of_4": {k: metrics["best_of_4"][k] for k in ("dev", "heldout", "all")}}, indent=2))
    print(f"wrote {out / 'metrics.json'}")


if __name__ == "__main__":
    main()
