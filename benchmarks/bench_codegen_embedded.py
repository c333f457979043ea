"""How often the embedded SmolLM2-135M writes a working checker for a free-text constraint, and how good it is.

For ten free-text constraints that no built-in (IFEval) checker covers, each with a hand-labelled
pair of responses (one that follows it, one that breaks it), this runs the real generation loop
(`codegen.generate_checker`: prompt, sandbox self-test on the model's own probes, repair rounds)
with the embedded model as coder, and reports:

- `ok`: the model wrote code that passed its own probes in the sandbox (no cache: every run is fresh);
- `agrees`: of those, the checker also gets the hand-labelled pair right (True on the one that
  follows, False on the one that breaks) - the quality of the model's code, not of the pipeline.

Backends: `server` serves the same GGUF with llama.cpp's OpenAI-compatible server (llama-cpp-python)
on loopback and points the coder at it as provider 'openai' (fast; how a user points it at vLLM);
`embedded` runs it in-process with transformers (provider 'embedded', slow on CPU).

    python benchmarks/bench_codegen_embedded.py --backend server --repair-rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402
from tqdm import tqdm  # noqa: E402

from reward_agent.bench.rundir import default_out  # noqa: E402
from reward_agent.llm import ModelSpec, embedded_gguf_path  # noqa: E402
from reward_agent.prompting import load_prompt  # noqa: E402
from reward_agent.sandbox import Limits, default_pool  # noqa: E402
from reward_agent.verifiers.constraints.codegen import (  # noqa: E402
    DEFAULT_PROMPT_VERSION,
    PROMPT_NAME,
    generate_checker,
)


# (constraint, a response that follows it, a response that breaks it): labelled by hand.
CASES: list[tuple[str, str, str]] = [
    ("use exactly three question marks", "Is it late? Are you tired? Shall we go?", "Is it late? Shall we go?"),
    ("every sentence must end with an exclamation mark", "What a day! I loved it!", "What a day! I loved it."),
    ("the response must contain at least one digit", "We met 3 times last week.", "We met three times last week."),
    ("do not use any digits", "I have two cats and one dog.", "I have 2 cats and 1 dog."),
    ("include at least two exclamation marks", "Great news! We won!", "Great news! We won."),
    ("the response must include a URL starting with https://", "Read more at https://example.org today.",
     "Read more on our website today."),
    ("the response must not contain a semicolon", "It rained, so we stayed in.", "It rained; we stayed in."),
    ("write at least three lines", "Roses are red\nViolets are blue\nSugar is sweet", "Roses are red\nViolets are blue"),
    ("the response must contain a hashtag (a word starting with #)", "Loving the beach today #summer",
     "Loving the beach today, summer is here"),
    ("the response must be shorter than 80 characters", "Short and sweet.",
     "This answer is much too long because it keeps adding words and clauses well past the limit of eighty."),
]
LIMITS = Limits(per_response_timeout_s=2.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(log: Path, threads: int, port: int | None = None) -> tuple[subprocess.Popen[bytes], str, str]:
    """llama-cpp-python's OpenAI-compatible server on loopback, serving the embedded GGUF."""
    port = port or _free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_gguf_path()),
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", str(threads)]
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            reply = httpx.get(f"{base_url}/models", timeout=2)
            if reply.status_code == 200:
                return proc, base_url, str(reply.json()["data"][0]["id"])
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("llama_cpp.server did not start in 120 s")


async def run_case(case: tuple[str, str, str], spec: ModelSpec, rounds: int, prompt: str) -> dict[str, Any]:
    constraint, follows, breaks = case
    started = time.perf_counter()
    generated = await generate_checker(
        constraint, spec, cache=None, repair_rounds=rounds, limits=LIMITS, prompt_version=prompt
    )
    row: dict[str, Any] = {
        "constraint": constraint, "status": generated.status, "model_calls": generated.model_calls,
        "seconds": round(time.perf_counter() - started, 2), "attempts": generated.attempts,
        "code": generated.code, "probes": generated.probes, "reason": generated.reason,
    }
    if generated.status == "ok" and generated.code:
        verdicts = await default_pool().run(generated.code, [follows, breaks], LIMITS)
        got = [o.status for o in verdicts.outcomes]
        row["labelled_pair"] = {"follows": got[0], "breaks": got[1]}
        row["agrees"] = got == ["passed", "failed"]
    return row


