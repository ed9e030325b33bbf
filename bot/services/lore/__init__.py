"""Lore books (World Info): changing them (:mod:`~bot.services.lore.books`), what fires for a reply
(:mod:`~bot.services.lore.firing`), ``/lore test`` and a card's ``character_book`` in and out
(:mod:`~bot.services.lore.cards`)."""

from __future__ import annotations

from bot.services.lore.books import (
    ENTRY_FIELDS,
    MANAGERS_ONLY,
    NO_ENTRY,
    Where,
    add_entry,
    book,
    edit_entry,
    entries,
    remove_entry,
    replace_persona_book,
)
from bot.services.lore.cards import export_book, import_book, preview
from bot.services.lore.firing import (
    LORE_TABLES,
    ActivatedLore,
    LoreBooks,
    LoreShelf,
    LoreTiming,
    activated_lore,
    books_for,
    prepared_books,
    save_timing,
)

__all__ = [
    "ENTRY_FIELDS",
    "LORE_TABLES",
    "MANAGERS_ONLY",
    "NO_ENTRY",
    "ActivatedLore",
    "LoreBooks",
    "LoreShelf",
    "LoreTiming",
    "Where",
    "activated_lore",
    "add_entry",
    "book",
    "books_for",
    "edit_entry",
    "entries",
    "export_book",
    "import_book",
    "prepared_books",
    "preview",
    "remove_entry",
    "replace_persona_book",
    "save_timing",
]
