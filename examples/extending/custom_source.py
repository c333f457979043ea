"""An evidence source: the factuality verifier checks claims against a team's own fact sheet, named `facts`."""
import re

from reward_agent import RewardContext, SourceSpec, register_source, score
from reward_agent.retrieval import Passage, RetrievalResult

FACT_SHEET = {"peru": "Peru is in South America. Its capital is Lima.", "chile": "The capital of Chile is Santiago."}


class FactSheet:
    source = "facts"

    async def search(self, query, k=5):  # the sheet's entries whose key is a word of the query
        words = set(re.findall(r"[a-z]+", query.lower()))
        hits = [Passage(id=f"facts:{key}", text=text, source="facts", title=key) for key, text in FACT_SHEET.items()
                if key in words]
        return RetrievalResult(query=query, source="facts", status="ok", passages=hits[:k])


register_source(SourceSpec("facts", "The team's fact sheet.", open=lambda spec, context, cache: FactSheet()))

if __name__ == "__main__":
    context = RewardContext(retrieval={"sources": ["facts"]}, disable=["preference"])
    result = score({"prompt": "What is the capital of Peru?",
                    "responses": ["The capital of Peru is Lima.", "The capital of Peru is Quito."]}, context)
    print("plan:", result.plan.reasons["factuality"])
    print("rewards:", result.rewards)
    print("evidence:", result.signals["factuality"].evidence["summaries"])
