"""A constraint id added in one file: `custom:emoji_count` ("use at least 2 emojis").

Its checker (with the pydantic model of its arguments and what extraction must know about
them) and the rule that reads it from a prompt are all here. Importing this module registers
it: that import is its one registration line (`test_constraint_extension.py` does it).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from reward_agent.verifiers.constraints.base import Bound, register_checker
from reward_agent.verifiers.constraints.rules import RuleSet, register_rules

ID = "custom:emoji_count"
# Pictographs, symbols and dingbats: enough for a worked example, not a full emoji grammar.
_EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")


class EmojiArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    relation: Literal["less than", "at least"] = Field(description="'less than' or 'at least'.")
    num_emojis: int = Field(ge=0, description="The threshold.")


@register_checker(
    ID,
    "The response has `relation` ('less than' / 'at least') `num_emojis` emojis.",
    EmojiArgs,
    distinct_by=lambda kw: kw["relation"],  # "at least 1 and less than 4": two constraints
    bound=Bound(counted=lambda kw: None, relation="relation", threshold="num_emojis"),
)
def check_emoji_count(response: str, *, relation: str, num_emojis: int) -> bool:
    """Count the emojis and compare the count with the threshold."""
    count = len(_EMOJI.findall(response))
    return count >= num_emojis if relation == "at least" else count < num_emojis


RULES = RuleSet()


@RULES.rule(ID, r"\b(at\s+least|less\s+than|fewer\s+than)\s+(\d+)\s+emojis?\b", needs=("emoji",))
def emoji_count(match: re.Match[str], prompt: str) -> dict | None:
    """"at least 2 emojis", "fewer than 3 emojis"."""
    relation = "at least" if match.group(1).lower().startswith("at") else "less than"
    return {"relation": relation, "num_emojis": int(match.group(2))}


register_rules(RULES)
