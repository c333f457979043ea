"""Tables for the rule-based constraint extractor.

Most phrasings here are deliberately *not* IFEval's: users and RL datasets state the same
constraints in many ways, and the rules must read them all. Each case lists every
constraint the prompt should give, so a stray extra constraint fails the case as well.
"""

from __future__ import annotations

import json

import pytest

from reward_agent.types import ConstraintSpec
from reward_agent.verifiers.constraints.extract import extract_constraints

LT, AL = "less than", "at least"


def _found(prompt: str) -> list[tuple[str, str]]:
    """The extracted constraints as sorted (id, kwargs-json) pairs; keyword lists as sets."""
    out = []
    for c in extract_constraints(prompt):
        kwargs = {k: sorted(v) if isinstance(v, list) else v for k, v in c.kwargs.items()}
        out.append((c.id, json.dumps(kwargs, sort_keys=True)))
    return sorted(out)


def _expected(items: list[tuple[str, dict]]) -> list[tuple[str, str]]:
    return sorted(
        (i, json.dumps({k: sorted(v) if isinstance(v, list) else v for k, v in kw.items()}, sort_keys=True))
        for i, kw in items
    )


def words(relation: str, n: int) -> tuple[str, dict]:
    return ("length_constraints:number_words", {"relation": relation, "num_words": n})


def sentences(relation: str, n: int) -> tuple[str, dict]:
    return ("length_constraints:number_sentences", {"relation": relation, "num_sentences": n})


def freq(keyword: str, relation: str, n: int) -> tuple[str, dict]:
    return ("keywords:frequency", {"keyword": keyword, "relation": relation, "frequency": n})


def letter(ch: str, relation: str, n: int) -> tuple[str, dict]:
    return ("keywords:letter_frequency", {"letter": ch, "let_relation": relation, "let_frequency": n})


def caps_words(relation: str, n: int) -> tuple[str, dict]:
    return ("change_case:capital_word_frequency", {"capital_relation": relation, "capital_frequency": n})


def nth(total: int, n: int, word: str) -> tuple[str, dict]:
    return (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": total, "nth_paragraph": n, "first_word": word},
    )


def ps(marker: str) -> tuple[str, dict]:
    return ("detectable_content:postscript", {"postscript_marker": marker})


def exist(*keywords: str) -> tuple[str, dict]:
    return ("keywords:existence", {"keywords": list(keywords)})


CAPITAL = ("change_case:english_capital", {})
LOWER = ("change_case:english_lowercase", {})
NO_COMMA = ("punctuation:no_comma", {})
QUOTATION = ("startend:quotation", {})
TITLE = ("detectable_format:title", {})
JSON_FORMAT = ("detectable_format:json_format", {})
TWO = ("combination:two_responses", {})
FIXED = ("detectable_format:constrained_response", {})


