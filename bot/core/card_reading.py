"""Reading a Character Card (pure): which version it is, and its data normalised and bounded.

What the specs and SillyTavern accept is accepted: a V1 card (the fields at the top level, ``tags: ""``), a
numeric ``character_version`` (kept as its text), ``tags`` as one comma-separated text, a V3 ``spec_version``
other than ``"3.0"`` (read as V3, as the V3 spec asks). What no tool could mean, and what would hold the bot
hostage, is refused with a sentence naming the field: a wrong type, more than :data:`DATA_FIELDS_MAX` fields,
more than :data:`NODES_MAX` values in all, a text field over :data:`TEXT_MAX` characters, a ``character_book``
that is malformed, has more than :data:`BOOK_ENTRIES_MAX` entries or an entry over :data:`LORE_ENTRY_MAX`
characters (see :mod:`bot.core.card_books`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.card_books import check_book
from bot.core.character import TEXT_MAX
from bot.core.errors import DomainError

SPEC_V2 = "chara_card_v2"
SPEC_V3 = "chara_card_v3"

# Bounds (a real card has about 25 fields and a few thousand values; its longest text is a few thousand words).
DATA_FIELDS_MAX = 100
NODES_MAX = 200_000
# TEXT_MAX: a persona's own limit (bot.core.character), so what a card brings can be edited, cloned and moved.

V2_TEXT = (
    "name",
    "description",
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "creator",
    "character_version",
)
V2_LISTS = ("alternate_greetings", "tags")
V3_TEXT = ("nickname",)
V3_LISTS = ("source", "group_only_greetings")
V3_DATES = ("creation_date", "modification_date")
V3_ONLY = (*V3_TEXT, *V3_LISTS, "creator_notes_multilingual", *V3_DATES, "assets")


def _count_nodes(value: Any) -> int:
    """How many values a document holds, counting up to just past :data:`NODES_MAX` (one pass, no recursion)."""
    count, stack = 0, [value]
    while stack and count <= NODES_MAX:
        item = stack.pop()
        count += 1
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def _version_and_data(card: Any) -> tuple[int, dict[str, Any]]:
    if not isinstance(card, Mapping):
        raise DomainError("A character card must be a JSON object.")
    spec = card.get("spec")
    if spec is None and "name" in card and "data" not in card:
        data: Any = {k: v for k, v in card.items() if k not in ("spec_version",)}  # V1: fields at the top level
        version = 1
    elif spec == SPEC_V2:
        data, version = card.get("data"), 2
    elif spec == SPEC_V3:
        data, version = card.get("data"), 3
    else:
        raise DomainError(f"This is not a character card I know (spec {spec!r}; expected {SPEC_V2} or {SPEC_V3}).")
    if not isinstance(data, Mapping):
        raise DomainError("The character card has no 'data' object.")
    return version, dict(data)


def _lenient(data: dict[str, Any]) -> None:
    """What other tools write and the specs or SillyTavern accept, in the types the specs name."""
    version = data.get("character_version")
    if isinstance(version, int | float) and not isinstance(version, bool):
        data["character_version"] = str(version)
    tags = data.get("tags")
    if isinstance(tags, str):
        data["tags"] = [tag.strip() for tag in tags.split(",") if tag.strip()]
    for key in V2_TEXT + V3_TEXT:
        if key in data and data[key] is None:
            data[key] = ""


def _check_types(data: Mapping[str, Any]) -> None:
    for key in (*V2_TEXT, *V3_TEXT):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise DomainError(f"The card's '{key}' must be text.")
        if len(value) > TEXT_MAX:
            raise DomainError(f"The card's '{key}' is {len(value):,} characters long; the limit is {TEXT_MAX:,}.")
    for key in (*V2_LISTS, *V3_LISTS):
        value = data.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise DomainError(f"The card's '{key}' must be a list of texts.")
        if value is not None and sum(len(v) for v in value) > TEXT_MAX:
            raise DomainError(f"The card's '{key}' hold more than {TEXT_MAX:,} characters; that is the limit.")
    for key in V3_DATES:
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise DomainError(f"The card's '{key}' must be a Unix timestamp (a number).")
    for key in ("character_book", "creator_notes_multilingual", "extensions"):
        if data.get(key) is not None and not isinstance(data[key], Mapping):
            raise DomainError(f"The card's '{key}' must be an object.")
    notes = data.get("creator_notes_multilingual") or {}
    if not all(isinstance(v, str) for v in notes.values()):
        raise DomainError("The card's 'creator_notes_multilingual' must map language codes to texts.")
    assets = data.get("assets")
    if assets is not None and (not isinstance(assets, list) or not all(isinstance(a, Mapping) for a in assets)):
        raise DomainError("The card's 'assets' must be a list of objects.")


def read_card(card: Any) -> tuple[int, dict[str, Any]]:
    """The card's version (1, 2 or 3) and its data, normalised (see the module docstring) and checked.

    Raises :class:`DomainError` with a sentence for a malformed or oversized card.
    """
    version, data = _version_and_data(card)
    if len(data) > DATA_FIELDS_MAX:
        raise DomainError(f"The character card has {len(data):,} fields; a card has at most {DATA_FIELDS_MAX}.")
    if _count_nodes(data) > NODES_MAX:
        raise DomainError(f"The character card holds more than {NODES_MAX:,} values; that is more than any card.")
    _lenient(data)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DomainError("The character card has no name.")
    _check_types(data)
    if data.get("character_book") is not None:
        check_book(data["character_book"])
    return version, data
