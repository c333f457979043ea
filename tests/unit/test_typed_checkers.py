"""Generated checkers for constraint ids: parsing asserts with arguments, binding, voting, routing.

The coder is scripted (its answers are the test's input); the sandbox is real.
"""

from __future__ import annotations

import asyncio

import pytest

from reward_agent.cache import Cache
from reward_agent.context import RewardContext
from reward_agent.sandbox import Limits, run_checker
from reward_agent.types import ConstraintSpec
from reward_agent.verifiers.constraints import generated as generated_mod
from reward_agent.verifiers.constraints.typed import (
    Param,
    TypedTask,
    bind,
    generate_typed_checker,
    parse_typed_answer,
    task_for,
    task_for_text,
)
from reward_agent.verifiers.constraints.verifier import check_entries, route

from scripted_model import scripted

LIMITS = Limits(per_response_timeout_s=1.0, startup_s=3.0)
TASK = TypedTask("count:word_at_least", "the response uses `word` at least `n` times",
                 (Param("word", "str", "sea"), Param("n", "int", 2)), "id-only")
GOOD_CODE = "def check(response, word, n):\n    return response.lower().split().count(word.lower()) >= n\n"
GOOD = (f"```python\n{GOOD_CODE}\nassert check('sea sea sky', word='sea', n=2)\n"
        "assert not check('sea sky', 'sea', 2)\n```")
# Passes its own (too easy) tests but is wrong: it ignores n.
LAZY = ("```python\ndef check(response, word, n):\n    return word in response\n\n"
        "assert check('the sea', word='sea', n=1)\nassert not check('the sky', word='sea', n=1)\n```")


def test_parse_reads_keyword_and_positional_arguments() -> None:
    draft = parse_typed_answer(GOOD, TASK)
    assert not isinstance(draft, str)
    assert [(p.expect, p.response, p.kwargs()) for p in draft.probes] == [
        (True, "sea sea sky", {"n": 2, "word": "sea"}), (False, "sea sky", {"n": 2, "word": "sea"})]
    assert "assert" not in draft.code and "def check(response, word, n)" in draft.code


@pytest.mark.parametrize("raw", ["no code here", "```python\ndef check(response, word, n):\n    return True\n```",
                                 "```python\ndef check(response, word, n):\n    return True\nassert check('a', 'b', 1)\n```"])
def test_parse_asks_for_both_kinds_of_assert(raw: str) -> None:
    parsed = parse_typed_answer(raw, TASK)
    problem = parsed if isinstance(parsed, str) else parsed.problem
    assert problem and ("two assert lines" in problem or "no ```python code block" in problem)


def test_bound_program_passes_the_gate_and_decides_with_the_arguments() -> None:
    code = parse_typed_answer(GOOD, TASK).code  # type: ignore[union-attr]
    twice = asyncio.run(run_checker(bind(code, {"word": "tide", "n": 2}), ["tide and tide", "tide"], LIMITS))
    assert [o.status for o in twice.outcomes] == ["passed", "failed"]
    # Arguments are data: a hostile value cannot become code.
    hostile = asyncio.run(run_checker(bind(code, {"word": "x') or True #", "n": 1}), ["x"], LIMITS))
    assert hostile.outcomes[0].status == "failed"


def test_an_argument_the_function_lacks_is_an_error_not_a_verdict() -> None:
    code = parse_typed_answer(GOOD, TASK).code  # type: ignore[union-attr]
    result = asyncio.run(run_checker(bind(code, {"word": "a", "n": 1, "extra": 3}), ["a"], LIMITS))
    assert result.outcomes[0].status == "error" and result.outcomes[0].verdict is None


def test_repair_feeds_the_failing_assert_back() -> None:
    wrong = ("```python\ndef check(response, word, n):\n    return False\n\n"
             "assert check('sea sea', word='sea', n=2)\nassert not check('sky', word='sea', n=2)\n```")
    model = scripted(wrong, GOOD)
    checker = asyncio.run(generate_typed_checker(TASK, model, repair_rounds=1, limits=LIMITS))
    assert checker.status == "ok" and checker.model_calls == 2
    assert "should be True but was False" in model.seen[1][-1].content


def test_voting_prefers_the_draft_that_passes_the_other_drafts_tests() -> None:
    # Candidate 0 is lazy (passes only its own easy tests); candidate 1 is right and its tests
    # (n=2) expose the lazy one. Voting must pick candidate 1.
    model = scripted(LAZY, GOOD)
    checker = asyncio.run(generate_typed_checker(TASK, model, repair_rounds=0, candidates=2, limits=LIMITS))
    assert checker.status == "ok" and checker.code and "count(" in checker.code
    assert '"chosen": 1' in (checker.probes or {}).get("votes", "")


