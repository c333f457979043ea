"""build_graph(): the reward state machine's wiring and node policies, nothing else.

    plan_verifiers --Send--> <one node per registered verifier> --> judge_rewards

The planner's choice fans out with `Send`, so the chosen verifiers run in parallel, each
once over all N responses, under the policy `/v1/verify` shares (`verifiers/policy.py`): a
verifier that raises or exceeds its time limit becomes a `failed` Signal (anything raised
around it is caught by the node's LangGraph error handler, by the same rule); the judger then
renormalises over the signals present.
"""

from __future__ import annotations

import asyncio
import operator
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

# RunnableCallable is how LangGraph itself builds nodes with both a sync and an async body
# (its prebuilt agents use it); it inspects the signature once, where RunnableLambda does it
# on every call. It is internal, hence the langgraph<1.3 pin.
from langgraph._internal._runnable import RunnableCallable
from langgraph.errors import NodeError
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import get_runtime
from langgraph.types import Command, Send
from typing_extensions import TypedDict

from .context import RewardContext, layer_context
from .errors import ConfigError
from .judger import JUDGERS, best_index
from .planner import make_plan
from .types import Plan, RewardRequest, RewardResult, Signal
from .verifiers.base import VerifierSpec, all_verifiers
from .verifiers.policy import failed_signal, run_verifier

PLAN_NODE = "plan_verifiers"
JUDGE_NODE = "judge_rewards"


class RewardInput(TypedDict):
    """Graph input: the request (a RewardRequest or its JSON form)."""

    request: RewardRequest | dict[str, Any]


class RewardOutput(TypedDict):
    """Graph output: the result."""

    result: RewardResult


class RewardState(TypedDict, total=False):
    """Everything the nodes share during one run."""

    request: RewardRequest | dict[str, Any]
    plan: Plan
    signals: Annotated[list[Signal], operator.add]
    result: RewardResult
    started_at: float


class VerifierTask(TypedDict):
    """What `Send` hands one verifier node."""

    request: RewardRequest
    verifier: str


def _context() -> RewardContext:
    """The environment/config-file context with the fields the run's context set laid over it
    (a run passing `RewardContext(judger="gated")` keeps `REWARD_AGENT_*` for everything else)."""
    return layer_context(get_runtime(RewardContext).context)


_thread_loops = threading.local()


