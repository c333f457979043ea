"""Factuality benchmark: verdict accuracy, correct-vs-corrupted pairwise accuracy, claims per second.

    python benchmarks/bench_factuality.py [--work DIR] [--seed 1]

Builds the benchmark (benchmarks/factuality_data.py: elements from mendeleev, countries from
countryinfo, a few hundred questions with correct and corrupted answers), builds a real FAISS index
over its corpus with the bundled MiniLM encoder (reward_agent.retrieval.index_build.build_index),
then runs the real factuality verifier (`check_factuality`, local source only, offline heuristic
verdicts) on every question: all of a question's responses go in one request, as in best-of-N.

Reported (benchmarks/results/factuality.json, and a confusion-matrix plot):

- verdict accuracy, 3-way, over the claims with a gold label (each response is one claim: correct
  -> supported, corrupted -> refuted, items held out of the corpus -> not enough evidence), with the
  confusion matrix, overall and per question kind;
- pairwise accuracy of the per-response score: the correct response scored above a corrupted one
  counts 1, a tie 0.5 (half), below 0; over the questions whose document is in the corpus;
- retrieval recall@k: the share of correct claims whose gold document is among the retrieved passages;
- a baseline: the pairwise accuracy of scoring each response by its closest passage's MiniLM similarity;
- claims checked per second (extraction + retrieval + verdicts, wall time of the verifier calls,
  fresh cache), the heuristic verdicts' own rate in the same run, and the index build rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import factuality_data  # noqa: E402
from tqdm import tqdm  # noqa: E402

from reward_agent.bench.rundir import default_out  # noqa: E402
from reward_agent.context import RewardContext  # noqa: E402
from reward_agent.retrieval import open_retrievers  # noqa: E402
from reward_agent.retrieval.index_build import build_index  # noqa: E402
from reward_agent.types import RewardRequest  # noqa: E402
from reward_agent.retrieval.base import Passage  # noqa: E402
from reward_agent.verifiers.factuality import verdicts as verdicts_mod  # noqa: E402
from reward_agent.verifiers.factuality.claims import Claim  # noqa: E402
from reward_agent.verifiers.factuality.verdicts import LABELS, heuristic_verdict  # noqa: E402
from reward_agent.verifiers.factuality.verifier import check_factuality  # noqa: E402



def _pairwise(correct: float | None, corrupted: float | None) -> float:
    """1 when the correct response scores higher, 0.5 on a tie (None counts as a tie), 0 when lower."""
    if correct is None or corrupted is None or correct == corrupted:
        return 0.5
    return 1.0 if correct > corrupted else 0.0


async def _run(items: list[factuality_data.Item], context: RewardContext) -> tuple[list[dict[str, Any]], float, int]:
    rows: list[dict[str, Any]] = []
    elapsed, claims_checked = 0.0, 0
    for item in tqdm(items, desc="factuality", unit="question"):
        request = RewardRequest(prompt=item.question, responses=item.responses)
        started = time.perf_counter()
        signal = await check_factuality(request, context)
        elapsed += time.perf_counter() - started
        ev = signal.evidence
        claims_checked += ev.get("checked", 0)
        predicted = []
        for i in range(len(item.responses)):
            entry = ev["per_response"][i] if signal.status == "ok" else {"claims": []}
            labels = [c["label"] for c in entry["claims"]]
            # Each response states one fact; a response split into several claims is judged by its worst.
            order = {"refuted": 0, "not_enough_evidence": 1, "supported": 2, "unchecked": 1}
            predicted.append(min(labels, key=order.__getitem__) if labels else "no_claim")
        rows.append({"qid": item.qid, "kind": item.kind, "held_out": item.held_out, "gold": item.gold,
                     "predicted": predicted, "scores": signal.scores, "status": signal.status,
                     "corruption": item.corruption, "error": signal.error})
    return rows, elapsed, claims_checked


async def _recall_and_verdict_rate(items: list[factuality_data.Item], context: RewardContext) -> tuple[float, float, float]:
    """Retrieval recall@k of the correct answers' documents, and the heuristic's own verdict rate.

    Both reuse the searches the verifier's run cached. The verdict rate times only
    `heuristic_verdict` (passage sentence splitting included: its cache is cleared first), to
    separate the verdict method's cost from retrieval's (query embedding dominates on a CPU).
    """
    retriever = open_retrievers(context)[0]
    hits = total = 0
    work: list[tuple[Claim, list[Passage]]] = []
    baseline: list[float] = []
    for item in items:
        similarity = []
        for j, text in enumerate(item.responses):
            result = await retriever.search(text, k=context.retrieval.k)  # cached by the verifier's run
            work.append((Claim(id=str(len(work)), text=text, responses=[0]), result.passages))
            similarity.append(max((p.score or 0.0 for p in result.passages), default=0.0))
            if j == 0 and not item.held_out:
                total += 1
                hits += any(p.id.split("#")[0].removeprefix("local:") == item.doc_id for p in result.passages)
        if not item.held_out:
            baseline += [_pairwise(similarity[0], s) for s in similarity[1:]]
    verdicts_mod._passage_units.cache_clear()
    started = time.perf_counter()
    for claim, passages in work:
        heuristic_verdict(claim, passages)
    rate = len(work) / (time.perf_counter() - started)
    return (hits / total if total else 0.0), rate, sum(baseline) / len(baseline)


def _metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    confusion = {g: Counter() for g in LABELS}
    for row in rows:
        for gold, pred in zip(row["gold"], row["predicted"]):
            confusion[gold][pred] += 1
    total = sum(sum(c.values()) for c in confusion.values())
    correct = sum(confusion[g][g] for g in LABELS)
    pairs = [_pairwise(r["scores"][0] if r["scores"] else None, r["scores"][j] if r["scores"] else None)
             for r in rows if not r["held_out"] for j in range(1, len(r["gold"]))]
    ties = sum(p == 0.5 for p in pairs)
    per_label = {g: (confusion[g][g] / sum(confusion[g].values()) if sum(confusion[g].values()) else None) for g in LABELS}
    return {
        "claims_with_gold": total,
        "verdict_accuracy": correct / total if total else None,
        "recall_per_gold_label": per_label,
        "confusion": {g: dict(confusion[g]) for g in LABELS},
        "pairs": len(pairs),
        "pairwise_accuracy_ties_half": sum(pairs) / len(pairs) if pairs else None,
        "pairwise_ties": ties,
        "pairwise_strict_wins": sum(p == 1.0 for p in pairs),
    }


def _plot(confusion: dict[str, dict[str, int]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = [*LABELS, "no_claim"]
    grid = [[confusion[g].get(p, 0) for p in cols] for g in LABELS]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.imshow(grid, cmap="Blues")
    ax.set_xticks(range(len(cols)), [c.replace("not_enough_evidence", "NEI") for c in cols])
    ax.set_yticks(range(len(LABELS)), [g.replace("not_enough_evidence", "NEI") for g in LABELS])
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    top = max(max(row) for row in grid) or 1
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > top / 2 else "black")
    ax.set_title("factuality verdicts (offline heuristic, local index)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="Work dir (default: a temporary one).")
    parser.add_argument("--seed", type=int, default=1, help="Question sample; seed 0 was used while designing the heuristic.")
    parser.add_argument("--out", type=Path, default=None, help="Result file (default: a fresh run directory under runs/; committed results only when named here).")
    parser.add_argument("--reuse-index", action="store_true", help="Keep an index already built in --work.")
    args = parser.parse_args()
    args.out = args.out or default_out("factuality", "factuality.json", Path(__file__).resolve().parents[1])
    work = args.work or Path(tempfile.mkdtemp(prefix="factuality-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    counts = factuality_data.build(work / "data", seed=args.seed)
    items = factuality_data.read_items(work / "data")
    if args.reuse_index and (work / "index" / "meta.json").is_file():
        build = None  # the index of an earlier run over the same seed's corpus
    else:
        build = build_index(work / "data" / "corpus.jsonl", work / "index", overwrite=True, progress=True)
    cache = work / "cache.sqlite3"
    cache.unlink(missing_ok=True)  # a fresh cache: claims/s must include the searches
    context = RewardContext(retrieval={"sources": ["local"], "index": str(work / "index")}, cache_path=str(cache))

    rows, elapsed, checked = asyncio.run(_run(items, context))
    recall, verdict_rate, baseline = asyncio.run(_recall_and_verdict_rate(items, context))
    by_kind = {kind: _metrics([r for r in rows if r["kind"] == kind]) for kind in sorted({r["kind"] for r in rows})}
    result = {
        "benchmark": "factuality (mendeleev elements + countryinfo countries, local FAISS index)",
        "verdict_method": "heuristic (offline)",
        "data": counts,
        "index": None if build is None else {"passages": build.added_passages, "seconds": round(build.seconds, 2),
                                             "embedding_passages_per_s": round(build.passages_per_s, 1)},
        "overall": _metrics(rows),
        "by_kind": {k: {key: v[key] for key in ("claims_with_gold", "verdict_accuracy", "pairwise_accuracy_ties_half", "pairwise_ties")}
                    for k, v in by_kind.items()},
        "retrieval_recall_at_k": {"k": context.retrieval.k, "recall": recall},
        # Baseline: score a response by the MiniLM similarity of its closest passage (no verdicts).
        "baseline_pairwise_accuracy_similarity": baseline,
        "speed": {"claims_checked": checked, "seconds": round(elapsed, 2),
                  "claims_per_s": round(checked / elapsed, 1) if elapsed else None,
                  "heuristic_verdicts_per_s": round(verdict_rate, 1),
                  "cpu_load_average_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()},
        "notes": ["pairwise: correct vs each corrupted response of a question in the corpus; ties count 0.5",
                  "each response states one fact; a response read as several claims takes its worst label",
                  "no_claim: the sentence extractor kept no claim from the response (counted as wrong)",
                  "the heuristic was designed looking at seed 0's errors; other seeds draw other questions "
                  "and held-out items from the same templates, so they are fresh questions, not fresh wordings",
                  "speed was measured on a shared machine; see cpu_load_average_1m"],
        "seed": args.seed,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    _plot(result["overall"]["confusion"], args.out.with_suffix(".png"))
    (work / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("overall", "by_kind", "retrieval_recall_at_k",
                                             "baseline_pairwise_accuracy_similarity", "speed")}, indent=2))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}; per-question rows in {work / 'rows.jsonl'}")


if __name__ == "__main__":
    main()
