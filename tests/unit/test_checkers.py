"""Tables of (response, arguments, expected verdict) for each of the 25 built-in checkers.

Every case goes through `run_check` in strict mode, so argument validation and the
bool-only verdict rule are exercised too. Semantics follow IFEval's reference checker.
"""

from __future__ import annotations

from typing import Any

import pytest

from reward_agent.types import ConstraintSpec
from reward_agent.verifiers.constraints.base import CHECKERS
from reward_agent.verifiers.constraints.checkers import IFEVAL_CHECKER_IDS
from reward_agent.verifiers.constraints.checking import run_check

ENGLISH = (
    "The quick brown fox jumps over the lazy dog while the farmer watches from the porch "
    "and wonders whether the weather will hold until the harvest is finished."
)
GERMAN = (
    "Der schnelle braune Fuchs springt über den faulen Hund, während der Bauer von der "
    "Veranda aus zusieht und sich fragt, ob das Wetter bis zum Ende der Ernte hält."
)
FRENCH = (
    "Le renard brun rapide saute par-dessus le chien paresseux pendant que le fermier "
    "regarde depuis le porche et se demande si le temps tiendra jusqu'à la fin de la récolte."
)
CHINESE = "今天天气很好，我们一起去公园散步吧。孩子们在草地上玩耍，老人们在树下聊天。"
HINDI = "भारत एक विशाल देश है जहाँ अनेक भाषाएँ बोली जाती हैं और लोग विभिन्न त्योहार मनाते हैं।"

Case = tuple[str, dict[str, Any], str, bool]

