"""`checklib`, the vetted helpers generated checkers may import: what they compute, and that they
reach the sandbox only as data (the verdicts stay honest, private names stay closed)."""

from __future__ import annotations

import asyncio
import os
import stat

import pytest

from reward_agent.sandbox import Limits, checklib, default_pool, helpers
from reward_agent.sandbox.gate import inspect_source as check_code, known_attribute_names
from reward_agent.sandbox.policy import ALLOWED_IMPORTS

LIMITS = Limits(per_response_timeout_s=5.0)


def _run(code: str, responses: list[str]):
    return asyncio.run(default_pool().run(code, responses, LIMITS))


def test_text_helpers_compute_what_their_docstrings_say() -> None:
    text = "Don't panic. The well-known CAT sat!\n\nIt is *very* calm. **Really** calm?\nThe cat left."
    assert checklib.words("Don't panic, well-known cat.") == ["Don't", "panic", "well-known", "cat"]
    assert checklib.count_words(text) == 15
    assert checklib.sentences(text) == ["Don't panic.", "The well-known CAT sat!", "It is *very* calm.",
                                        "**Really** calm?", "The cat left."]
    assert checklib.count_sentences(text) == 5
    assert checklib.paragraphs(text) == ["Don't panic. The well-known CAT sat!",
                                         "It is *very* calm. **Really** calm?\nThe cat left."]
    assert checklib.paragraphs("a *** b ***", separator="***") == ["a", "b"]
    assert checklib.count_paragraphs(text) == 2 and checklib.count_paragraphs("a *** b ***", "***") == 2
    assert checklib.count_occurrences(text, "cat") == 2  # whole words, any case: not "cats"
    assert checklib.count_occurrences("cats cat", "cat", whole_word=False) == 2
    assert checklib.count_occurrences(text, "cat", case_sensitive=True) == 1
    assert checklib.contains(text, "well-known") and not checklib.contains(text, "known cats")
    assert checklib.count_letter("Banana", "a") == 3 and checklib.count_letter("Banana", "b", case_sensitive=True) == 0
    assert checklib.uppercase_words(text) == ["CAT"]
    assert checklib.emphasized(text) == ["very", "Really"]
    assert checklib.bracketed("Dear [name], at [address].") == ["name", "address"]
    assert checklib.bullet_points("* one\n- two\n*not a bullet*\n3. three") == ["* one", "- two"]
    assert checklib.numbered_items("1. one\n2) two\nthree") == ["1. one", "2) two"]
    assert checklib.lines(" a \n\n b") == ["a", "b"]
    assert checklib.is_json('```json\n{"a": 1}\n```') and checklib.is_json("[1, 2]")
    assert not checklib.is_json('Here it is: {"a": 1}')
    assert checklib.letters_only("a1 b-2!") == "ab"


def test_catalogue_lists_every_public_helper_once() -> None:
    catalogue = checklib.catalogue().splitlines()
    public = sorted(n for n in vars(checklib) if not n.startswith("_") and callable(getattr(checklib, n))
                    and n not in ("catalogue", "public_names"))
    assert [line.split("(")[0].removeprefix("- ") for line in catalogue] == public
    assert all("->" in line for line in catalogue)


def test_the_host_module_loads_no_detector() -> None:
    # The detector is loaded only inside the sandbox (module name "checklib"), not on the host.
    with pytest.raises(RuntimeError, match="unavailable"):
        checklib.detect_language("Hallo Welt")


def test_checklib_is_allowed_and_only_its_public_functions_are_reachable() -> None:
    assert "checklib" in ALLOWED_IMPORTS
    assert {"count_words", "detect_language", "sentences"} <= known_attribute_names()
    # No module is a public attribute of checklib (so none can be walked from it).
    assert not [n for n, v in vars(checklib).items() if not n.startswith("_") and type(v).__name__ == "module"]
    assert not check_code("import checklib\ndef check(response):\n    return checklib._re is None\n").ok


def test_helper_source_travels_only_to_programs_that_import_it() -> None:
    assert helpers.requests_for("def check(response):\n    return True\n") == []
    (request,) = helpers.requests_for("from checklib import words\ndef check(response):\n    return bool(words(response))\n")
    assert request["name"] == "checklib" and "def count_words" in request["source"] and request["paths"] == []
    (request,) = helpers.requests_for("import checklib\ndef check(r):\n    return checklib.detect_language(r) == 'de'\n")
    assert len(request["paths"]) == 1 and os.path.isdir(request["paths"][0])


def test_a_checker_using_helpers_gets_true_verdicts_in_the_sandbox() -> None:
    code = ("from checklib import emphasized, count_occurrences\n"
            "def check(response):\n"
            "    return len(emphasized(response)) >= 2 and count_occurrences(response, 'cat') == 2\n")
    result = _run(code, ["*a* and **b**: the cat, the Cat.", "*a* cats cat"])
    assert [o.status for o in result.outcomes] == ["passed", "failed"]


def _readable_by_others(path: str) -> bool:
    """Whether a fresh sandbox uid can read `path` (every directory above it searchable by others)."""
    current = os.path.realpath(path)
    while current != "/":
        if not os.stat(current).st_mode & stat.S_IXOTH:
            return False
        current = os.path.dirname(current)
    return True


def test_language_detection_in_the_sandbox_is_langdetects_verdict() -> None:
    code = "import checklib\ndef check(response):\n    return checklib.detect_language(response) == 'de'\n"
    (request,) = helpers.requests_for(code)
    if not _readable_by_others(request["paths"][0]):
        pytest.skip("site-packages is not readable by the sandbox's fresh uid on this machine")
    result = _run(code, ["Heute ist das Wetter schön und wir gehen in den Park spazieren.",
                         "Today the weather is nice and we are going for a walk in the park."])
    assert [o.status for o in result.outcomes] == ["passed", "failed"]


def test_without_the_detector_a_language_check_is_an_error_never_a_verdict(monkeypatch) -> None:
    monkeypatch.setattr(helpers, "_LIBRARY_FOR_FUNCTION", {})  # the host sends no detector path
    code = "import checklib\ndef check(response):\n    return checklib.detect_language(response) != 'de'\n"
    result = _run(code, ["Heute ist das Wetter schön.", "Today the weather is nice."])
    assert [o.status for o in result.outcomes] == ["error", "error"]
    assert all("unavailable" in (o.message or "") for o in result.outcomes)


def test_a_checker_cannot_reach_the_helpers_globals_or_modules() -> None:
    # Each of these is refused before it runs; if the gate were off, the attribute allow-list in
    # getattr and the public-only proxy refuse them again (tests/security covers that layer).
    for body in ("checklib.words.__globals__", "checklib._json", "getattr(checklib, '_re')",
                 "checklib.catalogue.__globals__['_re']"):
        assert not check_code(f"import checklib\ndef check(response):\n    return bool({body})\n").ok, body
