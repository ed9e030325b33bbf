"""A Character Card's ``character_book`` (V2 and V3) as a lore book and back (pure).

Import (:func:`book_from_card`) checks the whole book first and refuses it with a sentence (nothing is half-saved):
not an object, ``entries`` not a list, more than :data:`~bot.core.lore.entries.MAX_ENTRIES_PER_BOOK` entries, an
entry's content over :data:`~bot.core.lore.entries.MAX_CONTENT_CHARS`, a pattern that is not safe. What the book
says that entries have no column for (the card's ``id``, ``priority``, ``comment``, SillyTavern's ``extensions``
such as ``group`` or ``role``) is kept in each entry's ``extras`` and the book's, and written back on export
(:func:`book_to_card`), where our own values win. SillyTavern's extensions are read for what they mean here:
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
    MAX_SCAN_DEPTH,
    BookRules,
    LoreEntry,
    check_entry,
    check_entry_count,
)
from bot.core.text import clip

ST_AT_DEPTH = 4  # SillyTavern's extensions.position for "@ depth"
_KNOWN = {
    "keys", "content", "extensions", "enabled", "insertion_order", "case_sensitive", "name", "comment",
    "selective", "secondary_keys", "constant", "position", "use_regex",
}  # fmt: skip
_OURS_IN_EXTENSIONS = (
    "position", "depth", "selectiveLogic", "probability", "useProbability", "match_whole_words", "case_sensitive",
    "scan_depth", "sticky", "cooldown", "delay", "exclude_recursion", "prevent_recursion",
)  # fmt: skip


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
        raise DomainError(f"The card's lorebook is malformed: {where} is not an object.")
    found = raw.get("extensions")
    ext: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    content = raw.get("content")
    if not isinstance(content, str):
        raise DomainError(f"The card's lorebook is malformed: {where} has no text content.")
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
        "card": {k: copy.deepcopy(v) for k, v in raw.items() if k not in _KNOWN},
        "extensions": copy.deepcopy(dict(ext)),
    }
    for key in ("name", "comment"):
        if isinstance(raw.get(key), str):
            extras["card"][key] = raw[key]
    if not selective:
        extras["card"]["selective"] = False
        extras["card"]["secondary_keys"] = secondary
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


def _entry_to_card(entry: LoreEntry, extras: Mapping[str, Any], index: int, version: int) -> dict[str, Any]:
    card_kept = dict(extras.get("card") or {})
    ext = dict(extras.get("extensions") or {})
    ext.update(
        {
            "position": ST_AT_DEPTH if entry.position == "at_depth" else (1 if entry.position == "after_char" else 0),
            "depth": entry.depth,
            "selectiveLogic": LOGICS.index(entry.logic),
            "probability": entry.probability,
            "useProbability": entry.probability < 100 or bool(ext.get("useProbability", False)),
            "match_whole_words": entry.whole_words,
            "case_sensitive": entry.case_sensitive,
            "scan_depth": entry.scan_depth,
            "sticky": entry.sticky,
            "cooldown": entry.cooldown,
            "delay": entry.delay,
            "exclude_recursion": entry.exclude_recursion,
            "prevent_recursion": entry.prevent_recursion,
        }
    )
    secondary = list(entry.secondary_keys)
    selective = bool(secondary) or card_kept.get("selective") is not False
    if not secondary and card_kept.get("selective") is False:
        secondary = list(card_kept.get("secondary_keys") or [])
    out: dict[str, Any] = {**card_kept}
    out.update(
        {
            "id": card_kept.get("id", index),
            "keys": list(entry.keys),
            "secondary_keys": secondary,
            "content": entry.content,
            "extensions": ext,
            "enabled": entry.enabled,
            "insertion_order": entry.order,
            "case_sensitive": entry.case_sensitive,
            "selective": selective,
            "constant": entry.constant,
            "position": "after_char" if entry.position == "after_char" else "before_char",
            "comment": card_kept.get("comment", entry.name),
        }
    )
    if "name" in card_kept or entry.name:
        out["name"] = card_kept.get("name", entry.name)
    if version >= 3:
        out["use_regex"] = entry.use_regex
    elif entry.use_regex:
        out["keys"] = [k if k.startswith("/") else f"/{k}/" for k in entry.keys]
        out["secondary_keys"] = [k if k.startswith("/") else f"/{k}/" for k in secondary]
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
    written ``/pattern/``, as SillyTavern reads it); every entry has ``extensions``, as validators require."""
    book: dict[str, Any] = {k: copy.deepcopy(v) for k, v in extras.items() if k != "entries"}
    book.setdefault("name", name)
    book["scan_depth"] = rules.scan_depth
    book["token_budget"] = rules.token_budget
    book["recursive_scanning"] = rules.recursion > 0
    book["extensions"] = dict(book.get("extensions") or {})
    book["entries"] = [
        _entry_to_card(entry, entry_extras[i] if i < len(entry_extras) else {}, i, version)
        for i, entry in enumerate(entries)
    ]
    return book


def renumbered(entry: LoreEntry, entry_id: int) -> LoreEntry:
    """The entry with its stored id."""
    return replace(entry, id=entry_id)