# The right function with a wrong own test (the negative example does use `word` twice): the
# 1.5B's typical failure, repeated in a repair round with another wrong test.
WRONG_TEST_1 = (f"```python\n{GOOD_CODE}\nassert check('sea sea', word='sea', n=2)\n"
                "assert not check('sea and sea again', word='sea', n=2)\n```")
WRONG_TEST_2 = (f"```python\n{GOOD_CODE}\nassert check('sea sea sea', word='sea', n=3)\n"
                "assert not check('sea', word='sea', n=1)\nassert not check('sky', word='sea', n=1)\n```")


def test_consensus_keeps_a_right_function_whose_tests_were_wrong() -> None:
    # Two drafts, neither passes its own tests, both behave the same on all 5 pooled asserts and
    # agree with 3 of them (both "follows" and one "breaks"): kept, and the evidence says how.
    model = scripted(WRONG_TEST_1, WRONG_TEST_2)
    checker = asyncio.run(generate_typed_checker(TASK, model, repair_rounds=1, limits=LIMITS))
    assert checker.status == "ok" and checker.model_calls == 2 and "count(" in (checker.code or "")
    votes = (checker.probes or {}).get("votes", "")
    assert '"selection": "consensus"' in votes and '"group": 2' in votes and '"agreed": 3' in votes


def test_no_consensus_means_no_checker() -> None:
    # Two drafts that disagree with each other (and fail their own tests): dropped, never a guess.
    lazy_wrong = ("```python\ndef check(response, word, n):\n    return word in response\n\n"
                  "assert check('sea', word='sea', n=2)\nassert not check('sea sea', word='sea', n=2)\n```")
    model = scripted(WRONG_TEST_1, lazy_wrong)
    checker = asyncio.run(generate_typed_checker(TASK, model, repair_rounds=1, limits=LIMITS))
    assert checker.status == "dropped" and checker.code is None


def test_cached_per_task_not_per_row(tmp_path) -> None:
    cache = Cache(tmp_path / "c.sqlite3")
    first = asyncio.run(generate_typed_checker(TASK, scripted(GOOD), cache=cache, limits=LIMITS))
    other_example = TypedTask(TASK.id, TASK.description, (Param("word", "str", "tide"), Param("n", "int", 5)), TASK.source)
    again = asyncio.run(generate_typed_checker(other_example, scripted(), cache=cache, limits=LIMITS))
    assert first.model_calls == 1 and again.cached and again.model_calls == 0 and again.code == first.code


def test_task_for_builtin_uses_the_registry_description_and_all_parameters() -> None:
    task = task_for(ConstraintSpec(id="length_constraints:number_words",
                                   kwargs={"relation": "less than", "num_words": 30}), use_builtin_description=True)
    assert task.source == "builtin-description" and task.description
    assert sorted(p.name for p in task.params) == ["num_words", "relation"]
    unknown = task_for(ConstraintSpec(id="count:keywords_multiple", kwargs={"keyword1": "tide", "frequency1": 2}),
                       use_builtin_description=True)
    assert unknown.source == "id-only" and [p.name for p in unknown.params] == ["frequency1", "keyword1"]


def test_routing() -> None:
    auto, builtin, gen = (RewardContext(checkers=m) for m in ("auto", "builtin", "generated"))
    known = ConstraintSpec(id="punctuation:no_comma")
    unknown = ConstraintSpec(id="count:keywords_multiple", kwargs={"keyword1": "a"})
    free = ConstraintSpec(id="free_text", kwargs={"text": "use three question marks"})
    assert [route(c, auto) for c in (known, unknown, free)] == ["builtin", "typed", "free_text"]
    assert [route(c, builtin) for c in (known, unknown, free)] == ["builtin", "none", "none"]
    assert [route(c, gen) for c in (known, unknown, free)] == ["typed", "typed", "free_text"]


def test_builtin_only_leaves_other_constraints_without_a_verdict() -> None:
    unknown = ConstraintSpec(id="count:keywords_multiple", kwargs={"keyword1": "tide"})
    free = ConstraintSpec(id="free_text", kwargs={"text": "use three question marks"})
    entries, _, calls = asyncio.run(check_entries([unknown, free], ["a? b? c?"], RewardContext(checkers="builtin")))
    assert calls == 0 and [e["followed"] for e in entries[0]] == [None, None]
    assert all(e["checked_by"] == "none" and "checkers: builtin" in e["error"] for e in entries[0])