CASES: list[Case] = [
    # --- keywords:existence: all keywords, case-insensitive, also inside longer words (as IFEval)
    ("keywords:existence", {"keywords": ["cat", "dog"]}, "A cat and a dog.", True),
    ("keywords:existence", {"keywords": ["cat", "dog"]}, "A CAT and a Dog.", True),
    ("keywords:existence", {"keywords": ["cat", "dog"]}, "Only a cat here.", False),
    ("keywords:existence", {"keywords": ["cat"]}, "Concatenate strings.", True),
    ("keywords:existence", {"keywords": ["a.b"]}, "axb", False),  # literal, not a regex
    ("keywords:existence", {"keywords": ["a.b"]}, "see a.b here", True),
    # --- keywords:forbidden_words: whole words only, case-insensitive
    ("keywords:forbidden_words", {"forbidden_words": ["bad"]}, "This is fine.", True),
    ("keywords:forbidden_words", {"forbidden_words": ["bad"]}, "This is BAD.", False),
    ("keywords:forbidden_words", {"forbidden_words": ["bad"]}, "A badge is fine.", True),
    ("keywords:forbidden_words", {"forbidden_words": ["bad", "ugly"]}, "Ugly truth.", False),
    # --- keywords:frequency: substring count, case-insensitive; < and >= at the boundary
    ("keywords:frequency", {"keyword": "war", "frequency": 2, "relation": "at least"}, "War and war.", True),
    ("keywords:frequency", {"keyword": "war", "frequency": 3, "relation": "at least"}, "War and war.", False),
    ("keywords:frequency", {"keyword": "war", "frequency": 2, "relation": "less than"}, "War and war.", False),
    ("keywords:frequency", {"keyword": "war", "frequency": 3, "relation": "less than"}, "War and war.", True),
    ("keywords:frequency", {"keyword": "war", "frequency": 2, "relation": "at least"}, "Wars and warfare.", True),
    ("keywords:frequency", {"keyword": "war", "frequency": 1, "relation": "less than"}, "Peace.", True),
    # --- keywords:letter_frequency: case-insensitive count; non-letters counted literally
    ("keywords:letter_frequency", {"letter": "a", "let_frequency": 3, "let_relation": "at least"}, "A banana", True),
    ("keywords:letter_frequency", {"letter": "a", "let_frequency": 5, "let_relation": "at least"}, "A banana", False),
    ("keywords:letter_frequency", {"letter": "A", "let_frequency": 4, "let_relation": "less than"}, "A banana", False),
    ("keywords:letter_frequency", {"letter": "a", "let_frequency": 5, "let_relation": "less than"}, "A banana", True),
    ("keywords:letter_frequency", {"letter": "#", "let_frequency": 2, "let_relation": "at least"}, "# one\n# two", True),
    ("keywords:letter_frequency", {"letter": "#", "let_frequency": 2, "let_relation": "less than"}, "# one\n# two", False),
    # --- language:response_language (langdetect, seeded)
    ("language:response_language", {"language": "de"}, GERMAN, True),
    ("language:response_language", {"language": "de"}, ENGLISH, False),
    ("language:response_language", {"language": "fr"}, FRENCH, True),
    ("language:response_language", {"language": "hi"}, HINDI, True),
    ("language:response_language", {"language": "zh"}, CHINESE, True),  # 'zh' accepts zh-cn and zh-tw
    ("language:response_language", {"language": "zh-cn"}, CHINESE, True),
    ("language:response_language", {"language": "ja"}, CHINESE, False),
    # --- length_constraints:number_words: \w+ tokens; "less than" is <, "at least" is >=
    ("length_constraints:number_words", {"num_words": 4, "relation": "at least"}, "one two three four", True),
    ("length_constraints:number_words", {"num_words": 4, "relation": "less than"}, "one two three four", False),
    ("length_constraints:number_words", {"num_words": 5, "relation": "less than"}, "one two three four", True),
    ("length_constraints:number_words", {"num_words": 5, "relation": "at least"}, "one two three four", False),
    ("length_constraints:number_words", {"num_words": 3, "relation": "at least"}, "don't stop", True),  # don, t, stop
    # --- length_constraints:number_sentences: Punkt knows "Mr." is not a sentence end
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "at least"}, "Mr. Smith came. He sat.", True),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "at least"}, "Mr. Smith came. He sat.", False),
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "less than"}, "Mr. Smith came. He sat.", False),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"}, "Mr. Smith came. He sat.", True),
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "less than"}, "One sentence only.", True),
    # --- length_constraints:number_paragraphs: exactly N parts between *** dividers
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First.\n***\nSecond.", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 3}, "First.\n***\nSecond.", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "***\nFirst.\n***\nSecond.\n***", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First.\n***\n***\nSecond.", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 1}, "No divider at all.", True),
    # --- length_constraints:nth_paragraph_first_word
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
     "First part.\n\nThen, the second.", True),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
     "First part.\n\n\"Then\" the second.", True),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
     "First part.\n\nAfter that, the second.", False),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "then"},
     "First part.\n\nThen, the second.", False),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 1, "first_word": "first"},
     "First part.\nstill first.\n\nThen the second.", True),
    # --- detectable_content:number_placeholders: at least N [..]
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Dear [name], at [address].", True),
    ("detectable_content:number_placeholders", {"num_placeholders": 3}, "Dear [name], at [address].", False),
    ("detectable_content:number_placeholders", {"num_placeholders": 1}, "No placeholders.", False),
    # --- detectable_content:postscript: case-insensitive, a space after inner periods allowed
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Body.\n\nP.S. Bye.", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Body.\n\np. s. bye.", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Body.\n\nPS bye.", False),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Body.\nP.P.S more", True),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Body.\nP.S. only", False),
    ("detectable_content:postscript", {"postscript_marker": "Note:"}, "Body.\nNOTE: extra", True),
    # --- detectable_format:constrained_response: one fixed answer, verbatim
    ("detectable_format:constrained_response", {}, "My answer is yes.", True),
    ("detectable_format:constrained_response", {}, "Well... My answer is maybe. Because.", True),
    ("detectable_format:constrained_response", {}, "My answer is Yes.", False),
    ("detectable_format:constrained_response", {}, "Yes.", False),
    # --- detectable_format:json_format: whole response parses, optional ``` fence
    ("detectable_format:json_format", {}, '{"a": 1}', True),
    ("detectable_format:json_format", {}, '```json\n{"a": [1, 2]}\n```', True),
    ("detectable_format:json_format", {}, '```\n[1, 2]\n```', True),
    ("detectable_format:json_format", {}, 'Here it is: {"a": 1}', False),
    ("detectable_format:json_format", {}, '{"a": 1,}', False),
    # --- detectable_format:multiple_sections: at least N "<spliter> <number>" markers
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1\nIntro\nSection 2\nBody", True),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 3},
     "Section 1\nIntro\nSection 2\nBody", False),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 2},
     "Section 1\nIntro\nSection 2\nBody", False),  # case-sensitive
    ("detectable_format:multiple_sections", {"section_spliter": "Day", "num_sections": 2}, "Day1: a\nDay 2: b", True),
    # --- detectable_format:number_bullet_lists: exactly N bullets ("* x" or "- x")
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* one\n* two", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "- one\n  - two", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 3}, "* one\n* two", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 1}, "* one\n* two", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 1}, "**Bold** line\n* one", True),
    # --- detectable_format:number_highlighted_sections: at least N *x* or **x**
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*one* and **two**", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 3}, "*one* and **two**", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 1}, "** ** and * *", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 1}, "*across\nlines*", False),
    # --- detectable_format:title: <<title>> on one line, not blank
    ("detectable_format:title", {}, "<<My Poem>>\nRoses are red.", True),
    ("detectable_format:title", {}, "<< >>\nRoses are red.", False),
    ("detectable_format:title", {}, "<<broken\ntitle>>", False),
    ("detectable_format:title", {}, "No title.", False),
    # --- combination:repeat_prompt: starts with the request, case-insensitive
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem."}, "  write a POEM. Roses are red.", True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a poem."}, "Sure! Write a poem. Roses.", False),
    # --- combination:two_responses: two different non-blank parts around ******
    ("combination:two_responses", {}, "Answer one.\n******\nAnswer two.", True),
    ("combination:two_responses", {}, "Same.\n******\nSame.", False),
    ("combination:two_responses", {}, "One.\n******\n******\nTwo.", False),
    ("combination:two_responses", {}, "One.\n******\nTwo.\n******\nThree.", False),
    ("combination:two_responses", {}, "******\nOne.\n******\nTwo.\n******", True),
    ("combination:two_responses", {}, "Just one.", False),
    # --- startend:end_checker: case-insensitive, trailing whitespace and quotes ignored
    ("startend:end_checker", {"end_phrase": "Peace!"}, "Goodbye. peace!  \n", True),
    ("startend:end_checker", {"end_phrase": "Peace!"}, '"Goodbye. Peace!"', True),
    ("startend:end_checker", {"end_phrase": "Peace!"}, "Peace! Goodbye.", False),
    # --- startend:quotation: wrapped in double quotes
    ("startend:quotation", {}, '  "Hello there."  ', True),
    ("startend:quotation", {}, "'Hello there.'", False),
    ("startend:quotation", {}, '"Hello there.', False),
    ("startend:quotation", {}, '"', False),
    # --- change_case:english_capital / english_lowercase: case and English (langdetect)
    ("change_case:english_capital", {}, ENGLISH.upper(), True),
    ("change_case:english_capital", {}, ENGLISH, False),
    ("change_case:english_capital", {}, GERMAN.upper(), False),
    ("change_case:english_lowercase", {}, ENGLISH.lower(), True),
    ("change_case:english_lowercase", {}, ENGLISH, False),
    ("change_case:english_lowercase", {}, GERMAN.lower(), False),
    # --- change_case:capital_word_frequency: NLTK word tokens written in capitals
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "at least"},
     "The NASA and ESA teams met.", True),
    ("change_case:capital_word_frequency", {"capital_frequency": 3, "capital_relation": "at least"},
     "The NASA and ESA teams met.", False),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "less than"},
     "The NASA and ESA teams met.", False),
    # "A" and one hyphenated token: two capital words, not five
    ("change_case:capital_word_frequency", {"capital_frequency": 3, "capital_relation": "less than"},
     "A STATE-OF-THE-ART design.", True),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "less than"},
     "A STATE-OF-THE-ART design.", False),
    # --- punctuation:no_comma
    ("punctuation:no_comma", {}, "No commas here.", True),
    ("punctuation:no_comma", {}, "One, two.", False),
]


