"""Sample N responses per prompt from an OpenAI-compatible chat server, for best-of-n and annotate.

By default it starts llama-cpp-python's OpenAI-compatible server on loopback with the embedded
SmolLM2-135M GGUF (nothing is downloaded) and samples from it; `--base-url` points it at any
other server instead (vLLM: `vllm serve MODEL`, then `--base-url http://127.0.0.1:8000/v1
--model MODEL`). Output: one JSONL line per prompt, `{"id", "prompt", "responses", ...}` plus the
IFEval fields of the input, appended as each prompt completes, so an interrupted run resumes
where it stopped. The generation settings go to a sidecar `<out>.settings.json`.

    python tools/sample_responses.py --data ../shared/data/ifeval/input_data.jsonl \
        --out benchmarks/data/ifeval_smollm2_samples.jsonl --prompts 48 --samples 16

Sample j of a prompt is drawn with seed `seed * 100003 + j`, so a rerun reproduces it on servers
that honour `seed` (llama.cpp does).
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

STARTUP_TIMEOUT_S = 180
IFEVAL_FIELDS = ("key", "instruction_id_list", "kwargs")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def embedded_server(threads: int, n_ctx: int) -> Iterator[tuple[str, str]]:
    """llama-cpp-python's server on loopback with the embedded GGUF: yields (base_url, model id)."""
    from reward_agent.llm import embedded_gguf_path

    port = _free_port()
    log = Path(tempfile.mkstemp(prefix="llama_server_", suffix=".log")[1])
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(embedded_gguf_path()),
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads)]
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"llama_cpp.server exited with {proc.returncode}; see {log}")
            try:
                reply = httpx.get(f"{base_url}/models", timeout=2)
                if reply.status_code == 200:
                    yield base_url, str(reply.json()["data"][0]["id"])
                    return
            except httpx.HTTPError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise SystemExit(f"llama_cpp.server did not answer in {STARTUP_TIMEOUT_S}s; see {log}")
            time.sleep(0.5)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def sample_one(client: httpx.Client, base_url: str, model: str, prompt: str, args: argparse.Namespace,
               seed: int) -> dict[str, Any]:
    """One chat completion: (text, finish reason, completion tokens)."""
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "temperature": args.temperature,
            "top_p": args.top_p, "max_tokens": args.max_tokens, "seed": seed}
    reply = client.post(f"{base_url}/chat/completions", json=body, timeout=args.timeout)
    reply.raise_for_status()
    data = reply.json()
    choice = data["choices"][0]
    return {"text": choice["message"]["content"] or "", "finish_reason": choice.get("finish_reason"),
            "tokens": int((data.get("usage") or {}).get("completion_tokens") or 0)}


def settings_path(out: Path) -> Path:
    """The sidecar that records how the samples were generated."""
    return out.with_name(out.stem + ".settings.json")


def write_settings(args: argparse.Namespace, model: str, selected: int, sampled: int, run: dict[str, Any]) -> None:
    """Rewrite the sidecar with this invocation's progress (after every prompt: a kill loses nothing)."""
    path = settings_path(args.out)
    runs = json.loads(path.read_text(encoding="utf-8"))["runs"] if path.exists() else []
    if runs and runs[-1].get("run_started") == run["run_started"]:
        runs[-1] = run
    else:
        runs.append(run)
    settings = {
        "data": args.data.name, "prompts_selected": selected, "prompts_sampled": sampled,
        "prompt_selection": f"random.Random({args.seed}).sample, kept in file order",
        "samples_per_prompt": args.samples, "temperature": args.temperature, "top_p": args.top_p,
        "max_tokens": args.max_tokens, "seed": args.seed, "sample_seed": "seed * 100003 + sample index",
        "server": args.base_url or "llama-cpp-python server (loopback), embedded SmolLM2-135M-Instruct Q4_1 GGUF",
        "model": Path(model).name if args.base_url is None else model, "runs": runs,
    }
    path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")


