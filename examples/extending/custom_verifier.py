"""A verifier: reward responses that cite the sources the prompt gave (one file, one registration line)."""
import re

import reward_agent
from reward_agent import RewardContext, Signal, VerifierSpec, register_verifier

URL = re.compile(r"https?://[^\s<>()\"']+")


def urls(text: str) -> set[str]:
    return {u.rstrip(".,;:") for u in URL.findall(text)}


def applies(request, context):
    given = urls(request.user_prompt)
    return bool(given), f"the prompt gives {len(given)} source URL(s)"


async def run(request, context):
    given = urls(request.user_prompt)
    cited = [sorted(given & urls(response)) for response in request.responses]
    return Signal(verifier="cites_sources", status="ok", scores=[len(c) / len(given) for c in cited],
                  evidence={"sources": sorted(given), "cited": cited})


register_verifier(VerifierSpec(id="cites_sources", description="Share of the prompt's source URLs a response cites.",
                               node="check_cites_sources", run=run, applies=applies))

if __name__ == "__main__":
    result = reward_agent.score(
        {"prompt": "Summarise https://example.org/report and https://example.org/data, citing both.",
         "responses": ["Sales grew 3% (https://example.org/report; https://example.org/data).",
                       "Sales grew 3% (https://example.org/report).", "Sales grew 3%."]},
        RewardContext(disable=["preference"]))  # this example shows the new verifier alone
    print("plan:", result.plan.verifiers)
    print("rewards:", result.rewards)
    print("cited:", result.signals["cites_sources"].evidence["cited"])