def test_unknown_id_without_a_coder_is_no_evidence_never_a_verdict() -> None:
    unknown = ConstraintSpec(id="count:keywords_multiple", kwargs={"keyword1": "tide", "frequency1": 2})
    entries, _, calls = asyncio.run(check_entries([unknown], ["tide tide", "nothing"], RewardContext()))
    assert calls == 0
    for row in entries:
        assert row[0]["followed"] is None and row[0]["checked_by"] == "none"
        assert "coder" in row[0]["error"]


def test_unknown_id_with_a_coder_is_checked_by_generated_code(monkeypatch, tmp_path) -> None:
    model = scripted(GOOD)
    monkeypatch.setattr("reward_agent.verifiers.constraints.typed.build_chat_model", lambda spec: model)
    context = RewardContext(models={"coder": {"provider": "embedded"}}, cache_path=str(tmp_path / "c.sqlite3"))
    spec = ConstraintSpec(id="count:word_at_least", kwargs={"word": "tide", "n": 2})
    entries, extra, calls = asyncio.run(check_entries([spec], ["tide and tide", "one tide"], context))
    assert [row[0]["followed"] for row in entries] == [True, False] and calls == 1
    assert extra["generated_typed_checkers"][0]["status"] == "ok"
    assert all(row[0]["checked_by"] == "generated" for row in entries)
    assert generated_mod  # the module under test was imported (monkeypatch target exists)


def test_copied_placeholders_are_sent_back() -> None:
    raw = ("```python\ndef check(response, word, n):\n    return True\n\n"
           "assert check('<a response that follows>', word='a', n=1)\n"
           "assert not check('<a response that breaks it>', word='a', n=1)\n```")
    problem = parse_typed_answer(raw, TASK)
    assert isinstance(problem, str) and "placeholder" in problem


def test_a_copy_of_the_prompts_example_is_sent_back() -> None:
    from reward_agent.verifiers.constraints.typed import PARAMETRISED_EXAMPLE, PLAIN_EXAMPLE, render_prompt, task_for_text

    example = PARAMETRISED_EXAMPLE.block()
    assert example in render_prompt(TASK)[0]
    assert PLAIN_EXAMPLE.block() in render_prompt(task_for_text("use three question marks"))[0]  # no parameters
    model = scripted(example, GOOD)
    checker = asyncio.run(generate_typed_checker(TASK, model, repair_rounds=1, limits=LIMITS))
    assert checker.status == "ok" and checker.model_calls == 2 and "copies the example" in checker.attempts[0]


PLAIN = TypedTask("detectable_format:title", "a title wrapped in double angular brackets", (), "registry")


def test_a_single_function_under_another_name_is_read_as_check() -> None:
    # What the 1.5B wrote for detectable_format:title (named after the id, asserts calling it so).
    raw = ("```python\nimport re\n\ndef detectable_format(response):\n"
           "    return re.search(r'<<[^<>]+>>', response) is not None\n\n"
           "assert detectable_format('<<Ode>> a poem')\nassert not detectable_format('Ode, a poem')\n```")
    draft = parse_typed_answer(raw, PLAIN)
    assert not isinstance(draft, str)
    assert "def check(response)" in draft.code and "detectable_format" not in draft.code
    assert [(p.expect, p.response) for p in draft.probes] == [(True, "<<Ode>> a poem"), (False, "Ode, a poem")]
    verdicts = asyncio.run(run_checker(bind(draft.code, {}), ["<<T>> x", "x"], LIMITS))
    assert [o.status for o in verdicts.outcomes] == ["passed", "failed"]


def test_two_functions_none_named_check_are_still_sent_back() -> None:
    raw = ("```python\ndef a(response):\n    return True\n\ndef b(response):\n    return a(response)\n\n"
           "assert b('x')\nassert not b('y')\n```")
    problem = parse_typed_answer(raw, PLAIN)
    assert isinstance(problem, str) and "def check" in problem


def test_a_star_import_of_the_helper_module_runs_with_the_named_helpers() -> None:
    raw = ("```python\nfrom checklib import *\n\ndef check(response):\n"
           "    return contains(response, 'tide') and contains(response, 'horizon')\n\n"
           "assert check('The tide met the horizon.')\nassert not check('The tide met the sky.')\n```")
    draft = parse_typed_answer(raw, PLAIN)
    assert not isinstance(draft, str)
    assert "import *" not in draft.code and "contains" in draft.code.split("\n")[0]
    verdicts = asyncio.run(run_checker(bind(draft.code, {}), ["tide, horizon", "tide only", "Horizon and TIDE"],
                                       LIMITS))
    assert [o.status for o in verdicts.outcomes] == ["passed", "failed", "passed"]


