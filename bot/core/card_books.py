"""A card's ``character_book`` (its lorebook) on the card side (pure): whether a card's book is accepted, the
copy kept of the book a card brought, and the spec's required fields on a book written out.

**One decider.** A card's book becomes the persona's lore book (the lore tables), so the lore rules decide whether
it is accepted: :func:`check_book` is :func:`bot.core.lore.card_books.book_from_card` (a malformed book, more
entries than a lore book holds, an entry too long or a pattern not safe is refused with a sentence). The card side
has no bounds of its own.

**Where the book lives.** In the persona's lore book (``bot.services.lore``): an export writes that book (none
when it is empty), never an older copy. ``legacy_settings["card"]["character_book"]`` keeps the book as the card
last brought it (:func:`card_book` reads it); it is a record of the import, not the persona's book.

**Valid by the specs.** V2 (``malfoyslastname/character-card-spec-v2``): the book has ``extensions`` and
``entries``; each entry ``keys``, ``content``, ``extensions``, ``enabled`` and ``insertion_order``. V3 adds
``use_regex`` to each entry. :func:`book_for_export` fills what is missing with the specs' neutral values
(``{}``, ``[]``, ``""``, true, 0, false) and changes nothing else; SillyTavern's validator refuses a V2 book
whose entries lack ``extensions``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from bot.core.lore.card_books import book_from_card

LEGACY_CARD_KEY = "card"
BOOK_KEY = "character_book"

_ENTRY_DEFAULTS: dict[str, Any] = {"keys": [], "content": "", "enabled": True, "insertion_order": 0}


def check_book(book: Any) -> None:
    """Refuse, with a sentence, a ``character_book`` the lore book would refuse (the lore rules decide)."""
    book_from_card(book)


def book_for_export(book: Mapping[str, Any], version: int) -> dict[str, Any]:
    """The book with every field the spec of ``version`` (2 or 3) requires, missing ones at neutral values (V2:
    no ``use_regex``)."""
    out = copy.deepcopy(dict(book))
    if not isinstance(out.get("extensions"), Mapping):
        out["extensions"] = {}
    entries = []
    for entry in out.get("entries") or []:
        filled = {**_ENTRY_DEFAULTS, **entry}
        if not isinstance(filled.get("extensions"), Mapping):
            filled["extensions"] = {}
        if version == 3 and not isinstance(filled.get("use_regex"), bool):
            filled["use_regex"] = False
        entries.append(filled)
    out["entries"] = entries
    return out


def card_book(legacy: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The book the card last brought, as a persona keeps it (a record of the import), or None."""
    kept = (legacy or {}).get(LEGACY_CARD_KEY)
    book = kept.get(BOOK_KEY) if isinstance(kept, Mapping) else None
    return copy.deepcopy(dict(book)) if isinstance(book, Mapping) else None
