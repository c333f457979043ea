"""`length_constraints:*` checkers: words, sentences, paragraphs."""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from ....text import count_sentences, count_words
from ..base import Bound, register_checker
from ._common import Args, Count, NonEmptyText, Relation, compare

# Paragraphs of `number_paragraphs` are separated by a markdown divider `***`.
_DIVIDER_RE = re.compile(r"\s?\*\*\*\s?")
# Paragraphs of `nth_paragraph_first_word` are separated by a blank line.
_BLANK_LINE = "\n\n"
# Characters that end the first word of a paragraph (after leading quotes are dropped).
_FIRST_WORD_STOP = frozenset(".,?!'\"")


class NumberWordsArgs(Args):
    num_words: Count = Field(description="The threshold.")
    relation: Relation = Field(description="'less than' (words < num_words) or 'at least' (words >= num_words).")


@register_checker(
    "length_constraints:number_words",
    "The response has `relation` ('less than' / 'at least') `num_words` words.",
    NumberWordsArgs,
    distinct_by=lambda kw: kw["relation"],  # a lower and an upper bound: "100 to 200 words"
    bound=Bound(counted=lambda kw: None, relation="relation", threshold="num_words"),
)
def check_number_words(response: str, *, num_words: int, relation: Relation) -> bool:
    """The number of `\\w+` words compares to the threshold as asked."""
    return compare(count_words(response), relation, num_words)


class NumberSentencesArgs(Args):
    num_sentences: Count = Field(description="The threshold.")
    relation: Relation = Field(description="'less than' or 'at least'.")


@register_checker(
    "length_constraints:number_sentences",
    "The response has `relation` ('less than' / 'at least') `num_sentences` sentences (Punkt splitting).",
    NumberSentencesArgs,
    distinct_by=lambda kw: kw["relation"],
    bound=Bound(counted=lambda kw: None, relation="relation", threshold="num_sentences"),
)
def check_number_sentences(response: str, *, num_sentences: int, relation: Relation) -> bool:
    """The number of Punkt sentences compares to the threshold as asked."""
    return compare(count_sentences(response), relation, num_sentences)


class NumberParagraphsArgs(Args):
    num_paragraphs: Count = Field(description="The exact number of paragraphs.")


@register_checker(
    "length_constraints:number_paragraphs",
    "The response has exactly `num_paragraphs` paragraphs separated by the markdown divider ***.",
    NumberParagraphsArgs,
)
def check_number_paragraphs(response: str, *, num_paragraphs: int) -> bool:
    """Exactly `num_paragraphs` non-empty parts between `***` dividers.

    A divider at the very start or end is tolerated; an empty paragraph between two
    dividers means the layout is wrong, so the check fails.
    """
    parts = _DIVIDER_RE.split(response)
    inner_blank = any(not p.strip() for p in parts[1:-1])
    if inner_blank:
        return False
    return sum(1 for p in parts if p.strip()) == num_paragraphs


class NthParagraphArgs(Args):
    num_paragraphs: Count = Field(description="The exact number of paragraphs (separated by blank lines).")
    nth_paragraph: int = Field(ge=1, description="Which paragraph (1-based) must start with `first_word`.")
    first_word: NonEmptyText = Field(description="The word that paragraph must start with (case-insensitive).")

    @model_validator(mode="after")
    def _nth_within_count(self) -> NthParagraphArgs:
        if self.nth_paragraph > self.num_paragraphs:
            raise ValueError(
                f"nth_paragraph ({self.nth_paragraph}) is beyond num_paragraphs ({self.num_paragraphs})"
            )
        return self


def _first_word(paragraph: str) -> str:
    """The paragraph's first word, lower-cased, without leading quotes or trailing punctuation."""
    word = paragraph.split(maxsplit=1)[0].lstrip("'").lstrip('"')
    for i, char in enumerate(word):
        if char in _FIRST_WORD_STOP:
            return word[:i].lower()
    return word.lower()


@register_checker(
    "length_constraints:nth_paragraph_first_word",
    "The response has exactly `num_paragraphs` paragraphs separated by blank lines, and paragraph "
    "`nth_paragraph` (1-based) starts with `first_word`.",
    NthParagraphArgs,
)
def check_nth_paragraph_first_word(
    response: str, *, num_paragraphs: int, nth_paragraph: int, first_word: str
) -> bool:
    """Paragraph count is exact and the chosen paragraph starts with the word.

    Paragraphs are the non-blank parts between blank lines (runs of extra blank lines do
    not create empty paragraphs).
    """
    paragraphs = [p.strip() for p in response.split(_BLANK_LINE) if p.strip()]
    if len(paragraphs) != num_paragraphs:
        return False
    return _first_word(paragraphs[nth_paragraph - 1]) == first_word.lower()
