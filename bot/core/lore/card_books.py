"""A Character Card's ``character_book`` (V2 and V3) as a lore book and back (pure).

Import (:func:`book_from_card`) checks the whole book first and refuses it with a sentence (nothing is half-saved):
not an object, ``entries`` not a list, more than :data:`~bot.core.lore.entries.MAX_ENTRIES_PER_BOOK` entries, an
entry's content over :data:`~bot.core.lore.entries.MAX_CONTENT_CHARS`, a pattern that is not safe. What the book
says that entries have no column for (the card's ``id``, ``priority``, ``comment``, SillyTavern's ``extensions``
such as ``group`` or ``role``) is kept in each entry's ``extras`` and the book's, verbatim, and written back on export
(:func:`book_to_card`), where our own values win. The export writes a field the card had, or one whose value differs
from what its absence means; nothing else (an entry a card gave as ``keys``, ``content`` and ``enabled`` comes back
so, plus what the specs require: ``extensions`` and ``insertion_order``, and V3's ``use_regex``).

This module is the one place that decides whether a card's book is accepted (its bounds are the lore tables' own):
the card side (:mod:`bot.core.card_books`) calls :func:`book_from_card`.

SillyTavern's extensions are read for what they mean here:
``position`` 4 with ``depth`` (at a depth in the history), ``selectiveLogic``, ``probability``/``useProbability``,
``match_whole_words``, ``case_sensitive``, ``scan_depth``, ``sticky``, ``cooldown``, ``delay``,
``exclude_recursion``, ``prevent_recursion``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.errors import DomainError
from bot.core.lore.entries import (
    DEFAULT_BOOK_BUDGET,
    DEFAULT_DEPTH,
    DEFAULT_RECURSION,
    DEFAULT_SCAN_DEPTH,
    LOGICS,
    MAX_BOOK_BUDGET,
    MAX_CONTENT_CHARS,
    MAX_SCAN_DEPTH,
    BookRules,
    LoreEntry,
    check_entry,
    check_entry_count,
)
from bot.core.text import clip

ST_AT_DEPTH = 4  # SillyTavern's extensions.position for "@ depth"
_IN_COLUMNS = ("keys", "content", "extensions")  # an entry's fields not kept in its extras (columns hold them)


@dataclass(frozen=True)
class CardBook:
    """A card's book as our settings, entries (ids 0..n-1, unsaved) and what we keep to write it back."""

    rules: BookRules
    entries: tuple[LoreEntry, ...]
    entry_extras: tuple[dict[str, Any], ...]
    extras: dict[str, Any] = field(default_factory=dict)


