"""The shared text utilities the checkers count with (`reward_agent.text`)."""

from __future__ import annotations

import pytest

from reward_agent.errors import CheckerError
from reward_agent.text import count_sentences, count_words, detect_language, split_sentences, word_tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", 0), ("one", 1), ("one two  three", 3), ("don't", 2), ("e-mail, 42 times!", 4), ("naïve café", 2)],
)
def test_count_words_counts_word_character_runs(text: str, expected: int) -> None:
    assert count_words(text) == expected


def test_split_sentences_uses_punkt_abbreviations() -> None:
    assert split_sentences("Mr. Smith went to Washington. He arrived at 5 p.m. on Monday.") == [
        "Mr. Smith went to Washington.",
        "He arrived at 5 p.m. on Monday.",
    ]
    assert count_sentences("") == 0
    assert count_sentences("No full stop") == 1


def test_word_tokens_match_nltk_word_tokenize() -> None:
    import nltk

    sample = 'He said "STATE-OF-THE-ART" isn\'t enough. The U.S.A. agreed, mostly.'
    assert word_tokens(sample) == nltk.word_tokenize(sample)


def test_detect_language_is_deterministic_and_errors_on_no_text() -> None:
    sample = "Ceci est une phrase en français qui parle du temps qu'il fait aujourd'hui."
    assert {detect_language(sample) for _ in range(5)} == {"fr"}
    with pytest.raises(CheckerError, match="cannot detect the language"):
        detect_language("1234 5678")
