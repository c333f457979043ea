"""annotate: selection rules, margins, skip reasons, DPO row format, metrics beside the output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reward_agent.batch import annotate as annotate_mod
from reward_agent.batch import signal_sets
from reward_agent.batch.annotate import (
    SKIP_EQUAL,
    SKIP_FAILED,
    SKIP_MARGIN,
    SKIP_TOO_FEW,
    Pair,
    annotate_paths,
    pair_rows,
    run_annotate,
    select_pairs,
)
from reward_agent.batch.inputs import BatchItem
from reward_agent.context import RewardContext
from reward_agent.types import ConstraintSpec, Message


def _pairs(rewards: list[float | None], rule: str = "best-worst", margin: float = 0.0) -> tuple[list[tuple[int, int, float]], str | None]:
    pairs, why = select_pairs(rewards, rule, margin)
    return [(p.chosen_index, p.rejected_index, p.margin) for p in pairs], why


@pytest.mark.parametrize(
    ("rewards", "rule", "margin", "expected", "why"),
    [
        # best 0.9 at index 1, worst 0.1 at index 3 -> margin 0.8
        ([0.5, 0.9, 0.3, 0.1], "best-worst", 0.0, [(1, 3, 0.8)], None),
        # ties: the first of the best (0) and the first of the worst (1)
        ([0.8, 0.2, 0.8, 0.2], "best-worst", 0.0, [(0, 1, 0.6)], None),
        # None rewards are ignored: best 0.6 (2), worst 0.4 (1)
        ([None, 0.4, 0.6, None], "best-worst", 0.0, [(2, 1, 0.2)], None),
        ([0.6, 0.4], "best-worst", 0.25, [], SKIP_MARGIN),  # margin 0.2 < 0.25
        ([0.6, 0.4], "best-worst", 0.2, [(0, 1, 0.2)], None),  # margin equal to the threshold passes
        ([0.5, 0.5, 0.5], "best-worst", 0.0, [], SKIP_EQUAL),
        ([None, 0.5, None], "best-worst", 0.0, [], SKIP_TOO_FEW),
        ([0.7], "all-pairs", 0.0, [], SKIP_TOO_FEW),
        # all-pairs over (0.5, 0.9, 0.5, 0.1): pairs with different rewards, higher one chosen, (i, j) order
        ([0.5, 0.9, 0.5, 0.1], "all-pairs", 0.0,
         [(1, 0, 0.4), (0, 3, 0.4), (1, 2, 0.4), (1, 3, 0.8), (2, 3, 0.4)], None),
        ([0.5, 0.9, 0.5, 0.1], "all-pairs", 0.5, [(1, 3, 0.8)], None),
        ([0.5, 0.6, None], "all-pairs", 0.2, [], SKIP_MARGIN),
    ],
)
def test_selection_rules_table(rewards: list[float | None], rule: str, margin: float,
                               expected: list[tuple[int, int, float]], why: str | None) -> None:
    got, reason = _pairs(rewards, rule, margin)
    assert [(c, r) for c, r, _ in got] == [(c, r) for c, r, _ in expected]
    assert [m for _, _, m in got] == pytest.approx([m for _, _, m in expected])
    assert reason == why


def test_bad_rule_or_margin_is_an_error() -> None:
    with pytest.raises(ValueError, match="selection rule 'best' must be one of best-worst, all-pairs"):
        select_pairs([0.1, 0.2], "best")
    with pytest.raises(ValueError, match="min_margin must be >= 0"):
        select_pairs([0.1, 0.2], "best-worst", -1)


ROW = {
    "rewards": [0.2, 0.9, 0.5],
    "plan": ["preference", "constraints"],
    "verifiers": {
        "preference": {"status": "ok", "scores": [0.4, 0.8, 0.6], "raw_scores": [-1.0, 2.0, 0.5],
                       "evidence": {"summaries": ["rm a", "rm b", "rm c"]}},
        "constraints": {"status": "ok", "scores": [0.0, 1.0, 0.5],
                        "evidence": {"summaries": ["0/2 met", "2/2 met", "1/2 met"]}},
        "factuality": {"status": "failed", "scores": None, "error": "TimeoutError"},
    },
}


def test_pair_rows_keep_scores_margin_and_full_signals() -> None:
    item = BatchItem(id="x", prompt="Say hi.", responses=["r0", "r1", "r2"])
    (row,) = pair_rows(item, ROW, [Pair(1, 0, 0.9, 0.2)], "best-worst")
    assert {k: row[k] for k in ("id", "prompt", "chosen", "rejected", "chosen_index", "rejected_index")} == {
        "id": "x", "prompt": "Say hi.", "chosen": "r1", "rejected": "r0", "chosen_index": 1, "rejected_index": 0}
    assert row["chosen_score"] == 0.9 and row["rejected_score"] == 0.2 and row["margin"] == pytest.approx(0.7)
    pref = row["signals"]["preference"]
    assert pref["scores"] == [0.4, 0.8, 0.6] and pref["raw_scores"] == [-1.0, 2.0, 0.5]
    assert (pref["chosen_score"], pref["rejected_score"]) == (0.8, 0.4)
    assert (pref["chosen_summary"], pref["rejected_summary"]) == ("rm b", "rm a")
    assert row["signals"]["constraints"]["chosen_summary"] == "2/2 met"
    assert row["signals"]["factuality"] == {"status": "failed", "scores": None, "error": "TimeoutError",
                                            "chosen_score": None, "rejected_score": None}
    assert row["rewards"] == [0.2, 0.9, 0.5]


def test_pair_rows_use_the_conversational_format_for_chats() -> None:
    chat = [Message(role="system", content="Be brief."), Message(role="user", content="Hi?")]
    item = BatchItem(id="c", messages=chat, responses=["a", "b", "c"])
    rows = pair_rows(item, ROW, [Pair(1, 0, 0.9, 0.2), Pair(2, 0, 0.5, 0.2)], "all-pairs")
    assert rows[0]["prompt"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]
    assert rows[0]["chosen"] == [{"role": "assistant", "content": "b"}]
    assert [r["id"] for r in rows] == ["c:1>0", "c:2>0"]  # several pairs of one prompt get distinct ids


def test_annotate_paths_sit_beside_the_output() -> None:
    paths = annotate_paths(Path("out/dpo.jsonl"))
    assert paths["metrics"] == Path("out/dpo.metrics.json") and paths["plot"] == Path("out/dpo.margins.png")
    assert paths["scores"] == Path("out/dpo_scores")


def test_run_annotate_counts_and_lists_skipped_prompts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The graph is replaced by scripted rows here; the real graph runs in tests/integration."""
    scripted: dict[str, Any] = {
        "good": {"rewards": [0.1, 0.8, 0.4], "plan": ["preference"], "model_calls": {"preference": 1},
                 "verifiers": {"preference": {"status": "ok", "scores": [0.1, 0.8, 0.4]}}},
        "flat": {"rewards": [0.5, 0.5, 0.5], "plan": ["preference"], "model_calls": {"preference": 1}, "verifiers": {}},
        "close": {"rewards": [0.5, 0.55, None], "plan": ["preference"], "model_calls": {"preference": 1}, "verifiers": {}},
    }

    def fake_make_work(signals: str, context: RewardContext, *, audit: bool = False):
        async def work(item: BatchItem) -> dict[str, Any]:
            if item.id == "broken":
                raise RuntimeError("reward model unreachable")
            return scripted[item.id]
        return work

    monkeypatch.setattr(signal_sets, "make_work", fake_make_work)
    gold = [ConstraintSpec(id="punctuation:no_comma")]
    items = [
        # ratings: chosen r1 (9) beats rejected r0 (2); gold: chosen "a b" follows no-comma, rejected "a, b" not
        BatchItem(id="good", prompt="p", responses=["a, b", "a b", "c"], ratings=[2, 9, 5], gold=gold),
        BatchItem(id="flat", prompt="p", responses=["x", "y", "z"]),
        BatchItem(id="close", prompt="p", responses=["x", "y", "z"]),
        BatchItem(id="broken", prompt="p", responses=["x", "y"]),
    ]
    out = tmp_path / "pairs.jsonl"
    metrics = run_annotate(items, out, context=RewardContext(), min_margin=0.1, concurrency=2, progress=False)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["prompt_id"], r["chosen"], r["rejected"]) for r in rows] == [("good", "a b", "a, b")]
    assert rows[0]["margin"] == pytest.approx(0.7)
    assert metrics["pairs_written"] == 1 and metrics["prompts_with_pairs"] == 1
    assert metrics["skipped"] == {SKIP_EQUAL: {"count": 1, "ids": ["flat"]},
                                  SKIP_MARGIN: {"count": 1, "ids": ["close"]},
                                  SKIP_FAILED: {"count": 1, "ids": ["broken"]}}
    assert metrics["agreement_with_data"]["ratings"]["agree"] == 1
    assert metrics["agreement_with_data"]["ifeval_instructions_strict"]["accuracy_on_decided"] == 1.0
    assert metrics["efficiency"]["model_calls"]["per_item"] == {"preference": 1.0}
    assert json.loads((tmp_path / "pairs.metrics.json").read_text()) == metrics
    assert (tmp_path / "pairs.margins.png").stat().st_size > 0
    assert annotate_mod.RULES == ("best-worst", "all-pairs")
