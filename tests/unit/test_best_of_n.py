"""best-of-n: picks per n, IFEval strict/loose metrics of the picks, rating and baseline curves.

Every expected number below is computed by hand in the comments next to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reward_agent.batch.best_of_n import baseline_curves, evaluate_picks, parse_ns, pick_index, picks_of, qualities
from reward_agent.batch.ifeval_metrics import aggregate, ifeval_quality
from reward_agent.batch.inputs import BatchItem, InputError, from_arena, load_items
from reward_agent.batch.signal_sets import build_request, parse_signals, safe_name
from reward_agent.types import ConstraintSpec

NS = [1, 2, 4]


@pytest.mark.parametrize(
    ("rewards", "expected"),
    [
        ([0.2, 0.5, 0.5, 0.9], {1: 0, 2: 1, 3: 1, 4: 3}),  # tie at n=3 -> first index
        ([None, 0.3, None, 0.3], {1: None, 2: 1, 3: 1, 4: 1}),  # None never picked
        ([None, None], {1: None, 2: None}),
        ([0.7, 0.7, 0.7], {1: 0, 2: 0, 3: 0}),
        ([0.1, 0.4], {8: 1}),  # n beyond the list: all responses
    ],
)
def test_pick_index_table(rewards: list[float | None], expected: dict[int, int | None]) -> None:
    assert {n: pick_index(rewards, n) for n in expected} == expected


def test_picks_fall_back_to_first_sample_and_count_it() -> None:
    picks, fallbacks = picks_of({"a": {"rewards": [None, 0.2]}, "b": {"rewards": [0.1, None]}}, [1, 2])
    assert picks == {"a": {1: 0, 2: 1}, "b": {1: 0, 2: 0}}
    assert fallbacks == {1: 1, 2: 0}


# Item A: gold = no commas + a <<title>>.
#   r0 "Sure, here it is:\n<<Poem>>\nroses are red": strict comma fails, title ok -> 1/2; loose drops the
#       first line, so no-comma passes too -> 2/2.
#   r1 "<<Poem>>\nroses are red": 2/2 both modes.   r2 "roses are red, violets are blue": 0/2.
#   r3 "roses are red": 1/2 (no title).
# Item B: gold = no commas. r0 "a, b" 0; r1 "a b" 1; r2 "c, d" 0; r3 "e f" 1.
GOLD_A = [ConstraintSpec(id="punctuation:no_comma"), ConstraintSpec(id="detectable_format:title")]
GOLD_B = [ConstraintSpec(id="punctuation:no_comma")]
A = ["Sure, here it is:\n<<Poem>>\nroses are red", "<<Poem>>\nroses are red", "roses are red, violets are blue",
     "roses are red"]
B = ["a, b", "a b", "c, d", "e f"]


def test_ifeval_quality_per_response() -> None:
    q = ifeval_quality(GOLD_A, A)
    assert q.num["instruction_strict"] == [1, 2, 0, 1]
    assert q.num["instruction_loose"] == [2, 2, 0, 1]
    assert q.num["prompt_strict"] == [0, 1, 0, 0]
    assert q.num["prompt_loose"] == [1, 1, 0, 0]
    assert q.den == {"prompt_strict": 1, "prompt_loose": 1, "instruction_strict": 2, "instruction_loose": 2}
    assert q.verdicts[0] == {"strict": [False, True], "loose": [True, True]}
    assert q.check_errors == [0, 0, 0, 0]


def test_a_check_error_counts_as_not_followed() -> None:
    q = ifeval_quality([ConstraintSpec(id="no_such:checker")], ["anything"])
    assert q.num["prompt_strict"] == [0.0] and q.num["instruction_loose"] == [0.0]
    assert q.check_errors == [2]  # one per mode


def _ifeval_items() -> list[BatchItem]:
    return [BatchItem(id="A", prompt="p", responses=A, gold=GOLD_A), BatchItem(id="B", prompt="q", responses=B, gold=GOLD_B)]


def test_ifeval_metrics_of_picks_and_baselines() -> None:
    quality = qualities(_ifeval_items(), progress=False)
    # A rewards [0.9, 0.5, 0.9, 0.1] -> r0 for every n (tie with r2 goes to r0).
    # B rewards [None, 0.2, 0.7, 0.7] -> n1: none -> first (r0); n2: r1; n4: r2 (tie with r3 -> r2).
    picks, fallbacks = picks_of({"A": {"rewards": [0.9, 0.5, 0.9, 0.1]}, "B": {"rewards": [None, 0.2, 0.7, 0.7]}}, NS)
    assert picks == {"A": {1: 0, 2: 0, 4: 0}, "B": {1: 0, 2: 1, 4: 2}}
    assert fallbacks == {1: 1, 2: 0, 4: 0}
    got = evaluate_picks(picks, quality, NS).values
    # n1: A r0 (ps 0, is 1, pl 1, il 2), B r0 (0): ps 0/2, is 1/3, pl 1/2, il 2/3
    # n2: A r0, B r1 (1):                          ps 1/2, is 2/3, pl 2/2, il 3/3
    # n4: A r0, B r2 (0):                          same as n1
    assert got["prompt_strict"] == pytest.approx({1: 0.0, 2: 0.5, 4: 0.0})
    assert got["instruction_strict"] == pytest.approx({1: 1 / 3, 2: 2 / 3, 4: 1 / 3})
    assert got["prompt_loose"] == pytest.approx({1: 0.5, 2: 1.0, 4: 0.5})
    assert got["instruction_loose"] == pytest.approx({1: 2 / 3, 2: 1.0, 4: 2 / 3})

    base = baseline_curves(["A", "B"], quality, NS)
    oracle, random = base["oracle"].values, base["random"].values
    # oracle n2: A max -> r1 (ps 1, is 2, pl 1, il 2); B max(0, 1) = 1 -> every metric 1.0; n4 the same.
    for metric in oracle:
        assert oracle[metric][2] == pytest.approx(1.0) and oracle[metric][4] == pytest.approx(1.0)
    assert oracle["instruction_strict"][1] == pytest.approx(1 / 3)  # n1 = the first sample
    # random n2: A ps .5 is 1.5 pl 1 il 2; B .5 -> ps .5, is 2/3, pl .75, il 2.5/3
    assert random["prompt_strict"][2] == pytest.approx(0.5)
    assert random["instruction_strict"][2] == pytest.approx(2 / 3)
    assert random["prompt_loose"][2] == pytest.approx(0.75)
    assert random["instruction_loose"][2] == pytest.approx(2.5 / 3)
    # random n4: A ps .25 is 1 pl .5 il 1.25; B .5 -> ps .375, is .5, pl .5, il 1.75/3
    assert random["prompt_strict"][4] == pytest.approx(0.375)
    assert random["instruction_strict"][4] == pytest.approx(0.5)
    assert random["prompt_loose"][4] == pytest.approx(0.5)
    assert random["instruction_loose"][4] == pytest.approx(1.75 / 3)


def test_mean_rating_of_picks_and_baselines() -> None:
    items = [BatchItem(id="C", prompt="p", responses=["c0", "c1", "c2", "c3"], ratings=[3, 9, None, 5]),
             BatchItem(id="D", prompt="q", responses=["d0", "d1", "d2", "d3"], ratings=[8, 2, 4, 6])]
    quality = qualities(items, progress=False)
    # C rewards -> n1 c0 (3), n2 c1 (9), n4 c2 (no rating: left out); D -> n1 d0 (8), n2 d1 (2), n4 d3 (6)
    picks, _ = picks_of({"C": {"rewards": [0.1, 0.3, 0.9, 0.2]}, "D": {"rewards": [0.5, 0.6, 0.1, 0.9]}}, NS)
    assert evaluate_picks(picks, quality, NS).values["rating"] == pytest.approx({1: 5.5, 2: 5.5, 4: 6.0})
    base = baseline_curves(["C", "D"], quality, NS)
    # oracle: n1 (3+8)/2; n2 (9+8)/2; n4 (9+8)/2.  random: n2 (6+5)/2; n4 (17/3 + 5)/2
    assert base["oracle"].values["rating"] == pytest.approx({1: 5.5, 2: 8.5, 4: 8.5})
    assert base["random"].values["rating"] == pytest.approx({1: 5.5, 2: 5.5, 4: (17 / 3 + 5) / 2})


def test_aggregate_skips_unknown_and_handles_empty() -> None:
    assert aggregate([(1.0, 2.0), (None, 5.0), (0.0, 2.0)]) == pytest.approx(0.25)
    assert aggregate([(None, 1.0)]) is None


def test_parse_ns_and_signals() -> None:
    assert parse_ns("8,1,2,2") == [1, 2, 8]
    for bad in ("", "0,1", "a,b"):
        with pytest.raises(ValueError, match="--n"):
            parse_ns(bad)
    assert parse_signals("rm, rm+verifiers") == ["rm", "rm+verifiers"]
    with pytest.raises(ValueError, match="one of rm, rm\\+verifiers"):
        parse_signals("rm,judge")
    assert safe_name("rm+verifiers") == "rm_verifiers"


def test_requests_never_carry_the_gold_constraints() -> None:
    item = _ifeval_items()[0]
    rm_only = build_request(item, "rm")
    full = build_request(item, "rm+verifiers")
    assert rm_only.constraints is None and full.constraints is None
    assert "preference" not in rm_only.disable and "constraints" in rm_only.disable
    assert full.disable == [] and full.responses == A


def test_load_items_validates_with_line_numbers(tmp_path: Path) -> None:
    good = {"prompt": "p", "responses": ["a", "b"], "key": 7, "instruction_id_list": ["punctuation:no_comma"],
            "kwargs": [None]}
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({"prompt": "q", "responses": ["a"], "ratings": [1, 2]}) + "\n")
    with pytest.raises(InputError, match=r"in.jsonl:2: 'ratings' must be a list with one value per response"):
        load_items(path)
    items = load_items(path, limit=1)
    assert items[0].id == "7" and items[0].gold == [ConstraintSpec(id="punctuation:no_comma")]
    path.write_text(json.dumps({"prompt": "q", "responses": []}) + "\n")
    with pytest.raises(InputError, match=":1: 'responses' must be a non-empty list"):
        load_items(path)
    with pytest.raises(InputError, match="does not exist"):
        load_items(tmp_path / "missing.jsonl")


def test_from_arena_is_seeded_and_independent_of_line_order(tmp_path: Path) -> None:
    rows = [{"question_id": q, "prompt": f"prompt {q}", "model": f"m{i}", "response": f"{q} answer {i}",
             "gpt4_rating": float(i)} for q in ("q1", "q2") for i in range(6)]
    forward, backward = tmp_path / "f.jsonl", tmp_path / "b.jsonl"
    forward.write_text("".join(json.dumps(r) + "\n" for r in rows))
    backward.write_text("".join(json.dumps(r) + "\n" for r in reversed(rows)))
    a = from_arena(forward, seed=0, heldout=["q2"])
    b = from_arena(backward, seed=0, heldout=["q2"])
    assert [it.responses for it in a] == [it.responses for it in b]
    assert [it.group for it in a] == ["train", "heldout"]
    for it in a:  # each rating stays with its answer
        assert it.ratings == [float(r.split()[-1]) for r in it.responses]
    assert sorted(a[0].responses) == sorted(r["response"] for r in rows if r["question_id"] == "q1")
    orders = {tuple(it.responses) for s in range(5) for it in from_arena(forward, seed=s)[:1]}
    assert len(orders) > 1  # the seed changes the order


def test_from_ifeval_verdicts_joins_models_by_key(tmp_path: Path) -> None:
    from reward_agent.batch.inputs import from_ifeval_verdicts

    def row(key: int, prompt: str, response: str) -> str:
        return json.dumps({"key": key, "prompt": prompt, "response": response,
                           "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}) + "\n"

    (tmp_path / "a_verdicts.jsonl").write_text(row(1, "p1", "a1") + row(2, "p2", "a2") + row(3, "p3", "a3"))
    (tmp_path / "b_verdicts.jsonl").write_text(row(1, "p1", "b1") + row(3, "other prompt", "b3"))
    items = from_ifeval_verdicts(tmp_path)
    # key 2 is missing from b, key 3 has another prompt text there: only key 1 is a shared question
    assert [it.id for it in items] == ["1"]
    assert sorted(items[0].responses) == ["a1", "b1"] and items[0].gold == [ConstraintSpec(id="punctuation:no_comma")]
    assert [m + "1" for m in items[0].extra["models"]] == items[0].responses  # models stay with their answers
    with pytest.raises(InputError, match="at least two"):
        from_ifeval_verdicts(tmp_path / "a_verdicts.jsonl")
