"""A card's ``character_book`` (its lorebook) as the card specs shape it (pure).

**Where a book is read and written.** Until lorebooks have tables of their own, a persona keeps its card's book
as it came, in ``legacy_settings["card"]["character_book"]``: :func:`card_book` reads it and
:func:`with_card_book` writes it (the only two places that know where it lives). A lore module that moves books
to tables replaces these two and keeps the card side unchanged: import hands it :func:`check_book`'s checked
book, export takes the book to write from it and passes it through :func:`book_for_export`.

**Valid by the specs.** V2 (``malfoyslastname/character-card-spec-v2``): the book has ``extensions`` and
``entries``; each entry ``keys``, ``content``, ``extensions``, ``enabled`` and ``insertion_order``. V3 adds
``use_regex`` to each entry. :func:`book_for_export` fills what is missing with the specs' neutral values
(``{}``, ``[]``, ``""``, true, 0, false) and changes nothing else; SillyTavern's validator refuses a V2 book
whose entries lack ``extensions``.

**Bounds.** At most :data:`BOOK_ENTRIES_MAX` entries, each at most :data:`LORE_ENTRY_MAX` characters of
content and :data:`KEYS_MAX` keys.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from bot.core.errors import DomainError

LEGACY_CARD_KEY = "card"
BOOK_KEY = "character_book"
BOOK_ENTRIES_MAX = 1_000
LORE_ENTRY_MAX = 50_000
KEYS_MAX = 200

_ENTRY_DEFAULTS: dict[str, Any] = {"keys": [], "content": "", "enabled": True, "insertion_order": 0}


def _entry_label(index: int, entry: Mapping[str, Any]) -> str:
    name = entry.get("name") or entry.get("comment")
    return f"Lore entry {index + 1}" + (f" ('{str(name)[:40]}')" if isinstance(name, str) and name else "")


def _check_entry(index: int, entry: Any) -> None:
    if not isinstance(entry, Mapping):
        raise DomainError(f"Lore entry {index + 1} of the card's character_book must be an object.")
    label = _entry_label(index, entry)
    content = entry.get("content", "")
    if not isinstance(content, str):
        raise DomainError(f"{label}: its content must be text.")
    if len(content) > LORE_ENTRY_MAX:
        raise DomainError(f"{label} is {len(content):,} characters long; the limit is {LORE_ENTRY_MAX:,}.")
    for key in ("keys", "secondary_keys"):
        keys = entry.get(key)
        if keys is None:
            continue
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise DomainError(f"{label}: its {key} must be a list of texts.")
        if len(keys) > KEYS_MAX:
            raise DomainError(f"{label} has {len(keys)} {key}; the limit is {KEYS_MAX}.")
    extensions = entry.get("extensions")
    if extensions is not None and not isinstance(extensions, Mapping):
        raise DomainError(f"{label}: its extensions must be an object.")


def check_book(book: Any) -> None:
    """Refuse, with a sentence, a ``character_book`` that is malformed or over the bounds."""
    if not isinstance(book, Mapping):
        raise DomainError("The card's 'character_book' must be an object.")
    entries = book.get("entries", [])
    if not isinstance(entries, list):
        raise DomainError("The card's character_book 'entries' must be a list.")
    if len(entries) > BOOK_ENTRIES_MAX:
        raise DomainError(f"The card's character_book has {len(entries):,} entries; the limit is {BOOK_ENTRIES_MAX:,}.")
    extensions = book.get("extensions")
    if extensions is not None and not isinstance(extensions, Mapping):
        raise DomainError("The card's character_book 'extensions' must be an object.")
    for index, entry in enumerate(entries):
        _check_entry(index, entry)


def book_for_export(book: Mapping[str, Any], version: int) -> dict[str, Any]:
    """The book with every field the spec of ``version`` (2 or 3) requires, missing ones at neutral values."""
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
    """The card's book a persona keeps (read point), or None."""
    kept = (legacy or {}).get(LEGACY_CARD_KEY)
    book = kept.get(BOOK_KEY) if isinstance(kept, Mapping) else None
    return copy.deepcopy(dict(book)) if isinstance(book, Mapping) else None


def with_card_book(legacy: Mapping[str, Any] | None, book: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Legacy settings keeping ``book`` as the persona's card book (write point; None removes it)."""
    out = dict(legacy or {})
    kept = dict(out.get(LEGACY_CARD_KEY) or {})
    if book is None:
        kept.pop(BOOK_KEY, None)
    else:
        kept[BOOK_KEY] = copy.deepcopy(dict(book))
    if kept:
        out[LEGACY_CARD_KEY] = kept
    else:
        out.pop(LEGACY_CARD_KEY, None)
    return out or None
