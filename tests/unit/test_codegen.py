"""The checker-generation loop around the coder model: parse, gate, self-test, repair, cache.

The model is scripted here (what it answers is the test's input); the sandbox is real.
"""

from __future__ import annotations

import asyncio

import pytest

from reward_agent.cache import Cache
from reward_agent.sandbox import Limits
from reward_agent.prompting import load_prompt
from reward_agent.sandbox import ALLOWED_IMPORTS
from reward_agent.verifiers.constraints.codegen import (
    REPAIR_TEMPERATURE,
    Draft,
    copied_example,
    generate_checker,
    parse_answer,
    prompt_examples,
)

from scripted_model import GOOD, QUESTIONS, ScriptedModel, answer, scripted


class RecordingModel(ScriptedModel):
    """A scripted model that also records the call options of each call (temperature, seed)."""

    options: list[dict] = []

    def _generate(self, messages, stop=None, run_manager=None, **kw):
        self.options.append(dict(kw))
        return super()._generate(messages, stop, run_manager, **kw)

CONSTRAINT = "use exactly three question marks"
LIMITS = Limits(per_response_timeout_s=1.0, startup_s=3.0)


def generate(model, cache=None, rounds=2, prompt=None):
    return asyncio.run(generate_checker(
        CONSTRAINT, model, cache=cache, repair_rounds=rounds, limits=LIMITS, prompt_version=prompt
    ))


def test_parse_answer_reads_code_and_probes() -> None:
    draft = parse_answer(GOOD)
    assert isinstance(draft, Draft)
    assert draft.code == QUESTIONS and draft.should_pass == "Why? How? When?" and draft.should_fail == "Why?"


def test_parse_answer_accepts_untagged_probe_blocks_in_order() -> None:
    raw = f"```python\n{QUESTIONS}```\n```\nA? B? C?\n```\n```\nNo.\n```"
    draft = parse_answer(raw)
    assert isinstance(draft, Draft) and (draft.should_pass, draft.should_fail) == ("A? B? C?", "No.")


@pytest.mark.parametrize("raw", ["no code at all", "```python\nx = 1\n```", f"```python\n{QUESTIONS}```"])
def test_parse_answer_says_what_is_missing(raw: str) -> None:
    assert isinstance(parse_answer(raw), str)


def test_parse_answer_names_a_cut_off_answer() -> None:
    problem = parse_answer("```python\ndef check(response):\n    return response == response == response")
    assert isinstance(problem, str) and "cut off" in problem


def test_working_code_on_the_first_try() -> None:
    model = scripted(GOOD)
    result = generate(model)
    assert result.status == "ok" and result.code == QUESTIONS
    assert result.model_calls == 1 and result.attempts == []
    assert result.code_sha256 and len(result.code_sha256) == 64
    assert result.probes == {"pass": "Why? How? When?", "fail": "Why?"}
    assert result.prompt_version == "checker_code.v1"


def test_gate_rejection_is_fed_back_and_repaired() -> None:
    model = scripted(answer("import os\n" + QUESTIONS, "A? B? C?", "A?"), GOOD)
    result = generate(model)
    assert result.status == "ok" and result.model_calls == 2
    assert "import of 'os'" in result.attempts[0]
    repair_turn = model.seen[1][-1].content
    assert "import of 'os'" in repair_turn and "did not work" in repair_turn


def test_wrong_probe_verdict_is_fed_back() -> None:
    wrong = answer("def check(response):\n    return '?' in response\n", "A? B? C?", "A?")
    model = scripted(wrong, GOOD)
    result = generate(model)
    assert result.status == "ok" and result.model_calls == 2
    assert "example that should fail, check returned True" in result.attempts[0]


