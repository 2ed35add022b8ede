"""``notesqa kb list|create|delete``: the knowledge bases, as ``/api/kbs`` manages them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli_common import ConfigOpt, cli_settings, out, run_body

kb_app = typer.Typer(
    no_args_is_help=True,
    help="Manage knowledge bases: each is an index with its own documents folder.",
)


@kb_app.command("list")
def list_kbs(config: ConfigOpt = None) -> None:
    """Every knowledge base, its folder and what its index holds."""

    def body() -> None:
        from app.library import Library

        library = Library(cli_settings(config))
        for name in library.names():
            info = library.info(name)
            state = (
                f"{info.documents} documents, {info.chunks} chunks, built {info.built_at}"
                if info.indexed
                else "not built yet"
            )
            folder = info.docs_dir or "(built from paths given to `notesqa build`)"
            out.print(f"{name}\t{folder}\t{state}", highlight=False, markup=False)

    run_body(body)


@kb_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="letters, digits, '_' or '-'")],
    docs: Annotated[
        Path | None, typer.Option("--docs", help="its documents folder (default docs_dir/NAME)")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Create an empty knowledge base: add files to its folder, then build it."""

    def body() -> None:
        from app.library import Library

        info = Library(cli_settings(config)).create(name, docs_dir=docs)
        out.print(
            f"knowledge base {info.name}: put documents in {info.docs_dir}, then run "
            f"`notesqa build --index {info.name}`",
            highlight=False,
            markup=False,
        )

    run_body(body)


@kb_app.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="the knowledge base")],
    purge: Annotated[
        bool,
        typer.Option("--purge", help="also delete its documents folder (when notesqa made it)"),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
    config: ConfigOpt = None,
) -> None:
    """Delete a knowledge base's index (its documents stay unless --purge)."""

    def body() -> None:
        from app.library import Library
        from ingest.discover import LEFT_OUT

        library = Library(cli_settings(config))
        library.check_deletable(name)  # before asking, not after a "y"
        if not yes:
            typer.confirm(f"delete knowledge base {name!r}?", abort=True)
        done = library.delete(name, purge_documents=purge)
        line = f"deleted knowledge base {name}"
        if done.folder is not None and not done.documents_removed:
            line += f"; its documents stay in {done.folder}"
        if done.purge_refused:
            line += " (--purge removes only a folder notesqa made, and this one was there)"
        if done.left_out_of_default:
            line += f", left out of the default one while {LEFT_OUT} is there"
        out.print(line, highlight=False, markup=False)

    run_body(body)


@kb_app.command("feedback")
def feedback(
    name: Annotated[str, typer.Argument(help="the knowledge base")],
    rating: Annotated[
        str | None, typer.Option("--rating", help="only 'up' or only 'down' (default: both)")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write here (default: standard output)")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """The page's thumbs up/down on NAME's answers as evaluation items (JSONL, the format
    of `notesqa eval`): complete the 'review' ones, then evaluate on them."""

    def body() -> None:
        import sys

        from app.feedback_export import as_jsonl, eval_items
        from app.library import Library
        from ingest.errors import InputError

        if rating not in (None, "up", "down"):
            raise InputError(f"--rating must be up or down, not {rating!r}")
        items = list(eval_items(Library(cli_settings(config)).chats(name).rated(), rating=rating))
        if output is None:
            sys.stdout.write(as_jsonl(items))
        else:
            output.write_text(as_jsonl(items), encoding="utf-8")
            out.print(f"{len(items)} items written to {output}", highlight=False, markup=False)

    run_body(body)
