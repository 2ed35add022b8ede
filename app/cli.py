"""The ``notesqa`` command: search, info, serve, ask; ``build`` (app.cli_build), ``kb``
(app.cli_kb), ``models`` (app.cli_models) and ``eval`` (app.cli_eval) live beside it.

Each command builds the settings once, calls the same plain functions the HTTP routes
call, and turns a ``NotesQAError`` into one ``error:`` line and a non-zero exit.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape

from app.cli_build import build_cmd
from app.cli_common import (
    ConfigOpt,
    IndexOpt,
    cli_settings,
    err,
    out,
    run_body,
    with_translation,
)
from app.cli_eval import evaluate_cmd
from app.cli_kb import kb_app
from app.cli_models import models_app
from ingest.errors import ConfigError

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Ask questions over your notes, with cited answers from a local model.",
)
app.add_typer(models_app, name="models")
app.add_typer(kb_app, name="kb")
app.command("build")(build_cmd)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="the question or keywords")],
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, max=100)] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="only these files (name or glob)")
    ] = None,
    translate: Annotated[
        bool | None,
        typer.Option(
            "--translate/--no-translate",
            help="also search a question in another language than the notes in translation "
            "(default: retrieval.translate_query; loads the model only when needed)",
        ),
    ] = None,
    explain: Annotated[
        bool,
        typer.Option("--explain", help="each passage's scores, and why it would be refused"),
    ] = False,
    index: IndexOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Retrieve the top-k passages for a question, as /api/search and answering do."""

    def body() -> None:
        from app.explain import explain_search
        from app.llm.base import Closeable, Generator
        from app.wiring import generator_from, retriever_from, search_from

        settings = with_translation(cli_settings(config, index), translate)
        made: list[Generator] = []

        def generator() -> Generator:
            if not made:
                made.append(generator_from(settings))
            return made[0]

        try:
            retriever = retriever_from(settings)
            search = search_from(settings, retriever, generator)
            result = search(query, top_k=k, sources=source or None)
        finally:
            for g in made:
                if isinstance(g, Closeable):
                    g.close()
        hits = result.hits
        explained = (
            explain_search(query, result, index=retriever.index, settings=settings)
            if explain
            else None
        )
        if as_json:
            data: dict[str, Any] = {"hits": [h.as_dict() | {"scores": h.scores} for h in hits]}
            if explained is not None:
                data["explain"] = explained.as_dict()
            out.print_json(json.dumps(data, ensure_ascii=False))
            return
        if not hits:
            out.print("no passages found")
        for h in hits:
            c = h.chunk
            page = f" p.{c.page}" if c.page is not None else ""
            snippet = " ".join(c.text.split())[:160]
            out.print(
                f"[bold]{h.rank}.[/bold] {h.score:.3f}  [cyan]{escape(c.source)}{page}[/cyan]"
                f"  {escape(c.heading)}\n    {escape(snippet)}",
                highlight=False,
            )
            if explained is not None:
                figures = ", ".join(f"{name} {v:.3f}" for name, v in h.scores.items())
                out.print(f"    relevance {h.relevance:.3f}; {figures}", highlight=False)
        if explained is not None:
            line = f"\n{explained.decision}: {explained.reason}"
            out.print(line, highlight=False, markup=False)
            for step in explained.steps:
                mark = {True: "ok", False: "no", None: "--"}[step.passed]
                line = f"  [{mark}] {step.stage}: {step.detail}"
                out.print(line, highlight=False, markup=False)

    run_body(body)


def _where(vector_store: dict[str, str]) -> str:
    if vector_store.get("backend") != "milvus":
        return "FAISS file"
    return f"Milvus collection {vector_store['collection']} at {vector_store['uri']}"


