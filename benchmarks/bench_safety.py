"""The safety verifier on held-out data: its classifiers, its cost, and the pipeline's choices.

Everything is measured on the held-out side of `reward_agent/verifiers/safety/data.py`'s split
(sources never trained on: HarmBench, OKTest_heldout, dro_harmless_testset, CoCoNot contrast eval;
held-out DRO pairs, arena questions, CoCoNot pref rows and half of IFEval) plus
`benchmarks/data/safety_handwritten.jsonl` (responses written by hand, not from the templates).

1. classifiers: harmful-request precision / recall, look-alikes flagged harmful (over-refusal the
   verifier would reward), refusal-detection accuracy, the risk model's (applies) recall and the
   share of IFEval prompts it applies to;
2. cost: the planner's `applies` test per prompt (IFEval prompts, where it must not apply), and the
   verifier's milliseconds per response (warm encoder, texts not seen before);
3. pipeline pairs: a refusal against a compliance for held-out harmful prompts, and a compliant
   answer against a refusal for held-out look-alikes, scored by the embedded RM alone, safety
   alone, and both merged by `weighted_sum` (safety weight 1 and 2) and `gated` (the verifier runs
   only where the planner's `applies` says so, as in the graph).

    python benchmarks/bench_safety.py --data ../shared/data --out /tmp/bench_safety [--pairs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


def _load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def time_applies(prompts: list[str]) -> dict:
    from reward_agent.context import RewardContext
    from reward_agent.types import RewardRequest
    from reward_agent.verifiers.safety.applies import applies

    ctx = RewardContext()
    requests = [RewardRequest(prompt=p, responses=["x"]) for p in prompts]
    applies(requests[0], ctx)  # load the weights once
    chosen = 0
    rounds = []
    for _ in range(3):
        start = time.perf_counter()
        chosen = sum(applies(r, ctx)[0] for r in requests)
        rounds.append((time.perf_counter() - start) / len(requests))
    return {"prompts": len(prompts), "applies_share": round(chosen / len(prompts), 4),
            "applied_to": [r.prompt[:100] for r in requests if applies(r, ctx)[0]],
            "us_per_prompt_median": round(statistics.median(rounds) * 1e6, 1)}


def time_verifier(items: list[tuple[str, list[str]]]) -> dict:
    from reward_agent.context import RewardContext
    from reward_agent.types import RewardRequest
    from reward_agent.verifiers.safety.verifier import score_safety

    ctx = RewardContext()
    per_response: list[float] = []

    async def run_all() -> None:
        # One event loop, as in a server: its worker threads (and torch's per-thread state) are reused.
        await score_safety(RewardRequest(prompt="warm up the encoder", responses=["ok", "no"]), ctx)
        for k, (prompt, answers) in enumerate(items):
            # a suffix makes every text new to the encoder's memo: the cost of unseen texts
            request = RewardRequest(prompt=f"{prompt} ({k})", responses=[f"{a} [{k}]" for a in answers])
            start = time.perf_counter()
            await score_safety(request, ctx)
            per_response.append((time.perf_counter() - start) / len(answers))

    asyncio.run(run_all())
    per_response.sort()
    return {"requests": len(items), "responses": sum(len(a) for _, a in items),
            "ms_per_response_median": round(1000 * per_response[len(per_response) // 2], 2),
            "ms_per_response_p90": round(1000 * per_response[int(len(per_response) * 0.9)], 2)}


def pair_accuracy(pairs: list[tuple[str, str, str]]) -> dict:
    """pairs: (prompt, better, worse). Accuracy of several scorers (ties count half)."""
    from reward_agent.context import RewardContext
    from reward_agent.judger import judge_gated, judge_weighted_sum
    from reward_agent.types import RewardRequest
    from reward_agent.verifiers.preference import score_preference
    from reward_agent.verifiers.safety.applies import applies
    from reward_agent.verifiers.safety.verifier import score_safety

    setups = {
        "rm_only": None,
        "safety_only": None,
        "weighted_sum_w1": RewardContext(weights={"safety": 1.0}),
        "weighted_sum_w2": RewardContext(weights={"safety": 2.0}),
        "gated_w1": RewardContext(judger="gated", weights={"safety": 1.0}),
    }
    wins = {k: 0.0 for k in setups}
    applied = 0
    gate_fired_on_better = 0
    ctx = RewardContext()

    async def one(prompt: str, good: str, bad: str) -> None:
        nonlocal applied, gate_fired_on_better
        request = RewardRequest(prompt=prompt, responses=[good, bad])
        pref = await score_preference(request, ctx)
        chosen, _ = applies(request, ctx)
        applied += chosen
        signals = {"preference": pref}
        safety = await score_safety(request, ctx)
        if chosen:
            signals["safety"] = safety
            gate_fired_on_better += bool(safety.evidence["violations"][0])
        for name, setup in setups.items():
            if name == "rm_only":
                r = pref.scores
            elif name == "safety_only":
                r = safety.scores
            else:
                judge = judge_gated if setup.judger == "gated" else judge_weighted_sum
                r = (await judge(request, signals, setup)).rewards
            wins[name] += 1.0 if r[0] > r[1] else 0.5 if r[0] == r[1] else 0.0

    async def run_all() -> None:
        for prompt, good, bad in pairs:
            await one(prompt, good, bad)

    asyncio.run(run_all())
    n = max(len(pairs), 1)
    return {"pairs": len(pairs), "safety_applied": round(applied / n, 4),
            "gate_fired_on_the_better_response": gate_fired_on_better,
            "accuracy": {k: round(v / n, 4) for k, v in wins.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a fresh runs/safety-<time>/)")
    parser.add_argument("--pairs", type=int, default=200, help="pairs per pipeline set (sampled, seeded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=None, help="embeddings cache written by train_safety (.npz)")
    args = parser.parse_args()

    import sys

    sys.path.insert(0, str(REPO))
    from reward_agent.verifiers.safety.classifiers import load_classifiers
    from reward_agent.verifiers.safety.data import load_safety_data
    from reward_agent.verifiers.safety.train import EmbeddingCache, evaluate

    rng = random.Random(args.seed)
    models = load_classifiers()
    data = load_safety_data(args.data, seed=int(models.meta.get("seed", 0)))
    handwritten = _load_jsonl(REPO / "benchmarks" / "data" / "safety_handwritten.jsonl")
    started = time.time()
    metrics: dict = {"classifiers": models.id, "machine": f"{platform.machine()}, {os.cpu_count()} cpus (shared)"}
    metrics["heldout"] = evaluate(models, data, handwritten, embed=EmbeddingCache(args.cache) if args.cache else None)
    print(f"classifiers evaluated ({time.time() - started:.0f}s)", flush=True)

    ifeval = [r["prompt"] for r in _load_jsonl(args.data / "ifeval" / "input_data.jsonl")]
    metrics["applies_ifeval"] = time_applies(ifeval)
    harmful = [e.text for e in data.harm_test if e.source in ("harmbench", "harmbench_contextual", "dro_harmful")]
    lookalikes = [e.text for e in data.harm_test if e.source in
                  ("oktest_heldout", "dro_harmless_testset", "coconot_contrast_eval", "dro_harmless")]
    metrics["applies_harmful_heldout"] = {k: v for k, v in time_applies(harmful).items() if k != "applied_to"}
    metrics["applies_lookalikes_heldout"] = {k: v for k, v in time_applies(lookalikes).items() if k != "applied_to"}
    print(f"applies timed ({time.time() - started:.0f}s)", flush=True)

    refusals = {e.prompt: e.text for e in data.refusal_test if e.source == "refusal_parts_test"}
    compliances = {e.prompt: e.text for e in data.refusal_test if e.source == "harmful_compliance_test"}
    harm_pairs = [(p, refusals[p], compliances[p]) for p in harmful if p in refusals and p in compliances]
    harm_pairs = rng.sample(harm_pairs, min(args.pairs, len(harm_pairs)))
    chosen = {e.prompt: e.text for e in data.refusal_test if e.source == "coconot_chosen"}
    look_set = {e.text for e in data.harm_train if e.source == "coconot_pref"}  # safety-concern prompts
    from reward_agent.verifiers.safety.data import refusal_text

    look_pairs = [(p, a, refusal_text(rng, "test")) for p, a in chosen.items() if p not in look_set]
    look_pairs = rng.sample(look_pairs, min(args.pairs, len(look_pairs)))
    metrics["verifier_cost"] = time_verifier([(p, [a, b]) for p, a, b in harm_pairs[:40]])
    print(f"verifier timed ({time.time() - started:.0f}s)", flush=True)
    metrics["pipeline_harmful"] = pair_accuracy(harm_pairs)
    print(f"harmful pairs ({time.time() - started:.0f}s)", flush=True)
    metrics["pipeline_lookalike"] = pair_accuracy(look_pairs)
    hw_pairs = []
    by_prompt: dict[str, dict[str, str]] = {}
    for h in handwritten:
        by_prompt.setdefault(h["prompt"], {})[h["label"]] = h["response"]
    for prompt, answers in by_prompt.items():
        if "compliance" in answers and ("refusal" in answers or "safe_completion" in answers):
            good = answers.get("refusal") or answers["safe_completion"]
            hw_pairs.append((prompt, good, answers["compliance"]))
    metrics["pipeline_handwritten_harmful"] = pair_accuracy(hw_pairs)
    metrics["seconds"] = round(time.time() - started, 1)

    from reward_agent.bench.rundir import fresh_run_dir

    args.out = args.out or fresh_run_dir("safety")  # never the committed results
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    h = metrics["heldout"]
    lines = [
        f"# Safety verifier, held out ({models.id})", "",
        f"- harmful vs look-alike requests: precision {h['harm']['harmful_vs_lookalikes']['precision']}, "
        f"recall {h['harm']['harmful_vs_lookalikes']['recall']} (n={h['harm']['harmful_vs_lookalikes']['n']})",
        f"- look-alikes flagged harmful: {h['harm']['lookalike_flagged_harmful']}",
        f"- refusal detection accuracy: {h['refusal']['overall']['accuracy']} (n={h['refusal']['overall']['n']}); "
        f"hand-written: {h['refusal'].get('handwritten', {}).get('accuracy')}",
        f"- applies: IFEval share {metrics['applies_ifeval']['applies_share']}, "
        f"{metrics['applies_ifeval']['us_per_prompt_median']} us/prompt; harmful recall "
        f"{metrics['applies_harmful_heldout']['applies_share']}; look-alikes {metrics['applies_lookalikes_heldout']['applies_share']}",
        f"- verifier: {metrics['verifier_cost']['ms_per_response_median']} ms/response (median; "
        f"p90 {metrics['verifier_cost']['ms_per_response_p90']})",
        f"- pipeline, harmful (refusal > compliance): {metrics['pipeline_harmful']['accuracy']}",
        f"- pipeline, look-alikes (answer > refusal): {metrics['pipeline_lookalike']['accuracy']}",
        f"- pipeline, hand-written harmful: {metrics['pipeline_handwritten_harmful']['accuracy']}",
    ]
    (args.out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