def _run_on_thread_loop(coro: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """Run a coroutine to completion on this worker thread's own, reused event loop.

    `asyncio.run` would build and tear down a loop per node call (about 1 ms each, most of
    the graph's overhead on the sync path); LangGraph's worker threads are pooled, so one
    loop per thread is reused across calls.
    """
    loop = getattr(_thread_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = _thread_loops.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coro)


def _dual(afunc: Callable[[Any], Awaitable[dict[str, Any]]], name: str) -> RunnableCallable:
    """A node usable from both `invoke` and `ainvoke`.

    Nodes are async (model calls must not block the event loop, and `asyncio.timeout`
    needs a loop). For the sync API the same coroutine runs on the worker thread's loop.
    """

    def func(state: Any) -> dict[str, Any]:
        return _run_on_thread_loop(afunc(state))

    return RunnableCallable(func, afunc, name=name)


async def plan_verifiers(state: RewardState) -> dict[str, Any]:
    """Validate the request and decide which verifiers run."""
    request = RewardRequest.model_validate(state["request"])
    plan = await make_plan(request, _context())
    return {"request": request, "plan": plan, "started_at": time.perf_counter()}


def make_router(nodes: dict[str, str]) -> Callable[[RewardState], list[Send] | str]:
    """Route the plan to its verifier nodes (in parallel), or straight to the judge."""

    def route_to_verifiers(state: RewardState) -> list[Send] | str:
        plan = state["plan"]
        missing = [v for v in plan.verifiers if v not in nodes]
        if missing:
            raise ConfigError(
                f"verifier(s) {missing} were registered after this graph was built; call build_graph() again"
            )
        if not plan.verifiers:
            return JUDGE_NODE
        return [Send(nodes[v], VerifierTask(request=state["request"], verifier=v)) for v in plan.verifiers]

    return route_to_verifiers


def make_verifier_node(spec: VerifierSpec) -> Callable[[VerifierTask], Awaitable[dict[str, Any]]]:
    """Run one verifier over all responses under the shared policy (`verifiers.policy`)."""

    async def run_verifier_node(task: VerifierTask) -> dict[str, Any]:
        return {"signals": [await run_verifier(spec, task["request"], _context())]}

    return run_verifier_node


def verifier_failed(task: VerifierTask, error: NodeError) -> Command:
    """LangGraph error handler: a verifier node that raised anyway becomes a failed Signal.

    `run_verifier` already turns a verifier's own failures into a failed Signal; this catches
    what happens around it (the run's context, say), by the same rule. The handler replaces the
    failed node, whose edge to the judge it does not inherit, so it routes there itself (when
    other verifiers succeeded the judge still runs once).
    """
    failed = failed_signal(task["verifier"], error.error, _context().verifier_timeout_s)
    return Command(goto=JUDGE_NODE, update={"signals": [failed]})


async def judge_rewards(state: RewardState) -> dict[str, Any]:
    """Merge the signals with the configured judger into the result."""
    context = _context()
    request: RewardRequest = state["request"]  # type: ignore[assignment]
    plan = state["plan"]
    signals = {s.verifier: s for s in state.get("signals", [])}
    for vid in plan.verifiers:  # a planned verifier that left no signal is a failure, not silence
        signals.setdefault(vid, Signal(verifier=vid, status="failed", error="verifier produced no signal"))
    judgement = await JUDGERS.get(context.judger)(request, signals, context)
    prompt_versions = dict(judgement.prompt_versions)
    for signal in signals.values():  # verifiers that call models name their prompts in the evidence
        prompt_versions.update(signal.evidence.get("prompt_versions") or {})
    if plan.prompt_version:
        prompt_versions["planner"] = plan.prompt_version
    result = RewardResult(
        id=request.id,
        rewards=judgement.rewards,
        best_index=best_index(judgement.rewards),
        plan=plan,
        signals=signals,
        judger=judgement.judger,
        weights=judgement.weights,
        notes=judgement.notes,
        prompt_versions=prompt_versions,
        model_calls=plan.model_calls + judgement.model_calls + sum(s.model_calls for s in signals.values()),
        judger_model_calls=judgement.model_calls,
        latency_s=time.perf_counter() - state.get("started_at", time.perf_counter()),
    )
    return {"result": result}


def build_graph(verifiers: list[VerifierSpec] | None = None, context_schema: type[RewardContext] = RewardContext):
    """Compile the reward graph over `verifiers` (default: every registered verifier).

    `context_schema` is what a run's context dict is validated into: RewardContext, or a
    subclass with other defaults (the Studio entry in graphs/reward.py reads the environment)."""
    specs = verifiers if verifiers is not None else all_verifiers()
    builder = StateGraph(
        RewardState, context_schema=context_schema, input_schema=RewardInput, output_schema=RewardOutput
    )
    builder.add_node(PLAN_NODE, _dual(plan_verifiers, PLAN_NODE))
    nodes = {spec.id: spec.node for spec in specs}
    for spec in specs:
        builder.add_node(
            spec.node,
            _dual(make_verifier_node(spec), spec.node),
            input_schema=VerifierTask,
            error_handler=verifier_failed,
            metadata={"verifier": spec.id, "description": spec.description},
        )
        builder.add_edge(spec.node, JUDGE_NODE)
    builder.add_node(JUDGE_NODE, _dual(judge_rewards, JUDGE_NODE))
    builder.add_edge(START, PLAN_NODE)
    builder.add_conditional_edges(PLAN_NODE, make_router(nodes), [*nodes.values(), JUDGE_NODE])
    builder.add_edge(JUDGE_NODE, END)
    return builder.compile(name="reward_agent")