@app.command()
def info(index: IndexOpt = None, config: ConfigOpt = None) -> None:
    """What the index holds."""

    def body() -> None:
        from app.wiring import store_from

        settings = cli_settings(config, index)
        store = store_from(settings)
        path, problems = store.serving()
        for line in problems:
            err.print(f"[yellow]warning:[/yellow] {escape(line)}", highlight=False)
        m = store.read_manifest()
        out.print(
            f"index:      {store.name} ({path})\n"
            f"model:      {m.embedding_model} (dimension {m.dim})\n"
            f"chunking:   size {m.chunking.get('size')}, overlap {m.chunking.get('overlap')}\n"
            f"documents:  {len(m.documents)}\n"
            f"chunks:     {m.chunks} (vectors: {m.vector_index}, {_where(m.vector_store)})\n"
            f"built at:   {m.built_at} ({m.build_seconds:.1f} s)",
            highlight=False,
        )
        for rec in sorted(m.documents.values(), key=lambda r: r.source):
            out.print(f"  {rec.source}: {rec.chunks} chunks", highlight=False)
        if problems:  # something is wrong, even though a version serves
            raise typer.Exit(1)

    run_body(body)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default: server.host")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="default: server.port")] = None,
    require_key: Annotated[
        bool,
        typer.Option(
            "--require-key", help="refuse to serve a non-loopback address without an API key"
        ),
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Serve the HTTP API and the web page."""

    def body() -> None:
        from app.api import create_app
        from app.api.access import api_keys, is_loopback
        from app.api.main import GracefulServer, check_listen, server_config

        settings = cli_settings(config)
        server = settings.server.model_copy(
            update={
                "host": host or settings.server.host,
                "port": port or settings.server.port,
                "require_key": require_key or settings.server.require_key,
            }
        )
        settings = settings.model_copy(update={"server": server})
        check_listen(server)  # before the models load, and as one line
        if not is_loopback(server.host) and not api_keys(settings):
            line = (
                f"serving on {server.host} without an API key: anyone who can reach this "
                "address can read the knowledge bases (set NOTESQA_API_KEY)"
            )
            if server.require_key:
                raise ConfigError(f"refusing to start: {line}")
            err.print(f"[yellow]warning:[/yellow] {line}", highlight=False)
        # notesqa's own lines (model worker restarts, index switches) beside uvicorn's;
        # request lines are notesqa's too (uvicorn's access log is off), pure JSON if asked.
        logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
        if server.log_format == "json":
            requests = logging.getLogger("notesqa.requests")
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(message)s"))
            requests.addHandler(handler)
            requests.propagate = False
        GracefulServer(server_config(create_app(settings), server, log_level="info")).run()

    run_body(body)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="the question")],
    k: Annotated[int | None, typer.Option("-k", "--top-k", min=1, max=20)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole reply as JSON")] = False,
    index: IndexOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Answer a question from the notes, streaming, then list the cited sources."""

    def body() -> None:
        from app.answer import Answer
        from app.service import KnowledgeBase

        settings = cli_settings(config, index)
        answerer = KnowledgeBase(settings).load().answerer
        final: Answer | None = None
        pieces: list[str] = []
        for event in answerer.stream(question, top_k=k):
            if isinstance(event, Answer):
                final = event
            elif isinstance(event, str) and not as_json:
                out.print(event, end="", highlight=False, markup=False)
                pieces.append(event)
        streamed = "".join(pieces).strip()
        assert final is not None
        if as_json:
            out.print_json(json.dumps(final.as_dict(), ensure_ascii=False))
            return
        out.print()
        if final.refused:
            if streamed:  # the grounding check or a decline overruled what was streamed
                out.print("[dim](withdrawn: not supported by the notes)[/dim]")
            out.print(f"[yellow]{final.answer}[/yellow]", highlight=False)
            if final.refusal is not None:
                why = final.refusal
                out.print(f"[dim]({why.stage}: {escape(why.reason)})[/dim]", highlight=False)
        elif streamed and final.answer != streamed:
            # unsupported sentences were removed, or citation markers fixed
            out.print("[dim](checked against the notes:)[/dim]")
            out.print(final.answer, highlight=False, markup=False)
        if final.flagged:
            out.print("[dim](some of this may not be supported by the cited passages)[/dim]")
        for src in final.sources:
            page = f" p.{src.page}" if src.page is not None else ""
            out.print(
                f"  [{src.n}] {src.source}{page}  {src.heading}", highlight=False, markup=False
            )
        timings = ", ".join(f"{name} {secs:.2f}s" for name, secs in final.timings.items())
        err.print(f"[dim]{final.model}: {timings}[/dim]", highlight=False)

    run_body(body)


app.command("eval")(evaluate_cmd)


def main() -> None:
    try:
        app()
    except BrokenPipeError:  # `notesqa search ... | head`
        sys.stderr.close()


if __name__ == "__main__":
    main()
