"""Secrets leave only toward the endpoint they belong to: never in a response, a file or a log.

Every leak path named in issue 12, with real secret values: `/v1/config` (model keys, RM headers,
a generative judge's key, `user:password@` in URLs), `/ready` (warm-up errors quoting the RM's
URL), error messages inside results, each batch run's saved config and rows, and log records.
A loopback server stands in for the model and the reward server; it records what it received
(so the tests also prove the real value is still *sent*) and, in `echo` mode, answers 500 with
every request header it saw in its body: the worst error a real server could produce.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sse_starlette.sse import AppStatus

from reward_agent import RewardContext, load_context
from reward_agent.batch.runner import arun_batch
from reward_agent.batch.scoring import ascore_row, run_config
from reward_agent.errors import ConfigError
from reward_agent.redaction import MASK, install_log_redaction, redact, redact_text
from reward_agent.serve import ServeSettings, create_app

MODEL_KEY = "sk-model-KEY-4d1f0c77"
RM_HEADER = "rm-header-SECRET-9a7b31"
JUDGE_KEY = "judge-KEY-0e5c33aa"
URL_PASSWORD = "url-PASS-62f1aa90"
SERVER_TOKEN = "server-TOKEN-5511ee42"
BASIC = base64.b64encode(f"rmuser:{URL_PASSWORD}".encode()).decode()
SECRETS = [MODEL_KEY, RM_HEADER, JUDGE_KEY, URL_PASSWORD, SERVER_TOKEN, BASIC]
LOWER = {"prompt": "Describe tea in all lowercase letters.", "responses": ["tea is calm", "Tea Is Calm"]}


class Recorder(ThreadingHTTPServer):
    """A loopback model/RM server that records each request's headers."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.seen: list[tuple[str, dict[str, str]]] = []

    @property
    def base(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.seen.append((self.path, headers))
        if self.server.mode == "ok" and self.path.endswith("/get_reward"):
            self._send(200, json.dumps({"rewards": [float(len(q)) for q in body["query"]]}))
        else:  # the leakiest error a server can give: everything it was sent, echoed
            self._send(500, "server saw: " + json.dumps(headers) + " at " + self.path)

    def _send(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("content-type", "application/json" if status == 200 else "text/plain")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def server() -> Recorder:
    srv = Recorder()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def secret_context(server: Recorder, **fields: Any) -> RewardContext:
    """Every kind of secret a context can hold, pointing at the loopback server."""
    return RewardContext(
        models={"judge": {"provider": "openai", "model": "m", "base_url": f"http://{server.base}/v1",
                          "api_key": MODEL_KEY, "max_retries": 0, "timeout_s": 5}},
        rm={"backend": "http", "model": f"http://rmuser:{URL_PASSWORD}@{server.base}/get_reward",
            "options": {"headers": {"X-Api-Key": RM_HEADER}, "retries": 0, "timeout_s": 5}},
        disable=("factuality",),
        **fields,
    )


def assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked in {where}: ...{text[max(0, text.find(secret) - 150):text.find(secret) + 50]}..."


def test_dumps_of_the_context_mask_every_secret(server: Recorder) -> None:
    context = secret_context(server)
    judge = RewardContext(rm={"backend": "generative", "options": {"judge": {
        "provider": "openai", "model": "m", "base_url": f"http://u:{URL_PASSWORD}@{server.base}/v1", "api_key": JUDGE_KEY}}})
    for ctx in (context, judge):
        for text in (repr(ctx), str(ctx), ctx.model_dump_json(), json.dumps(ctx.model_dump(mode="json"))):
            assert_clean(text, "a context dump")
    # Python dumps round-trip (the key stays a SecretStr, which prints masked).
    assert RewardContext.model_validate(context.model_dump()) == context
    assert MODEL_KEY not in str(context.model_dump()["models"]["judge"]["api_key"])
    assert context.model_dump(mode="json")["models"]["judge"]["api_key"] == MASK
    assert context.model_dump(mode="json")["rm"]["model"] == f"http://{MASK}@{server.base}/get_reward"
    # The real values are still there for the code that sends them.
    assert context.models["judge"].resolved_api_key() == MODEL_KEY
    assert context.rm.options["headers"]["X-Api-Key"] == RM_HEADER


def test_v1_config_masks_every_secret(server: Recorder) -> None:
    for ctx in (secret_context(server), RewardContext(rm={"backend": "generative", "options": {"judge": {
            "provider": "openai", "model": "m", "base_url": f"http://{server.base}/v1", "api_key": JUDGE_KEY}}})):
        # sse-starlette keeps one exit event per process, bound to the first event loop that
        # streamed; each TestClient runs its own loop (a real server has one).
        AppStatus.should_exit_event = None
        with TestClient(create_app(ctx, ServeSettings(token=SERVER_TOKEN, warmup=False))) as client:
            response = client.get("/v1/config", headers={"Authorization": f"Bearer {SERVER_TOKEN}"})
            assert response.status_code == 200
            assert_clean(response.text, "/v1/config")
            assert response.json()["limits"]["auth"] is True
            # The LangServe routes run the graph with this context bound: their event streams too.
            request = {"request": {**LOWER, "verifiers": ["constraints"]}}
            for path in ("/reward/stream_events", "/reward/stream_log", "/reward/invoke"):
                streamed = client.post(path, json={"input": request}, headers={"Authorization": f"Bearer {SERVER_TOKEN}"})
                assert streamed.status_code == 200
                assert_clean(streamed.text, path)


def test_secrets_reach_the_rm_and_model_but_no_response(server: Recorder, caplog: pytest.LogCaptureFixture) -> None:
    """The RM gets its Basic credentials and header; the judge model gets its key; answers hold none."""
    caplog.set_level(logging.DEBUG)
    context = secret_context(server, judger="llm")
    with TestClient(create_app(context, ServeSettings(token=SERVER_TOKEN, warmup=False))) as client:
        client.headers["Authorization"] = f"Bearer {SERVER_TOKEN}"
        signal = client.post("/v1/verify/preference", json=LOWER)
        assert signal.status_code == 200 and signal.json()["status"] == "ok", signal.text
        assert_clean(signal.text, "/v1/verify/preference")
        rm_headers = [h for path, h in server.seen if path.endswith("/get_reward")][-1]
        assert rm_headers["authorization"] == f"Basic {BASIC}" and rm_headers["x-api-key"] == RM_HEADER

        result = client.post("/v1/score", json=LOWER)  # the llm judger calls the model, which answers 500
        assert result.status_code == 200, result.text
        assert_clean(result.text, "/v1/score")
        model_headers = [h for path, h in server.seen if path.endswith("/chat/completions")]
        assert model_headers and model_headers[-1]["authorization"] == f"Bearer {MODEL_KEY}"
        assert any("Error code: 500" in note for note in result.json()["notes"])  # the failure is reported
    assert_clean(caplog.text, "the logs")


def test_failing_rm_errors_and_ready_leak_nothing(server: Recorder, caplog: pytest.LogCaptureFixture) -> None:
    """An RM that echoes its credentials in a 500: the warm-up error (/ready), the failed signal
    and the logs carry the error, masked; /ready shows detail only with the token."""
    caplog.set_level(logging.DEBUG)
    server.mode = "echo"
    context = RewardContext(
        rm={"backend": "http", "model": f"http://rmuser:{URL_PASSWORD}@{server.base}/get_reward",
            "options": {"headers": {"Authorization": f"Bearer {RM_HEADER}"}, "retries": 0, "timeout_s": 5}},
        disable=("factuality",))
    with TestClient(create_app(context, ServeSettings(token=SERVER_TOKEN))) as client:
        deadline = time.monotonic() + 60
        while client.get("/ready").json()["phase"] in ("starting", "warming up") and time.monotonic() < deadline:
            time.sleep(0.05)
        anonymous = client.get("/ready")
        assert set(anonymous.json()) == {"ready", "phase"}
        detailed = client.get("/ready", headers={"Authorization": f"Bearer {SERVER_TOKEN}"})
        assert detailed.json()["verifiers"]["preference"].startswith("failed: RMError")
        assert "server saw" in detailed.json()["verifiers"]["preference"]
        assert_clean(detailed.text, "/ready")
        scored = client.post("/v1/score", json=LOWER, headers={"Authorization": f"Bearer {SERVER_TOKEN}"})
        assert scored.status_code == 200 and scored.json()["signals"]["preference"]["status"] == "failed"
        assert_clean(scored.text, "/v1/score with a failing RM")
    assert [h["authorization"] for _, h in server.seen][-1] == f"Basic {BASIC}"  # userinfo wins over the header
    assert_clean(caplog.text, "the logs")


def test_batch_run_files_leak_nothing(server: Recorder, tmp_path: Path) -> None:
    server.mode = "echo"
    context = secret_context(server)
    items = [(str(i), {**LOWER, "id": str(i)}) for i in range(2)]
    report = asyncio.run(arun_batch(items, lambda req: ascore_row(req, context), tmp_path,
                                    config=run_config(context, dataset="x"), progress=False))
    assert report is not None
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".config.json") for p in files)
    rows = (tmp_path / "results.jsonl").read_text()
    assert "preference" in rows and "failed" in rows  # the RM's error is recorded ...
    for path in files:
        assert_clean(path.read_text(), str(path))  # ... without its secrets