# The 1.5B's answers for the tide/horizon phrasing (issue 11), shortened: right functions, wrong labels.
BOTH = "def check(response):\n    return 'tide' in response.lower() and 'horizon' in response.lower()\n"
BOTH_WORDS = ("import re\n\ndef check(response):\n"
              "    return bool(re.search(r'tide', response, re.I)) and 'horizon' in response.lower()\n")
TIDE_DRAFTS = [
    f"```python\n{BOTH}\nassert check('The tide and the horizon.')\n"
    "assert not check('The tide is rising, but the horizon is not visible.')\n```",
    f"```python\n{BOTH_WORDS}\nassert check('The tide is rising.')\nassert not check('The tide is falling.')\n```",
    f"```python\n{BOTH}\nassert check('Tide, horizon.')\nassert not check('The tide is rising, and the horizon is visible.')\n```",
]


def test_a_clear_majority_of_drafts_behaving_alike_is_kept_when_the_labels_are_wrong() -> None:
    task = task_for_text("Make sure the words 'tide' and 'horizon' both show up.")
    checker = asyncio.run(generate_typed_checker(task, scripted(*TIDE_DRAFTS), repair_rounds=2, limits=LIMITS))
    assert checker.status == "ok" and checker.model_calls == 3
    votes = (checker.probes or {}).get("votes", "")
    assert '"selection": "behaviour-majority"' in votes and '"group": 3' in votes
    verdicts = asyncio.run(run_checker(bind(checker.code or "", {}), ["The tide met the horizon.", "The tide."], LIMITS))
    assert [o.status for o in verdicts.outcomes] == ["passed", "failed"]


def test_no_majority_or_a_constant_function_is_no_checker() -> None:
    task = task_for_text("Make sure the words 'tide' and 'horizon' both show up.")
    one_word = "def check(response):\n    return 'tide' in response\n"
    split = [TIDE_DRAFTS[0], TIDE_DRAFTS[1],
             f"```python\n{one_word}\nassert check('tide')\nassert not check('The tide and the horizon.')\n```"]
    checker = asyncio.run(generate_typed_checker(task, scripted(*split), repair_rounds=2, limits=LIMITS))
    assert checker.status == "dropped"  # two of three alike: not the >= 3 the majority needs
    always = "def check(response):\n    return True\n"
    constant = [f"```python\n{always}\nassert check('a')\nassert not check('b{i}')\n```" for i in range(3)]
    checker = asyncio.run(generate_typed_checker(task, scripted(*constant), repair_rounds=2, limits=LIMITS))
    assert checker.status == "dropped"  # alike, but it checks nothing


# The 1.5B's answers for the valid-JSON phrasing (issue 11), shortened: the same right function
# every time; tests that label valid JSON as broken, a multi-line test string that does not parse,
# and a draft with only "breaks" tests.
JSON_FN = ("import json\n\ndef check(response):\n    try:\n        json.loads(response)\n        return True\n"
           "    except json.JSONDecodeError:\n        return False\n")
JSON_DRAFTS = [
    f"```python\n{JSON_FN}\nassert check('{{\"a\": 1}}')\nassert not check('{{\"a\": 1, \"b\": 2}}')\n```",
    f"```python\n{JSON_FN}\nassert check('{{\"a\": 1}}') == False\nassert not check('Hello') == True\n```",
    f"```python\n{JSON_FN}\nassert check('{{\n\"a\": 1\n}}')\nassert not check('{{\"a\": 1, \"c\": 3}}')\n```",
]


def test_a_test_response_written_across_lines_is_read_with_its_line_breaks() -> None:
    parsed = parse_typed_answer(JSON_DRAFTS[2], PLAIN)
    assert not isinstance(parsed, str) and parsed.problem is None
    assert [(p.expect, p.response) for p in parsed.probes] == [(True, '{\n"a": 1\n}'), (False, '{"a": 1, "c": 3}')]
    assert "json.loads(response)" in parsed.code