def _case_id(case: Case) -> str:
    checker_id, _, response, expected = case
    return f"{checker_id}-{expected}-{response[:20]!r}"


@pytest.mark.parametrize(("checker_id", "kwargs", "response", "expected"), CASES, ids=[_case_id(c) for c in CASES])
def test_checker_table(checker_id: str, kwargs: dict[str, Any], response: str, expected: bool) -> None:
    outcome = run_check(ConstraintSpec(id=checker_id, kwargs=kwargs), response)
    assert outcome.error is None, outcome.error
    assert outcome.followed is expected


def test_all_25_ifeval_checkers_are_registered() -> None:
    assert len(IFEVAL_CHECKER_IDS) == 25
    assert set(IFEVAL_CHECKER_IDS) <= set(CHECKERS.names())


@pytest.mark.parametrize("checker_id", IFEVAL_CHECKER_IDS)
def test_every_checker_has_both_outcomes_in_the_table(checker_id: str) -> None:
    verdicts = {expected for cid, _, _, expected in CASES if cid == checker_id}
    assert verdicts == {True, False}, f"{checker_id} needs a passing and a failing case"


@pytest.mark.parametrize("checker_id", IFEVAL_CHECKER_IDS)
def test_every_checker_is_described_and_forbids_unknown_arguments(checker_id: str) -> None:
    spec = CHECKERS.get(checker_id)
    assert len(spec.description) > 20
    assert spec.args.model_config.get("extra") == "forbid"
