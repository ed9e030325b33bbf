"""The native document's shape and the file's limits: format and version, the sections (the tables that travel
with a persona), the size limits, and JSON in and out (see :mod:`bot.services.portability` for what a document holds).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlmodel import SQLModel

from bot.core.errors import DomainError
from bot.core.inputs import parse_json_text
from bot.db import models

FORMAT = "persona-hub"
VERSION = 1
MB = 1024 * 1024
MAX_PNG_BYTES = 8 * MB
MAX_CHARX_BYTES = 8 * MB
MAX_CARD_JSON_BYTES = 2 * MB
MAX_NATIVE_BYTES = 10 * MB
MAX_ROWS_PER_SECTION = 100_000
INSERT_CHUNK = 500
EXPORT_PAGE = 2_000
IMPORTED_SUFFIX = " (imported)"

# Section name -> table, for the rows that belong to the persona and travel with it (in write order).
SECTIONS: dict[str, type[SQLModel]] = {
    "active_emotions": models.ActiveEmotion,
    "emotional_events": models.EmotionalEvent,
    "learned_responses": models.LearnedResponse,
    "memories": models.Memory,
    "custom_behaviors": models.CustomBehavior,
    "person_relationships": models.PersonRelationship,
    "timeline_events": models.TimelineEvent,
    "achievements": models.AchievementAward,
}
# What the persona owns beside those rows, one object each (None: it has none): its lore book with its entries,
# its model settings (never the API key) and its picture (base64, with its media type). See ``owned.py``.
LORE_BOOK = "lore_book"
MODEL_SETTINGS = "model_settings"
PICTURE = "picture"
OWNED_SECTIONS = (LORE_BOOK, MODEL_SETTINGS, PICTURE)


def too_big(what: str, data: bytes, limit: int) -> DomainError:
    return DomainError(f"The {what} is {len(data):,} bytes, over the limit of {limit // MB} MB ({limit:,} bytes).")


def _reject_constant(name: str) -> Any:
    raise DomainError(f"The file contains {name}, which is not a number JSON allows.")


def parse_json(data: bytes, *, limit: int, what: str = "file") -> Any:
    """JSON from an upload of at most ``limit`` bytes, or a clear :class:`DomainError`."""
    if len(data) > limit:
        raise too_big(what, data, limit)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DomainError(f"The {what} is not UTF-8 text.") from error
    return parse_json_text(text, f"The {what}", parse_constant=_reject_constant)


def document_to_json(document: Mapping[str, Any]) -> bytes:
    """A native document as UTF-8 JSON (the file the export command attaches)."""
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
