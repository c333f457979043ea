"""How much of the embedded RM's score is length and markdown, and what a length control changes.

1. Fit: the shipped head's raw scores on a seeded sample of its *training* answers (arena,
   the train-rm split by question), regressed on log length and markdown marks
   (`reward_agent/rm/length_control.py`).
2. Held-out arena answers (the questions train-rm held out): Spearman of score with length and
   with markdown, raw and controlled; pairwise accuracy (rating gap >= 2) raw and controlled, with
   the length-only baseline; best-vs-worst pair per question (the largest rating gap), on all 300
   questions and on the 60 held-out ones.
3. RM-Bench chat (easy / normal / hard), raw and controlled.

    python benchmarks/bench_length_bias.py --data ../shared/data --out /tmp/length_bias \
        [--export reward_agent/rm/weights/embedded_rm.length_control.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    return round(float(spearmanr(a, b)[0]), 4)


def pair_acc(score: dict[int, float], pairs: list[tuple[int, int]]) -> float:
    wins = sum(1.0 if score[c] > score[r] else 0.5 if score[c] == score[r] else 0.0 for c, r in pairs)
    return round(wins / max(len(pairs), 1), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a fresh runs/length_bias-<time>/)")
    parser.add_argument("--fit-answers", type=int, default=1500, help="training answers sampled for the fit")
    parser.add_argument("--export", type=Path, default=None, help="write the fitted coefficients here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--heldout-questions", type=int, default=None, help="only this many held-out questions (seeded)")
    parser.add_argument("--all-extremes", action="store_true", help="best vs worst on all 300 questions (not only held-out)")
    parser.add_argument("--rmbench-limit", type=int, default=None, help="only the first N RM-Bench chat items")
    args = parser.parse_args()

    from reward_agent.bench.rmbench import rmbench_from_scores
    from reward_agent.rm.embedded import EmbeddedRM
    from reward_agent.rm.length_control import fit_length_control, style_features
    from reward_agent.train.data import load_preference_file, pairs_from_ratings, split_by_question

    started = time.time()
    rm = EmbeddedRM()
    training = rm.head.meta.get("training") or {}
    _, rated = load_preference_file(args.data / "preference" / "arena-bench-v1-rated.jsonl")
    pairs = pairs_from_ratings(rated, min_gap=float(training.get("min_gap", 2.0)))
    train_q, test_q = split_by_question([p.question_id for p in pairs], 0.2, int(training.get("seed", 0)))
    rng = random.Random(args.seed)
    if args.heldout_questions:
        test_q = set(rng.sample(sorted(test_q), min(args.heldout_questions, len(test_q))))
    train_idx = [i for i, a in enumerate(rated) if a.question_id in train_q]
    test_idx = [i for i, a in enumerate(rated) if a.question_id in test_q]
    fit_idx = sorted(rng.sample(train_idx, min(args.fit_answers, len(train_idx))))

    # best vs worst answer per question (ties on rating: first seen), all 300 questions
    by_q: dict[str, list[int]] = defaultdict(list)
    for i, a in enumerate(rated):
        by_q[a.question_id].append(i)
    extremes = []
    for q, idx in sorted(by_q.items()):
        best = max(idx, key=lambda i: rated[i].rating)
        worst = min(idx, key=lambda i: rated[i].rating)
        if rated[best].rating > rated[worst].rating and (args.all_extremes or q in test_q):
            extremes.append((q, best, worst))

    need = sorted(set(fit_idx) | set(test_idx) | {i for _, b, w in extremes for i in (b, w)})
    print(f"scoring {len(need)} arena answers", flush=True)
    raw: dict[int, float] = {}
    for start in range(0, len(need), 256):
        chunk = need[start : start + 256]
        out = rm.score_batch([rated[i].prompt for i in chunk], [rated[i].response for i in chunk])
        raw.update(zip(chunk, out.raw))
        print(f"  {min(start + 256, len(need))}/{len(need)} ({time.time() - started:.0f}s)", flush=True)
    control = fit_length_control([raw[i] for i in fit_idx], [rated[i].response for i in fit_idx],
                                 head=rm.head.meta.get("id", ""))
    ctrl = {i: control.adjust(raw[i], rated[i].response) for i in raw}

    index_of = {(rated[i].question_id, rated[i].response): i for i in test_idx}
    test_pairs = [(index_of[(p.question_id, p.chosen)], index_of[(p.question_id, p.rejected)])
                  for p in pairs if p.question_id in test_q]
    lengths = {i: len(rated[i].response) for i in raw}
    marks = {i: style_features(rated[i].response)[1] for i in raw}
    longer = sum(1.0 if lengths[c] > lengths[r] else 0.5 if lengths[c] == lengths[r] else 0.0
                 for c, r in test_pairs) / max(len(test_pairs), 1)
    ext_all = [(b, w) for _, b, w in extremes]
    ext_test = [(b, w) for q, b, w in extremes if q in test_q]
    metrics: dict = {
        "head": rm.head.meta.get("id", ""),
        "fit": {"answers": len(fit_idx), **control.to_dict()},
        "heldout_answers": len(test_idx),
        "spearman_length": {"raw": spearman([lengths[i] for i in test_idx], [raw[i] for i in test_idx]),
                            "controlled": spearman([lengths[i] for i in test_idx], [ctrl[i] for i in test_idx])},
        "spearman_markdown": {"raw": spearman([marks[i] for i in test_idx], [raw[i] for i in test_idx]),
                              "controlled": spearman([marks[i] for i in test_idx], [ctrl[i] for i in test_idx])},
        "spearman_rating": {"raw": spearman([rated[i].rating for i in test_idx], [raw[i] for i in test_idx]),
                            "controlled": spearman([rated[i].rating for i in test_idx], [ctrl[i] for i in test_idx])},
        "heldout_pairs": {"n": len(test_pairs), "raw": pair_acc(raw, test_pairs),
                          "controlled": pair_acc(ctrl, test_pairs), "longer_wins": round(longer, 4)},
        "best_vs_worst_scored_questions": {"n": len(ext_all), "raw": pair_acc(raw, ext_all),
                                           "controlled": pair_acc(ctrl, ext_all)},
        "best_vs_worst_heldout_questions": {"n": len(ext_test), "raw": pair_acc(raw, ext_test),
                                            "controlled": pair_acc(ctrl, ext_test)},
    }
    print(f"arena done ({time.time() - started:.0f}s)", flush=True)

    items = json.loads((args.data / "rm-bench" / "chat.json").read_text(encoding="utf-8"))[: args.rmbench_limit]
    prompts, responses = [], []
    for item in items:
        for text in list(item["chosen"]) + list(item["rejected"]):
            prompts.append(item["prompt"])
            responses.append(text)
    rb_raw = rm.score_batch(prompts, responses).raw
    rb_ctrl = [control.adjust(x, t) for x, t in zip(rb_raw, responses)]
    for name, values in (("raw", rb_raw), ("controlled", rb_ctrl)):
        chosen, rejected, offset = [], [], 0
        for item in items:
            k, m = len(item["chosen"]), len(item["rejected"])
            chosen.append(values[offset : offset + k])
            rejected.append(values[offset + k : offset + k + m])
            offset += k + m
        res = rmbench_from_scores(chosen, rejected)
        metrics.setdefault("rm_bench_chat", {})[name] = {k: round(res[k], 4) for k in ("items", "easy", "normal", "hard", "average")}
    metrics["seconds"] = round(time.time() - started, 1)
    from reward_agent.bench.rundir import fresh_run_dir

    args.out = args.out or fresh_run_dir("length_bias")  # never the committed results
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    if args.export:
        args.export.write_text(json.dumps(control.to_dict(), indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in metrics.items() if k != "fit"}, indent=1))
    print("fit:", json.dumps(control.to_dict()))


if __name__ == "__main__":
    main()
