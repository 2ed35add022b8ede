"""Page furniture of paged documents (PDF): running headers, footers and page numbers.

A line that recurs on most pages of a document, numbers aside ("ACME 内部资料",
"Page 3 of 20"), is furniture, and so is a line that is only a page number at the top
or bottom of a page ("- 3 -", "第 3 页", "12"). They are dropped before cleaning and
splitting, so they do not pollute every chunk. Documents under three pages are left as
they are: with two pages nothing "recurs on most".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from ingest.documents import Page

MIN_PAGES = 3
SHARE = 0.6  # of the pages a line must recur on
EDGE = 2  # lines at the top and at the bottom of a page where furniture sits
_DIGITS = re.compile(r"\d+")
_PAGE_NUMBER = re.compile(
    r"^(?:[-–—\s]*\d{1,4}[-–—\s]*|第\s*\d{1,4}\s*页(?:\s*/?\s*共\s*\d{1,4}\s*页)?|"
    r"(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?|\d{1,4}\s*/\s*\d{1,4})$",
    re.IGNORECASE,
)


def _key(line: str) -> str:
    return _DIGITS.sub("#", " ".join(line.split()).lower())


def drop_page_furniture(pages: Sequence[Page]) -> list[Page]:
    """The pages without their running headers, footers and page numbers."""
    if len(pages) < MIN_PAGES or pages[0].number is None:
        return list(pages)
    seen: Counter[str] = Counter()
    for page in pages:
        filled_lines = [line for line in page.text.split("\n") if line.strip()]
        seen.update({_key(line) for line in filled_lines[:EDGE] + filled_lines[-EDGE:]})
    recurring = {k for k, n in seen.items() if n >= max(MIN_PAGES, SHARE * len(pages))}
    cleaned = []
    for page in pages:
        lines = page.text.split("\n")
        filled = [i for i, line in enumerate(lines) if line.strip()]
        at_edge = set(filled[:EDGE] + filled[-EDGE:])
        kept = [
            line
            for i, line in enumerate(lines)
            if i not in at_edge or not (_key(line) in recurring or _PAGE_NUMBER.match(line.strip()))
        ]
        cleaned.append(replace(page, text="\n".join(kept)))
    return cleaned
