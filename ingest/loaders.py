"""Turn a file into pages of text, chosen by suffix.

Each loader is a ``Loader``: ``load(data: bytes) -> list[Page]``. Loaders get bytes, not
paths, so the caller reads each file exactly once (for the content hash too) and never
writes to what the user gave.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from ingest.documents import Page
from ingest.errors import DocumentError
from ingest.images import IMAGE_SUFFIXES, load_image
from ingest.office import load_csv, load_docx, load_epub, load_pptx, load_xlsx
from ingest.pdf import load_pdf
from ingest.text_decode import decode_declared, decode_text


class Loader(Protocol):
    def __call__(self, data: bytes) -> list[Page]: ...


def load_text(data: bytes) -> list[Page]:
    return [Page(decode_text(data))]


_MD_NOISE = re.compile(r"!\[[^\]]*\]\([^)]*\)")  # images carry no text worth embedding
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")  # keep a link's words, drop its URL


def load_markdown(data: bytes) -> list[Page]:
    text = decode_text(data)
    text = _MD_NOISE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    return [Page(text)]


_BLOCK_TAGS = [
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "li",
    "ul",
    "ol",
    "table",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "br",
    "pre",
    "blockquote",
    "dd",
    "dt",
]


def load_html(data: bytes) -> list[Page]:
    """Visible text only; scripts, styles and other non-content elements are dropped."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(decode_declared(data))
    for tag in ("script", "style", "noscript", "template", "svg", "iframe", "head"):
        for node in tree.css(tag):
            node.decompose()
    body = tree.body or tree.root
    if body is None:
        return [Page("")]
    # Headings become Markdown headings so the splitter can build breadcrumbs.
    for level in range(1, 7):
        for node in body.css(f"h{level}"):
            node.replace_with(f"\n\n{'#' * level} {node.text(deep=True, strip=True)}\n\n")
    for tag in _BLOCK_TAGS:
        for node in body.css(tag):
            node.insert_after("\n")
    return [Page(body.text(deep=True, separator=""))]


LOADERS: dict[str, Callable[[bytes], list[Page]]] = {
    ".txt": load_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".pptx": load_pptx,
    ".xlsx": load_xlsx,
    ".csv": load_csv,
    ".epub": load_epub,
    **dict.fromkeys(IMAGE_SUFFIXES, load_image),
}


def loader_for(suffix: str) -> Callable[[bytes], list[Page]]:
    try:
        return LOADERS[suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(LOADERS))
        raise DocumentError(
            f"unsupported file type {suffix or '(none)'!r}; supported: {known}"
        ) from None
