"""Choose train-rm's pair-shaping defaults (length balance, hard negatives) by measurement, on
training questions only.

The training questions of train-rm's split (seed 0, 20% held out) are split again by question:
a share is kept aside as a validation set, each candidate shaping trains a head on the rest, and
the heads are compared on the validation pairs. Neither the held-out arena questions nor RM-Bench
nor JudgeBench take part, so the final report's numbers on them stay unbiased by this choice.

Measures per candidate (validation pairs): pairwise accuracy; accuracy on the pairs where the
chosen answer is the longer / the shorter one, and their mean (length-balanced accuracy: what a
length-only rule cannot fake, it scores exactly 0.5); Spearman of score with length.
The pick: the highest length-balanced accuracy among candidates whose pairwise accuracy is within
0.02 of the unshaped head's.

Needs the texts' embeddings in an embedding cache (a train-rm run with --embedding-cache writes
one); texts missing from it are embedded (slow on a CPU).

    nice -n 10 python benchmarks/select_rm_shaping.py --data ../shared/data/preference/arena-bench-v1-rated.jsonl \\
        --embedding-cache /tmp/emb_cache.pt --out /tmp/selection [--max-train-questions 120]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CANDIDATES = [
    ("none", ()),
    ("weight", ()),
    ("subsample", ()),
    ("none", ("short_chosen", "filler", "markdown")),
    ("weight", ("short_chosen",)),
    ("weight", ("filler",)),
    ("weight", ("markdown",)),
    ("weight", ("filler", "markdown")),
    ("weight", ("short_chosen", "filler", "markdown")),
    ("subsample", ("short_chosen", "filler", "markdown")),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--embedding-cache", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a fresh runs/select_rm_shaping-<time>/)")
    parser.add_argument("--max-train-questions", type=int, default=None)
    parser.add_argument("--validation-fraction", type=float, default=0.25)
    parser.add_argument("--per-question", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--embed-missing", action="store_true", help="embed texts the cache lacks (else skip them)")
    args = parser.parse_args()
    if args.out is None:
        from reward_agent.bench.rundir import fresh_run_dir

        args.out = fresh_run_dir("select_rm_shaping", REPO)

    import torch
    from tqdm.auto import tqdm

    from reward_agent.rm.embedded import EmbeddedHead, features
    from reward_agent.rm.minilm import load_minilm
    from reward_agent.train.data import split_by_question
    from reward_agent.train.embedded import EmbeddedTrainConfig, EmbeddingTable, train_embedded_head
    from reward_agent.train.report import length_correlation
    from reward_agent.train.run import TrainRMConfig, prepare_pairs, shape_training_set, train_question_order

    base = TrainRMConfig(data=args.data, out=args.out, hard_negatives_per_question=args.per_question,
                         max_train_questions=args.max_train_questions, embedded=EmbeddedTrainConfig(epochs=args.epochs))
    train, test, _ = prepare_pairs(base)
    held_out = {p.question_id for p in test}
    questions = {p.question_id for p in train}
    if args.max_train_questions:
        questions = set(train_question_order(questions, base.seed)[: args.max_train_questions])
    inner_train_q, val_q = split_by_question(sorted(questions), args.validation_fraction, seed=1)
    inner = [p for p in train if p.question_id in inner_train_q]
    val = [p for p in train if p.question_id in val_q]
    assert not ({p.question_id for p in inner} | {p.question_id for p in val}) & held_out

    table = EmbeddingTable(load_minilm().encode)
    table.load(args.embedding_cache)
    results = []
    for balance, kinds in tqdm(CANDIDATES, desc="select (candidates)", unit="head"):
        cfg = replace(base, length_balance=balance, hard_negatives=kinds, max_train_questions=None)
        # Negatives are built from all training questions (as train-rm builds them, so their texts are
        # in the cache), then only the inner-training questions are kept; filler appended to them may
        # be a paragraph of a validation question's answer (as filler only, never as a labelled answer).
        shaped = shape_training_set(train, held_out, cfg, keep_questions=inner_train_q)
        assert not {p.question_id for p in shaped.pairs} & (val_q | held_out)
        texts = {t for p in shaped.pairs + val for t in (p.prompt, p.chosen, p.rejected)}
        missing = [t for t in texts if t not in table]
        if missing and args.embed_missing:
            table.add(sorted(missing), progress=True, cache=args.embedding_cache)
            missing = []
        keep = [k for k, p in enumerate(shaped.pairs) if all(t in table for t in (p.prompt, p.chosen, p.rejected))]
        pairs = [shaped.pairs[k] for k in keep]
        weights = [shaped.weights[k] for k in keep] if shaped.weights else None
        layers, _ = train_embedded_head(pairs, table, cfg.embedded, weights=weights, progress=False)
        head = EmbeddedHead(layers, list(cfg.embedded.parts), {})
        usable = [p for p in val if all(t in table for t in (p.prompt, p.chosen, p.rejected))]
        with torch.inference_mode():
            pv = table[[p.prompt for p in usable]]
            sc = head(features(pv, table[[p.chosen for p in usable]], list(cfg.embedded.parts))).tolist()
            sr = head(features(pv, table[[p.rejected for p in usable]], list(cfg.embedded.parts))).tolist()
        right = [1.0 if c > r else 0.5 if c == r else 0.0 for c, r in zip(sc, sr)]
        longer = [ok for ok, p in zip(right, usable) if len(p.chosen) > len(p.rejected)]
        shorter = [ok for ok, p in zip(right, usable) if len(p.chosen) <= len(p.rejected)]
        rho = length_correlation([len(p.chosen) for p in usable] + [len(p.rejected) for p in usable], sc + sr)["spearman"]
        row = {"length_balance": balance, "hard_negatives": list(kinds), "training_pairs": len(pairs),
               "skipped_unembedded": len(shaped.pairs) - len(pairs), "summary": shaped.summary,
               "val_pairs": len(usable), "val_accuracy": sum(right) / len(right),
               "val_acc_chosen_longer": sum(longer) / len(longer), "val_acc_chosen_shorter": sum(shorter) / len(shorter),
               "val_spearman_length": rho}
        row["val_length_balanced_accuracy"] = (row["val_acc_chosen_longer"] + row["val_acc_chosen_shorter"]) / 2
        results.append(row)
        tqdm.write(f"{balance:9s} {'+'.join(kinds) or '-':30s} acc {row['val_accuracy']:.3f} "
                   f"bal {row['val_length_balanced_accuracy']:.3f} shorter {row['val_acc_chosen_shorter']:.3f} "
                   f"rho {rho:.3f} (skipped {row['skipped_unembedded']})")
    plain = results[0]["val_accuracy"]
    eligible = [r for r in results if r["val_accuracy"] >= plain - 0.02]
    pick = max(eligible, key=lambda r: r["val_length_balanced_accuracy"])
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"questions": {"inner_train": len(inner_train_q), "validation": len(val_q), "held_out_untouched": len(held_out)},
              "rule": "max length-balanced validation accuracy among candidates within 0.02 of the unshaped accuracy",
              "pick": {"length_balance": pick["length_balance"], "hard_negatives": pick["hard_negatives"]},
              "per_question": args.per_question, "epochs": args.epochs, "candidates": results}
    (args.out / "selection.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps(report["pick"]), "->", args.out / "selection.json")


if __name__ == "__main__":
    main()
