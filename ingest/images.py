"""Pictures of text (.png, .jpg, .webp, .tif): one page per frame, read by the OCR stage.

Loading only checks that the bytes are a picture Pillow can open; the pixels are decoded
when OCR reads them, and only for a document that changed.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from ingest.documents import Page
from ingest.errors import DocumentError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")
MAX_PIXELS = 60_000_000  # a 300 dpi A0 scan; more is a decompression bomb, not a page


def load_image(data: bytes) -> list[Page]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            frames = getattr(image, "n_frames", 1)
            width, height = image.size
    except Image.DecompressionBombError as exc:  # Pillow's own bound, past twice its limit
        raise DocumentError(f"picture too large ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DocumentError(f"not a readable picture ({exc})") from exc
    if width * height > MAX_PIXELS:
        raise DocumentError(f"picture too large ({width}x{height} pixels)")
    return [
        Page("", number=i + 1 if frames > 1 else None, image=_frame(data, i)) for i in range(frames)
    ]


def _frame(data: bytes, index: int) -> Callable[[], bytes]:
    def read() -> bytes:
        from PIL import Image, ImageOps

        from ingest.ocr import png_bytes

        with Image.open(io.BytesIO(data)) as image:
            image.seek(index)
            return png_bytes(ImageOps.exif_transpose(image))

    return read
