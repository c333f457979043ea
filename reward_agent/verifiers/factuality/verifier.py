"""The factuality verifier: claims of all N responses, evidence for each, a verdict, a score per response.

1. Claims are read from every response (the `claims` model, or sentences offline) and
   deduplicated, so a claim shared by many responses is retrieved and judged once. Claims that
   not every response makes come first, and at most `MAX_CLAIMS` are checked per request.
2. Evidence: each claim is the query for every retriever the context opens (`local`, `web`,
   `llm`, in the configured order); a request asks each (source, query) once.
3. Verdicts: supported / refuted / not enough evidence, by the `claims` model when one is
   configured, else by the offline heuristic (`verdicts.py`); each keeps its cited passages.
4. Scores: `scoring.factuality_score` per response ((S + 0.5 U) / (S + U + 2 R); None without claims).

When no retriever answers any query (no index, no network), the signal is `skipped` with every
source's reason: never a score made up without evidence.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from ...context import RewardContext
from ...prompting import load_prompt
from ...retrieval.base import Passage, RetrievalResult, Retriever
from ...types import RewardRequest, Signal
from ..base import VerifierSpec
from ..constraints.generated import cache_for
from .applies import applies
from .claims import Claim, ClaimSet, extract_claims, order_by_disagreement
from .scoring import factuality_score
from .verdicts import PROMPT_NAME as VERDICT_PROMPT
from .verdicts import Verdict, heuristic_verdict, llm_verdict

MAX_CLAIMS = 64  # claims checked per request; the rest are counted as unchecked
CONCURRENCY = 8  # retrieval queries in flight at once
SUMMARY_CITES = 2


def _open_retrievers(context: RewardContext) -> list[Retriever]:
    """The retrievers of `context.retrieval.sources`, from the retrieval package (imported lazily:
    FAISS and sentence-transformers are optional dependencies)."""
    from ...retrieval import open_retrievers

    return list(open_retrievers(context))


async def gather_evidence(
    claims: list[Claim], retrievers: list[Retriever], k: int
) -> tuple[dict[str, list[Passage]], dict[str, dict[str, Any]]]:
    """Passages per claim id (all sources, deduplicated by passage id, in source order) and per-source stats."""
    limit = asyncio.Semaphore(CONCURRENCY)
    memo: dict[tuple[int, str], asyncio.Task[RetrievalResult]] = {}

    async def search(r_index: int, retriever: Retriever, query: str) -> RetrievalResult:
        async with limit:
            try:
                return await retriever.search(query, k=k)
            except Exception as exc:  # a retriever must not raise; if one does, it is that source's failure
                return RetrievalResult(query=query, source=retriever.source, status="failed",
                                       error=f"{type(exc).__name__}: {exc}")

    for claim in claims:
        for r_index, retriever in enumerate(retrievers):
            key = (r_index, claim.text)
            if key not in memo:  # one search per (source, query) per request
                memo[key] = asyncio.ensure_future(search(r_index, retriever, claim.text))
    results = dict(zip(memo, await asyncio.gather(*memo.values())))

    stats: dict[str, dict[str, Any]] = {}
    for (r_index, _), result in results.items():
        name = retrievers[r_index].source
        entry = stats.setdefault(name, {"queries": 0, "ok": 0, "cached": 0, "passages": 0, "errors": []})
        entry["queries"] += 1
        entry["ok"] += result.status == "ok"
        entry["cached"] += bool(result.cached)
        entry["passages"] += len(result.passages)
        if result.status != "ok" and result.error and result.error not in entry["errors"]:
            entry["errors"].append(result.error[:300])
    for entry in stats.values():
        entry["status"] = "ok" if entry["ok"] else "unavailable"

    passages: dict[str, list[Passage]] = {}
    for claim in claims:
        seen: dict[str, Passage] = {}
        for r_index in range(len(retrievers)):
            result = results[(r_index, claim.text)]
            if result.status == "ok":
                for p in result.passages:
                    seen.setdefault(p.id, p)
        passages[claim.id] = list(seen.values())
    return passages, stats


async def judge_claims(
    claims: list[Claim], passages: dict[str, list[Passage]], context: RewardContext
) -> tuple[dict[str, Verdict], int]:
    """A verdict per claim: the `claims` model's when configured, else the heuristic's."""
    spec = context.model_for("claims")
    if spec is None:
        # Pure Python over a handful of passages per claim; off the event loop for a serving process.
        verdicts = await asyncio.to_thread(lambda: [heuristic_verdict(c, passages[c.id]) for c in claims])
        return {v.claim_id: v for v in verdicts}, 0
    cache = cache_for(context)
    answers = await asyncio.gather(*(llm_verdict(c, passages[c.id], spec, cache) for c in claims))
    return {v.claim_id: v for v, _ in answers}, sum(calls for _, calls in answers)


def _summary(counts: Counter[str], cited: list[str], unchecked: int) -> str:
    if not sum(counts.values()):
        return "no checkable claim" + (f" ({unchecked} unchecked)" if unchecked else "")
    parts = [f"{counts[label]} {name}" for label, name in
             (("supported", "supported"), ("refuted", "refuted"), ("not_enough_evidence", "unverified"))
             if counts[label]]
    text = ", ".join(parts)
    if unchecked:
        text += f", {unchecked} unchecked"
    if cited:
        text += f" ({', '.join(cited[:SUMMARY_CITES])})"
    return text


def build_evidence(
    claim_set: ClaimSet, checked: list[Claim], verdicts: dict[str, Verdict], n: int
) -> tuple[list[float | None], dict[str, Any]]:
    """Per-response scores and the bounded evidence: each claim once, responses list claim ids."""
    scores: list[float | None] = []
    per_response: list[dict[str, Any]] = []
    summaries: list[str] = []
    for i in range(n):
        ids = claim_set.per_response[i]
        labels = [verdicts[cid].label for cid in ids if cid in verdicts]
        unchecked = sum(cid not in verdicts for cid in ids)
        counts = Counter(labels)
        score = factuality_score(labels)
        scores.append(score)
        # Refuting passages are the most useful to show, then supporting ones.
        cited = [c.id for label in ("refuted", "supported") for cid in ids
                 if cid in verdicts and verdicts[cid].label == label for c in verdicts[cid].citations]
        per_response.append({
            "score": score,
            "counts": {"supported": counts["supported"], "refuted": counts["refuted"],
                       "not_enough_evidence": counts["not_enough_evidence"], "unchecked": unchecked},
            "claims": [{"id": cid, "label": verdicts[cid].label,
                        "citations": [c.id for c in verdicts[cid].citations]} if cid in verdicts
                       else {"id": cid, "label": "unchecked"} for cid in ids],
        })
        summaries.append(_summary(counts, list(dict.fromkeys(cited)), unchecked))
    claims = {c.id: {"text": c.text[:300], "responses": c.responses,
                     **verdicts[c.id].model_dump(exclude={"claim_id"}, exclude_none=True)} for c in checked}
    return scores, {"per_response": per_response, "claims": claims, "summaries": summaries}


async def check_factuality(request: RewardRequest, context: RewardContext) -> Signal:
    """Claims of all responses -> evidence -> verdicts -> one score per response."""
    n = len(request.responses)
    cache = cache_for(context) if context.model_for("claims") else None
    claim_set = await extract_claims(request.user_prompt, request.responses, context.model_for("claims"), cache)
    base: dict[str, Any] = {"extraction": claim_set.evidence()}
    versions = {"claims_extract": claim_set.prompt_version} if claim_set.prompt_version else {}
    if not claim_set.claims:
        return Signal(verifier="factuality", status="skipped", error="no checkable factual claim in any response",
                      evidence=base, model_calls=claim_set.model_calls)
    ordered = order_by_disagreement(claim_set.claims, n)
    checked = ordered[:MAX_CLAIMS]
    try:
        retrievers = _open_retrievers(context)
    except ImportError as exc:
        return Signal(verifier="factuality", status="skipped", model_calls=claim_set.model_calls, evidence=base,
                      error=f"no evidence source: the retrieval backends are not installed ({exc}); "
                            "install the 'retrieval' extra")
    if not retrievers:
        return Signal(verifier="factuality", status="skipped", error="no evidence source configured (retrieval.sources)",
                      evidence=base, model_calls=claim_set.model_calls)
    passages, stats = await gather_evidence(checked, retrievers, context.retrieval.k)
    base["sources"] = stats
    if not any(s["ok"] for s in stats.values()):
        reasons = "; ".join(f"{name}: {', '.join(s['errors']) or 'no answer'}" for name, s in stats.items())
        return Signal(verifier="factuality", status="skipped", error=f"no evidence source answered ({reasons})",
                      evidence=base, model_calls=claim_set.model_calls)
    verdicts, verdict_calls = await judge_claims(checked, passages, context)
    scores, evidence = build_evidence(claim_set, checked, verdicts, n)
    if context.model_for("claims"):
        versions["claim_verdict"] = load_prompt(VERDICT_PROMPT).version
    evidence.update(base)
    evidence["checked"] = len(checked)
    evidence["unchecked"] = len(claim_set.claims) - len(checked)
    evidence["verdict_method"] = "llm" if context.model_for("claims") else "heuristic"
    evidence["scoring"] = "(supported + 0.5 * unverified) / (supported + unverified + 2 * refuted); None without claims"
    if versions:
        evidence["prompt_versions"] = versions
    return Signal(verifier="factuality", status="ok", scores=scores, evidence=evidence,
                  model_calls=claim_set.model_calls + verdict_calls)


VERIFIER = VerifierSpec(
    id="factuality",
    description=(
        "Checks the factual claims of each response (names, dates, numbers, definitions) against "
        "retrieved evidence (a local FAISS index, web search, or the model's own knowledge) and scores "
        "supported claims up and refuted ones down. Choose it for prompts that ask for facts; not for "
        "creative writing or rewriting/formatting tasks."
    ),
    node="check_factuality",
    run=check_factuality,
    applies=applies,
    default_weight=1.0,
    hard=False,
)
