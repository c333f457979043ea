"""The rule library for reading IFEval-style constraints out of a prompt, one module per namespace.

Each module keeps a `RULES` registry of `Rule`s (a few precompiled regexes plus a function
building the checker's arguments). `ALL_RULES` is every rule, in namespace order. To add a
rule, decorate a builder in the module of its namespace:

    @RULES.rule("punctuation:no_comma", r"comma-free", needs=("comma",))
    def comma_free(match: re.Match[str], prompt: str) -> dict | None:
        return {}  # the checker's kwargs; None declines the match
"""

from __future__ import annotations

from . import (
    change_case,
    combination,
    detectable_content,
    detectable_format,
    keywords,
    language,
    length_constraints,
    punctuation,
    startend,
)
from .common import Hit, Rule, RuleSet

_MODULES = (
    change_case,
    combination,
    detectable_content,
    detectable_format,
    keywords,
    language,
    length_constraints,
    punctuation,
    startend,
)

ALL_RULES: tuple[Rule, ...] = tuple(rule for module in _MODULES for rule in module.RULES.rules)

__all__ = ["ALL_RULES", "Hit", "Rule", "RuleSet"]
