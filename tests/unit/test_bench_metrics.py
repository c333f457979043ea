"""Benchmark metrics against tables computed by hand, and the work functions with a fake scorer."""

from __future__ import annotations

import asyncio
import json

import pytest

from reward_agent.batch.efficiency import model_calls_summary
from reward_agent.bench.judgebench import (
    decision_from_rewards,
    flip,
    judgebench_metrics,
    judgebench_outcome,
    load_judgebench,
    make_judgebench_work,
)
from reward_agent.bench.pairs import (
    chosen_position,
    load_ifbench_pairs,
    load_pairs,
    make_pair_work,
    pair_outcome,
    pairwise_metrics,
    with_keys,
)
from reward_agent.bench.rm_bench_run import load_rmbench, make_rmbench_work, rmbench_matrix, rmbench_metrics
from reward_agent.bench.rmbench import rmbench_from_scores
from reward_agent.errors import ConfigError

# -- RM-Bench -------------------------------------------------------------------------------------
# Three items. Worked out by hand, cell (i, j) = chosen style i beats rejected style j:
#   item 1: chosen [3, 2, 1] vs rejected [2.5, 1.5, 0.5] -> rows [1 1 1], [0 1 1], [0 0 1]
#   item 2: chosen [1, 1, 1] vs rejected [1, 2, 0]       -> rows [t 0 1] x3   (t = tie)
#   item 3: chosen [None, 5, 5] vs rejected [0, 5, None] -> rows [- - -], [1 t -], [1 t -]  (- = no reward)
CHOSEN = [[3, 2, 1], [1, 1, 1], [None, 5, 5]]
REJECTED = [[2.5, 1.5, 0.5], [1, 2, 0], [0, 5, None]]


def test_rmbench_matrix_counts_ties_as_wrong_like_the_reference():
    m = rmbench_matrix(CHOSEN, REJECTED)
    # column sums by hand: row 0 = [1+0+0, 1+0+0, 1+1+0], row 1 = [0+0+1, 1+0+0, 1+1+0], row 2 = [0+0+1, 0, 1+1+0]
    expected = [[1 / 3, 1 / 3, 2 / 3], [1 / 3, 1 / 3, 2 / 3], [1 / 3, 0, 2 / 3]]
    assert [v for row in m["matrix"] for v in row] == pytest.approx([v for row in expected for v in row])
    assert m["hard"] == pytest.approx(5 / 9)    # (1/3 + 2/3 + 2/3) / 3
    assert m["normal"] == pytest.approx(4 / 9)  # (1/3 + 1/3 + 2/3) / 3
    assert m["easy"] == pytest.approx(2 / 9)    # (1/3 + 1/3 + 0) / 3
    assert m["tied_comparisons"] == 5 and m["comparisons_without_reward"] == 5


def test_rmbench_matrix_half_credit_variant():
    m = rmbench_matrix(CHOSEN, REJECTED, tie_credit=0.5)
    # ties sit at (0,0), (1,0), (2,0) (item 2) and (1,1), (2,1) (item 3): only normal and easy move
    assert m["hard"] == pytest.approx(5 / 9)
    assert m["normal"] == pytest.approx((1.5 + 1.5 + 2) / 9)
    assert m["easy"] == pytest.approx((1.5 + 1.5 + 0.5) / 9)
    # without missing rewards it agrees with the half-credit function the RM trainer uses
    ours = rmbench_matrix(CHOSEN[:2], REJECTED[:2], tie_credit=0.5)
    theirs = rmbench_from_scores(CHOSEN[:2], REJECTED[:2])
    assert [v for r in ours["matrix"] for v in r] == pytest.approx([v for r in theirs["matrix"] for v in r])


