"""Optical character recognition of pages with no text layer (scans, photos), offline.

The default engine is RapidOCR on ONNX Runtime (``rapidocr-onnxruntime``): PP-OCR
detection, direction and recognition models that come inside the wheel, so nothing is
downloaded; it reads Chinese and English. It is imported on the first page that needs it.
The OCR stage of a build (``ocr_pages``) runs only on pages a loader marked as pictures
(``Page.image``) and only for documents that changed.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ingest.documents import Document, Page
from ingest.errors import DocumentError


class OcrUnavailableError(DocumentError):
    """The file needs OCR and no engine is installed."""


@dataclass(frozen=True, slots=True)
class OcrOptions:
    enabled: bool = True
    min_score: float = 0.5  # recognised lines below this confidence are noise, not text


class Recognizer(Protocol):
    name: str

    def __call__(self, image: bytes) -> str: ...


class RapidRecognizer:
    """RapidOCR, loaded once per process (about 0.4 s and 100 MB) on first use."""

    name = "rapidocr-onnxruntime"
    _engine: Any = None
    _lock = threading.Lock()

    def __init__(self, min_score: float = 0.5) -> None:
        self.min_score = min_score

    def _load(self) -> Any:
        with RapidRecognizer._lock:
            if RapidRecognizer._engine is None:
                try:
                    from rapidocr_onnxruntime import RapidOCR
                except ImportError as exc:
                    raise OcrUnavailableError(
                        "this page is a picture and reading it needs OCR: install "
                        "rapidocr-onnxruntime (`make install` does)"
                    ) from exc
                RapidRecognizer._engine = RapidOCR()
            return RapidRecognizer._engine

    def __call__(self, image: bytes) -> str:
        engine = self._load()
        try:
            result, _ = engine(image)
        except Exception as exc:  # the engine's own errors carry no common base class
            raise DocumentError(f"OCR could not read the picture ({exc})") from exc
        boxes = [
            (_box(points), text)
            for points, text, score in result or []
            if float(score) >= self.min_score and text.strip()
        ]
        return "\n".join(_reading_order(boxes))


_Box = tuple[float, float, float, float]  # left, top, right, bottom


def _box(points: Sequence[Sequence[float]]) -> _Box:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _reading_order(boxes: list[tuple[_Box, str]]) -> list[str]:
    """Lines top to bottom; boxes side by side on one line joined left to right (the
    engine cuts an English line at wide spaces)."""
    lines: list[list[tuple[_Box, str]]] = []
    for box, text in sorted(boxes, key=lambda b: (b[0][1], b[0][0])):
        middle = (box[1] + box[3]) / 2
        for line in lines:
            top, bottom = line[0][0][1], line[0][0][3]
            if top <= middle <= bottom:
                line.append((box, text))
                break
        else:
            lines.append([(box, text)])
    out = []
    for line in lines:
        parts = [text for _, text in sorted(line, key=lambda b: b[0][0])]
        joined = parts[0]
        for part in parts[1:]:
            wide = joined[-1].isascii() and joined[-1].isalnum() and part[0].isascii()
            joined += (" " if wide else "") + part
        out.append(joined)
    return out


class NoRecognizer:
    """OCR turned off (``ocr.enabled: false``): picture pages stay unread."""

    name = "off"

    def __call__(self, image: bytes) -> str:
        raise OcrUnavailableError("this page is a picture and OCR is off (ocr.enabled)")


def recognizer_for(options: OcrOptions) -> Recognizer:
    return RapidRecognizer(options.min_score) if options.enabled else NoRecognizer()


def ocr_pages(
    doc: Document,
    recognizer: Recognizer,
    *,
    advance: Callable[[], None] = lambda: None,
    notes: list[str] | None = None,
) -> Document:
    """The document with every picture page's text recognised (``Page.ocr`` set).

    A document that is only pictures fails when no engine is installed; one with a text
    layer elsewhere keeps that text and ``notes`` says which pages were left unread.
    """
    pages: list[Page] = []
    unread: list[str] = []
    reason = ""
    for page in doc.pages:
        if not page.needs_ocr:
            pages.append(page)
            continue
        assert page.image is not None
        try:
            text = recognizer(page.image())
        except OcrUnavailableError as exc:
            if all(p.needs_ocr for p in doc.pages):
                raise
            unread.append(str(page.number))
            reason, text = str(exc), ""
        pages.append(replace(page, text=text, ocr=True, image=None))
        advance()
    if unread and notes is not None:
        notes.append(f"{doc.source}: pages {', '.join(unread)} were not read: {reason}")
    return replace(doc, pages=tuple(pages))


def png_bytes(image: Any) -> bytes:
    """A Pillow image as RGB PNG bytes, what every recognizer takes."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()
