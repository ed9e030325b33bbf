"""PNG text chunks (pure): read and write ``tEXt`` chunks, checking the signature and every CRC, and a plain
one-colour PNG. Character Cards travel in these chunks (:mod:`bot.core.cards`)."""

from __future__ import annotations

import struct
import zlib

from bot.core.errors import DomainError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk (type, data) up to and including IEND, with the signature and each CRC checked."""
    if not png.startswith(PNG_SIGNATURE):
        raise DomainError("This is not a PNG file (its signature is wrong).")
    chunks: list[tuple[bytes, bytes]] = []
    position = len(PNG_SIGNATURE)
    while True:
        if position + 12 > len(png):
            raise DomainError("The PNG file is truncated (it ends before its IEND chunk).")
        (size,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        end = position + 12 + size
        if size > 0x7FFFFFFF or end > len(png):
            raise DomainError("The PNG file is truncated (a chunk is longer than the file).")
        if not kind.isalpha():
            raise DomainError(f"The PNG file has a malformed chunk type {kind!r}.")
        body = png[position + 8 : position + 8 + size]
        (crc,) = struct.unpack(">I", png[end - 4 : end])
        if zlib.crc32(kind + body) != crc:
            raise DomainError(f"The PNG file is corrupted: the CRC of its {kind.decode('ascii')} chunk is wrong.")
        if not chunks and kind != b"IHDR":
            raise DomainError("The PNG file is malformed: it does not start with an IHDR chunk.")
        chunks.append((kind, body))
        position = end
        if kind == b"IEND":
            return chunks


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _text_keyword(body: bytes) -> str | None:
    keyword, separator, _ = body.partition(b"\x00")
    return keyword.decode("latin-1") if separator else None


def read_text_chunks(png_bytes: bytes) -> dict[str, str]:
    """The ``tEXt`` chunks of a PNG, keyword -> text (Latin-1; the first of a repeated keyword wins).

    Raises :class:`DomainError` for a wrong signature, a wrong CRC or a truncated file.
    """
    found: dict[str, str] = {}
    for kind, body in _chunks(png_bytes):
        if kind == b"tEXt":
            keyword = _text_keyword(body)
            if keyword is None:
                raise DomainError("The PNG file has a malformed text chunk (no keyword separator).")
            found.setdefault(keyword, body.partition(b"\x00")[2].decode("latin-1"))
    return found


def png_with_text_chunk(png_bytes: bytes, keyword: str, text: str) -> bytes:
    """The PNG with a ``tEXt`` chunk ``keyword`` = ``text`` just before IEND, replacing any with that keyword."""
    if not 1 <= len(keyword) <= 79 or "\x00" in keyword:
        raise DomainError("A PNG text keyword is 1 to 79 characters, without NUL.")
    try:
        body = keyword.encode("latin-1") + b"\x00" + text.encode("latin-1")
    except UnicodeEncodeError as error:
        raise DomainError("PNG text chunks hold Latin-1 text only (encode the card as base64 first).") from error
    out = [PNG_SIGNATURE]
    for kind, chunk_body in _chunks(png_bytes):
        if kind == b"tEXt" and _text_keyword(chunk_body) == keyword:
            continue
        if kind == b"IEND":
            out.append(_chunk(b"tEXt", body))
        out.append(_chunk(kind, chunk_body))
    return b"".join(out)


def solid_png(width: int = 256, height: int = 256, rgb: tuple[int, int, int] = (0x7C, 0x5C, 0xFF)) -> bytes:
    """A plain RGB PNG of one colour (a card picture when the persona has none)."""
    if not (1 <= width <= 4096 and 1 <= height <= 4096):
        raise DomainError("A picture is 1 to 4096 pixels on each side.")
    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(row * height, 9)) + _chunk(b"IEND", b"")
    )


def without_text(png_bytes: bytes, keyword: str) -> bytes:
    out = [PNG_SIGNATURE]
    for kind, body in _chunks(png_bytes):
        if kind == b"tEXt" and _text_keyword(body) == keyword:
            continue
        out.append(_chunk(kind, body))
    return b"".join(out)
