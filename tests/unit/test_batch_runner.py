"""The batch runner with fake async work: order, failures, resumption, torn lines, configuration."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from reward_agent.batch.runner import ResultsFileError, arun_batch, read_rows, run_batch
from reward_agent.errors import ConfigError

ITEMS = [(f"item-{i}", i) for i in range(20)]


async def slow_first(i: int) -> dict:
    """Earlier items take longer, so completions arrive in reverse order within a window."""
    await asyncio.sleep(0.002 * (20 - i))
    return {"square": i * i, "tag": ("even", "odd")[i % 2]}


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rows_are_written_in_dataset_order_despite_out_of_order_completion(tmp_path):
    finished: list[int] = []

    async def work(i: int) -> dict:
        row = await slow_first(i)
        finished.append(i)
        return row

    report = run_batch(ITEMS, work, tmp_path, concurrency=5, progress=False)
    assert finished != sorted(finished), "the fake work should complete out of order"
    rows = lines_of(tmp_path / "results.jsonl")
    assert [r["id"] for r in rows] == [i for i, _ in ITEMS]
    assert list(rows[3]) == ["id", "square", "tag"]  # the id comes first
    assert rows[7]["square"] == 49
    assert report.rows == rows
    assert (report.done, report.resumed, report.failed) == (20, 0, 0)
    assert report.items_per_s > 0
    run_log = json.loads((tmp_path / "results.run.json").read_text())
    assert run_log["runs"][-1]["done"] == 20 and run_log["runs"][-1]["complete"] is True


def test_failures_are_rows_and_do_not_stop_the_run(tmp_path):
    async def work(i: int) -> dict:
        if i % 7 == 3:
            raise ValueError(f"boom {i}\nsecond line is dropped")
        if i == 5:
            return {"bad": object()}  # not JSON: a failure of this item, not of the run
        return {"ok": i}

    report = run_batch(ITEMS, work, tmp_path, concurrency=3, progress=False)
    rows = lines_of(tmp_path / "results.jsonl")
    assert len(rows) == 20
    assert rows[3] == {"id": "item-3", "error": "ValueError: boom 3"}
    assert rows[10] == {"id": "item-10", "error": "ValueError: boom 10"}
    assert rows[5]["id"] == "item-5" and rows[5]["error"].startswith("TypeError")
    assert rows[4] == {"id": "item-4", "ok": 4}
    assert report.failed == 4  # items 3, 10, 17 and 5


def test_resume_after_a_partial_run_is_byte_identical(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    run_batch(ITEMS, slow_first, full, concurrency=4, progress=False, config={"k": 1})
    first = run_batch(ITEMS[:7], slow_first, part, concurrency=4, progress=False, config={"k": 1})
    assert first.done == 7
    second = run_batch(ITEMS, slow_first, part, concurrency=4, progress=False, config={"k": 1})
    assert (second.resumed, second.done) == (7, 13)
    assert (part / "results.jsonl").read_bytes() == (full / "results.jsonl").read_bytes()
    assert [r["id"] for r in second.rows] == [i for i, _ in ITEMS]
    again = run_batch(ITEMS, slow_first, part, concurrency=4, progress=False, config={"k": 1})
    assert (again.resumed, again.done) == (20, 0)


def test_a_torn_last_line_is_dropped_and_redone(tmp_path):
    full, torn = tmp_path / "full", tmp_path / "torn"
    run_batch(ITEMS, slow_first, full, concurrency=4, progress=False)
    good = (full / "results.jsonl").read_bytes().split(b"\n")
    torn.mkdir()
    # three complete lines and half of the fourth, as a kill -9 in the middle of a write leaves it
    (torn / "results.jsonl").write_bytes(b"\n".join(good[:3]) + b"\n" + good[3][: len(good[3]) // 2])
    assert len(read_rows(torn / "results.jsonl")) == 3
    report = run_batch(ITEMS, slow_first, torn, concurrency=4, progress=False)
    assert (report.resumed, report.done) == (3, 17)
    assert (torn / "results.jsonl").read_bytes() == (full / "results.jsonl").read_bytes()


def test_a_malformed_line_in_the_middle_is_an_error(tmp_path):
    (tmp_path / "results.jsonl").write_text('{"id": "item-0"}\nnot json\n{"id": "item-2"}\n')
    with pytest.raises(ResultsFileError, match="results.jsonl:2"):
        run_batch(ITEMS, slow_first, tmp_path, progress=False)


def test_a_different_configuration_refuses_to_resume_unless_overwritten(tmp_path):
    run_batch(ITEMS[:5], slow_first, tmp_path, progress=False, config={"seed": 0, "model": "a"})
    saved = json.loads((tmp_path / "results.config.json").read_text())
    assert saved == {"seed": 0, "model": "a"}
    with pytest.raises(ResultsFileError, match="seed"):
        run_batch(ITEMS, slow_first, tmp_path, progress=False, config={"seed": 1, "model": "a"})
    assert len(lines_of(tmp_path / "results.jsonl")) == 5  # nothing was touched
    report = run_batch(ITEMS, slow_first, tmp_path, progress=False, config={"seed": 1, "model": "a"}, overwrite=True)
    assert (report.resumed, report.done) == (0, 20)
    assert json.loads((tmp_path / "results.config.json").read_text())["seed"] == 1


def test_rows_of_another_dataset_refuse_to_resume(tmp_path):
    run_batch(ITEMS[5:8], slow_first, tmp_path, progress=False)
    with pytest.raises(ResultsFileError, match="not the first items"):
        run_batch(ITEMS, slow_first, tmp_path, progress=False)


def test_duplicate_ids_are_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="unique.*item-1"):
        run_batch([("item-1", 1), ("item-2", 2), ("item-1", 3)], slow_first, tmp_path, progress=False)


def test_cancellation_keeps_the_finished_prefix_and_resume_completes(tmp_path):
    full, cut = tmp_path / "full", tmp_path / "cut"
    run_batch(ITEMS, slow_first, full, concurrency=3, progress=False)

    async def cancel_midway() -> None:
        task = asyncio.ensure_future(arun_batch(ITEMS, slow_first, cut, concurrency=3, progress=False))
        path = cut / "results.jsonl"
        while not (path.exists() and path.read_text().count("\n") >= 4):
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_midway())
    partial = (cut / "results.jsonl").read_bytes()
    assert 4 <= partial.count(b"\n") < 20
    assert (full / "results.jsonl").read_bytes().startswith(partial)
    report = run_batch(ITEMS, slow_first, cut, concurrency=3, progress=False)
    assert report.resumed == partial.count(b"\n")
    assert (cut / "results.jsonl").read_bytes() == (full / "results.jsonl").read_bytes()


def test_run_batch_inside_an_event_loop_points_to_the_async_form(tmp_path):
    async def inside() -> None:
        with pytest.raises(RuntimeError, match="arun_batch"):
            run_batch(ITEMS, slow_first, tmp_path, progress=False)

    asyncio.run(inside())


def test_result_row_is_compact_and_splits_model_calls_by_role():
    from reward_agent.batch.scoring import result_row
    from reward_agent.types import Plan, RewardResult, Signal

    result = RewardResult(
        rewards=[0.123456789, None], best_index=0,
        plan=Plan(verifiers=["constraints", "preference"], planner="llm", model_calls=1),
        signals={"constraints": Signal(verifier="constraints", status="ok", scores=[1.0, None], model_calls=2,
                                       latency_s=0.5),
                 "preference": Signal(verifier="preference", status="failed", error="RuntimeError: down")},
        judger="llm", model_calls=7, judger_model_calls=4, latency_s=1.25, notes=["judge fell back"])
    row = result_row(result)
    assert row["rewards"] == [0.123457, None]
    assert row["model_calls"] == {"planner": 1, "constraints": 2, "preference": 0, "judger": 4}
    assert row["verifiers"]["preference"] == {"status": "failed", "scores": None, "error": "RuntimeError: down"}
    assert "latency_s" not in json.dumps(row)  # nothing that changes between two runs
    assert row["notes"] == ["judge fell back"]


def test_run_config_records_context_prompts_verifiers_and_hides_secrets():
    from reward_agent.batch.scoring import run_config
    from reward_agent.context import RewardContext

    context = RewardContext(models={"judge": {"provider": "openai", "model": "m", "api_key": "sk-secret",
                                                "base_url": "http://127.0.0.1:9/v1"}})
    config = run_config(context, bench="pairs", data=Path("/x/y.jsonl"), seed=3)
    assert config["args"] == {"bench": "pairs", "data": "/x/y.jsonl", "seed": 3}
    assert config["context"]["models"]["judge"]["api_key"] == "<redacted>"
    assert "sk-secret" not in json.dumps(config)
    assert "planner.v1" in config["prompts"]["planner"]
    assert {"constraints", "preference"} <= set(config["verifiers"])
    assert config["package_version"]
