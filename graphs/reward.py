"""Entry module for the LangGraph CLI and Studio (see langgraph.json). No logic lives here.

The LangGraph API server hands every run a context (Studio's context panel, or `{}`), so the
graph would never fall back to the environment. `EnvironmentContext` fills what a run leaves
unset from the environment, which includes the `.env` file langgraph.json names:
defaults < REWARD_AGENT_* variables (and $REWARD_AGENT_CONFIG) < the run's own context.
"""

from typing import Any

from pydantic import model_validator

from reward_agent.context import RewardContext, load_context
from reward_agent.graph import build_graph


class EnvironmentContext(RewardContext):
    """RewardContext whose unset fields come from the environment, read when a run starts."""

    @model_validator(mode="before")
    @classmethod
    def _environment_under_run_settings(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {**load_context().model_dump(exclude_unset=True), **data}


graph = build_graph(context_schema=EnvironmentContext)
