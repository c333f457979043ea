"""`punctuation:*` checkers."""

from __future__ import annotations

from ..base import register_checker


@register_checker("punctuation:no_comma", "The response contains no commas at all.")
def check_no_comma(response: str) -> bool:
    """No ',' anywhere."""
    return "," not in response
