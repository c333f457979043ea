"""Sandbox throughput (batched vs one process per response) and model calls per prompt vs N.

1. Checker executions per second through the real sandbox, in one run, for N = 1, 8, 32:
   - batched: one process per checker over all N responses (what the verifier does);
   - per response: one process per (checker, response) (what RewardAgent did);
   both through the same bounded pool, with the same 4 checkers per prompt, median of the rounds.
2. Model calls per prompt for best-of-N with free-text constraints, N = 1 -> 32, through the whole
   graph (`reward_agent.score`): an extractor and a coder model are counted; each N starts from an
   empty cache (cold), then runs again on the same cache (a second epoch). The counting model
   answers every extraction and code request correctly, so what is measured is how many calls the
   pipeline makes, not the quality of a model. `--embedded N` also runs the real embedded model as
   extractor and coder for the listed N (slow on CPU).

    python benchmarks/bench_sandbox.py [--rounds 3] [--embedded 1,8] [--out benchmarks/results/sandbox.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402

from reward_agent import RewardContext, score  # noqa: E402
from reward_agent.bench.rundir import default_out  # noqa: E402
from reward_agent.llm import ModelSpec  # noqa: E402
from reward_agent.sandbox import Job, Limits, SandboxPool, detect_isolation  # noqa: E402
from reward_agent.verifiers.constraints import codegen, llm_extract  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SIZES = (1, 8, 32)

CHECKERS = [
    "import re\ndef check(response):\n    return len(re.findall(r'\\?', response)) == 3\n",
    "def check(response):\n    starts = [s.strip()[:1].lower() for s in response.split('.') if s.strip()]\n"
    "    return len(starts) == len(set(starts))\n",
    "from collections import Counter\ndef check(response):\n"
    "    words = Counter(w.lower() for w in response.split())\n    return max(words.values(), default=0) <= 3\n",
    "import json\ndef check(response):\n    try:\n        json.loads(response)\n    except ValueError:\n"
    "        return False\n    return True\n",
]


def responses(n: int) -> list[str]:
    base = "Why is the sea blue? Light scatters. Is it deep? Yes. What lives there? Fish. " * 3
    return [f"{base} Variant {i}." for i in range(n)]


async def time_batched(pool: SandboxPool, texts: list[str]) -> float:
    started = time.perf_counter()
    results = await pool.run_all([Job(code, texts) for code in CHECKERS])
    assert all(o.verdict is not None for r in results for o in r.outcomes), "a benchmark check failed"
    return time.perf_counter() - started


async def time_per_response(pool: SandboxPool, texts: list[str]) -> float:
    started = time.perf_counter()
    results = await pool.run_all([Job(code, [text]) for code in CHECKERS for text in texts])
    assert all(o.verdict is not None for r in results for o in r.outcomes), "a benchmark check failed"
    return time.perf_counter() - started


def throughput(rounds: int) -> list[dict[str, Any]]:
    pool = SandboxPool(limits=Limits(per_response_timeout_s=5.0))
    rows = []
    for n in SIZES:
        texts = responses(n)
        batched, single = [], []
        for _ in range(rounds):  # interleaved, so machine noise hits both alike
            batched.append(asyncio.run(time_batched(pool, texts)))
            single.append(asyncio.run(time_per_response(pool, texts)))
        executions = n * len(CHECKERS)
        b, s = statistics.median(batched), statistics.median(single)
        rows.append({
            "n": n, "checkers": len(CHECKERS), "executions": executions,
            "batched_s": round(b, 4), "per_response_s": round(s, 4),
            "batched_exec_per_s": round(executions / b, 1), "per_response_exec_per_s": round(executions / s, 1),
            "speedup": round(s / b, 2),
            "processes": {"batched": len(CHECKERS), "per_response": executions},
        })
        print(f"N={n:>2}: batched {executions / b:8.1f} exec/s  per-response {executions / s:8.1f} exec/s  "
              f"speedup {s / b:5.2f}x")
    return rows


class CountingModel(BaseChatModel):
    """Answers extraction and checker-code requests correctly, and counts every call."""

    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "counting-benchmark-model"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        self.calls += 1
        text = "\n".join(str(m.content) for m in messages)
        if "Checker ids and their arguments" in text:
            answer = json.dumps({"constraints": [
                {"type": "free_text", "kwargs": {}, "text": "exactly three questions"},
                {"type": "free_text", "kwargs": {}, "text": "every sentence starts with a different letter"},
            ]})
        elif "three questions" in text:
            answer = f"```python\n{CHECKERS[0]}```\n```pass\nA? B? C?\n```\n```fail\nA?\n```"
        else:
            answer = f"```python\n{CHECKERS[1]}```\n```pass\nAlpha. Beta.\n```\n```fail\nAlpha. Again.\n```"
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=answer))])


PROMPT = "Write about the sea with exactly three questions; every sentence starts with a different letter."


def calls_for(n: int, context: RewardContext) -> dict[str, Any]:
    result = score({"prompt": PROMPT, "responses": responses(n)}, context)
    signal = result.signals["constraints"]
    return {"model_calls": result.model_calls, "constraints_signal_calls": signal.model_calls,
            "scored": sum(s is not None for s in (signal.scores or []))}


def model_calls(embedded_sizes: list[int]) -> dict[str, Any]:
    counting = CountingModel()
    codegen.build_chat_model = lambda spec: counting  # type: ignore[assignment]
    llm_extract.build_chat_model = lambda spec: counting  # type: ignore[assignment]
    spec = ModelSpec(provider="embedded")  # identity for the cache key; the calls go to `counting`
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1, 2, 4, 8, 16, 32):
            context = RewardContext(models={"extractor": spec, "coder": spec}, cache_path=f"{tmp}/cold-{n}.sqlite3",
                                    disable=("preference",))
            cold = calls_for(n, context)
            warm = calls_for(n, context)
            rows.append({"n": n, "cold": cold["model_calls"], "second_epoch": warm["model_calls"],
                         "responses_scored": cold["scored"]})
            print(f"N={n:>2}: model calls per prompt cold {cold['model_calls']}, second epoch {warm['model_calls']}")
    out: dict[str, Any] = {"counted": rows}
    if embedded_sizes:
        from reward_agent import llm

        codegen.build_chat_model = llm.build_chat_model  # the real embedded model from here on
        llm_extract.build_chat_model = llm.build_chat_model
        real = []
        with tempfile.TemporaryDirectory() as tmp:
            for n in embedded_sizes:
                spec = ModelSpec(provider="embedded", max_tokens=160)
                context = RewardContext(models={"extractor": spec, "coder": spec}, cache_path=f"{tmp}/emb-{n}.sqlite3",
                                        checker_repair_rounds=1, verifier_timeout_s=3000, disable=("preference",))
                started = time.perf_counter()
                cold = calls_for(n, context)
                real.append({"n": n, "cold": cold["model_calls"], "seconds": round(time.perf_counter() - started, 1)})
                print(f"N={n:>2}: embedded model calls per prompt {cold['model_calls']}")
        out["embedded"] = real
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--embedded", default="", help="comma-separated N to also run with the real embedded model")
    parser.add_argument("--out", type=Path, default=None, help="Result file (default: a fresh run directory under runs/; committed results only when named here).")
    args = parser.parse_args()
    isolation = detect_isolation()
    print("isolation layers:", ", ".join(isolation.layers + isolation.runner_layers))
    rows = throughput(args.rounds)
    calls = model_calls([int(n) for n in args.embedded.split(",") if n.strip()])
    report = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_avg_1m": round(os.getloadavg()[0], 2)},
        "isolation": {"interpreter": isolation.interpreter,
                      "layers": list(isolation.layers + isolation.runner_layers)},
        "throughput": rows,
        "model_calls_per_prompt": calls,
        "rounds": args.rounds,
    }
    args.out = args.out or default_out("sandbox", "sandbox.json", REPO)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