# One table per checker id: (prompt, every constraint it states).
PARAPHRASES: dict[str, list[tuple[str, list[tuple[str, dict]]]]] = {
    "change_case:capital_word_frequency": [
        ("Sprinkle in at least 4 ALL-CAPS words for emphasis.", [caps_words(AL, 4)]),
        ("Use no more than 3 words written entirely in uppercase.", [caps_words(LT, 4)]),
        ("Make sure fewer than 5 words are fully capitalized.", [caps_words(LT, 5)]),
        ("Include between 2 and 6 capitalized words.", [caps_words(AL, 2), caps_words(LT, 7)]),
        (
            "Use some words in all caps, but those all-caps words should appear at most 3 times.",
            [caps_words(AL, 1), caps_words(LT, 4)],
        ),
    ],
    "change_case:english_capital": [
        ("Respond in all caps.", [CAPITAL]),
        ("Write your entire answer in UPPERCASE letters.", [CAPITAL]),
        ("Shout it: every letter must be uppercase.", [CAPITAL]),
        ("Type everything in caps lock, please.", [CAPITAL]),
    ],
    "change_case:english_lowercase": [
        ("Reply using only lowercase letters.", [LOWER]),
        ("Don't capitalize anything, not even the first word.", [LOWER]),
        ("Write a haiku; the whole thing should be lowercase.", [LOWER]),
        ("Write it all in lower case.", [LOWER]),
        ("Describe your morning without any capital letters.", [LOWER]),
    ],
    "combination:repeat_prompt": [
        (
            "What is the capital of Peru? Before answering, restate my question exactly as written.",
            [("combination:repeat_prompt", {"prompt_to_repeat": "What is the capital of Peru?"})],
        ),
        (
            "Begin your reply by repeating this question verbatim, then answer it:\nWhy is the sky blue?",
            [("combination:repeat_prompt", {"prompt_to_repeat": "Why is the sky blue?"})],
        ),
        (
            "Copy the following request word for word before you respond.\n\nList three uses of copper.",
            [("combination:repeat_prompt", {"prompt_to_repeat": "List three uses of copper."})],
        ),
        (
            "Name a good book about bees.\nPlease echo the request above unchanged before giving your answer.",
            [("combination:repeat_prompt", {"prompt_to_repeat": "Name a good book about bees."})],
        ),
    ],
    "combination:two_responses": [
        ("Give me two different answers, separated by six asterisks.", [TWO]),
        ("Provide 2 alternative versions and put ****** between them.", [TWO]),
        ("Draft two taglines with a line of 6 stars between them.", [TWO]),
    ],
    "detectable_content:number_placeholders": [
        (
            "Leave at least 4 fill-in-the-blank placeholders in square brackets, like [date].",
            [("detectable_content:number_placeholders", {"num_placeholders": 4})],
        ),
        (
            "Use square-bracket placeholders such as [company] for any details you don't know.",
            [("detectable_content:number_placeholders", {"num_placeholders": 1})],
        ),
        (
            "The template should have a minimum of five placeholders.",
            [("detectable_content:number_placeholders", {"num_placeholders": 5})],
        ),
    ],
    "detectable_content:postscript": [
        ("Sign off with a P.S. reminding me about the deadline.", [ps("P.S.")]),
        ("Please tack on a PPS at the very end.", [ps("P.P.S")]),
        ("Include a postscript at the bottom.", [ps("P.S.")]),
        ("End with a P.P.S. note.", [ps("P.P.S")]),
    ],
    "detectable_format:constrained_response": [
        (
            "Is coffee bad for you? Reply only with 'My answer is yes.', 'My answer is no.', "
            "or 'My answer is maybe.'",
            [FIXED],
        ),
        (
            "Pick one of these and nothing else: My answer is yes. / My answer is no. / My answer is maybe.",
            [FIXED],
        ),
    ],
    "detectable_format:json_format": [
        ("Format your answer as valid JSON.", [JSON_FORMAT]),
        ("Return the result as a JSON object with keys name and age.", [JSON_FORMAT]),
        ("Output only JSON, no prose.", [JSON_FORMAT]),
        ("Convert this table to JSON: a=1, b=2.", [JSON_FORMAT]),
    ],
    "detectable_format:multiple_sections": [
        (
            "Organize the plan into 3 parts, labeling them Part 1, Part 2 and Part 3.",
            [("detectable_format:multiple_sections", {"section_spliter": "Part", "num_sections": 3})],
        ),
        (
            "Split the lesson into four sections and begin each section with 'SECTION X'.",
            [("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 4})],
        ),
        (
            "Write 5 chapters; start every chapter with Chapter N.",
            [("detectable_format:multiple_sections", {"section_spliter": "Chapter", "num_sections": 5})],
        ),
    ],
    "detectable_format:number_bullet_lists": [
        ("Give exactly 4 bullet points.", [("detectable_format:number_bullet_lists", {"num_bullets": 4})]),
        ("Answer in a bulleted list of 5 items.", [("detectable_format:number_bullet_lists", {"num_bullets": 5})]),
        ("Summarize it in three markdown bullets.", [("detectable_format:number_bullet_lists", {"num_bullets": 3})]),
        (
            "Name exactly 6 rivers and put the rivers in bullet points.",
            [("detectable_format:number_bullet_lists", {"num_bullets": 6})],
        ),
    ],
    "detectable_format:number_highlighted_sections": [
        (
            "Bold at least two key phrases using markdown (*like this*).",
            [("detectable_format:number_highlighted_sections", {"num_highlights": 2})],
        ),
        (
            "Italicize 3 important terms with single asterisks.",
            [("detectable_format:number_highlighted_sections", {"num_highlights": 3})],
        ),
        (
            "Emphasize a few phrases in *italics*.",
            [("detectable_format:number_highlighted_sections", {"num_highlights": 1})],
        ),
    ],
    "detectable_format:title": [
        ("Give your poem a title inside double angle brackets.", [TITLE]),
        ("Start with a title formatted like <<My Title>>.", [TITLE]),
    ],
    "keywords:existence": [
        ("Be sure to mention 'blockchain' and 'ledger'.", [exist("blockchain", "ledger")]),
        ("Work the words sunrise and harbor into your poem.", [exist("sunrise", "harbor")]),
        ('Your answer must contain the terms "latency" and "throughput".', [exist("latency", "throughput")]),
        ("Make sure you use the word 'resilient' somewhere.", [exist("resilient")]),
        ("Include keywords {Kermit}, {frog} in your response.", [exist("kermit", "frog")]),
    ],
    "keywords:forbidden_words": [
        (
            "Never say the words 'basically' or 'literally'.",
            [("keywords:forbidden_words", {"forbidden_words": ["basically", "literally"]})],
        ),
        (
            "Avoid the terms cheap and bargain in your answer.",
            [("keywords:forbidden_words", {"forbidden_words": ["cheap", "bargain"]})],
        ),
        ("Keep the word 'AI' out of your response.", [("keywords:forbidden_words", {"forbidden_words": ["ai"]})]),
        ('The response must not mention "Tesla".', [("keywords:forbidden_words", {"forbidden_words": ["tesla"]})]),
    ],
    "keywords:frequency": [
        ("Use the word 'innovation' exactly 3 times.", [freq("innovation", AL, 3), freq("innovation", LT, 4)]),
        ('Mention "cloud" no more than twice.', [freq("cloud", LT, 3)]),
        ("The word banana should show up 5 or more times.", [freq("banana", AL, 5)]),
        ("Say 'hello' at least 4 times.", [freq("hello", AL, 4)]),
        ("Do not use the word 'very' more than once.", [freq("very", LT, 2)]),
    ],
    "keywords:letter_frequency": [
        ("Don't use the letter z at all.", [letter("z", LT, 1)]),
        ("Make the letter 'k' appear at least 7 times.", [letter("k", AL, 7)]),
        ("Use the letter x no more than 2 times.", [letter("x", LT, 3)]),
        ("Include at least 3 exclamation marks.", [letter("!", AL, 3)]),
    ],
    "language:response_language": [
        ("Answer in Spanish.", [("language:response_language", {"language": "es"})]),
        ("Respond only in Japanese, please.", [("language:response_language", {"language": "ja"})]),
        ("Write the whole reply in German.", [("language:response_language", {"language": "de"})]),
        ("Explain photosynthesis to a child, in Farsi only.", [("language:response_language", {"language": "fa"})]),
    ],
    "length_constraints:nth_paragraph_first_word": [
        (
            "Write 3 paragraphs separated by blank lines; the second paragraph should begin with the word 'However'.",
            [nth(3, 2, "however")],
        ),
        ('Use four paragraphs, and begin the final paragraph with "Ultimately".', [nth(4, 4, "ultimately")]),
        ("Make the first word of your third paragraph 'Moreover'. Write 4 paragraphs.", [nth(4, 3, "moreover")]),
    ],
    "length_constraints:number_paragraphs": [
        (
            "Your response should contain 5 paragraphs. You separate paragraphs using the markdown divider: * * *",
            [("length_constraints:number_paragraphs", {"num_paragraphs": 5})],
        ),
        (
            "Split your answer into 3 parts separated by the markdown divider ***.",
            [("length_constraints:number_paragraphs", {"num_paragraphs": 3})],
        ),
        (
            "Write four paragraphs and put *** between consecutive paragraphs.",
            [("length_constraints:number_paragraphs", {"num_paragraphs": 4})],
        ),
    ],
    "length_constraints:number_sentences": [
        ("Keep it to no more than three sentences.", [sentences(LT, 4)]),
        ("Answer in exactly two sentences.", [sentences(AL, 2), sentences(LT, 3)]),
        ("Write at least 12 sentences.", [sentences(AL, 12)]),
        ("Your reply should be between 4 and 6 sentences long.", [sentences(AL, 4), sentences(LT, 7)]),
    ],
    "length_constraints:number_words": [
        ("Keep it under 50 words.", [words(LT, 50)]),
        ("Write no fewer than 300 words.", [words(AL, 300)]),
        ("Limit your answer to 120 words.", [words(LT, 121)]),
        ("The essay must not exceed 800 words.", [words(LT, 801)]),
        ("Answer in 80 words or fewer.", [words(LT, 81)]),
        ("I don't want anything longer than 30 words.", [words(LT, 31)]),
        ("Write a 250+ word product description.", [words(AL, 250)]),
    ],
    "punctuation:no_comma": [
        ("Write it without a single comma.", [NO_COMMA]),
        ("Commas are forbidden.", [NO_COMMA]),
        ("Make your answer comma-free.", [NO_COMMA]),
        ("Don't put any commas in the reply.", [NO_COMMA]),
    ],
    "startend:end_checker": [
        ("Finish with 'Any other questions?'", [("startend:end_checker", {"end_phrase": "Any other questions?"})]),
        (
            "Make sure the last line of your reply is exactly: Stay curious.",
            [("startend:end_checker", {"end_phrase": "Stay curious."})],
        ),
        (
            'Conclude your response with the sentence "Thanks for reading!"',
            [("startend:end_checker", {"end_phrase": "Thanks for reading!"})],
        ),
    ],
    "startend:quotation": [
        ("Wrap the whole thing in double quotes.", [QUOTATION]),
        ("Enclose your entire reply in quotation marks.", [QUOTATION]),
        ("Put your complete answer inside double quotation marks.", [QUOTATION]),
    ],
}


CASES = [(cid, prompt, expected) for cid, rows in PARAPHRASES.items() for prompt, expected in rows]


@pytest.mark.parametrize(("checker_id", "prompt", "expected"), CASES, ids=[f"{c}|{p[:40]}" for c, p, _ in CASES])
def test_paraphrases(checker_id: str, prompt: str, expected: list[tuple[str, dict]]) -> None:
    assert _found(prompt) == _expected(expected)


def test_every_checker_id_has_at_least_two_paraphrases() -> None:
    assert len(PARAPHRASES) == 25
    assert all(len(rows) >= 2 for rows in PARAPHRASES.values())


def test_extracted_arguments_are_valid_for_the_checkers() -> None:
    checking = pytest.importorskip("reward_agent.verifiers.constraints.checking")
    for _, prompt, _ in CASES:
        for constraint in extract_constraints(prompt):
            prepared = checking.prepare(constraint)
            assert not isinstance(prepared, checking.CheckOutcome), (prompt, constraint, prepared)


# Prompts that talk about words, lists, languages or formats without constraining the answer.
NEGATIVES = [
    "Summarize this article about JSON parsing.",
    "Translate 'hello' to French.",
    "How do you say 'thank you' in Japanese?",
    "Tell me about French cuisine and its history.",
    "What's the difference between uppercase and lowercase letters?",
    "Explain when you should use commas in English.",
    "List the items separated by commas: apples, pears.",
    "Write a list of 10 words that rhyme with cat.",
    "Explain what a postscript is in a letter.",
    "Highlight the main differences between Python and Java.",
    "End the story with a twist.",
    "Put the title in quotes and explain why the movie failed.",
    "Write a 200 word essay about the sea.",
    "Do you know the word 'serendipity'?",
    "How many words are in the sentence 'the quick brown fox'?",
    "Write a JSON schema for a user profile.",
    "Don't repeat the question in your answer.",
    "Give me some bullet points about climate change.",
    "Use at least 3 bullet points.",
    "Write a story about a robot who only speaks in all caps.",
    "I speak Spanish; what is the best way to learn German?",
    'Use "double quotes" for any dialogue.',
    "Write a song with a repeated chorus.",
    "Return true if all keys are strings in lower case.",
    "Split the text on commas; if no commas exist, split on spaces.",
]


@pytest.mark.parametrize("prompt", NEGATIVES)
def test_negatives_state_no_constraint(prompt: str) -> None:
    assert extract_constraints(prompt) == []


@pytest.mark.parametrize(
    ("prompt", "absent"),
    [
        ("Write about the Croatian and Serbian nations in the 19th century.", "language:response_language"),
        ("Use words in all capital letters at least 3 times to highlight key points.", "change_case:english_capital"),
        (
            "Use words in all capital letters at least 3 times to highlight key points.",
            "detectable_format:number_highlighted_sections",
        ),
        ("Write at least 10 words in all capital letters.", "length_constraints:number_words"),
        ("Do not use any commas.", "keywords:forbidden_words"),
        ("Start the second paragraph with the word 'Then'.", "length_constraints:nth_paragraph_first_word"),
        ("Write three paragraphs about owls.", "length_constraints:number_paragraphs"),
        ("Each line should contain exactly one sentence.", "length_constraints:number_sentences"),
    ],
)
def test_words_that_look_like_another_constraint(prompt: str, absent: str) -> None:
    assert absent not in {c.id for c in extract_constraints(prompt)}


# IFEval-style wording still works (the measurement script covers all 541 prompts).
def test_ifeval_style_prompt() -> None:
    prompt = (
        "Write a 300+ word summary of the history of tea. Do not use any commas and highlight at least 3 "
        "sections that has titles in markdown format, for example *highlighted section part 1*. "
        "At the end of your response, please explicitly add a postscript starting with P.P.S"
    )
    assert _found(prompt) == _expected(
        [
            words(AL, 300),
            NO_COMMA,
            ("detectable_format:number_highlighted_sections", {"num_highlights": 3}),
            ("detectable_content:postscript", {"postscript_marker": "P.P.S"}),
        ]
    )


def test_repeat_request_above_excludes_the_instruction() -> None:
    prompt = (
        "Write a limerick about a cat. Do not use any commas.\n"
        "First repeat the request above word for word without change, then give your answer."
    )
    (repeat,) = [c for c in extract_constraints(prompt) if c.id == "combination:repeat_prompt"]
    assert repeat.kwargs == {"prompt_to_repeat": "Write a limerick about a cat. Do not use any commas."}


def test_output_is_in_order_of_appearance_with_source_and_text() -> None:
    prompt = "Answer in French. Wrap your entire response in double quotes. Keep it under 40 words."
    found = extract_constraints(prompt)
    assert [c.id for c in found] == [
        "language:response_language",
        "startend:quotation",
        "length_constraints:number_words",
    ]
    for c in found:
        assert isinstance(c, ConstraintSpec)
        assert c.source == "rules"
        assert c.text and c.text in prompt


def test_numbers_are_ints_and_words_are_read() -> None:
    (c,) = extract_constraints("Write at least twenty-five sentences.")
    assert c.kwargs == {"relation": AL, "num_sentences": 25}
    assert type(c.kwargs["num_sentences"]) is int


def test_one_constraint_per_id_unless_two_are_stated() -> None:
    prompt = "Do not use commas. Again: no commas at all! Use 'war' at least 2 times and 'peace' at least 3 times."
    found = _found(prompt)
    assert [i for i, _ in found].count("punctuation:no_comma") == 1
    assert _expected([freq("war", AL, 2), freq("peace", AL, 3)]) == [f for f in found if f[0] == "keywords:frequency"]


def test_keyword_lists_are_merged() -> None:
    prompt = "Include the keywords 'alpha' and 'beta'. Also include the word 'gamma'."
    (c,) = extract_constraints(prompt)
    assert c.kwargs == {"keywords": ["alpha", "beta", "gamma"]}


def test_contradictory_bounds_keep_the_later_statement() -> None:
    prompt = "Two friends try to avoid using the letter t. The letter t must appear at least 30 times."
    assert _found(prompt) == _expected([letter("t", AL, 30)])


def test_cached_but_callers_get_their_own_copies() -> None:
    prompt = "Respond in all caps and use no commas."
    first = extract_constraints(prompt)
    first[0].kwargs["mutated"] = True
    second = extract_constraints(prompt)
    assert second[0].kwargs == {}
    assert [c.id for c in second] == ["change_case:english_capital", "punctuation:no_comma"]


def test_empty_prompt() -> None:
    assert extract_constraints("") == []