def test_asserts_that_do_not_parse_are_dropped_and_the_function_is_kept() -> None:
    raw = (f"```python\n{JSON_FN}\nassert check('{{\"it's\": 1}}')\n\nassert not check('{{\"a\": 1, \"c\": 3}}')\n```")
    parsed = parse_typed_answer(raw, PLAIN)
    assert not isinstance(parsed, str)
    assert [(p.expect, p.response) for p in parsed.probes] == [(False, '{"a": 1, "c": 3}')]
    assert parsed.problem and "do not parse" in parsed.problem and "\\n" in parsed.problem
    assert "json.loads(response)" in parsed.code
    # A function that does not parse is never read leniently.
    broken = "```python\ndef check(response):\n    return 'x\n' in response\nassert check('x')\n```"
    assert isinstance(parse_typed_answer(broken, PLAIN), str)


def test_helpers_used_without_an_import_are_imported() -> None:
    raw = ("```python\ndef check(response, language):\n    words = count_words(response)\n"
           "    return detect_language(response) == language and words > 0\n\n"
           "assert check('Hallo Welt, wie geht es dir heute?', language='de')\n"
           "assert not check('Hello world, how are you today?', language='de')\n```")
    task = TypedTask("language:response_language", "the response is in `language`", (Param("language", "str", "de"),),
                     "registry")
    draft = parse_typed_answer(raw, task)
    assert not isinstance(draft, str) and draft.problem is None
    assert draft.code.startswith("from checklib import count_words, detect_language\n")
    # A name the code binds itself (here `words`, also a helper's name) is not imported.
    assert "import count_words, detect_language\n" in draft.code and " words," not in draft.code.split("\n")[0]


def test_drafts_with_broken_or_missing_tests_join_the_behaviour_majority() -> None:
    task = task_for_text("The whole output must be valid JSON and nothing else.")
    checker = asyncio.run(generate_typed_checker(task, scripted(*JSON_DRAFTS), repair_rounds=2, limits=LIMITS))
    assert checker.status == "ok" and checker.model_calls == 3
    votes = (checker.probes or {}).get("votes", "")
    assert '"selection": "behaviour-majority"' in votes and '"group": 3' in votes and '"drafts": 3' in votes
    verdicts = asyncio.run(run_checker(bind(checker.code or "", {}), ['{"fruits": ["apple"]}', 'Here: {"a": 1}'],
                                       LIMITS))
    assert [o.status for o in verdicts.outcomes] == ["passed", "failed"]


def test_a_fence_inside_a_test_string_does_not_end_the_code_block() -> None:
    # What the 1.5B wrote for json_format: test responses that are fenced JSON.
    raw = ("```python\nimport json\n\ndef check(response):\n    text = response.strip()\n"
           "    if text.startswith('```'):\n        text = text.strip('`').removeprefix('json')\n"
           "    try:\n        json.loads(text)\n        return True\n    except json.JSONDecodeError:\n"
           "        return False\n\nassert check('```json\\n{\"a\": 1}\\n```')\nassert not check('Here: {\"a\": 1}')```\n"
           "It strips the fence first.")
    draft = parse_typed_answer(raw, PLAIN)
    assert not isinstance(draft, str) and draft.problem is None
    assert [(p.expect, p.response) for p in draft.probes] == [(True, '```json\n{"a": 1}\n```'), (False, 'Here: {"a": 1}')]


def test_after_a_copy_of_the_example_the_next_round_starts_afresh() -> None:
    from reward_agent.verifiers.constraints.typed import PLAIN_EXAMPLE

    task = task_for_text("The whole output must be valid JSON and nothing else.")
    model = scripted(PLAIN_EXAMPLE.block(), JSON_DRAFTS[2].replace("'{\n", "'{").replace("\n}'", "}'"))
    checker = asyncio.run(generate_typed_checker(task, model, repair_rounds=2, limits=LIMITS))
    assert "copies the example" in checker.attempts[0]
    assert [len(messages) for messages in model.seen[:2]] == [1, 1]  # no copy in the second round's history
    assert model.seen[1][0].content == model.seen[0][0].content


def test_the_cache_key_follows_the_helper_list(monkeypatch) -> None:
    from reward_agent.sandbox import checklib
    from reward_agent.verifiers.constraints.typed import cache_key

    model = scripted(tag="key")
    before = cache_key(PLAIN, model, 2, 1)
    monkeypatch.setattr(checklib, "catalogue", lambda: "- a_new_helper(text) -> int")
    after = cache_key(PLAIN, model, 2, 1)
    assert before["helpers"] != after["helpers"] and {k: v for k, v in before.items() if k != "helpers"} == {
        k: v for k, v in after.items() if k != "helpers"}
