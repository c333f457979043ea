"""An RM backend: lexical relevance, raw score = share of the prompt's words (4+ letters) the response repeats.

Not a learned model: a transparent baseline the preference verifier can run wherever no weights are.
"""
import re

import reward_agent
from reward_agent import RawScores, RewardContext, RewardModel, register_rm_backend

WORD = re.compile(r"[a-z]{4,}")


class OverlapRM(RewardModel):
    backend = "overlap"

    def _score_raw(self, items):
        raw = []
        for item in items:
            asked = set(WORD.findall(item.prompt_text().lower()))
            said = set(WORD.findall(item.response.lower()))
            raw.append(len(asked & said) / len(asked) if asked else 0.0)
        return RawScores(raw=raw, details={"formula": "|prompt words & response words| / |prompt words|"})


register_rm_backend("overlap", OverlapRM)

if __name__ == "__main__":
    # Its raw scores are already in [0, 1]: keep them as they are (identity normalisation).
    context = RewardContext(rm={"backend": "overlap", "normalisation": {"method": "identity"}})
    result = reward_agent.score(
        {"prompt": "Why do leaves change colour in autumn?",
         "responses": ["In autumn leaves lose chlorophyll, so their colour changes.", "I like trees."]}, context)
    print("plan:", result.plan.verifiers)
    print("rewards:", result.rewards)
    print("backend:", result.signals["preference"].evidence["backend"])
