"""Re-importing a card exported from here and edited elsewhere (pure): which of the persona's fields change.

The card's value wins for each field it carries whose value differs from what was exported (the digests of
our extension, :attr:`bot.core.cards.CardImport.edited`) and from the persona's value now. A field the card
does not carry (a V3 field in a V2 card) changes nothing; a field the card carries unedited keeps the
persona's value, even if the persona was edited here since. Other tools' extensions are replaced by the
card's when they differ (the tool that edited the card wrote them).

The book (``character_book``) is the persona's lore book: only when the card's book differs from the one exported
(its digest) is the lore book replaced by it, named :data:`LOREBOOK` among the changes; an unedited book leaves the
lore book as it is (entries added with ``/lore`` since the export stay).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.card_books import LEGACY_CARD_KEY
from bot.core.cards import COLUMN_OF, LEGACY_EXTENSIONS_KEY, META_FIELDS, CardImport, card_meta

LOREBOOK = "lorebook"  # how a re-import names a changed character_book (the lore book is replaced by it)


@dataclass(frozen=True)
class Reimport:
    """What a re-import changes: a new name (or None), column values, new legacy settings (or None when
    unchanged), and the card fields that changed, in card order (what the reply lists)."""

    name: str | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    legacy_settings: dict[str, Any] | None = None
    changed: tuple[str, ...] = ()


def _with(legacy: Mapping[str, Any] | None, key: str, value: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(legacy or {}))
    if value:
        out[key] = copy.deepcopy(dict(value))
    else:
        out.pop(key, None)
    return out


def plan_reimport(current: Mapping[str, Any], card: CardImport) -> Reimport:
    """The changes ``card`` (exported here, ``card.edited`` set) makes to ``current`` (the persona's ``name``,
    its character columns and ``legacy_settings``)."""
    changed: list[str] = []
    name: str | None = None
    columns: dict[str, Any] = {}
    legacy = current.get("legacy_settings")
    meta = card_meta(legacy)
    new_meta = dict(meta)
    imported_meta = card_meta(card.settings.get("legacy_settings"))
    for key in card.edited or ():
        if key == "name":
            if card.name != current.get("name"):
                name = card.name
                changed.append(key)
        elif key in COLUMN_OF:
            column = COLUMN_OF[key]
            if column in card.columns and card.columns[column] != current.get(column):
                columns[column] = copy.deepcopy(card.columns[column])
                changed.append(key)
        elif key == "character_book":
            if key in imported_meta:
                new_meta[key] = copy.deepcopy(imported_meta[key])
            else:
                new_meta.pop(key, None)
            changed.append(LOREBOOK)
        elif key in META_FIELDS and imported_meta.get(key) != meta.get(key):
            if key in imported_meta:
                new_meta[key] = copy.deepcopy(imported_meta[key])
            else:
                new_meta.pop(key, None)
            changed.append(key)
    new_legacy: dict[str, Any] | None = None
    if new_meta != meta:
        new_legacy = _with(legacy, LEGACY_CARD_KEY, new_meta)
    others = dict((card.settings.get("legacy_settings") or {}).get(LEGACY_EXTENSIONS_KEY) or {})
    if others != dict((legacy or {}).get(LEGACY_EXTENSIONS_KEY) or {}):
        new_legacy = _with(new_legacy if new_legacy is not None else legacy, LEGACY_EXTENSIONS_KEY, others)
        changed.append("extensions")
    return Reimport(name=name, columns=columns, legacy_settings=new_legacy, changed=tuple(changed))
