"""``notesqa models fetch|check``: the local model files, and whether this CPU runs them."""

from __future__ import annotations

import typer

from app.cli_common import ConfigOpt, cli_settings, err, out, run_body

models_app = typer.Typer(no_args_is_help=True, help="Manage the local model files.")


@models_app.command("fetch")
def models_fetch(config: ConfigOpt = None) -> None:
    """Download and verify the default GGUF model into models_dir (skipped when present)."""

    def body() -> None:
        from app.models_fetch import fetch_default_model

        settings = cli_settings(config)
        path = fetch_default_model(settings.models_dir, progress=lambda m: err.print(m))
        out.print(f"model ready: {path}")

    run_body(body)


@models_app.command("check")
def models_check(config: ConfigOpt = None) -> None:
    """Run the configured model once in a worker process on a long prompt.

    Catches a llama.cpp build this CPU cannot run (it dies by SIGILL at the first long
    prompt): the error line names the signal, the CPU flags and the rebuild command.
    """

    def body() -> None:
        from app.llm import LOCAL_BACKENDS
        from app.llm.selfcheck import check_model

        settings = cli_settings(config)
        if settings.llm.backend not in LOCAL_BACKENDS:
            out.print(f"llm.backend is {settings.llm.backend}: no local model to check")
            return
        out.print(check_model(settings.llm).summary(), highlight=False)

    run_body(body)
