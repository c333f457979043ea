"""The built-in deterministic checkers: the 25 IFEval instruction types.

Importing this package registers every checker in `CHECKERS` under its IFEval id
(`namespace:name`). Each module holds one namespace; each checker is a function
`check(response, **kwargs) -> bool` with a pydantic model for its arguments.
"""

from __future__ import annotations

from . import (  # noqa: F401  (imported for their registrations)
    change_case,
    combination,
    detectable_content,
    detectable_format,
    keywords,
    language,
    length,
    punctuation,
    startend,
)

IFEVAL_CHECKER_IDS: tuple[str, ...] = (
    "change_case:capital_word_frequency",
    "change_case:english_capital",
    "change_case:english_lowercase",
    "combination:repeat_prompt",
    "combination:two_responses",
    "detectable_content:number_placeholders",
    "detectable_content:postscript",
    "detectable_format:constrained_response",
    "detectable_format:json_format",
    "detectable_format:multiple_sections",
    "detectable_format:number_bullet_lists",
    "detectable_format:number_highlighted_sections",
    "detectable_format:title",
    "keywords:existence",
    "keywords:forbidden_words",
    "keywords:frequency",
    "keywords:letter_frequency",
    "language:response_language",
    "length_constraints:nth_paragraph_first_word",
    "length_constraints:number_paragraphs",
    "length_constraints:number_sentences",
    "length_constraints:number_words",
    "punctuation:no_comma",
    "startend:end_checker",
    "startend:quotation",
)
