"""Entry module for the LangGraph CLI and Studio (see langgraph.json). No logic lives here."""

from reward_agent.graph import build_graph

graph = build_graph()
