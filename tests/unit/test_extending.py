"""The public extension API: names at the package root, a graph behind `score` that follows the
verifier registry, the benchmark registry behind `reward-agent bench`, and the README's worked
examples (examples/extending/*.py), each run as a user would run it."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import reward_agent
from reward_agent import RewardContext, Signal
from reward_agent.errors import ConfigError, UnknownIdError
from reward_agent.registry import Registry

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "extending"
EXAMPLE_FILES = ("custom_verifier.py", "custom_rm_backend.py", "custom_checker.py", "custom_benchmark.py")
NO_RM = RewardContext(disable=["preference"])  # keeps these tests off the embedded RM (seconds to load)

# name at the root -> (module, attribute) it is
API = {
    "VerifierSpec": ("reward_agent.verifiers.base", "VerifierSpec"),
    "register_verifier": ("reward_agent.verifiers.base", "register_verifier"),
    "RewardModel": ("reward_agent.rm.base", "RewardModel"),
    "RawScores": ("reward_agent.rm.base", "RawScores"),
    "register_rm_backend": ("reward_agent.rm.auto", "register_backend"),
    "CheckerSpec": ("reward_agent.verifiers.constraints.base", "CheckerSpec"),
    "register_checker": ("reward_agent.verifiers.constraints.base", "register_checker"),
    "Judgement": ("reward_agent.judger", "Judgement"),
    "register_judger": ("reward_agent.judger", "register_judger"),
    "BenchmarkSpec": ("reward_agent.bench.registry", "BenchmarkSpec"),
    "register_benchmark": ("reward_agent.bench.registry", "register_benchmark"),
    "SourceSpec": ("reward_agent.retrieval.base", "SourceSpec"),
    "register_source": ("reward_agent.retrieval.base", "register_source"),
}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "COLUMNS": "120"}


# -- the API at the root ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(API))
def test_each_extension_name_imports_from_the_root(name):
    import importlib

    module, attr = API[name]
    assert name in reward_agent.__all__
    assert getattr(reward_agent, name) is getattr(importlib.import_module(module), attr)


def test_an_unknown_root_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="register_verifer"):
        reward_agent.register_verifer  # noqa: B018


def test_importing_the_package_stays_cheap():
    # In a fresh interpreter: neither the package nor the extension API pulls in torch or langgraph.
    code = ("import sys, reward_agent\n"
            "before = sorted(m for m in ('torch', 'langgraph', 'reward_agent.bench.registry') if m in sys.modules)\n"
            "from reward_agent import " + ", ".join(sorted(API)) + "\n"
            "after = sorted(m for m in ('torch', 'langgraph') if m in sys.modules)\n"
            "print(before, after)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[] []"


# -- the graph behind score() follows the verifier registry -----------------------------------------


def test_registry_version_counts_registrations_not_lazy_imports():
    reg: Registry[object] = Registry("thing")
    reg.register("a", "reward_agent.errors:ConfigError")
    assert reg.version == 1
    assert reg.get("a") is ConfigError and reg.version == 1  # importing a lazy entry changes nothing
    reg.register("a", "x", replace=True)
    reg.unregister("a")
    reg.unregister("a")  # nothing left to remove: no change
    assert reg.version == 3


def test_score_finds_a_verifier_registered_after_its_first_call():
    from reward_agent import VerifierSpec, register_verifier
    from reward_agent.verifiers.base import VERIFIERS

    request = {"prompt": "Describe tea without any commas.", "responses": ["tea is calm", "Tea, calm."]}
    first = reward_agent.score(request, NO_RM)
    assert first.plan.verifiers == ["constraints"] and first.rewards == [1.0, 0.0]

    async def shortest(req, ctx):
        lengths = [len(r) for r in req.responses]
        return Signal(verifier="shortest", status="ok", scores=[float(n == min(lengths)) for n in lengths])

    register_verifier(VerifierSpec(id="shortest", description="the shortest response wins", node="score_shortest",
                                   run=shortest, applies=lambda req, ctx: (True, "always")))
    try:
        second = reward_agent.score(request, NO_RM)
        assert second.plan.verifiers == ["constraints", "shortest"]
        assert second.signals["shortest"].scores == [0.0, 1.0]  # "Tea, calm." is the shorter
        assert second.rewards == [0.5, 0.5]
    finally:
        VERIFIERS.unregister("shortest")
    third = reward_agent.score(request, NO_RM)  # and unregistering rebuilds too
    assert "shortest" not in third.signals and third.rewards == [1.0, 0.0]


def test_a_registered_judger_is_selectable_by_name():
    from reward_agent import Judgement, register_judger
    from reward_agent.judger import JUDGERS

    async def strictest(request, signals, context):
        """Per response, the lowest verifier score (every verifier is a veto)."""
        ok = [s.scores for s in signals.values() if s.status == "ok"]
        rewards = [min(col) if None not in col else None for col in zip(*ok)] if ok else [None] * len(request.responses)
        return Judgement(rewards=rewards, judger="strictest", weights={v: 1.0 for v in signals})

    register_judger("strictest", strictest)
    try:
        result = reward_agent.score({"prompt": "Describe tea in all lowercase letters, without any commas.",
                                     "responses": ["green tea, calm", "green tea is calm"]},
                                    RewardContext(judger="strictest", disable=["preference"]))
        assert result.judger == "strictest" and result.rewards == [0.0, 1.0]  # the comma breaks a rule
    finally:
        JUDGERS.unregister("strictest")


# -- the benchmark registry --------------------------------------------------------------------------


def test_builtin_benchmarks_are_registry_entries_and_cli_commands():
    from reward_agent.bench.registry import BENCHMARKS
    from reward_agent.cli import app

    assert BENCHMARKS.names()[:4] == ["rm-bench", "judgebench", "ifbench-pairs", "pairs"]
    out = CliRunner().invoke(app, ["bench", "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0
    listed = re.findall(r"│ (\S+)\s{2,}", out.output.split("Commands")[1])
    assert listed == ["ifeval-verify", "rm-bench", "judgebench", "ifbench-pairs", "pairs"]
    for name in BENCHMARKS.names()[:4]:
        assert BENCHMARKS.get(name).help.split()[0] in out.output


def _tiny_bench(name: str):
    from reward_agent import BenchmarkSpec

    def load(path: Path):
        return [(str(i), {"n": int(line)}) for i, line in enumerate(path.read_text().split())]

    def make_work(context, seed):
        async def work(item):
            if item["n"] < 0:
                raise ValueError("negative")
            return {"even": item["n"] % 2 == 0}
        return work

    def metrics(rows, tie_credit):
        ok = [r for r in rows if "error" not in r]
        return {"items": len(rows), "accuracy": sum(r["even"] for r in ok) / len(rows), "failed": len(rows) - len(ok)}

    return BenchmarkSpec(name, "Share of even numbers (a driver test).", "Even numbers", load, make_work, metrics)


def test_a_registered_benchmark_runs_through_the_cli(tmp_path):
    from reward_agent import register_benchmark
    from reward_agent.bench.registry import BENCHMARKS
    from reward_agent.cli import app

    register_benchmark(_tiny_bench("evens"))  # after the CLI was imported: still a command
    try:
        data = tmp_path / "numbers.txt"
        data.write_text("2\n3\n4\n-1\n")
        out = CliRunner().invoke(app, ["bench", "evens", "--data", str(data), "--out", str(tmp_path / "run"),
                                       "--no-progress"], env={"COLUMNS": "200"})
        assert out.exit_code == 0, out.output
        assert re.search(r"accuracy\s+│\s+0\.5000", out.output) and re.search(r"failed\s+│\s+1", out.output)
        metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
        assert (metrics["items"], metrics["accuracy"], metrics["failed"]) == (4, 0.5, 1)
        report = (tmp_path / "run" / "report.md").read_text()
        assert report.startswith("# Even numbers: numbers.txt") and "| accuracy | 0.5000 |" in report
    finally:
        BENCHMARKS.unregister("evens")


def test_unknown_benchmark_and_tie_credit_rules_come_from_the_registry(tmp_path):
    from reward_agent.bench.suite import run_bench

    with pytest.raises(UnknownIdError, match="judgebench"):
        run_bench("judgebnech", tmp_path, tmp_path / "out")
    with pytest.raises(ConfigError, match="does not apply to judgebench: its reference rule"):
        run_bench("judgebench", tmp_path, tmp_path / "out", tie_credit=0.5)


# -- the README's worked examples --------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_runs(tmp_path_factory) -> dict[str, str]:
    """Run the four examples at once, each in its own interpreter, as `python examples/extending/X.py`."""
    out = tmp_path_factory.mktemp("bench")
    procs = {name: subprocess.Popen([sys.executable, str(EXAMPLES / name), *([str(out)] if name == "custom_benchmark.py" else [])],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=REPO)
             for name in EXAMPLE_FILES}
    results = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name} failed:\n{stderr}"
        results[name] = stdout
    results["bench_out"] = str(out)
    return results


def _line(output: str, label: str) -> str:
    found = [line for line in output.splitlines() if line.startswith(label)]
    assert found, f"no {label!r} line in:\n{output}"
    return found[0][len(label):].strip()


@pytest.mark.integration  # four fresh interpreters (~7 s): `make test` runs them, test-fast does not
def test_custom_verifier_example(example_runs):
    out = example_runs["custom_verifier.py"]
    assert _line(out, "plan:") == "['cites_sources']"
    assert _line(out, "rewards:") == "[1.0, 0.5, 0.0]"
    assert _line(out, "cited:") == ("[['https://example.org/data', 'https://example.org/report'], "
                                    "['https://example.org/report'], []]")


@pytest.mark.integration  # four fresh interpreters (~7 s): `make test` runs them, test-fast does not
def test_custom_rm_backend_example(example_runs):
    out = example_runs["custom_rm_backend.py"]
    assert _line(out, "plan:") == "['preference']"
    # leaves, colour, autumn of {leaves, change, colour, autumn}: 3/4; the other repeats none.
    assert _line(out, "rewards:") == "[0.75, 0.0]"
    assert _line(out, "backend:") == "overlap"


@pytest.mark.integration  # four fresh interpreters (~7 s): `make test` runs them, test-fast does not
def test_custom_checker_example(example_runs):
    out = example_runs["custom_checker.py"]
    assert _line(out, "rewards:") == "[1.0, 0.0]"
    checks = ast.literal_eval(_line(out, "checks:"))
    assert [[(c["id"], c["followed"]) for c in response] for response in checks] == [
        [("style:max_sentence_words", True)], [("style:max_sentence_words", False)]]


@pytest.mark.integration  # four fresh interpreters (~7 s): `make test` runs them, test-fast does not
def test_custom_benchmark_example(example_runs):
    out = example_runs["custom_benchmark.py"]
    assert "bench rule-pairs" in out
    metrics = json.loads((Path(example_runs["bench_out"]) / "run" / "metrics.json").read_text())
    assert (metrics["bench"], metrics["items"], metrics["accuracy"], metrics["failed"]) == ("rule-pairs", 3, 1.0, 0)
    rows = [json.loads(line) for line in (Path(example_runs["bench_out"]) / "run" / "results.jsonl").open()]
    assert [r["rewards"] for r in rows] == [[1.0, 0.0]] * 3
    assert "'accuracy': 1.0" in _line(out, "metrics:")


# custom_source.py is run by tests/unit/test_retrieval_sources.py.
@pytest.mark.parametrize("name", (*EXAMPLE_FILES, "custom_source.py"))
def test_readme_shows_each_example_verbatim(name):
    # The README's "Extending" section embeds each file whole, so the text users copy is the code this
    # file's other tests run.
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "## Extending" in readme, "README.md has no '## Extending' section"
    extending = readme.split("## Extending", 1)[1]
    code = (EXAMPLES / name).read_text(encoding="utf-8")
    assert f"```python\n{code}```" in extending, f"README's Extending section does not show {name} verbatim"
