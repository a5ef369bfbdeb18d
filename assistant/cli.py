"""The `assistant` command line (typer + rich)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .config import get_settings

app = typer.Typer(
    help="Innovative public procurement assistant: sync documents, search, ask, evaluate.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)
out = Console()


def _store():
    from .store import Store, StoreError

    try:
        return Store(get_settings())
    except StoreError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2)


def _fail(message: str, code: int = 2):
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(code)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(None, help="Files or folders (default: the corpus folder)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Drop the collection and embed everything afresh."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only print what would change."),
    wait: float = typer.Option(0.0, "--wait", help="Seconds to wait for another ingest to finish."),
):
    """Sync documents into the store (unchanged files are skipped)."""
    from .store import StoreError
    from .sync import SyncBusy, plan

    settings = get_settings()
    paths = paths or [settings.corpus_dir]
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}")
    try:
        store = _store()
        if dry_run:
            _print_plan(plan(store, paths, settings.corpus_dir))
            return
        if rebuild:
            store.reset()
        report = run_sync(store, settings, paths, wait)
    except SyncBusy as exc:
        _fail(str(exc), 3)
    except StoreError as exc:
        _fail(str(exc))
    print_report(report)
    if report.failed:
        raise typer.Exit(1)


def run_sync(store, settings, paths=None, wait: float = 0.0):
    """Sync with a rich progress bar per file and per chunk batch."""
    from . import sync as syncing

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        files = bar.add_task("files", total=None)
        chunks = bar.add_task("chunks", total=None, visible=False)

        def on_plan(planned):
            bar.update(files, total=len(planned))

        def on_file(item, index, total):
            bar.update(files, completed=index - 1, description=f"{item.action}: {item.source[-50:]}")
            bar.update(chunks, completed=0, total=None, visible=False)

        def on_chunks(source, done, total):
            bar.update(chunks, completed=done, total=total, visible=True)

        def on_result(result):
            bar.advance(files)

        return syncing.sync(
            store, settings, paths,
            syncing.Progress(on_plan, on_file, on_chunks, on_result),
            wait=wait,
        )


def _print_plan(planned) -> None:
    table = Table(title="Plan (dry run: nothing written)")
    table.add_column("action")
    table.add_column("source")
    for item in planned:
        table.add_row(item.action, item.source)
    out.print(table)


def print_report(report) -> None:
    if report.repaired:
        console.print(f"[yellow]Repaired after an interrupted ingest: {', '.join(report.repaired)}[/yellow]")
    table = Table(title="Ingest")
    for col in ("status", "source", "chunks", "reason"):
        table.add_column(col)
    colours = {"failed": "red", "added": "green", "updated": "cyan", "removed": "magenta"}
    for r in report.results:
        if r.status == "unchanged" and len(report.results) > 40:
            continue
        reason = r.reason or "; ".join(r.warnings)
        table.add_row(f"[{colours.get(r.status, 'white')}]{r.status}[/]", r.source, str(r.chunks), reason)
    out.print(table)
    counts = {s: report.count(s) for s in ("added", "updated", "unchanged", "removed", "failed")}
    chunks = sum(r.chunks for r in report.results if r.status != "failed")
    out.print(", ".join(f"{n} {s}" for s, n in counts.items()) + f"; {chunks} chunks")


@app.command()
def docs(as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """List the documents in the store."""
    records = [r for r in _store().documents().values() if r.content_hash]
    records.sort(key=lambda r: r.source)
    if as_json:
        out.print_json(json.dumps([r.metadata() for r in records], ensure_ascii=False))
        return
    table = Table(title=f"{len(records)} documents")
    for col in ("source", "title", "language", "chunks", "content hash", "ingested at"):
        table.add_column(col)
    for r in records:
        table.add_row(r.source, r.title[:60], r.language, str(r.chunks), r.content_hash[:12], r.ingested_at)
    out.print(table)


@app.command()
def remove(source: str = typer.Argument(..., help="The document's source, as `assistant docs` shows it.")):
    """Remove one document's chunks from the store (the file is left alone)."""
    if not _store().remove_document(source):
        _fail(f"no document with source '{source}' (see `assistant docs`)", 1)
    out.print(f"removed {source}")


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
