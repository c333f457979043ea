"""A constraint checker: no sentence longer than N words (what plain-language style guides ask for)."""
import re

from pydantic import BaseModel, ConfigDict, Field

import reward_agent
from reward_agent import RewardContext, register_checker


class MaxSentenceWords(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt argument is an error, not ignored
    max_words: int = Field(ge=1, description="The most words one sentence may have.")


@register_checker("style:max_sentence_words", "Every sentence has at most max_words words.", MaxSentenceWords)
def max_sentence_words(response: str, *, max_words: int) -> bool:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", response.strip()) if s]
    return all(len(s.split()) <= max_words for s in sentences)


if __name__ == "__main__":
    result = reward_agent.score(
        {"prompt": "Explain what a reward model is, in short sentences.",
         "responses": ["A reward model scores answers. Training pushes the policy towards high scores.",
                       "A reward model is a learned function that gives each response a number so that "
                       "reinforcement learning can push a policy towards the responses people prefer."],
         "constraints": [{"id": "style:max_sentence_words", "kwargs": {"max_words": 12}}]},
        RewardContext(disable=["preference"]))  # this example shows the checker alone
    print("rewards:", result.rewards)
    print("checks:", result.signals["constraints"].evidence["per_response"])
