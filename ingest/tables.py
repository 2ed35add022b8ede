"""Tables as text: rendered as Markdown tables, and cut into chunks only between rows.

A table is never cleaned (the noise rules are for prose and would take short cells for
furniture) and never packed with prose. A table longer than a chunk is cut by rows; every
piece's breadcrumb names the table and its header row, so a piece of rows 40-60 still
says what each column is, to the embedder, the keyword index and the model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ingest.clean import normalise_text
from ingest.documents import Table

_SEPARATOR_CELL = "---"


def make_table(rows: Sequence[Sequence[object]], title: str = "") -> Table | None:
    """A Table of the non-empty rows, cells as one line of normalised text each; None
    when fewer than two rows (a header and a value) have any text."""
    cleaned: list[tuple[str, ...]] = []
    for row in rows:
        cells = tuple(_cell(value) for value in row)
        if any(cells):
            cleaned.append(cells)
    if len(cleaned) < 2:
        return None
    width = max(len(r) for r in cleaned)
    # Columns empty in every row (merged cells, spreadsheet margins) carry nothing.
    used = [i for i in range(width) if any(i < len(r) and r[i] for r in cleaned)]
    padded = tuple(tuple(r[i] if i < len(r) else "" for i in used) for r in cleaned)
    return Table(padded, title)


def table_or_text(rows: Sequence[Sequence[object]], title: str = "") -> Table | str:
    """The grid as a Table, or as plain lines when it is too small to be one (one row),
    so its text is kept either way."""
    return make_table(rows, title) or rows_as_text(rows)


def rows_as_text(rows: Sequence[Sequence[object]]) -> str:
    lines = [" | ".join(c for c in (_cell(v) for v in row) if c) for row in rows]
    return "\n".join(line for line in lines if line)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet's 7.0 is the 7 its user typed
    text = " ".join(normalise_text(str(value)).split())
    return text.replace("|", "\\|")


def render_table(table: Table) -> str:
    """The Markdown form: a header line, the separator line, one line per row."""
    lines = [_line(table.header), _line([_SEPARATOR_CELL] * len(table.header))]
    lines += [_line(row) for row in table.rows[1:]]
    return "\n".join(lines)


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table_heading(table: Table) -> str:
    """The breadcrumb of every piece of a table: its name and its columns."""
    columns = " | ".join(table.header)
    return f"{table.title}: {columns}" if table.title else columns


def row_pieces(text: str, start: int, end: int, size: int) -> Iterator[tuple[int, int]]:
    """Spans of ``text[start:end]`` (a rendered table) holding whole rows, each at most
    ``size`` characters unless one row alone is longer; the first holds the header."""
    lines: list[tuple[int, int]] = []
    pos = start
    for line in text[start:end].split("\n"):
        if line.strip():
            lines.append((pos, pos + len(line)))
        pos += len(line) + 1
    if not lines:
        return
    # The header and its separator line open the first piece, with at least one row.
    first = min(2, len(lines) - 1)
    piece_start, piece_end = lines[0][0], lines[first][1]
    for line_start, line_end in lines[first + 1 :]:
        if line_end - piece_start > size:
            yield piece_start, piece_end
            piece_start = line_start
        piece_end = line_end
    yield piece_start, piece_end