def test_rmbench_metrics_per_domain_and_failed_items():
    rows = [
        {"id": "chat/1", "domain": "chat", "chosen_rewards": [3, 2, 1], "rejected_rewards": [2.5, 1.5, 0.5]},
        {"id": "chat/2", "domain": "chat", "error": "RuntimeError: down"},  # loses all nine comparisons
        {"id": "code/1", "domain": "code", "chosen_rewards": [1, 1, 1], "rejected_rewards": [0, 0, 0]},
    ]
    m = rmbench_metrics(rows)
    chat = m["per_domain"]["chat"]
    # chat: item 1 halves -> hard (1+1+1)/3/2 = 1/2, normal (1+1+1)/3/2 = 1/2, easy (0+0+0)/3 = 0
    assert (chat["hard"], chat["normal"], chat["easy"]) == pytest.approx((0.5, 0.5, 0.0))
    assert m["per_domain"]["code"]["average"] == pytest.approx(1.0)
    assert m["accuracy"] == pytest.approx(((0.5 + 0.5 + 0) / 3 + 1.0) / 2)
    assert m["failed"] == 1 and m["items"] == 3
    assert "tie counts as wrong" in m["tie_rule"]


def test_rmbench_work_shuffles_and_maps_rewards_back():
    seen = []

    async def fake_score(request, context):
        seen.append(list(request.responses))
        return {"rewards": [float(len(r)) for r in request.responses], "model_calls": {"preference": 1}}

    item = {"key": "chat/7", "domain": "chat", "prompt": "p", "chosen": ["a", "bb", "ccc"],
            "rejected": ["dddd", "eeeee", "ffffff"]}
    row = asyncio.run(make_rmbench_work(None, seed=3, score=fake_score)(item))
    assert sorted(row["order"]) == list(range(6))
    assert seen[0] == [(item["chosen"] + item["rejected"])[i] for i in row["order"]]
    assert row["chosen_rewards"] == [1.0, 2.0, 3.0] and row["rejected_rewards"] == [4.0, 5.0, 6.0]
    again = asyncio.run(make_rmbench_work(None, seed=3, score=fake_score)(item))
    assert again["order"] == row["order"]  # the order is a function of (seed, id)


def test_load_rmbench_names_domains_and_rejects_bad_items(tmp_path):
    good = {"id": 1, "prompt": "p", "chosen": ["a", "b", "c"], "rejected": ["d", "e", "f"]}
    (tmp_path / "chat.json").write_text(json.dumps([good]))
    (tmp_path / "math.json").write_text(json.dumps([{**good, "domain": "algebra"}]))
    items = load_rmbench(tmp_path)
    assert [i for i, _ in items] == ["chat/1", "algebra/1"]
    (tmp_path / "bad.json").write_text(json.dumps([{**good, "chosen": ["a"]}]))
    with pytest.raises(ConfigError, match="3 chosen and 3 rejected"):
        load_rmbench(tmp_path / "bad.json")


# -- JudgeBench -----------------------------------------------------------------------------------

def test_decisions_and_flips():
    assert decision_from_rewards([0.7, 0.2]) == "A>B"
    assert decision_from_rewards([0.2, 0.7]) == "B>A"
    assert decision_from_rewards([0.5, 0.5]) == "A=B"
    assert decision_from_rewards([None, 0.5]) is None
    assert [flip(d) for d in ("A>B", "B>A", "A=B", None)] == ["B>A", "A>B", "A=B", None]


@pytest.mark.parametrize(
    ("label", "d1", "d2", "expected"),
    [
        ("A>B", "A>B", "A>B", "correct"),     # +2
        ("A>B", "A>B", "B>A", "tie"),         # +1 -1: inconsistent orders cancel
        ("A>B", "A>B", "A=B", "correct"),     # +1 +0
        ("A>B", "A=B", "A=B", "tie"),         # 0
        ("A>B", "B>A", "A=B", "incorrect"),   # -1
        ("A>B", None, "A>B", "correct"),      # a missing decision adds nothing
        ("B>A", "B>A", "A=B", "correct"),
        ("B>A", "A>B", "A>B", "incorrect"),   # -2
        ("B>A", None, None, "tie"),
    ],
)
def test_judgebench_outcome_follows_the_reference_rule(label, d1, d2, expected):
    assert judgebench_outcome(label, d1, d2) == expected