def _int(value: Any, default: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return max(low, min(high, int(value)))


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DomainError(f"The card's lorebook is malformed: {where} must be a list of words.")
    return list(value)


def _entry(raw: Any, index: int) -> tuple[LoreEntry, dict[str, Any]]:
    where = f"entry {index + 1}"
    if not isinstance(raw, Mapping):
        raise DomainError(f"Lore entry {index + 1} of the card's character_book must be an object.")
    found = raw.get("extensions")
    ext: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    content = raw.get("content")
    if not isinstance(content, str):
        raise DomainError(f"The card's lorebook is malformed: {where} has no text content.")
    if len(content) > MAX_CONTENT_CHARS:
        raise DomainError(
            f"Lore entry {index + 1} is {len(content):,} characters long; a lore entry holds at most "
            f"{MAX_CONTENT_CHARS:,}."
        )
    selective = raw.get("selective") is not False
    secondary = _strings(raw.get("secondary_keys"), f"{where}'s secondary_keys")
    logic_number = _int(ext.get("selectiveLogic"), 0, 0, 3)
    whole = ext.get("match_whole_words")
    case = raw.get("case_sensitive", ext.get("case_sensitive"))
    probability = _int(ext.get("probability"), 100, 0, 100) if ext.get("useProbability", True) else 100
    position = "after_char" if raw.get("position") == "after_char" or ext.get("position") == 1 else "before_char"
    if ext.get("position") == ST_AT_DEPTH:
        position = "at_depth"
    scan_depth = ext.get("scan_depth")
    entry = LoreEntry(
        id=index,
        keys=tuple(_strings(raw.get("keys"), f"{where}'s keys")),
        content=content,
        secondary_keys=tuple(secondary) if selective else (),
        logic=LOGICS[logic_number],
        case_sensitive=case is True,
        whole_words=whole is not False,
        use_regex=raw.get("use_regex") is True,
        order=_int(raw.get("insertion_order"), 100, -10_000, 10_000),
        position=position,
        depth=_int(ext.get("depth"), DEFAULT_DEPTH, 0, 30),
        constant=raw.get("constant") is True,
        enabled=raw.get("enabled") is not False,
        probability=probability,
        scan_depth=_int(scan_depth, 0, 0, MAX_SCAN_DEPTH) if scan_depth is not None else None,
        sticky=_int(ext.get("sticky"), 0, 0, 10),
        cooldown=_int(ext.get("cooldown"), 0, 0, 10),
        delay=_int(ext.get("delay"), 0, 0, 10),
        exclude_recursion=ext.get("exclude_recursion") is True,
        prevent_recursion=ext.get("prevent_recursion") is True,
        name=clip(str(raw.get("comment") or raw.get("name") or ""), 100),
    )
    try:
        checked = check_entry(entry)
    except DomainError as error:
        raise DomainError(f"The card's lorebook {where} ('{clip(entry.label, 40)}') is refused: {error}") from None
    extras = {
        "card": {k: copy.deepcopy(v) for k, v in raw.items() if k not in _IN_COLUMNS},
        "extensions": copy.deepcopy(dict(ext)),
    }
    return checked, extras


def book_from_card(book: Any) -> CardBook:
    """A card's ``character_book`` as a lore book (module docstring), or :class:`DomainError`."""
    if not isinstance(book, Mapping):
        raise DomainError("The card's lorebook (character_book) is malformed: it must be an object.")
    entries = book.get("entries", [])
    if not isinstance(entries, list):
        raise DomainError("The card's lorebook is malformed: its entries must be a list.")
    check_entry_count(len(entries))
    made = [_entry(raw, index) for index, raw in enumerate(entries)]
    rules = BookRules(
        scan_depth=_int(book.get("scan_depth"), DEFAULT_SCAN_DEPTH, 0, MAX_SCAN_DEPTH),
        token_budget=_int(book.get("token_budget"), DEFAULT_BOOK_BUDGET, 1, MAX_BOOK_BUDGET),
        recursion=DEFAULT_RECURSION if book.get("recursive_scanning", True) is not False else 0,
    )
    extras = {k: copy.deepcopy(v) for k, v in book.items() if k != "entries"}
    return CardBook(rules, tuple(e for e, _ in made), tuple(x for _, x in made), extras)


def _extensions_out(entry: LoreEntry, kept: Mapping[str, Any]) -> dict[str, Any]:
    """The entry's ``extensions``: the card's, verbatim, with our values for the keys it had or whose value
    differs from what their absence means (SillyTavern's names)."""
    ext = copy.deepcopy(dict(kept))
    position = ST_AT_DEPTH if entry.position == "at_depth" else (1 if entry.position == "after_char" else 0)
    ours: dict[str, tuple[Any, Any]] = {  # name: (value, what absence means)
        "position": (position, 0),
        "depth": (entry.depth, DEFAULT_DEPTH),
        "selectiveLogic": (LOGICS.index(entry.logic), 0),
        "probability": (entry.probability, 100),
        "match_whole_words": (entry.whole_words, True),
        "case_sensitive": (entry.case_sensitive, None),  # written at the entry's top level when new
        "scan_depth": (entry.scan_depth, None),
        "sticky": (entry.sticky, 0),
        "cooldown": (entry.cooldown, 0),
        "delay": (entry.delay, 0),
        "exclude_recursion": (entry.exclude_recursion, False),
        "prevent_recursion": (entry.prevent_recursion, False),
    }
    for key, (value, absent) in ours.items():
        if key in ext or (absent is not None and value != absent):
            ext[key] = value
    if "useProbability" in ext:
        ext["useProbability"] = entry.probability < 100 or bool(ext["useProbability"])
    return ext


def _entry_to_card(entry: LoreEntry, extras: Mapping[str, Any], version: int) -> dict[str, Any]:
    kept = copy.deepcopy(dict(extras.get("card") or {}))
    out: dict[str, Any] = {**kept, "keys": list(entry.keys), "content": entry.content}
    out["extensions"] = _extensions_out(entry, extras.get("extensions") or {})
    out["enabled"] = entry.enabled
    out["insertion_order"] = entry.order
    secondary = list(entry.secondary_keys)
    if secondary or kept.get("selective") is not False:
        if secondary or "secondary_keys" in kept:
            out["secondary_keys"] = secondary
        if "selective" in kept or secondary:
            out["selective"] = True
    flags: dict[str, tuple[Any, Any]] = {
        "case_sensitive": (entry.case_sensitive, False),
        "constant": (entry.constant, False),
        "position": ("after_char" if entry.position == "after_char" else "before_char", "before_char"),
    }
    for key, (value, absent) in flags.items():
        if key in kept or (value != absent and not (key == "case_sensitive" and key in out["extensions"])):
            out[key] = value
    label = clip(str(kept.get("comment") or kept.get("name") or ""), 100)
    if entry.name != label:
        out["comment"] = entry.name
    if version >= 3:
        out["use_regex"] = entry.use_regex
    else:
        out.pop("use_regex", None)
        if entry.use_regex:
            out["keys"] = [k if k.startswith("/") else f"/{k}/" for k in entry.keys]
            out["secondary_keys"] = [k if k.startswith("/") else f"/{k}/" for k in out.get("secondary_keys", [])]
    return out


def book_to_card(
    rules: BookRules,
    entries: Sequence[LoreEntry],
    entry_extras: Sequence[Mapping[str, Any]],
    extras: Mapping[str, Any],
    *,
    name: str = "",
    version: int = 2,
) -> dict[str, Any]:
    """The book as a card's ``character_book`` (V2 or V3: ``use_regex`` on every entry in V3; in V2 a pattern is
    written ``/pattern/``, as SillyTavern reads it); the book and every entry have ``extensions``, as validators
    require; a setting is written when the card had it or it differs from what its absence means."""
    book: dict[str, Any] = {k: copy.deepcopy(v) for k, v in extras.items() if k != "entries"}
    if name and "name" not in book:
        book["name"] = name
    settings: dict[str, tuple[Any, Any]] = {
        "scan_depth": (rules.scan_depth, DEFAULT_SCAN_DEPTH),
        "token_budget": (rules.token_budget, DEFAULT_BOOK_BUDGET),
        "recursive_scanning": (rules.recursion > 0, True),
    }
    for key, (value, absent) in settings.items():
        if key in book or value != absent:
            book[key] = value
    book["extensions"] = dict(book.get("extensions") or {})
    book["entries"] = [
        _entry_to_card(entry, entry_extras[i] if i < len(entry_extras) else {}, version)
        for i, entry in enumerate(entries)
    ]
    return book


def renumbered(entry: LoreEntry, entry_id: int) -> LoreEntry:
    """The entry with its stored id."""
    return replace(entry, id=entry_id)
