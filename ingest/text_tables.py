"""Tables written as lines of text: a web page's table clipped to a ``.txt`` file ("模型
最新时间 大小 机构单位" over "TigerBot 2023-08 7/13/70B 虎博科技"), or a Markdown pipe table.

They stay in the text and are cut between rows like any lines (``ingest.split``); what
this module gives is where each one's rows are and its header line, so a chunk of rows
without the header can carry it in its breadcrumb.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# What ends a sentence or a clause, and a list item's bullet: a line ending in one is not
# a table's header (nor, in ``ingest.split``, a plain-text heading).
END_PUNCT = "。！？；，、：.!?;,:…"
BULLET = re.compile(r"^\s*([-*•·●▪◦]|\d+[)、])\s")

# A plain-text table: at least this many consecutive lines of cells (split at "|" when a
# line has two, a Markdown table; else at spaces, at least three), the first (the header)
# of short cells that are words: no English function word, which tells it from wrapped
# English prose (every line of that has "the", "of", "and"...); none ending in punctuation,
# which tells it from a list ("Stage 1: 预训练"); none starting with a shell or markup sign,
# which tells it from commands and headings ("$ git checkout", "## Help").
_TABLE_MIN_LINES = 3
_TABLE_MIN_CELLS = 3
_HEADER_MAX_CELLS = 12
_HEADER_CELL_MAX = 24
_ROW_MAX = 200
_PROSE_WORDS = frozenset(
    {
        *("a", "an", "the", "of", "and", "or", "to", "in", "on", "for", "with", "is", "are"),
        *("was", "were", "be", "by", "as", "at", "from", "that", "this", "it", "its", "not"),
        *("but", "has", "have", "if", "into", "which", "when", "so", "we", "you", "can"),
    }
)
_NOT_A_CELL = re.compile(r"^[-$#<>/\\*`~=+&|(\[]|^\W*$")


def _cells(line: str) -> list[str]:
    text = line.strip()
    if text.count("|") >= 2:
        return [c.strip() for c in text.strip("|").split("|") if c.strip()]
    return text.split()


def _row_like(line: str) -> bool:
    text = line.strip()
    cells = _cells(text)
    piped = text.count("|") >= 2
    return (
        len(cells) >= (2 if piped else _TABLE_MIN_CELLS)
        and len(text) <= _ROW_MAX
        and text[-1] not in END_PUNCT
        and not BULLET.match(text)
    )


def _header_like(line: str) -> bool:
    cells = _cells(line)
    return len(cells) <= _HEADER_MAX_CELLS and all(
        len(c) <= _HEADER_CELL_MAX
        and c[-1] not in END_PUNCT
        and not _NOT_A_CELL.search(c)
        and not any(w.lower() in _PROSE_WORDS for w in c.split())
        for c in cells
    )


def text_tables(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """(first row's start, table end, header line) of each plain-text table in
    ``text[start:end]``: a header line and at least two rows under it, no blank line
    between; the header as one line with its cells joined by " | "."""
    tables: list[tuple[int, int, str]] = []
    run: list[tuple[int, int]] = []  # (start, end) of consecutive row-like lines

    def close() -> None:
        if len(run) >= _TABLE_MIN_LINES and _header_like(text[run[0][0] : run[0][1]]):
            header = " | ".join(_cells(text[run[0][0] : run[0][1]]))
            tables.append((run[1][0], run[-1][1], header))
        run.clear()

    pos = start
    for line in text[start:end].split("\n"):
        line_end = min(pos + len(line), end)
        if _row_like(line):
            run.append((pos, line_end))
        else:
            close()
        pos = line_end + 1
    close()
    return tables


def header_at(heading: str, start: int, tables: Sequence[tuple[int, int, str]]) -> str:
    """The breadcrumb of a chunk starting at ``start``: the section's, and the header of
    the plain-text table whose rows it starts in (a chunk holding the header has it)."""
    for rows_start, rows_end, header in tables:
        if rows_start <= start < rows_end:
            return f"{heading} > {header}" if heading else header
    return heading
