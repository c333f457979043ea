"""The rule library for reading IFEval-style constraints out of a prompt, one module per namespace.

Each module keeps a `RULES` registry of `Rule`s (a few precompiled regexes plus a function
building the checker's arguments). `all_rules()` is every rule: the built-in modules' in
namespace order, then those of rule sets added with `register_rules`. To add a rule, decorate
a builder in the module of its namespace:

    @RULES.rule("punctuation:no_comma", r"comma-free", needs=("comma",))
    def comma_free(match: re.Match[str], prompt: str) -> dict | None:
        return {}  # the checker's kwargs; None declines the match

A new constraint id can live in one module of its own: its checker (`register_checker`, with
what extraction needs to know about its arguments), a `RuleSet` of its rules, and
`register_rules(RULES)`; importing that module is its one registration line.
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

# The rule sets extraction runs, in order: the built-ins first, then those registered.
_RULE_SETS: list[RuleSet] = [module.RULES for module in _MODULES]


def register_rules(rules: RuleSet) -> None:
    """Run `rules` (after the built-ins) on every prompt read from now on; again is a no-op."""
    if not any(rules is known for known in _RULE_SETS):
        _RULE_SETS.append(rules)


def unregister_rules(rules: RuleSet) -> None:
    """Stop running `rules` (a registered set; the built-ins stay)."""
    _RULE_SETS[len(_MODULES):] = [known for known in _RULE_SETS[len(_MODULES):] if known is not rules]


def all_rules() -> tuple[Rule, ...]:
    """Every rule in force, in order (read live: rules added to a registered set count)."""
    return tuple(rule for rules in _RULE_SETS for rule in rules.rules)


__all__ = ["Hit", "Rule", "RuleSet", "all_rules", "register_rules", "unregister_rules"]
