"""What every `reward-agent` command module shares: the consoles, the one-line error exit, the
`--config`/`--profile` options and loading a context from them.

Its own module so that `cli` (the app) and the command modules it mounts (`cli_bench`) both import
it, and neither imports the other back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from .context import RewardContext, load_context
from .errors import RewardAgentError
from .redaction import redact_text

__all__ = ["ConfigOpt", "ProfileOpt", "console", "context_or_fail", "err_console", "fail"]

console = Console()
err_console = Console(stderr=True)

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="YAML/JSON file of context settings.")]
ProfileOpt = Annotated[
    Optional[str],
    typer.Option("--profile", help="Settings profile: default, or agentic (embedded Qwen2.5-Coder-1.5B as extractor "
                 "and coder). Default: $REWARD_AGENT_PROFILE, else 'default'."),
]


def fail(message: str) -> None:
    """Print `message` as one red line on stderr (secrets redacted) and exit with code 2."""
    err_console.print(f"[bold red]error:[/] {redact_text(message)}", soft_wrap=True)  # one line, however narrow
    raise typer.Exit(code=2)


def context_or_fail(config: Path | None, **overrides: Any) -> RewardContext:
    """`load_context(config, **overrides)`, or a one-line error and exit 2 on bad settings."""
    try:
        return load_context(config, **overrides)
    except RewardAgentError as exc:
        fail(str(exc))
        raise  # unreachable: fail exits
