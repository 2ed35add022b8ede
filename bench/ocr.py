"""Documents people have: a 20-page PDF with two scanned pages, built end to end.

Makes the PDF (18 pages with a text layer, from the bundled notes; two pages that are
only pictures of known Chinese and English lines, drawn in Noto Sans CJK), builds it
with the configured embedder and OCR into a temporary index, and prints the build's
seconds per stage, the OCR rate (characters and pages per second) with what a 50-page
scan would cost at that rate, and the character accuracy of the recognised pages
against their known text. Needs fonts-noto-cjk. ``indexes/`` is never touched.

    .venv/bin/python bench/ocr.py [--config FILE] [--json]
"""

from __future__ import annotations

import functools
import json
import re
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import _common  # before anything from the project: offline models, `ingest` unshadowed

PAGES = 20
SCANNED = (6, 14)  # 1-based page numbers that are pictures
SCAN_LINES = 24  # lines of 30 characters: a page as dense as a typical scanned notice
SCAN_WIDTH = 30


class Stages:
    """A build Progress that times each stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stage: tuple[str, float] | None = None

    def start(self, stage: str, total: int) -> None:
        self.finish()
        self._stage = (stage, time.perf_counter())

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        if self._stage is not None:
            name, began = self._stage
            self.seconds[name] = time.perf_counter() - began
            self._stage = None


@functools.cache
def _documents_made() -> Any:
    """The tests' document makers (tests/documents_made.py), imported by file: putting
    tests/ on sys.path would make its app/ folder shadow the app package."""
    import importlib.util

    path = _common.HERE.parent / "tests" / "documents_made.py"
    spec = importlib.util.spec_from_file_location("documents_made", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_pdf(tmp: Path, notes: Path) -> tuple[bytes, list[list[str]]]:
    made = _documents_made()
    NOTO_CJK, cjk_font_file, pdf_with, text_picture = (
        made.NOTO_CJK,
        made.cjk_font_file,
        made.pdf_with,
        made.text_picture,
    )

    if not NOTO_CJK.exists():
        raise SystemExit(f"error: {NOTO_CJK} is missing: apt-get install fonts-noto-cjk")
    prose = " ".join(p.read_text(encoding="utf-8") for p in sorted(notes.glob("*.txt")))
    # One line per page-width, without the emoji the notes carry (the font has none).
    prose = re.sub(r"[^\u0000-\u2000\u3000-\u9fff\uff00-\uffef]", "", " ".join(prose.split()))
    pages: list[object] = []
    scans: list[list[str]] = []
    for n in range(1, PAGES + 1):
        text = prose[(n - 1) * 900 : n * 900]
        if n in SCANNED:  # the page's own text, drawn: its known truth
            lines = textwrap.wrap(text, SCAN_WIDTH)[:SCAN_LINES]
            scans.append(lines)
            pages.append(text_picture(lines, size=30, width=1100))
        else:
            pages.append("\n".join(textwrap.wrap(text, 45)))
    return pdf_with(cjk_font_file(str(tmp)), pages), scans


def main(argv: list[str] | None = None) -> int:
    args = _common.parser(__doc__).parse_args(argv)

    from app.settings import load_settings
    from app.wiring import chunking_from, embedder_from, ocr_from
    from ingest.build import build_index
    from ingest.errors import NotesQAError
    from ingest.store import IndexStore

    settings = load_settings(args.config)
    embedder = embedder_from(settings)
    embedder.embed_documents(["预热 warm-up"] * 4)
    with tempfile.TemporaryDirectory(prefix="notesqa-bench-") as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        data, scan_text = make_pdf(Path(tmp), Path(settings.docs_dir))
        (folder / "mixed.pdf").write_bytes(data)
        stages = Stages()
        store = IndexStore(Path(tmp) / "index")
        t0 = time.perf_counter()
        try:
            report = build_index(
                [folder],
                store=store,
                embedder=embedder,
                chunking=chunking_from(settings),
                max_file_bytes=50_000_000,
                full=True,
                progress=stages,
                ocr=ocr_from(settings),
            )
        except NotesQAError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        total_s = time.perf_counter() - t0
        stages.finish()
        index = store.load()
        chunks = [c for _, c in index.all_chunks()]
        index.close()
    recognised = {
        page: "".join(c.text for c in chunks if c.page == page and c.origin == "ocr")
        for page in SCANNED
    }
    scores = {
        page: round(_documents_made().character_accuracy(recognised[page], "".join(lines)), 4)
        for page, lines in zip(SCANNED, scan_text, strict=True)
    }
    ocr_s = stages.seconds.get("ocr", 0.0)
    chars = sum(len("".join(t.split())) for t in recognised.values())
    pages_per_s = len(SCANNED) / ocr_s if ocr_s else 0.0
    result: dict[str, Any] = {
        "embedder": embedder.name,
        "pages": PAGES,
        "scanned_pages": list(SCANNED),
        "chunks": report.chunks,
        "ocr_chunks": sum(1 for c in chunks if c.origin == "ocr"),
        "failed": report.failed,
        "total_s": round(total_s, 2),
        "stages_s": {k: round(v, 3) for k, v in stages.seconds.items()},
        "ocr_chars_per_s": round(chars / ocr_s, 1) if ocr_s else None,
        "ocr_pages_per_s": round(pages_per_s, 3),
        "scan_50_pages_s": round(50 / pages_per_s, 1) if pages_per_s else None,
        "char_accuracy": scores,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"mixed PDF: {PAGES} pages, pages {SCANNED} scanned; {report.chunks} chunks")
    print(
        f"build: {total_s:.1f} s; stages: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in stages.seconds.items())
    )
    print(
        f"OCR: {ocr_s:.1f} s for {len(SCANNED)} pages = {pages_per_s:.2f} pages/s, "
        f"{chars / ocr_s if ocr_s else 0:.0f} characters/s; a 50-page scan ~"
        f"{50 / pages_per_s if pages_per_s else 0:.0f} s"
    )
    print("character accuracy: " + ", ".join(f"page {p} {s:.3f}" for p, s in scores.items()))
    return 0 if not report.failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
