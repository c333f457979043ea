"""`language:*` checkers: the language of the whole response."""

from __future__ import annotations

from pydantic import Field, field_validator

from ....text import detect_language, supported_languages
from ..base import register_checker
from ._common import Args, NonEmptyText


def _base_code(code: str) -> str:
    """'zh-cn' -> 'zh': langdetect tells Chinese scripts apart, a plain 'zh' accepts both."""
    return code.split("-", 1)[0]


class LanguageArgs(Args):
    language: NonEmptyText = Field(description="ISO 639-1 code of the required language, e.g. 'de', 'hi', 'ko'.")

    @field_validator("language")
    @classmethod
    def _detectable(cls, language: str) -> str:
        # A code langdetect never returns ('English', 'xx') would make the check fail on
        # every response; reject it up front instead.
        known = supported_languages()
        if language not in known and language not in {_base_code(k) for k in known}:
            raise ValueError(f"{language!r} is not a language code langdetect knows; use one of {sorted(known)}")
        return language


@register_checker(
    "language:response_language",
    "The entire response is in the language `language` (an ISO 639-1 code such as 'de').",
    LanguageArgs,
)
def check_response_language(response: str, *, language: str) -> bool:
    """langdetect's verdict on the whole response is `language`.

    Text with nothing to detect from (digits, symbols) raises CheckerError, an error
    outcome, rather than counting as followed.
    """
    detected = detect_language(response)
    return detected == language or _base_code(detected) == language