def test_logs_and_messages_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    caplog.set_level(logging.INFO)
    redact({"api_key": MODEL_KEY})  # nothing remembered by a dump alone; the spec validators do it
    RewardContext(models={"judge": {"provider": "openai", "model": "m", "base_url": "http://h/v1", "api_key": MODEL_KEY}})
    log = logging.getLogger("reward_agent.test")
    log.info("calling http://rmuser:%s@host/x with %s", URL_PASSWORD, MODEL_KEY)
    try:
        raise RuntimeError(f"boom Authorization: Bearer {RM_HEADER}")
    except RuntimeError:
        log.exception("failed")
    assert "calling" in caplog.text and "boom" in caplog.text
    assert_clean(caplog.text, "log records")
    assert redact_text(f"see https://a:{URL_PASSWORD}@h/p?api_key={JUDGE_KEY}&x=1") == f"see https://{MASK}@h/p?api_key={MASK}&x=1"


def test_config_errors_do_not_quote_credentials() -> None:
    with pytest.raises(ConfigError) as caught:
        load_context(environ={}, models={"judge": {"provider": "openai", "model": "m",
                                                   "base_url": f"ftp://u:{URL_PASSWORD}@h/v1"}})
    assert "must start with http" in str(caught.value)
    assert URL_PASSWORD not in str(caught.value)


def test_results_of_the_python_api_are_clean(server: Recorder) -> None:
    """No HTTP layer to scrub here: the evidence, plan reasons and errors are redacted at the source."""
    from reward_agent import score

    context = secret_context(server)
    result = score(LOWER, context)
    assert result.signals["preference"].status == "ok"
    assert result.signals["preference"].evidence["model"] == f"http://{MASK}@{server.base}/get_reward"
    assert_clean(result.model_dump_json(), "a RewardResult")
    server.mode = "echo"
    failed = score({**LOWER, "id": "again"}, secret_context(server, gate_cap=0.25))  # another context: a fresh call
    assert failed.signals["preference"].status == "failed"
    assert "refused" in failed.signals["preference"].error or "failed after" in failed.signals["preference"].error
    assert_clean(failed.model_dump_json(), "a failed RewardResult")
