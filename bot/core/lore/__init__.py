"""Lore books (World Info), pure: entries and their bounds (:mod:`~bot.core.lore.entries`), keys as matchers with a
safety bound (:mod:`~bot.core.lore.patterns`), which entries fire and why (:mod:`~bot.core.lore.activation`), and a
Character Card's ``character_book`` as entries and back (:mod:`~bot.core.lore.card_books`)."""

from __future__ import annotations

from bot.core.lore.activation import TOTAL_BUDGET, Activation, Fired, ScanMessage, activate, messages_since
from bot.core.lore.entries import (
    LOGIC_WORDS,
    LOGICS,
    MAX_CONTENT_CHARS,
    MAX_ENTRIES_PER_BOOK,
    MAX_KEYS,
    POSITION_WORDS,
    POSITIONS,
    SCOPES,
    BookRules,
    LoreEntry,
    LoreText,
    check_book,
    check_entry,
    check_entry_count,
    split_keys,
)
from bot.core.lore.patterns import check_pattern

__all__ = [
    "LOGICS",
    "LOGIC_WORDS",
    "MAX_CONTENT_CHARS",
    "MAX_ENTRIES_PER_BOOK",
    "MAX_KEYS",
    "POSITIONS",
    "POSITION_WORDS",
    "SCOPES",
    "TOTAL_BUDGET",
    "Activation",
    "BookRules",
    "Fired",
    "LoreEntry",
    "LoreText",
    "ScanMessage",
    "activate",
    "check_book",
    "check_entry",
    "check_entry_count",
    "check_pattern",
    "messages_since",
    "split_keys",
]
