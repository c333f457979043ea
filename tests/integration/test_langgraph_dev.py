"""`langgraph dev` (the LangGraph Studio server, in-memory runtime) serves the reward graph.

Runs the real CLI on a loopback port with the committed langgraph.json, then asks the LangGraph
API for the graph and for a run, as Studio does. Needs the `studio` extra (langgraph-cli[inmem],
which brings langgraph-api); skipped with that reason when it is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from reward_agent.serve.background import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(importlib.util.find_spec("langgraph_api") is None,
                       reason="langgraph-api is not installed (pip install -e '.[studio]')"),
]

REPO = Path(__file__).resolve().parents[2]
REQUEST = {"prompt": "Describe tea without commas.", "responses": ["tea is calm and green", "tea, calm"]}


def langgraph_cli() -> str:
    beside = Path(sys.executable).parent / "langgraph"
    found = str(beside) if beside.exists() else shutil.which("langgraph")
    if not found:
        pytest.fail("langgraph-api is installed but the `langgraph` command is not (langgraph-cli)")
    return found


@contextmanager
def dev_server(config: Path, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    cmd = [langgraph_cli(), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port),
           "--config", str(config)]
    log = config.parent / f"langgraph-dev-{port}.log" if config.parent != REPO else Path(os.devnull)
    with open(log, "wb") as sink:
        proc = subprocess.Popen(cmd, cwd=config.parent, env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"langgraph dev exited with {proc.returncode}"
            try:
                if httpx.get(url + "/ok", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "langgraph dev did not come up in 120 s"
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REWARD_AGENT_")}
    # the worktree's reward_agent, as the test process imports it
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "LANGSMITH_TRACING": "false"})
    return env


def run_wait(url: str) -> dict:
    reply = httpx.post(url + "/runs/wait", json={"assistant_id": "reward_agent", "input": {"request": REQUEST}}, timeout=120)
    assert reply.status_code == 200, reply.text
    return reply.json()["result"]


def test_committed_config_serves_the_graph_without_an_env_file() -> None:
    config = REPO / "langgraph.json"
    assert json.loads(config.read_text())["env"] == ".env"
    assert (REPO / ".env.example").is_file()
    if (REPO / ".env").exists():
        pytest.skip("a local .env exists; this test checks a clean checkout")
    with dev_server(config, {**base_env(), "REWARD_AGENT_DISABLE": "factuality"}) as url:
        assistants = httpx.post(url + "/assistants/search", json={}).json()
        assert [a["graph_id"] for a in assistants] == ["reward_agent"]
        result = run_wait(url)
        # both verifiers ran inside the dev server (its guard refuses blocking calls on the event loop)
        assert {k: v["status"] for k, v in result["signals"].items()} == {"constraints": "ok", "preference": "ok"}
        assert result["signals"]["constraints"]["scores"] == [1.0, 0.0] and result["best_index"] == 0


def test_env_file_reaches_the_graph(tmp_path: Path) -> None:
    # langgraph.json's "env" file, written from .env.example with one setting switched on
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    assert "# REWARD_AGENT_DISABLE=" in example
    (tmp_path / ".env").write_text(example.replace("# REWARD_AGENT_DISABLE=factuality",
                                                   "REWARD_AGENT_DISABLE=preference,factuality"), encoding="utf-8")
    committed = json.loads((REPO / "langgraph.json").read_text())
    graph = committed["graphs"]["reward_agent"].replace("./", f"{REPO}/", 1)
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({**committed, "dependencies": [str(REPO)], "graphs": {"reward_agent": graph}}))
    with dev_server(config, base_env()) as url:
        result = run_wait(url)
        assert list(result["signals"]) == ["constraints"] and result["rewards"] == [1.0, 0.0]
        assert "preference" not in result["plan"]["verifiers"]