def test_judgebench_metrics_counts_by_hand():
    def row(source, label, d1, d2):
        return {"source": source, "label": label, "decisions": [d1, d2],
                "outcome": judgebench_outcome(label, d1, d2)}

    rows = [
        row("mmlu-pro-law", "A>B", "A>B", "A>B"),          # correct, consistent
        row("mmlu-pro-law", "B>A", "A>B", "B>A"),          # tie, inconsistent
        row("livebench-math", "B>A", "B>A", "A=B"),        # correct, inconsistent
        row("livebench-math", "A>B", "B>A", "B>A"),        # incorrect
        {"source": "livecodebench", "label": "A>B", "error": "RuntimeError: x"},  # failed: not correct
    ]
    m = judgebench_metrics(rows)
    assert (m["pairs"], m["correct"], m["incorrect"], m["tie"], m["failed"]) == (5, 2, 1, 1, 1)
    assert m["accuracy"] == pytest.approx(2 / 5)
    assert m["inconsistent"] == 2 and m["both_correct"] == 1 and m["both_incorrect"] == 1
    assert m["per_source"]["livebench-math"]["accuracy"] == pytest.approx(0.5)
    assert m["per_category"]["knowledge"]["pairs"] == 2
    assert m["per_category"]["coding"]["accuracy"] == 0.0
    assert m["labels"] == {"A>B": 3, "B>A": 2}


def test_judgebench_work_judges_both_orders_and_flips_back():
    async def longer_wins(request, context):
        return {"rewards": [len(r) / 100 for r in request.responses], "model_calls": {"preference": 1}}

    item = {"question": "q", "a": "a longer answer", "b": "short", "label": "A>B", "source": "mmlu-pro-law"}
    row = asyncio.run(make_judgebench_work(None, score=longer_wins)(item))
    assert row["decisions"] == ["A>B", "A>B"] and row["outcome"] == "correct"
    assert row["rewards_ab"] == [[0.15, 0.05], [0.15, 0.05]]

    async def first_wins(request, context):  # pure position bias: inconsistent across orders
        return {"rewards": [0.9, 0.1], "model_calls": {"judge": 2}}

    row = asyncio.run(make_judgebench_work(None, score=first_wins)(item))
    assert row["decisions"] == ["A>B", "B>A"] and row["outcome"] == "tie"
    assert model_calls_summary([row], requests_per_item=2)["by_role"] == {"judge": 4}


def test_load_judgebench_keeps_both_labels_and_rejects_others(tmp_path):
    lines = [{"pair_id": "p1", "question": "q", "response_A": "a", "response_B": "b", "label": "B>A", "source": "s"},
             {"pair_id": "p2", "question": "q", "response_A": "a", "response_B": "b", "label": "A>B", "source": "s"}]
    path = tmp_path / "jb.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert [i["label"] for _, i in load_judgebench(path)] == ["B>A", "A>B"]
    path.write_text(json.dumps({**lines[0], "label": "A=B"}) + "\n")
    with pytest.raises(ConfigError, match="label"):
        load_judgebench(path)


# -- pairs ----------------------------------------------------------------------------------------

def test_chosen_position_is_seeded_per_item_and_balanced():
    positions = [chosen_position(0, f"id-{i}") for i in range(2000)]
    assert 900 < positions.count("A") < 1100
    assert positions == [chosen_position(0, f"id-{i}") for i in range(2000)]
    assert positions != [chosen_position(1, f"id-{i}") for i in range(2000)]


def test_pair_outcome_table():
    assert [pair_outcome(0.9, 0.1), pair_outcome(0.1, 0.9), pair_outcome(0.5, 0.5), pair_outcome(None, 0.4)] == \
        ["correct", "wrong", "tie", "no_reward"]


def test_pair_work_maps_rewards_whatever_the_position():
    async def longer_wins(request, context):
        return {"rewards": [float(len(r)) for r in request.responses], "model_calls": {"preference": 1}}

    work = make_pair_work(None, seed=0, score=longer_wins)
    positions = set()
    for i in range(12):
        item = {"key": f"k{i}", "prompt": "p", "chosen": "chosen!!", "rejected": "no", "subset": "s"}
        row = asyncio.run(work(item))
        positions.add(row["chosen_position"])
        assert (row["chosen_reward"], row["rejected_reward"], row["outcome"]) == (8.0, 2.0, "correct")
        assert row["rewards"] == ([8.0, 2.0] if row["chosen_position"] == "A" else [2.0, 8.0])
    assert positions == {"A", "B"}


