"""`run_check` and `check_all`: strict vs loose, blank responses, and errors as outcomes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import nltk
import pytest

from reward_agent import text
from reward_agent.types import ConstraintSpec
from reward_agent.verifiers.constraints.base import CHECKERS, CheckOutcome, register_checker
from reward_agent.verifiers.constraints.checking import check_all, loose_variants, run_check


def c(checker_id: str, **kwargs: Any) -> ConstraintSpec:
    return ConstraintSpec(id=checker_id, kwargs=kwargs)


# (constraint, response) pairs that fail strict but pass loose: a greeting line, a sign-off
# line or markdown asterisks are what loose mode forgives.
LOOSE_ONLY = [
    (c("startend:end_checker", end_phrase="Peace!"), "Goodbye. Peace!\nLet me know if you need more."),
    (c("startend:quotation"), 'Here you go:\n"Hello there."'),
    (c("startend:quotation"), '*"Hello there."*'),
    (c("punctuation:no_comma"), "Sure, here it is:\nNo commas below."),
    (c("combination:repeat_prompt", prompt_to_repeat="Write a poem."), "Sure!\nWrite a poem. Roses are red."),
    (c("detectable_format:number_bullet_lists", num_bullets=2), "* intro bullet\n* one\n* two"),
    (c("detectable_format:json_format"), 'Here is the JSON:\n{"a": 1}'),
    (c("change_case:english_lowercase"), "**the quick brown fox jumps over the lazy dog and runs far away.**\nBye!"),
]


@pytest.mark.parametrize(("constraint", "response"), LOOSE_ONLY, ids=[p[0].id for p in LOOSE_ONLY])
def test_loose_forgives_what_strict_does_not(constraint: ConstraintSpec, response: str) -> None:
    assert run_check(constraint, response, "strict") == CheckOutcome(followed=False)
    assert run_check(constraint, response, "loose") == CheckOutcome(followed=True)


@pytest.mark.parametrize("mode", ["strict", "loose"])
@pytest.mark.parametrize("response", ["", "   ", "\n\n"])
@pytest.mark.parametrize(
    "constraint",
    [c("punctuation:no_comma"), c("keywords:forbidden_words", forbidden_words=["x"]),
     c("length_constraints:number_words", num_words=5, relation="less than")],
    ids=lambda k: k.id,
)
def test_blank_response_follows_nothing(constraint: ConstraintSpec, response: str, mode: str) -> None:
    assert run_check(constraint, response, mode) == CheckOutcome(followed=False)  # type: ignore[arg-type]


def test_loose_variants_are_ifevals_eight_without_blanks_or_repeats() -> None:
    variants = loose_variants("Intro\n*body*\nOutro")
    assert variants == (
        "Intro\n*body*\nOutro", "*body*\nOutro", "Intro\n*body*", "*body*",
        "Intro\nbody\nOutro", "body\nOutro", "Intro\nbody", "body",
    )
    assert loose_variants("one line") == ("one line",)


def test_padded_none_arguments_are_dropped() -> None:
    kwargs = {"num_words": 3, "relation": "at least", "keyword": None, "frequency": None}
    assert run_check(c("length_constraints:number_words", **kwargs), "one two three").followed is True


# --- errors are outcomes, never passes --------------------------------------------------------

BAD_ARGUMENTS = [
    (c("length_constraints:number_words", num_words=5, relation="at most"), "relation"),
    (c("length_constraints:number_words", relation="at least"), "num_words"),
    (c("length_constraints:number_words", num_words="many", relation="at least"), "num_words"),
    (c("length_constraints:number_words", num_words=-1, relation="at least"), "num_words"),
    (c("punctuation:no_comma", strict=True), "strict"),
    (c("keywords:letter_frequency", letter="ab", let_frequency=1, let_relation="at least"), "letter"),
    (c("keywords:existence", keywords=[]), "keywords"),
    (c("keywords:forbidden_words", forbidden_words=["  "]), "forbidden_words"),
    (c("length_constraints:nth_paragraph_first_word", num_paragraphs=2, nth_paragraph=3, first_word="x"),
     "nth_paragraph"),
    (c("language:response_language", language="English"), "language"),
]


@pytest.mark.parametrize("mode", ["strict", "loose"])
@pytest.mark.parametrize(("constraint", "argument"), BAD_ARGUMENTS, ids=[a for _, a in BAD_ARGUMENTS])
def test_bad_arguments_give_an_error_naming_the_argument(constraint: ConstraintSpec, argument: str, mode: str) -> None:
    outcome = run_check(constraint, "one two three four five six", mode)  # type: ignore[arg-type]
    assert outcome.followed is None
    assert outcome.error is not None and argument in outcome.error and constraint.id in outcome.error


def test_unknown_id_gives_an_error_with_a_suggestion() -> None:
    outcome = run_check(c("punctuation:no_commas"), "text")
    assert outcome.followed is None
    assert outcome.error is not None
    assert outcome.error.startswith("UnknownIdError: ")
    assert "Did you mean 'punctuation:no_comma'" in outcome.error


@pytest.fixture
def broken_checkers() -> Iterator[None]:
    """Two misbehaving checkers: one raises, one returns a truthy non-bool."""

    @register_checker("test:raises", "always raises")
    def _raises(response: str) -> bool:
        raise RuntimeError("checker blew up")

    @register_checker("test:truthy", "returns a match-like object")
    def _truthy(response: str) -> bool:
        return "yes"  # type: ignore[return-value]

    @register_checker("test:raises_on_short", "raises unless the text has a newline")
    def _raises_on_short(response: str) -> bool:
        if "\n" not in response:
            raise RuntimeError("too short to decide")
        return False

    yield
    for name in ("test:raises", "test:truthy", "test:raises_on_short"):
        CHECKERS.unregister(name)


@pytest.mark.parametrize("mode", ["strict", "loose"])
def test_a_raising_checker_is_an_error_not_a_pass(broken_checkers: None, mode: str) -> None:
    outcome = run_check(c("test:raises"), "anything\nat all", mode)  # type: ignore[arg-type]
    assert outcome == CheckOutcome(followed=None, error="RuntimeError: checker blew up")


def test_a_non_bool_verdict_is_an_error_not_a_pass(broken_checkers: None) -> None:
    outcome = run_check(c("test:truthy"), "anything")
    assert outcome.followed is None and outcome.error is not None and "not bool" in outcome.error


def test_loose_reports_a_variant_error_when_no_variant_passes(broken_checkers: None) -> None:
    # The full text is decided (False) but the one-line variants raise: no verdict is safe.
    outcome = run_check(c("test:raises_on_short"), "first\nsecond", "loose")
    assert outcome == CheckOutcome(followed=None, error="RuntimeError: too short to decide")


def test_loose_passes_when_a_variant_passes_even_if_another_errors(broken_checkers: None) -> None:
    @register_checker("test:second_line_only", "raises on a text starting with 'A', passes one starting with 'B'")
    def _second_line_only(response: str) -> bool:
        if response.startswith("A"):
            raise RuntimeError("cannot decide")
        return response.startswith("B")

    try:
        assert run_check(c("test:second_line_only"), "A\nB", "strict").followed is None
        assert run_check(c("test:second_line_only"), "A\nB", "loose") == CheckOutcome(followed=True)
    finally:
        CHECKERS.unregister("test:second_line_only")


@pytest.mark.parametrize("mode", ["strict", "loose"])
def test_undetectable_language_is_an_error_not_a_pass(mode: str) -> None:
    outcome = run_check(c("language:response_language", language="en"), "12345 !!! 678", mode)  # type: ignore[arg-type]
    assert outcome.followed is None
    assert outcome.error is not None and outcome.error.startswith("CheckerError: cannot detect the language")


@pytest.fixture
def no_punkt(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    """NLTK sees an empty data folder, as on a machine where punkt_tab was never installed."""
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    text._punkt.cache_clear()
    yield
    text._punkt.cache_clear()  # the next test loads the real model again


@pytest.mark.parametrize(
    "constraint",
    [c("length_constraints:number_sentences", num_sentences=1, relation="at least"),
     c("change_case:capital_word_frequency", capital_frequency=1, capital_relation="less than")],
    ids=lambda k: k.id,
)
@pytest.mark.parametrize("mode", ["strict", "loose"])
def test_missing_punkt_is_an_error_with_the_fix(no_punkt: None, constraint: ConstraintSpec, mode: str) -> None:
    outcome = run_check(constraint, "One sentence. Two sentences.", mode)  # type: ignore[arg-type]
    assert outcome.followed is None
    assert outcome.error is not None
    assert outcome.error.startswith("CheckerError: ")
    assert "python tools/install_punkt.py" in outcome.error


def test_punkt_loads_again_after_it_is_installed(no_punkt: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_check(c("length_constraints:number_sentences", num_sentences=1, relation="at least"), "Hi.").error
    monkeypatch.undo()  # the data "appears"; the failed load must not have been cached
    assert run_check(c("length_constraints:number_sentences", num_sentences=1, relation="at least"), "Hi.").followed


# --- check_all ---------------------------------------------------------------------------------


def test_check_all_is_response_major_and_matches_run_check() -> None:
    constraints = [
        c("punctuation:no_comma"),
        c("length_constraints:number_words", num_words=3, relation="less than"),
        c("no:such_checker"),
    ]
    responses = ["one two", "one, two, three", ""]
    for mode in ("strict", "loose"):
        table = check_all(constraints, responses, mode)  # type: ignore[arg-type]
        assert [[run_check(k, r, mode) for k in constraints] for r in responses] == table  # type: ignore[arg-type]
    table = check_all(constraints, responses)
    assert [[o.followed for o in row] for row in table] == [[True, True, None], [False, False, None], [False, False, None]]
    assert all(row[2].error and row[2].error.startswith("UnknownIdError") for row in table)


def test_an_unknown_mode_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="mode"):
        run_check(c("punctuation:no_comma"), "text", "lenient")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        check_all([c("punctuation:no_comma")], ["text"], "lenient")  # type: ignore[arg-type]
