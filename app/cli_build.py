"""``notesqa build``: ingest files and folders into a knowledge base, one bar per stage."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from app.cli_common import ConfigOpt, IndexOpt, cli_settings, err, out, run_body
from ingest.errors import InputError


class _RichProgress:
    """One bar per build stage."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: Any = None

    def start(self, stage: str, total: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=self._progress.tasks[-1].total)
        self._task = self._progress.add_task(stage, total=max(total, 1))
        if total == 0:
            self._progress.update(self._task, completed=1)

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, n)


def build_cmd(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="files and folders (default: docs_dir)")
    ] = None,
    index: IndexOpt = None,
    full: Annotated[bool, typer.Option("--full", help="re-embed everything")] = False,
    config: ConfigOpt = None,
) -> None:
    """Ingest files and folders into the index (incremental: unchanged files are reused)."""

    def body() -> None:
        from app.library import Library
        from app.wiring import embedder_from

        settings = cli_settings(config, index)
        library = Library(settings)
        name = settings.index_name
        if not paths and not library.exists(name):
            raise InputError(
                f"no knowledge base named {name!r}: create it with `notesqa kb create {name}`, "
                "or name the files and folders to build it from"
            )
        # On a small CPU box a build next to a running server cuts its generation speed
        # twenty-fold: build at low priority, and on one thread while a server is up.
        os.nice(10)
        if library.serving_pids() and settings.embedding.threads is None:
            embedding = settings.embedding.model_copy(update={"threads": 1})
            settings = settings.model_copy(update={"embedding": embedding})
            err.print("a server is running on this index: building on one thread")
        embedder = embedder_from(settings)
        with Progress(
            TextColumn("{task.description:>6}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        ) as bar:
            report = library.build(
                name,
                embedder=embedder,
                paths=paths,
                full=full,
                progress=_RichProgress(bar),
                settings=settings,
            )
        rate = report.embedded_chunks / report.seconds if report.seconds else 0.0
        cached = (
            f", {report.cached_chunks} from the embedding cache" if report.cached_chunks else ""
        )
        out.print(
            f"index [bold]{report.index}[/bold] ({report.version})\n"
            f"  documents: {len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.removed)} removed, "
            f"{len(report.failed)} failed\n"
            f"  chunks: {report.chunks} in index, {report.embedded_chunks} embedded{cached}\n"
            f"  time: {report.seconds:.1f} s, {rate:.1f} chunks/s",
            highlight=False,
        )
        for note in report.notes:
            out.print(f"  note: {note}", highlight=False)
        for path, reason in report.skipped:
            out.print(f"  skipped {path}: {reason}", highlight=False)
        for path, reason in report.failed:
            out.print(f"  [red]failed[/red] {path}: {reason}", highlight=False)
        if not report.ok:
            raise typer.Exit(1)

    run_body(body)
