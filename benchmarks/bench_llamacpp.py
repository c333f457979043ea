"""In-process llama.cpp (provider `llamacpp`) against llama.cpp's OpenAI-compatible server on loopback.

Same GGUF, same threads, same greedy request (a fixed coding prompt, `--max-tokens` new tokens),
`--reps` times each after one warm-up call; reports decode tokens/s and seconds per call of both,
and their ratio (in-process / server). Also times one grammar-constrained structured call
(`invoke_structured`) in-process.

    python benchmarks/bench_llamacpp.py --model qwen2.5-coder-0.5b --port 8765 --out DIR
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402

from reward_agent.llamacpp import resolve_gguf  # noqa: E402
from reward_agent.bench.rundir import fresh_run_dir  # noqa: E402
from reward_agent.llm import ModelSpec, build_chat_model  # noqa: E402
from reward_agent.structured import invoke_structured  # noqa: E402

PROMPT = "Write a Python function check(response) that returns True when the response has exactly three question marks."


def time_calls(call, reps: int) -> list[tuple[float, int]]:
    call()  # warm-up: load, first prompt evaluation
    out = []
    for _ in range(reps):
        started = time.perf_counter()
        tokens = call()
        out.append((time.perf_counter() - started, tokens))
    return out


def summary(runs: list[tuple[float, int]]) -> dict[str, float]:
    seconds = sorted(s for s, _ in runs)
    tokens = sum(t for _, t in runs)
    return {"median_s": round(seconds[len(seconds) // 2], 3), "tokens_per_s": round(tokens / sum(seconds), 2)}


def start_server(gguf: Path, port: int, threads: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
               "--port", str(port), "--n_ctx", "4096", "--n_threads", str(threads)]
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("llama_cpp.server did not start in 180 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a fresh runs/llamacpp-<time>/)")
    args = parser.parse_args()
    args.out = args.out or fresh_run_dir("llamacpp")  # never the committed results
    args.out.mkdir(parents=True, exist_ok=True)
    threads = int(os.environ.get("REWARD_AGENT_LLAMA_THREADS") or os.cpu_count() or 1)
    gguf = resolve_gguf(args.model)

    chat = build_chat_model(ModelSpec(provider="llamacpp", model=args.model, max_tokens=args.max_tokens))

    def in_process() -> int:
        return int(chat.invoke(PROMPT).usage_metadata["output_tokens"])

    local = time_calls(in_process, args.reps)

    from pydantic import BaseModel

    class Answer(BaseModel):
        function_name: str
        counts_question_marks: bool

    structured = time_calls(lambda: invoke_structured(chat, PROMPT, Answer).model_calls, args.reps)

    proc = start_server(gguf, args.port, threads, args.out / "server.log")
    try:
        body = {"model": args.model, "messages": [{"role": "user", "content": PROMPT}],
                "max_tokens": args.max_tokens, "temperature": 0}

        def over_http() -> int:
            reply = httpx.post(f"http://127.0.0.1:{args.port}/v1/chat/completions", json=body, timeout=600)
            reply.raise_for_status()
            return int(reply.json()["usage"]["completion_tokens"])

        served = time_calls(over_http, args.reps)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result: dict[str, Any] = {
        "model": args.model, "threads": threads, "max_tokens": args.max_tokens, "reps": args.reps,
        "in_process": summary(local), "server": summary(served),
        "structured_in_process_median_s": summary([(s, 1) for s, _ in structured])["median_s"],
    }
    result["ratio_in_process_over_server_tokens_per_s"] = round(
        result["in_process"]["tokens_per_s"] / result["server"]["tokens_per_s"], 3)
    (args.out / "llamacpp.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
