"""The agentic path with the embedded Qwen2.5-Coder models: generated checkers, and calls against N.

Part 1, codegen: for free-text constraints that no built-in (IFEval) checker covers, each with a
hand-labelled pair of responses, run the verifier's real generation loop (`typed.generate_typed_checker`
on the constraint's words: prompt, sandbox self-test on the model's own asserts, repair rounds,
voting when `--candidates` > 1; no cache, every run fresh) with a
Qwen2.5-Coder GGUF run in-process by llama.cpp, and report per model:

- `ok`: code that passed its own probes in the sandbox;
- `agrees`: of those, the checker also gets the hand-labelled pair right (the code's quality);
- seconds and model calls per constraint.

Part 2, calls against N (`--calls-vs-n 1,8,32`): score one prompt whose constraint no built-in
covers through the whole graph (`profile agentic`, that model as extractor and coder) with N
responses, each N on a fresh cache, and record the model calls: work that depends only on the
prompt is done once, so the count must not grow with N.

    python benchmarks/bench_codegen_agentic.py --models qwen2.5-coder-1.5b qwen2.5-coder-0.5b --out DIR

Writes DIR/codegen_agentic.json (default DIR: a fresh folder under runs/, never the committed results).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tqdm import tqdm  # noqa: E402

from reward_agent.bench.rundir import fresh_run_dir  # noqa: E402
from reward_agent.llm import ModelSpec  # noqa: E402
from reward_agent.prompting import load_prompt  # noqa: E402
from reward_agent.sandbox import Limits, default_pool  # noqa: E402
from reward_agent.verifiers.constraints.typed import (  # noqa: E402
    PROMPT_NAME,
    bind,
    generate_typed_checker,
    task_for_text,
)

from bench_codegen_embedded import CASES as EMBEDDED_CASES  # noqa: E402  (this folder is on sys.path)

# (constraint, a response that follows it, a response that breaks it): labelled by hand. The first
# three are the phrasings a new user tried (issue 11); the rest are the embedded-model benchmark's.
CASES: list[tuple[str, str, str]] = [
    ("Begin your reply with the word 'Primary'.", "Primary colours are red, blue and yellow.",
     "The primary colours are red, blue and yellow."),
    ("Make sure the words 'tide' and 'horizon' both show up.", "The tide turned as the horizon glowed.",
     "The tide turned as the sky glowed."),
    ("The whole output must be valid JSON and nothing else.", '{"fruits": ["apple", "pear"]}',
     'Here you go: {"fruits": ["apple", "pear"]}'),
    *EMBEDDED_CASES,
]
LIMITS = Limits(per_response_timeout_s=2.0)
CALLS_PROMPT = "Begin your reply with the word 'Primary'. Describe a school day in under 40 words."
CALLS_RESPONSES = ["Primary school days start with reading, then sums and a noisy lunch.",
                   "School days start with reading, then sums and a noisy lunch."]


async def run_case(case: tuple[str, str, str], spec: ModelSpec, rounds: int, candidates: int) -> dict[str, Any]:
    constraint, follows, breaks = case
    started = time.perf_counter()
    generated = await generate_typed_checker(task_for_text(constraint), spec, cache=None, repair_rounds=rounds,
                                             candidates=candidates, limits=LIMITS)
    row: dict[str, Any] = {
        "constraint": constraint, "status": generated.status, "model_calls": generated.model_calls,
        "seconds": round(time.perf_counter() - started, 2), "attempts": generated.attempts,
        "code": generated.code, "probes": generated.probes, "reason": generated.reason,
    }
    if generated.status == "ok" and generated.code:
        verdicts = await default_pool().run(bind(generated.code, {}), [follows, breaks], LIMITS)
        got = [o.status for o in verdicts.outcomes]
        row["labelled_pair"] = {"follows": got[0], "breaks": got[1]}
        row["agrees"] = got == ["passed", "failed"]
    return row


async def run_model(model: str, rounds: int, candidates: int, limit: int | None) -> dict[str, Any]:
    spec = ModelSpec(provider="llamacpp", model=model, max_tokens=512)
    started = time.perf_counter()
    cases = CASES[:limit]
    rows = [await run_case(case, spec, rounds, candidates) for case in tqdm(cases, desc=f"codegen {model}")]
    elapsed = time.perf_counter() - started
    ok = [r for r in rows if r["status"] == "ok"]
    return {
        "model": model, "prompt": load_prompt(PROMPT_NAME).version, "repair_rounds": rounds, "candidates": candidates,
        "constraints": len(rows), "ok": len(ok), "agrees": sum(bool(r.get("agrees")) for r in ok),
        "model_calls": sum(r["model_calls"] for r in rows),
        "seconds_per_constraint": round(elapsed / len(rows), 1), "rows": rows,
    }


def calls_vs_n(model: str, ns: list[int]) -> list[dict[str, Any]]:
    """Model calls of one request at each N, each on a fresh cache (the first N pays full price)."""
    from reward_agent import score
    from reward_agent.context import load_context

    out = []
    for n in tqdm(ns, desc=f"calls vs N ({model})"):
        cache = Path(tempfile.mkdtemp()) / "cache.sqlite3"
        spec = {"provider": "llamacpp", "model": model, "max_tokens": 512}
        context = load_context(environ={}, profile="agentic", cache_path=str(cache),
                               models={"extractor": spec, "coder": spec})
        responses = [CALLS_RESPONSES[i % 2] + ("" if i < 2 else f" ({i})") for i in range(n)]
        started = time.perf_counter()
        result = score({"prompt": CALLS_PROMPT, "responses": responses}, context)
        constraints = result.signals.get("constraints")
        out.append({"n": n, "model_calls": result.model_calls, "seconds": round(time.perf_counter() - started, 1),
                    "constraints_status": constraints.status if constraints else None,
                    "constraint_ids": [c["id"] for c in (constraints.evidence.get("constraints", []) if constraints else [])]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["qwen2.5-coder-1.5b"])
    parser.add_argument("--repair-rounds", type=int, default=1, help="repair rounds per candidate")
    parser.add_argument("--candidates", type=int, default=3, help="drafts per constraint, chosen by agreement "
                        "(3 = the agentic profile's default)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N cases (the first 3: the issue's phrasings)")
    parser.add_argument("--calls-vs-n", default="", help="e.g. 1,8,32 (with the first model)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a fresh runs/codegen-agentic-<time>/)")
    args = parser.parse_args()
    args.out = args.out or fresh_run_dir("codegen-agentic")  # never the committed results
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"runs": [], "calls_vs_n": []}
    target = args.out / "codegen_agentic.json"
    for model in args.models:
        report["runs"].append(asyncio.run(run_model(model, args.repair_rounds, args.candidates, args.limit)))
        target.write_text(json.dumps(report, indent=1))  # after each model: a long run keeps its parts
    if args.calls_vs_n:
        report["calls_vs_n"] = calls_vs_n(args.models[0], [int(n) for n in args.calls_vs_n.split(",")])
        target.write_text(json.dumps(report, indent=1))
    for run in report["runs"]:
        print(f"{run['model']} {run['prompt']} rounds={run['repair_rounds']}: {run['ok']}/{run['constraints']} passed "
              f"their probes, {run['agrees']} of those agree with the hand labels; {run['model_calls']} calls, "
              f"{run['seconds_per_constraint']} s/constraint")
    for row in report["calls_vs_n"]:
        print(f"N={row['n']}: {row['model_calls']} model calls, {row['seconds']} s")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
