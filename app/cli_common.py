"""What every ``notesqa`` command shares: the consoles, the settings, one error line."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape

from app.settings import Settings, load_settings
from ingest.errors import NotesQAError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)  # one error, one line, however narrow

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML settings file (default configs/default.yaml)"),
]
IndexOpt = Annotated[
    str | None, typer.Option("--index", help="knowledge base (index) name; default: default")
]

T = TypeVar("T")


def cli_settings(config: Path | None, index: str | None = None) -> Settings:
    from app.library import check_name

    settings = load_settings(config)
    if index is not None:  # "" is a bad name, not the default one
        settings = settings.model_copy(update={"index_name": check_name(index)})
    return settings


def run_body(fn: Callable[[], T]) -> T:
    """Run a command body; domain errors become one line on stderr and exit code 1."""
    try:
        return fn()
    except NotesQAError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort, click.ClickException):
        raise
    except Exception as exc:  # a bug, not bad input: still one line unless debugging
        if os.environ.get("NOTESQA_DEBUG"):
            raise
        if isinstance(exc, OSError) and exc.filename is not None:
            # A path given on the command line that cannot be written or read (a folder
            # given for a file, no permission, a full disk): bad input, said as such.
            line = f"{exc.filename}: {exc.strerror}"
            err.print(f"[red]error:[/red] {escape(line)}", highlight=False)
            raise typer.Exit(1) from None
        err.print(
            f"[red]error:[/red] unexpected {type(exc).__name__}: {exc} "
            "(set NOTESQA_DEBUG=1 for the traceback)",
            highlight=False,
        )
        raise typer.Exit(2) from None


def with_translation(settings: Settings, translate: bool | None) -> Settings:
    if translate is None:
        return settings
    retrieval = settings.retrieval.model_copy(update={"translate_query": translate})
    return settings.model_copy(update={"retrieval": retrieval})
