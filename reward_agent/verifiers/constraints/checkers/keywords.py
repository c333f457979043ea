"""`keywords:*` checkers: required, forbidden and counted words, and letter counts.

Matching is case-insensitive. Keywords are matched literally (escaped), never as
regular expressions: an argument from an LLM must not be able to inject a pattern.
"""

from __future__ import annotations

import functools
import re

from pydantic import Field

from ..base import Bound, register_checker
from ._common import Args, Count, NonEmptyText, Relation, compare


@functools.lru_cache(maxsize=4096)
def _substring_pattern(keyword: str) -> re.Pattern[str]:
    """Case-insensitive literal pattern for `keyword`; anywhere in the text, as IFEval does."""
    return re.compile(re.escape(keyword), re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def _whole_word_pattern(word: str) -> re.Pattern[str]:
    """Case-insensitive literal pattern for `word` between word boundaries."""
    return re.compile(r"\b" + re.escape(word) + r"\b", re.IGNORECASE)


class ExistenceArgs(Args):
    keywords: list[NonEmptyText] = Field(min_length=1, description="Words that must all appear.")


@register_checker(
    "keywords:existence",
    "Every keyword in `keywords` appears in the response (case-insensitive, also inside longer words).",
    ExistenceArgs,
    merged_list="keywords",
)
def check_existence(response: str, *, keywords: list[str]) -> bool:
    """Each keyword occurs somewhere in the response."""
    return all(_substring_pattern(k).search(response) for k in keywords)


class ForbiddenArgs(Args):
    forbidden_words: list[NonEmptyText] = Field(min_length=1, description="Words that must not appear.")


@register_checker(
    "keywords:forbidden_words",
    "None of `forbidden_words` appears as a whole word in the response (case-insensitive).",
    ForbiddenArgs,
    merged_list="forbidden_words",
)
def check_forbidden_words(response: str, *, forbidden_words: list[str]) -> bool:
    """No forbidden word occurs as a whole word."""
    return not any(_whole_word_pattern(w).search(response) for w in forbidden_words)


class FrequencyArgs(Args):
    keyword: NonEmptyText = Field(description="The word to count.")
    frequency: Count = Field(description="The threshold.")
    relation: Relation = Field(description="'less than' (count < frequency) or 'at least' (count >= frequency).")


@register_checker(
    "keywords:frequency",
    "`keyword` occurs `relation` ('less than' / 'at least') `frequency` times (case-insensitive).",
    FrequencyArgs,
    distinct_by=lambda kw: (kw["keyword"], kw["relation"]),
    bound=Bound(counted=lambda kw: kw["keyword"], relation="relation", threshold="frequency"),
)
def check_frequency(response: str, *, keyword: str, frequency: int, relation: Relation) -> bool:
    """The keyword's number of occurrences compares to the threshold as asked."""
    occurrences = len(_substring_pattern(keyword).findall(response))
    return compare(occurrences, relation, frequency)


class LetterFrequencyArgs(Args):
    letter: str = Field(min_length=1, max_length=1, description="A single character (letters count case-insensitively).")
    let_frequency: Count = Field(description="The threshold.")
    let_relation: Relation = Field(description="'less than' or 'at least'.")


@register_checker(
    "keywords:letter_frequency",
    "The character `letter` occurs `let_relation` ('less than' / 'at least') `let_frequency` times "
    "(case-insensitive).",
    LetterFrequencyArgs,
    distinct_by=lambda kw: (kw["letter"], kw["let_relation"]),
    bound=Bound(counted=lambda kw: kw["letter"], relation="let_relation", threshold="let_frequency"),
)
def check_letter_frequency(response: str, *, letter: str, let_frequency: int, let_relation: Relation) -> bool:
    """The letter's count (any case) compares to the threshold as asked.

    A non-letter such as '#' is counted literally: that is what the instruction means
    (IFEval swaps it for a random letter).
    """
    occurrences = response.lower().count(letter.lower())
    return compare(occurrences, let_relation, let_frequency)
