"""Things that used to go wrong silently: now JSON, clear errors, fresh output directories, progress."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reward_agent.bench.rundir import default_out, fresh_run_dir
from reward_agent.cli import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_demo_json_is_parseable_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REWARD_AGENT_DISABLE", "factuality")
    result = runner.invoke(app, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert data["id"] == "demo-water-bottle" and len(data["rewards"]) == 4


@pytest.mark.parametrize(
    ("setting", "words"),
    [({"REWARD_AGENT_RM_BACKEND": "transformers", "REWARD_AGENT_RM_MODEL": "/no/such/model"}, "'/no/such/model' does not exist"),
     ({"REWARD_AGENT_RM_MODEL": "./no-such-dir"}, "./no-such-dir")],
)
def test_a_model_path_that_does_not_exist_is_an_error(monkeypatch: pytest.MonkeyPatch, setting: dict[str, str], words: str) -> None:
    for key, value in setting.items():
        monkeypatch.setenv(key, value)
    result = runner.invoke(app, ["score", "-p", "Use no commas.", "-r", "a b"])
    assert result.exit_code == 2
    message = result.output.strip()
    assert words in message and len(message.splitlines()) == 1, message


def test_embedded_weights_that_do_not_exist_are_an_error(tmp_path: Path) -> None:
    config = tmp_path / "rm.yaml"
    config.write_text("rm: {backend: embedded, options: {weights: /no/such/head.safetensors}}\n")
    result = runner.invoke(app, ["score", "-p", "Use no commas.", "-r", "a b", "--config", str(config)])
    assert result.exit_code == 2 and "not found" in result.output and len(result.output.strip().splitlines()) == 1


def test_train_rm_embedding_shows_progress(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from reward_agent.train.embedded import EmbeddingTable

    calls: list[int] = []

    def encode(texts: list[str]) -> torch.Tensor:
        calls.append(len(texts))
        return torch.ones((len(texts), 3))

    table = EmbeddingTable(encode)
    table.add([f"text {i}" for i in range(10)], progress=True, chunk=4)
    assert calls == [4, 4, 2] and table["text 9".split("\n")].shape == (1, 3)
    err = capsys.readouterr().err
    assert "embedding texts" in err and "10/10" in err


def test_fresh_run_dirs_never_collide(tmp_path: Path) -> None:
    first, second = fresh_run_dir("x", tmp_path), fresh_run_dir("x", tmp_path)
    assert first != second and first.parent == second.parent == tmp_path / "runs"
    assert default_out("y", "y.json", tmp_path).parent.parent == tmp_path / "runs"


def _argument_defaults(path: Path) -> dict[str, ast.expr | None]:
    """`--flag` -> the AST of its `default=` in the script's argparse calls."""
    found: dict[str, ast.expr | None] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument" and node.args:
            flag = node.args[0]
            if isinstance(flag, ast.Constant) and isinstance(flag.value, str):
                found[flag.value] = next((k.value for k in node.keywords if k.arg == "default"), None)
    return found


SCRIPTS = sorted(p for p in (REPO / "benchmarks").glob("bench_*.py"))
STARTS_SERVERS = {"bench_serve.py", "bench_codegen_embedded.py", "bench_llamacpp.py"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmarks_write_to_out_defaulting_to_a_fresh_run(script: Path) -> None:
    defaults = _argument_defaults(script)
    assert "--out" in defaults, f"{script.name} has no --out"
    default = defaults["--out"]
    assert isinstance(default, ast.Constant) and default.value is None, f"{script.name}: --out must default to a fresh run dir"
    text = script.read_text(encoding="utf-8")
    assert "default_out(" in text or "fresh_run_dir(" in text
    if script.name in STARTS_SERVERS:
        assert "--port" in defaults, f"{script.name} starts a server but takes no --port"


def test_bench_serve_help_lists_out_and_port() -> None:
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_serve.py"), "--help"], capture_output=True,
                         text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0 and "--port" in out.stdout and "runs/" in out.stdout
