"""A kept picture (JPEG, WebP or GIF: what a CHARX's main icon may be) as a PNG, for the PNG card export (pure:
bytes in, bytes out, decoded by Pillow).

Bounded: a picture whose header declares more than :data:`MAX_PIXELS` pixels is not decoded (a small file can
declare a huge canvas), and the PNG is at most :data:`MAX_SIDE` pixels on its longer side (scaled down, aspect
kept), so the card it carries stays under the PNG card's import limit (8 MB). An animated GIF or WebP gives its
first frame. A picture Pillow cannot read gives None: the export then falls back to the plain square.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image

MAX_SIDE = 1024  # 1024 x 1024 RGBA is 4 MB before compression: the card still fits the 8 MB import limit
MAX_PIXELS = 40_000_000  # declared width x height a picture may have to be decoded at all
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def as_png(data: bytes) -> bytes | None:
    """``data`` (PNG, JPEG, WebP or GIF) as a PNG of at most :data:`MAX_SIDE` pixels a side (the first frame of
    an animation); a PNG already within bounds is returned as it is; None when it cannot be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS or width < 1 or height < 1:
                    return None
                if data.startswith(PNG_SIGNATURE) and max(width, height) <= MAX_SIDE:
                    return data
                image.seek(0)  # the first frame of an animated GIF or WebP
                frame = image.convert("RGBA" if _has_alpha(image) else "RGB")
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        return None
    frame.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    frame.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
