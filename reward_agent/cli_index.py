"""`reward-agent index ...`: build, extend and inspect the local FAISS evidence index.

    reward-agent index build --corpus docs.jsonl --out ./kb [--model NAME] [--append] [--batch-size N]
    reward-agent index info ./kb [--json]

Point the factuality verifier at the result with `retrieval: {index: ./kb}` in a config file.
Errors (missing or empty corpus, a bad JSONL line, an append with another model) are printed as
one message, exit code 2.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from .errors import RewardAgentError

index_app = typer.Typer(help="Build and inspect the local FAISS index of evidence passages.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=2)


@index_app.command("build")
def build(
    corpus: Annotated[Path, typer.Option("--corpus", help="JSONL file (text, id, title, url per line), .txt/.md file, or a folder of them.")],
    out: Annotated[Path, typer.Option("--out", help="Index directory to create (or extend with --append).")],
    model: Annotated[Optional[str], typer.Option("--model", help="sentence-transformers model name or folder; default: the bundled all-MiniLM-L6-v2.")] = None,
    append: Annotated[bool, typer.Option("--append", help="Add documents not yet in the index (by id) without re-embedding the others.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an index already in --out.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Passages per embedding batch.")] = 64,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar while embedding.")] = True,
) -> None:
    """Embed a corpus into a FAISS index (exact for small corpora, HNSW for large ones)."""
    from .retrieval.index_build import build_index

    if append and overwrite:
        _fail("--append and --overwrite contradict each other; pass one of them")
    try:
        report = build_index(corpus, out, model=model, batch_size=batch_size, append=append, progress=progress,
                             overwrite=overwrite)
    except RewardAgentError as exc:
        _fail(str(exc))
        return
    meta = report.meta
    if report.added_passages == 0:
        console.print(f"nothing new: all {report.skipped_docs} document(s) of the corpus are already in {out} "
                      f"({meta.count} passages)")
        return
    console.print(
        f"indexed {report.added_passages} passages from {report.added_docs} document(s)"
        + (f" (skipped {report.skipped_docs} already indexed)" if report.skipped_docs else "")
        + f" in {report.seconds:.1f}s ({report.passages_per_s:.0f} passages/s embedding); "
        f"{out} now holds {meta.count} passages, index {meta.index_type}"
    )


@index_app.command("info")
def info(
    index_dir: Annotated[Path, typer.Argument(help="An index directory made by `index build`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print meta.json as JSON.")] = False,
) -> None:
    """Show what an index holds: model, size, index type, fingerprint, build times."""
    from .retrieval.index_build import read_meta

    try:
        meta = read_meta(index_dir)
    except RewardAgentError as exc:
        _fail(str(exc))
        return
    if as_json:
        console.print_json(json.dumps(meta.model_dump(mode="json")))
        return
    size = sum(p.stat().st_size for p in Path(index_dir).rglob("*") if p.is_file())
    table = Table(title=f"index {index_dir}", show_header=False)
    rows = [
        ("model", meta.model),
        ("passages", f"{meta.count:,}"),
        ("documents", f"{meta.doc_count:,}"),
        ("dimension", str(meta.dim)),
        ("index type", meta.index_type + (f" (M={meta.hnsw['M']})" if meta.hnsw else "")),
        ("chunking", ", ".join(f"{k}={v}" for k, v in meta.chunking.items())),
        ("shards", str(len(meta.shards))),
        ("fingerprint", meta.fingerprint[:16]),
        ("built", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(meta.built_at))),
        ("updated", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(meta.updated_at))),
        ("size on disk", f"{size / 1e6:.1f} MB"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