def test_errors_and_timeouts_are_fed_back() -> None:
    crash = answer("def check(response):\n    return 1 / 0 > 0\n", "a", "b")
    hang = answer("def check(response):\n    while True:\n        pass\n", "a", "b")
    model = scripted(crash, hang, GOOD)
    result = generate(model)
    assert result.status == "ok" and result.model_calls == 3
    assert "ZeroDivisionError" in result.attempts[0] and "timeout" in result.attempts[1]


def test_dropped_with_reason_after_bounded_rounds() -> None:
    model = scripted("I cannot do that.", "Still no code.")
    result = generate(model, rounds=1)
    assert result.status == "dropped" and result.code is None and result.model_calls == 2
    assert "no ```python code block" in (result.reason or "")
    assert not model.script  # exactly 1 + repair_rounds calls


def test_cached_by_constraint_model_and_prompt_version(tmp_path) -> None:
    cache = Cache(tmp_path / "cache.sqlite3")
    first = generate(scripted(GOOD), cache)
    again = generate(scripted(), cache)  # an empty script: any model call would fail the test
    assert first.model_calls == 1 and again.model_calls == 0 and again.cached
    assert again.code == first.code and again.code_sha256 == first.code_sha256
    other_model = generate(scripted(GOOD, tag="another-model"), cache)
    assert other_model.model_calls == 1 and not other_model.cached


def test_dropped_results_are_cached_too(tmp_path) -> None:
    cache = Cache(tmp_path / "cache.sqlite3")
    assert generate(scripted("no", "no", "no"), cache).status == "dropped"
    again = generate(scripted(), cache)
    assert again.status == "dropped" and again.cached and again.model_calls == 0


def test_transport_failure_is_unavailable_and_not_cached(tmp_path) -> None:
    cache = Cache(tmp_path / "cache.sqlite3")
    result = generate(scripted(ConnectionError("endpoint down")), cache)
    assert result.status == "unavailable" and "endpoint down" in (result.reason or "")
    assert generate(scripted(GOOD), cache).status == "ok"


def test_concurrent_requests_for_one_constraint_generate_once(tmp_path) -> None:
    cache = Cache(tmp_path / "cache.sqlite3")
    model = scripted(GOOD)

    async def main():
        return await asyncio.gather(*(generate_checker(CONSTRAINT, model, cache=cache, limits=LIMITS) for _ in range(4)))

    results = asyncio.run(main())
    assert all(r.status == "ok" for r in results)
    assert sum(r.model_calls for r in results) == 1


ASSERTS = (
    "```python\ndef check(response):\n    return response.count('?') == 3\n\n"
    'assert check("Why? How? When?")\nassert not check("Why?")\n```'
)


def test_parse_answer_reads_asserts_below_the_function() -> None:
    draft = parse_answer(ASSERTS)
    assert isinstance(draft, Draft)
    assert (draft.should_pass, draft.should_fail) == ("Why? How? When?", "Why?")
    assert "assert" not in draft.code and draft.code.startswith("def check(response):")


@pytest.mark.parametrize(
    "passing, failing",
    [('assert check("A? B? C?") == True', 'assert check("A?") == False'),
     ('assert check("A? B? C?") is True', 'assert not check("A?") == True')],
)
def test_parse_answer_reads_compared_asserts(passing: str, failing: str) -> None:
    draft = parse_answer(f"```python\n{QUESTIONS}{passing}\n{failing}\n```")
    assert isinstance(draft, Draft) and (draft.should_pass, draft.should_fail) == ("A? B? C?", "A?")


def test_parse_answer_reads_an_unclosed_block_ending_with_its_asserts() -> None:
    draft = parse_answer(ASSERTS.removesuffix("```"))
    assert isinstance(draft, Draft) and draft.should_fail == "Why?"


def test_parse_answer_reads_quoted_pass_fail_lines() -> None:
    draft = parse_answer(f"```python\n{QUESTIONS}```\nPASS: \"A? B? C?\"\nFAIL: 'No.'")
    assert isinstance(draft, Draft) and (draft.should_pass, draft.should_fail) == ("A? B? C?", "No.")


