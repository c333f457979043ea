"""`change_case:*` checkers: all capitals, all lowercase, and counts of capitalised words."""

from __future__ import annotations

from pydantic import Field

from ....text import detect_language, word_tokens
from ..base import Bound, register_checker
from ._common import Args, Count, Relation, compare


@register_checker(
    "change_case:english_capital",
    "The entire response is in English and in capital letters only.",
)
def check_english_capital(response: str) -> bool:
    """No lowercase letters (and at least one cased one), and the text reads as English."""
    # Case first: it is cheap and, when it fails, language detection is not needed.
    return response.isupper() and detect_language(response) == "en"


@register_checker(
    "change_case:english_lowercase",
    "The entire response is in English and in lowercase letters only.",
)
def check_english_lowercase(response: str) -> bool:
    """No capital letters (and at least one cased one), and the text reads as English."""
    return response.islower() and detect_language(response) == "en"


class CapitalWordArgs(Args):
    capital_frequency: Count = Field(description="The threshold.")
    capital_relation: Relation = Field(description="'less than' or 'at least'.")


@register_checker(
    "change_case:capital_word_frequency",
    "Words written in all capitals appear `capital_relation` ('less than' / 'at least') "
    "`capital_frequency` times.",
    CapitalWordArgs,
    distinct_by=lambda kw: kw["capital_relation"],
    bound=Bound(counted=lambda kw: None, relation="capital_relation", threshold="capital_frequency"),
)
def check_capital_word_frequency(response: str, *, capital_frequency: int, capital_relation: Relation) -> bool:
    """The number of all-capital word tokens compares to the threshold as asked.

    Tokens are NLTK word tokens, so a hyphenated word counts once.
    """
    capitals = sum(1 for token in word_tokens(response) if token.isupper())
    return compare(capitals, capital_relation, capital_frequency)
