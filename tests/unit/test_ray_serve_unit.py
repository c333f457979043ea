"""The parts of `serve --ray` that need no cluster: the RM deployment's batch scorer (one model call
for many requests, each request its own slice or its own error), the options and the CLI flags,
and that Ray stays an optional import. The real deployment is tested in
tests/integration/test_ray_serve.py."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reward_agent.cli import app
from reward_agent.errors import ConfigError
from reward_agent.rm.base import RawScores, RewardModel, RMError, RMItem, as_items
from reward_agent.rm.ray_serve import BatchScorer, ScoreFailure
from reward_agent.serve.ray_options import RayServeOptions

REPO = Path(__file__).resolve().parents[2]


class LengthRM(RewardModel):
    """A model whose raw score is the response length; refuses responses containing 'BOOM'.
    Records the batches it was called with."""

    backend = "length"

    def __init__(self) -> None:
        self.batches: list[int] = []

    def _score_raw(self, items: list[RMItem]) -> RawScores:
        self.batches.append(len(items))
        if any("BOOM" in it.response for it in items):
            raise RMError("cannot score BOOM")
        return RawScores(raw=[float(len(it.response)) for it in items], objectives={"len": [1.0] * len(items)},
                         details={"model": "length"}, model_calls=1)


def test_batch_scorer_scores_all_calls_in_one_model_call_and_splits_back() -> None:
    rm = LengthRM()
    scorer = BatchScorer(rm)
    calls = [as_items("p", ["a", "bb"]), as_items("q", ["ccc"]), as_items("r", ["dddd", "e", "ff"])]
    out = asyncio.run(scorer.score_calls(calls))
    assert rm.batches == [6]
    assert [o.raw for o in out] == [[1.0, 2.0], [3.0], [4.0, 1.0, 2.0]]
    assert [o.objectives for o in out] == [{"len": [1.0, 1.0]}, {"len": [1.0]}, {"len": [1.0, 1.0, 1.0]}]
    assert all(o.model_calls == 1 and o.details == {"model": "length"} for o in out)
    stats = scorer.stats.as_dict()
    assert stats["batches"] == 1 and stats["calls"] == 3 and stats["pairs"] == 6
    assert stats["max_calls_per_batch"] == 3 and stats["calls_histogram"] == {"3": 1}


def test_a_refused_batch_is_retried_per_call_so_only_the_bad_call_fails() -> None:
    rm = LengthRM()
    scorer = BatchScorer(rm)
    out = asyncio.run(scorer.score_calls([as_items("p", ["ok"]), as_items("q", ["BOOM"]), as_items("r", ["fine"])]))
    assert rm.batches == [3, 1, 1, 1]
    assert out[0].raw == [2.0] and out[2].raw == [4.0]
    assert isinstance(out[1], ScoreFailure) and "cannot score BOOM" in out[1].message
    assert scorer.stats.failed_batches == 1
    assert scorer.reset_stats()["calls"] == 3 and scorer.stats.calls == 0


class SlowLengthRM(LengthRM):
    """LengthRM that takes a while per model call (as a real model does), without a thread."""

    async def _ascore_raw(self, items: list[RMItem]) -> RawScores:
        await asyncio.sleep(0.05)
        return self._score_raw(items)


@pytest.mark.parametrize(("max_calls", "batches"), [(None, [1, 3]), (2, [1, 2, 1]), (1, [1, 1, 1, 1])])
def test_calls_that_queue_while_the_model_is_busy_join_its_next_call(max_calls: int | None, batches: list[int]) -> None:
    rm = SlowLengthRM()
    scorer = BatchScorer(rm, max_calls=max_calls)

    async def go() -> list[list[RawScores | ScoreFailure]]:
        first = asyncio.create_task(scorer.score_calls([as_items("p", ["a"])]))
        await asyncio.sleep(0.01)  # the model is now busy with the first call
        rest = [asyncio.create_task(scorer.score_calls([as_items("q", ["b" * k])])) for k in (2, 3, 4)]
        return await asyncio.gather(first, *rest)

    out = asyncio.run(go())
    assert rm.batches == batches
    assert [o[0].raw for o in out] == [[1.0], [2.0], [3.0], [4.0]]
    assert scorer.stats.as_dict()["max_calls_per_batch"] == max(batches)


def test_describe_carries_identity_and_normalisation() -> None:
    described = BatchScorer(LengthRM()).describe()
    assert described["identity"]["backend"] == "length"
    assert described["normalisation"]["method"] == "sigmoid"


def test_options_are_checked_and_size_a_local_ray() -> None:
    with pytest.raises(ConfigError, match="--replicas must be >= 1"):
        RayServeOptions(replicas=0)
    with pytest.raises(ConfigError, match="--batch-wait-timeout must be >= 0"):
        RayServeOptions(batch_wait_timeout_s=-1)
    assert RayServeOptions(replicas=3, cpus_per_replica=1, rm_cpus=2).cpus_needed() == 5
    assert RayServeOptions(replicas=1, cpus_per_replica=0.5, rm_cpus=0.5).cpus_needed() == 2


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["serve", "--replicas", "2"], "--replicas need(s) --ray"),
        (["serve", "--ray-address", "auto"], "--ray-address need(s) --ray"),
        (["serve", "--ray", "--max-batch-size", "0"], "--max-batch-size must be >= 1"),
        (["serve", "--ray", "--header-timeout", "5"], "--header-timeout does not apply with --ray"),
    ],
)
def test_serve_ray_flags_fail_in_one_line(args: list[str], words: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert words in " ".join(result.output.split())


def test_reward_agent_imports_and_serves_without_importing_ray() -> None:
    code = ("import sys; import reward_agent.cli, reward_agent.serve.app, reward_agent.rm.auto as a; "
            "a.BACKENDS.get('embedded'); from reward_agent.serve import create_app; "
            "assert 'ray_serve' in list(a.BACKENDS); assert 'ray' not in sys.modules, 'ray imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr


def test_build_app_for_serve_configs_checks_its_arguments() -> None:
    pytest.importorskip("ray", reason="Ray is in the `ray` extra")
    from reward_agent.serve.ray_app import build_app

    built = build_app({"replicas": "2", "max_batch_size": "8", "batch_wait_timeout_s": "0.02"})
    assert type(built).__name__ == "Application"
    with pytest.raises(ConfigError, match="unknown build_app argument"):
        build_app({"replica": "2"})
    with pytest.raises(ConfigError, match="--max-batch-size must be >= 1"):
        build_app({"max_batch_size": "0"})