def test_parse_answer_asks_for_missing_probes() -> None:
    problem = parse_answer(f"```python\n{QUESTIONS}assert check(\"A? B? C?\")\n```")
    assert isinstance(problem, str) and "one that breaks it" in problem


def test_a_copy_of_the_worked_example_is_refused_and_fed_back() -> None:
    prompt = load_prompt("checker_code", 2).render(constraint=CONSTRAINT, allowed_imports=", ".join(ALLOWED_IMPORTS))
    example = parse_answer(prompt)
    assert isinstance(example, Draft), "the prompt's worked example must be readable to be recognised"
    assert copied_example(example, prompt)
    copy = f"```python\n{example.code}\nassert check({example.should_pass!r})\nassert not check({example.should_fail!r})\n```"
    model = scripted(copy, ASSERTS)
    result = generate(model, prompt="v2")
    assert result.status == "ok" and result.model_calls == 2 and result.prompt_version == "checker_code.v2"
    assert "assert not check" in model.seen[1][-1].content  # the v2 repair prompt
    assert "copies the example" in result.attempts[0]
    assert copied_example(parse_answer(ASSERTS), prompt) is None


def test_the_worked_example_is_not_the_answer_to_the_test_constraint() -> None:
    prompt = load_prompt("checker_code", 2).render(constraint=CONSTRAINT, allowed_imports=", ".join(ALLOWED_IMPORTS))
    example = parse_answer(prompt)
    assert isinstance(example, Draft) and "?" not in example.code


@pytest.mark.parametrize("index", [0, 1, 2])
def test_v3_every_one_of_its_three_examples_is_refused_as_a_copy(index) -> None:
    prompt = load_prompt("checker_code", 3).render(constraint=CONSTRAINT, allowed_imports=", ".join(ALLOWED_IMPORTS))
    examples = prompt_examples(prompt)
    assert len(examples) == 3 and len({e.code for e in examples}) == 3
    example = examples[index]
    copy = f"```python\n{example.code}\nassert check({example.should_pass!r})\nassert not check({example.should_fail!r})\n```"
    assert copied_example(parse_answer(copy), prompt)
    model = scripted(copy, ASSERTS)
    result = generate(model, prompt="v3")
    assert result.status == "ok" and result.model_calls == 2 and result.prompt_version == "checker_code.v3"
    assert "copies the example" in result.attempts[0]
    assert CONSTRAINT in model.seen[1][-1].content  # the v3 repair prompt restates the rule
    assert copied_example(parse_answer(ASSERTS), prompt) is None


def test_v3_examples_answer_none_of_the_benchmark_constraints() -> None:
    prompt = load_prompt("checker_code", 3).render(constraint=CONSTRAINT, allowed_imports=", ".join(ALLOWED_IMPORTS))
    for example in prompt_examples(prompt):
        assert not any(mark in example.code for mark in ("?", "!", "isdigit", "http", ";", "#", "\\n", "len("))


def test_repairs_are_sampled_with_a_seed_per_round() -> None:
    model = RecordingModel(script=["no code", "no code", ASSERTS], seen=[], options=[])
    result = generate(model)
    assert result.status == "ok" and result.model_calls == 3
    first, *repairs = model.options
    assert "temperature" not in first and "seed" not in first  # the model's own (greedy) settings
    assert [(o["temperature"], o["seed"]) for o in repairs] == [(REPAIR_TEMPERATURE, 1), (REPAIR_TEMPERATURE, 2)]


def test_prompt_version_is_part_of_the_cache_key(tmp_path) -> None:
    cache = Cache(tmp_path / "cache.sqlite3")
    assert generate(scripted(GOOD), cache).prompt_version == "checker_code.v1"
    v2 = generate(scripted(ASSERTS), cache, prompt="v2")
    assert v2.model_calls == 1 and not v2.cached and v2.prompt_version == "checker_code.v2"