def choose_prompts(path: Path, count: int | None, seed: int) -> list[dict[str, Any]]:
    """`count` prompts drawn at random with `seed` (kept in file order), or all of them."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if count is not None and count < len(rows):
        keep = set(random.Random(seed).sample(range(len(rows)), count))
        rows = [r for i, r in enumerate(rows) if i in keep]
    return rows


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="JSONL of prompts ('prompt', optional IFEval fields).")
    parser.add_argument("--out", type=Path, required=True, help="Output JSONL (appended; resumable).")
    parser.add_argument("--prompts", type=int, default=None, help="How many prompts (a seeded random subset).")
    parser.add_argument("--samples", type=int, default=16, help="Responses per prompt.")
    parser.add_argument("--temperature", type=float, default=0.9)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--max-tokens", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base-url", default=None, help="An OpenAI-compatible server; default: start the embedded one.")
    parser.add_argument("--model", default=None, help="Model name on --base-url.")
    parser.add_argument("--threads", type=int, default=2, help="Embedded server: CPU threads.")
    parser.add_argument("--n-ctx", type=int, default=2048, help="Embedded server: context length.")
    parser.add_argument("--timeout", type=float, default=300.0, help="Seconds per completion request.")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="Start no new prompt after this many minutes (rerun to continue).")
    args = parser.parse_args(argv)
    # SIGTERM (a `kill`, a CI timeout) must unwind like Ctrl-C so the server child is stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    if args.samples < 1 or args.max_tokens < 1:
        parser.error("--samples and --max-tokens must be >= 1")
    if args.base_url and not args.model:
        parser.error("--base-url needs --model")

    prompts = choose_prompts(args.data, args.prompts, args.seed)
    done = set()
    if args.out.exists():
        done = {json.loads(line)["id"] for line in args.out.read_text(encoding="utf-8").splitlines() if line.strip()}
    todo = [p for p in prompts if str(p.get("key", p.get("id"))) not in done]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(f"{len(prompts)} prompts, {len(done)} already sampled, {len(todo)} to go", file=sys.stderr)

    server = (nullcontext((args.base_url, args.model)) if args.base_url
              else embedded_server(args.threads, args.n_ctx))
    tokens = 0
    written = 0
    started = time.perf_counter()
    run_started = time.strftime("%Y-%m-%dT%H:%M:%S")
    with server as (base_url, model), httpx.Client() as client, open(args.out, "a", encoding="utf-8") as fh:
        bar = tqdm(total=len(todo) * args.samples, desc="sampling", unit="response")
        for row in todo:
            if args.max_minutes is not None and time.perf_counter() - started > 60 * args.max_minutes:
                print(f"\nstopping: --max-minutes {args.max_minutes:g} reached (rerun to continue)", file=sys.stderr)
                break
            item_id = str(row.get("key", row.get("id")))
            samples = []
            for j in range(args.samples):
                samples.append(sample_one(client, base_url, model, row["prompt"], args, args.seed * 100003 + j))
                tokens += samples[-1]["tokens"]
                bar.update(1)
                bar.set_postfix(tok_s=f"{tokens / (time.perf_counter() - started):.0f}")
            out_row = {"id": item_id, "prompt": row["prompt"], **{k: row[k] for k in IFEVAL_FIELDS if k in row},
                       "responses": [s["text"] for s in samples],
                       "finish_reasons": [s["finish_reason"] for s in samples],
                       "completion_tokens": [s["tokens"] for s in samples]}
            fh.write(json.dumps(out_row, ensure_ascii=False) + "\n")
            fh.flush()
            written += 1
            elapsed = time.perf_counter() - started
            write_settings(args, model, len(prompts), len(done) + written, {
                "run_started": run_started, "new_prompts": written, "responses": written * args.samples,
                "completion_tokens": tokens, "elapsed_s": round(elapsed, 1),
                "tokens_per_s": round(tokens / elapsed, 2) if elapsed else None})
        bar.close()
    print(f"wrote {args.out} and {settings_path(args.out)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; finished prompts are saved (rerun to continue)", file=sys.stderr)
        raise SystemExit(130) from None