async def run_cases(spec: ModelSpec, rounds: int, backend: str, prompt: str) -> list[dict[str, Any]]:
    # One event loop for all cases: the OpenAI client's connection pool belongs to the loop it began in.
    bar = tqdm(CASES, desc=f"codegen ({backend}, {prompt}, {rounds} rounds)")
    return [await run_case(case, spec, rounds, prompt) for case in bar]


async def run_prompts(
    spec: ModelSpec, rounds: int, backend: str, prompts: list[str]
) -> list[tuple[list[dict[str, Any]], float]]:
    """Rows and seconds per prompt version, all in one event loop (see `run_cases`)."""
    out = []
    for prompt in prompts:
        started = time.perf_counter()
        rows = await run_cases(spec, rounds, backend, prompt)
        out.append((rows, time.perf_counter() - started))
    return out


def run_backend(backend: str, rounds: int, threads: int, prompts: list[str], port: int | None = None) -> list[dict[str, Any]]:
    """One run per prompt version on one backend (one server start)."""
    proc = None
    if backend == "server":
        proc, base_url, model_id = start_server(Path(tempfile.mkdtemp()) / "server.log", threads, port)
        spec = ModelSpec(provider="openai", base_url=base_url, model=model_id, api_key="none",
                         max_tokens=256, timeout_s=300)
    else:
        spec = ModelSpec(provider="embedded", max_tokens=256)
    runs = []
    try:
        for prompt, (rows, elapsed) in zip(prompts, asyncio.run(run_prompts(spec, rounds, backend, prompts))):
            ok = [r for r in rows if r["status"] == "ok"]
            runs.append({
                "backend": backend, "prompt": prompt, "repair_rounds": rounds, "constraints": len(rows),
                "ok": len(ok), "agrees": sum(bool(r.get("agrees")) for r in ok),
                "unavailable": sum(r["status"] == "unavailable" for r in rows),
                "model_calls": sum(r["model_calls"] for r in rows),
                "seconds_per_constraint": round(elapsed / len(rows), 2), "rows": rows,
            })
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=15)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["server", "embedded", "both"], default="server")
    parser.add_argument("--repair-rounds", type=int, nargs="+", default=[2])
    parser.add_argument("--prompts", nargs="+", default=["v1", "v2"], help="checker_code prompt versions")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp server threads")
    parser.add_argument("--out", type=Path, default=None, help="Result file (default: a fresh run directory under runs/; committed results only when named here).")
    parser.add_argument("--port", type=int, default=None, help="Loopback port of the llama.cpp server (default: a free one).")
    args = parser.parse_args()
    args.out = args.out or default_out("codegen_embedded", "codegen_embedded.json", Path(__file__).resolve().parents[1])
    backends = ["server", "embedded"] if args.backend == "both" else [args.backend]
    report: dict[str, Any] = {"default_prompt_version": load_prompt(PROMPT_NAME, DEFAULT_PROMPT_VERSION).version,
                              "model": "SmolLM2-135M-Instruct (Q4_1 GGUF)", "runs": []}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # Earlier runs stay in the file unless this run repeats them (same backend, prompt and rounds).
    earlier = json.loads(args.out.read_text()).get("runs", []) if args.out.is_file() else []
    planned = {(b, p, r) for b in backends for p in args.prompts for r in args.repair_rounds}
    kept = [r for r in earlier if (r["backend"], r["prompt"], r["repair_rounds"]) not in planned]
    runs: list[dict[str, Any]] = []
    for backend in backends:
        for rounds in args.repair_rounds:
            runs += run_backend(backend, rounds, args.threads, args.prompts, args.port)
            report["runs"] = kept + runs
            args.out.write_text(json.dumps(report, indent=1))  # after each run: a long run keeps its parts
    for run in runs:
        print(f"{run['backend']:9s} {run['prompt']} rounds={run['repair_rounds']}: {run['ok']}/{run['constraints']} passed their "
              f"probes, {run['agrees']} of those agree with the hand labels; {run['model_calls']} calls, "
              f"{run['seconds_per_constraint']} s/constraint")


if __name__ == "__main__":
    main()
