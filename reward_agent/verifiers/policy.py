"""How one verifier is run: the policy shared by the graph's verifier nodes and `/v1/verify`.

`run_verifier` is the only place that decides what running a verifier means: the context's
time limit, the check that a signal has one score per response, the recorded latency, and the
rule that failures are data (a timeout or an exception becomes a `failed` Signal whose error is
redacted, since signals leave the process in API answers, result files and logs).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from ..redaction import redact_text
from ..types import RewardRequest, Signal
from .base import VerifierSpec

if TYPE_CHECKING:
    from ..context import RewardContext

__all__ = ["failed_signal", "run_verifier"]


def failed_signal(verifier_id: str, exc: BaseException, timeout_s: float) -> Signal:
    """The `failed` Signal for a verifier run that ended in `exc`.

    A `TimeoutError` is reported as the limit it exceeded (`timeout_s`, the context's
    `verifier_timeout_s`); anything else as `"<ExceptionType>: <message>"`, redacted.
    """
    if isinstance(exc, TimeoutError):
        message = f"timed out after {timeout_s:g} s"
    else:
        message = redact_text(f"{type(exc).__name__}: {exc}")
    return Signal(verifier=verifier_id, status="failed", error=message)


def _check_score_count(spec: VerifierSpec, signal: Signal, request: RewardRequest) -> None:
    """A signal with scores has one per response (a `skipped` one has none)."""
    expected = len(request.responses)
    if signal.scores is not None and len(signal.scores) != expected:
        raise ValueError(f"verifier {spec.id!r} returned {len(signal.scores)} scores for {expected} responses")


async def run_verifier(spec: VerifierSpec, request: RewardRequest, context: RewardContext, *,
                       propagate: tuple[type[Exception], ...] = ()) -> Signal:
    """Run `spec` over all responses of `request` under `context.verifier_timeout_s`.

    Returns the verifier's Signal, or a `failed` one (see `failed_signal`) when it raised, timed
    out or returned the wrong number of scores; `latency_s` is set either way. Exceptions of the
    types in `propagate` are raised instead: a caller that answers them itself (the HTTP route
    turns a bad request or configuration into a 422) names them there.
    """
    started = time.perf_counter()
    try:
        async with asyncio.timeout(context.verifier_timeout_s):
            signal = await spec.run(request, context)
        _check_score_count(spec, signal, request)
    except propagate:
        raise
    except Exception as exc:  # a failed verifier is data: the judger renormalises over the rest
        signal = failed_signal(spec.id, exc, context.verifier_timeout_s)
    return signal.model_copy(update={"latency_s": time.perf_counter() - started})
