"""Cards inside PNG pictures (pure): the card JSON, UTF-8 then base64, in a ``tEXt`` chunk ``chara`` (V2) or
``ccv3`` (V3). The chunk format itself is :mod:`bot.core.png_text`.

Read as SillyTavern reads: the keyword in any case (``Chara``), ``ccv3`` preferred over ``chara``, base64 with
line breaks or spaces in it or without its ``=`` padding (plain JSON is accepted too). Written as the V3 spec
says: a V3 card in ``ccv3`` with a V2 copy in ``chara`` for older readers; a V2 card in ``chara`` alone.
:func:`picture_of` is the picture without its card (what a persona keeps as its avatar).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Mapping
from typing import Any

from bot.core.card_reading import SPEC_V2, SPEC_V3, V3_ONLY
from bot.core.errors import DomainError
from bot.core.inputs import parse_json_text
from bot.core.png_text import png_with_text_chunk, read_text_chunks, without_text

PNG_KEYWORD_V2 = "chara"
PNG_KEYWORD_V3 = "ccv3"
_EXTENSION_KEY = "persona_hub"
_CARD_KEYWORDS = (PNG_KEYWORD_V2, PNG_KEYWORD_V3)


def encode_card_text(card: Mapping[str, Any]) -> str:
    """A card as PNG chunk text: compact UTF-8 JSON, base64."""
    compact = json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(compact).decode("ascii")


def decode_card_text(text: str) -> Any:
    """The card JSON in a PNG chunk (base64 of UTF-8 JSON, whitespace and missing padding forgiven; or JSON)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        raw = stripped.encode("utf-8")
    else:
        compact = "".join(stripped.split())
        compact += "=" * (-len(compact) % 4)
        try:
            raw = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError) as error:
            raise DomainError("The card in the PNG is not valid base64.") from error
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DomainError(f"The card in the PNG is not valid JSON: {error}.") from error
    return parse_json_text(decoded, "The card in the PNG")


def card_from_png(png_bytes: bytes) -> Any:
    """The card JSON a PNG carries (``ccv3`` preferred over ``chara``; keywords in any case)."""
    chunks: dict[str, str] = {}
    for keyword, text in read_text_chunks(png_bytes).items():
        chunks.setdefault(keyword.lower(), text)
    for keyword in (PNG_KEYWORD_V3, PNG_KEYWORD_V2):
        if keyword in chunks:
            return decode_card_text(chunks[keyword])
    raise DomainError(f"This PNG has no character card in it (no '{PNG_KEYWORD_V2}' or '{PNG_KEYWORD_V3}' text chunk).")


def picture_of(png_bytes: bytes) -> bytes:
    """The PNG without its card chunks (any case of ``chara`` / ``ccv3``)."""
    keywords = {k for k in read_text_chunks(png_bytes) if k.lower() in _CARD_KEYWORDS}
    for keyword in keywords:
        png_bytes = without_text(png_bytes, keyword)
    return png_bytes


def v2_copy(card: Mapping[str, Any]) -> dict[str, Any]:
    """The V2 card for older readers of a V3 card: the V3-only values move to our extension's ``v3`` (when it
    is there), so a V2 tool that keeps extensions keeps them too."""
    data = {k: copy.deepcopy(v) for k, v in card["data"].items() if k not in V3_ONLY}
    only = {
        k: copy.deepcopy(v)
        for k, v in card["data"].items()
        if k in V3_ONLY and k not in ("creation_date", "modification_date") and v not in ("", [], {}, None)
    }
    extensions = data.get("extensions")
    if only and isinstance(extensions, Mapping) and isinstance(extensions.get(_EXTENSION_KEY), Mapping):
        data["extensions"] = {**extensions, _EXTENSION_KEY: {**extensions[_EXTENSION_KEY], "v3": only}}
    return {"spec": SPEC_V2, "spec_version": "2.0", "data": data}


def card_to_png(card: Mapping[str, Any], picture_png: bytes) -> bytes:
    """The picture with the card inside: a V3 card in ``ccv3`` with a V2 copy in ``chara``; a V2 card in
    ``chara`` alone. Any card the picture already carried is removed first."""
    png = picture_of(picture_png)
    if card.get("spec") == SPEC_V3:
        png = png_with_text_chunk(png, PNG_KEYWORD_V2, encode_card_text(v2_copy(card)))
        return png_with_text_chunk(png, PNG_KEYWORD_V3, encode_card_text(card))
    return png_with_text_chunk(png, PNG_KEYWORD_V2, encode_card_text(card))