def test_pairwise_metrics_by_hand():
    rows = [
        {"subset": "level-1", "chosen_position": "A", "outcome": "correct"},
        {"subset": "level-1", "chosen_position": "B", "outcome": "wrong"},
        {"subset": "level-2", "chosen_position": "A", "outcome": "tie"},
        {"subset": "level-2", "chosen_position": "B", "outcome": "tie"},
        {"subset": "level-3", "chosen_position": "A", "outcome": "no_reward"},
        {"subset": "level-3", "chosen_position": "B", "error": "RuntimeError: x"},
    ]
    m = pairwise_metrics(rows)
    assert m["accuracy"] == pytest.approx((1 + 0.5 * 2) / 6)
    assert m["accuracy_excluding_failed"] == pytest.approx(2 / 5)
    assert m["accuracy_ties_to_position_a"] == pytest.approx(2 / 6)  # the correct one + the tie at A
    assert m["per_subset"]["level-2"]["accuracy"] == pytest.approx(0.5)
    assert (m["per_subset"]["level-3"]["no_reward"], m["per_subset"]["level-3"]["failed"]) == (1, 1)
    assert pairwise_metrics(rows, tie_credit=0.0)["accuracy"] == pytest.approx(1 / 6)
    assert "0.5" in m["tie_rule"]


def test_pair_loaders(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"prompt": "p", "chosen": "c", "rejected": "r", "subset": "x"}) + "\n\n"
                    + json.dumps({"id": "q2", "prompt": "p", "chosen": "c", "rejected": "r"}) + "\n")
    items = with_keys(load_pairs(path))
    assert [i for i, _ in items] == ["line-1", "q2"]
    assert items[1][1]["subset"] == "all" and items[1][1]["key"] == "q2"
    path.write_text(json.dumps({"prompt": "p", "chosen": "c"}) + "\n")
    with pytest.raises(ConfigError, match="pairs.jsonl:1"):
        load_pairs(path)
    ifb = tmp_path / "ifb.json"
    user = {"role": "user", "content": "Write two lines."}
    ifb.write_text(json.dumps([{"id": "9", "domain": "level-2",
                                "text_chosen": [user, {"role": "assistant", "content": "a\nb"}],
                                "text_rejected": [user, {"role": "assistant", "content": "a"}]}]))
    [(pid, item)] = load_ifbench_pairs(ifb)
    assert (pid, item["messages"], item["chosen"], item["subset"]) == ("9", [user], "a\nb", "level-2")


def test_pairwise_metrics_per_verifier_alone():
    rows = [
        {"subset": "s", "chosen_position": "A", "outcome": "correct",
         "verifiers": {"constraints": {"scores": [1.0, 0.0]}, "preference": {"scores": [0.2, 0.8]}}},
        {"subset": "s", "chosen_position": "B", "outcome": "correct",
         "verifiers": {"constraints": {"scores": [0.5, 0.5]}, "preference": {"scores": [0.1, 0.9]}}},
        {"subset": "s", "chosen_position": "B", "outcome": "wrong",
         "verifiers": {"preference": {"scores": None}}},
    ]
    per = pairwise_metrics(rows)["per_verifier"]
    assert {k: per["constraints"][k] for k in ("correct", "wrong", "tie")} == {"correct": 1, "wrong": 0, "tie": 1}
    assert per["constraints"]["accuracy_alone"] == pytest.approx(1.5 / 3)
    assert (per["preference"]["correct"], per["preference"]["wrong"], per["preference"]["no_reward"]) == (1, 1, 1)
    # a verifier the planner did not choose for a pair has no reward there
    rows.append({"subset": "s", "chosen_position": "A", "outcome": "tie", "verifiers": {"preference": {"scores": [0.5, 0.5]}}})
    assert per["constraints"]["no_reward"] == 1  # the third pair: constraints did not run
    assert pairwise_metrics(rows)["per_verifier"]["constraints"]["no_reward"] == 2
