"""``notesqa eval``: retrieval (and answers) measured on a question set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from app.cli_common import ConfigOpt, IndexOpt, cli_settings, out, run_body, with_translation
from app.settings import Settings


def evaluate_cmd(
    set_file: Annotated[Path, typer.Option("--set", help="JSONL question set")] = Path(
        "bench/dev_qa.jsonl"
    ),
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="hits per question")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print metrics as JSON")] = False,
    results_out: Annotated[
        Path | None, typer.Option("--results-out", help="write one JSON line per question")
    ] = None,
    answers: Annotated[
        bool, typer.Option("--answers", help="also generate answers (keyword hit, refusals)")
    ] = False,
    translate: Annotated[
        bool | None, typer.Option("--translate/--no-translate", help="query translation")
    ] = None,
    index: IndexOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Measure retrieval (and answers) on a question set: recall@k, MRR, refusals."""

    def body() -> None:
        from app.answer import Answer
        from app.conversation import follow_up_queries
        from app.evaluate import EvalItem, evaluate, load_set
        from app.llm.base import Message, Role
        from app.service import KnowledgeBase

        settings = with_translation(cli_settings(config, index), translate)
        items = load_set(set_file)
        # Translation and answers need the generator; plain retrieval evals do not load it.
        needs_llm = answers or settings.retrieval.translate_query
        kb = KnowledgeBase(settings, generator=None if needs_llm else _no_generator())
        loaded = kb.load()

        def history(item: EvalItem) -> list[Message]:
            return [Message(cast(Role, role), content) for role, content in item.history]

        def answer(item: EvalItem) -> Answer:
            return loaded.answerer.ask(item.question, history=history(item))

        def queries(item: EvalItem) -> list[str]:
            return follow_up_queries(item.question, history(item), generator=kb.generator)

        report = evaluate(
            items,
            lambda forms: loaded.search(forms[0], also=forms[1:], top_k=k),
            k=k,
            answer=answer if answers else None,
            queries=queries,
        )
        if results_out is not None:
            with results_out.open("w", encoding="utf-8") as handle:
                for r in report.results:
                    handle.write(json.dumps(r.as_json(), ensure_ascii=False) + "\n")
        if as_json:
            out.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
            return
        _print_report(report, settings)

    run_body(body)


def _no_generator() -> Any:
    from app.llm.extractive import ExtractiveGenerator

    return ExtractiveGenerator()


def _print_report(report: Any, settings: Settings) -> None:
    from rich.table import Table

    table = Table(title=f"{report.overall.n} questions, index {settings.index_name}")
    cols = ["group", "n", "R@1", "R@5", "R@10", "MRR@10", "refused (should)", "refused (wrong)"]
    if report.overall.keyword_hit is not None:
        cols.append("keyword hit")
    if report.overall.accuracy is not None:
        cols.append("accuracy")
    for c in cols:
        table.add_column(c, justify="right" if c != "group" else "left", no_wrap=c == "group")

    def row(name: str, m: Any) -> None:
        cells = [name, str(m.n)]
        if m.answerable:
            cells += [f"{m.r1:.3f}", f"{m.r5:.3f}", f"{m.r10:.3f}", f"{m.mrr10:.3f}"]
        else:
            cells += ["-"] * 4
        cells.append(f"{m.correct_refusals:.2f}" if m.refusal_expected else "-")
        cells.append(f"{m.false_refusals:.2f}" if m.answerable else "-")
        if report.overall.keyword_hit is not None:
            cells.append(f"{m.keyword_hit:.2f}" if m.keyword_hit is not None else "-")
        if report.overall.accuracy is not None:
            cells.append(f"{m.accuracy:.2f}" if m.accuracy is not None else "-")
        table.add_row(*cells)

    row("all", report.overall)
    for name, m in report.by_type.items():
        row(f"type={name}", m)
    for name, m in report.by_lang.items():
        row(f"lang={name}", m)
    # Piped or redirected, rich assumes 80 columns and elides the figures ("0.9…").
    out.print(table, width=None if out.is_terminal else 160)
    stages = report.overall.refused_by
    if stages:
        out.print(
            "refused by stage: " + ", ".join(f"{k} {v}" for k, v in sorted(stages.items())),
            highlight=False,
        )
