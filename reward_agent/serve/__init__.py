"""The HTTP service: `create_app(context, settings)` and `serve(...)` (what `reward-agent serve` runs)."""

from __future__ import annotations

from .settings import ServeSettings

__all__ = ["ServeSettings", "create_app", "serve"]


def create_app(*args, **kwargs):
    """Build the FastAPI app (see `reward_agent.serve.app.create_app`)."""
    from .app import create_app as _create

    return _create(*args, **kwargs)


def serve(host: str = "127.0.0.1", port: int = 8000, context=None, settings: ServeSettings | None = None,
          log_level: str = "info") -> None:
    """Run the app with uvicorn until interrupted (h11 with a header-read timeout: `serve.protocol`)."""
    import uvicorn

    from .protocol import uvicorn_config

    app = create_app(context, settings)
    uvicorn.Server(uvicorn_config(app, host, port, app.state.reward.settings, log_level)).run()
