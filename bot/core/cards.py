"""Character Cards V1 / V2 / V3 and personas (pure: no I/O, no clock).

**Cards.** The community format for AI characters: V2 is ``{"spec": "chara_card_v2", "spec_version": "2.0",
"data": {...}}``; V3 (``chara_card_v3``) adds ``nickname``, ``creator_notes_multilingual``, ``source``,
``group_only_greetings``, ``creation_date``, ``modification_date`` and ``assets``. A V1 card (the flat fields,
no ``spec``) reads like V2. What is accepted and bounded: :mod:`bot.core.card_reading`.

**The mapping** (both ways, one field in one place):

- the card's fields that are the character are the persona's own columns (:data:`COLUMN_OF`): ``description``
  -> ``description``, ``personality`` -> ``personality_text``, ``scenario``, ``first_mes`` -> ``greeting``,
  ``mes_example`` -> ``example_dialogue``, ``alternate_greetings``, ``system_prompt``,
  ``post_history_instructions``, ``creator_notes``, ``nickname``; ``name`` is the persona's name (the full name;
  Discord sees :func:`bot.core.personas.display_name`);
- the card's metadata with no column (:data:`META_FIELDS`: ``creator``, ``character_version``, ``tags``,
  ``character_book``, ``source``, ``group_only_greetings``, ``creator_notes_multilingual``, the dates,
  ``assets``) is kept verbatim in ``legacy_settings["card"]`` and written back, except the book: the card's
  ``character_book`` becomes the persona's lore book, and an export writes the lore book it is given (the
  ``book`` of :func:`persona_to_card`; none when the lore book is empty), never the copy kept from the import
  (:mod:`bot.core.card_books`);
- other tools' extensions are kept verbatim in ``legacy_settings["card_extensions"]`` and written back;
- a CHARX's other asset files in ``legacy_settings["card_files"]`` (:mod:`bot.core.card_charx`);
- a V3 ``icon`` asset with an http(s) ``uri`` becomes the avatar link.

**Our extension** ``data.extensions["persona_hub"]`` (version 2) holds only what a card has no field for: the
traits, custom traits, behaviour, privacy, memory configuration, plugins, other legacy settings and the avatar
link; in a V2 card the V3-only values (``v3``); which V3 dates are the card's own rather than the persona's
(``dates``); the exporting persona's id (``persona``) and a short digest of
each card field as exported (``sums``). The digests tell which fields were edited in another tool since: on
re-import the card's value wins for those (:mod:`bot.core.card_updates`); a field absent from the card (a V3
field in a V2 card) is never read as deleted. Version 1 of our extension (which repeated the description) is
still read: its settings are taken and the card's fields win.

**PNG cards** carry the card JSON, UTF-8 then base64, in a ``tEXt`` chunk ``chara`` (V2) or ``ccv3`` (V3);
:mod:`bot.core.card_png`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.core.card_books import LEGACY_CARD_KEY, book_for_export
from bot.core.card_png import (
    PNG_KEYWORD_V2,
    PNG_KEYWORD_V3,
    card_from_png,
    card_to_png,
    decode_card_text,
    encode_card_text,
    picture_of,
)
from bot.core.card_reading import SPEC_V2, SPEC_V3, V3_ONLY, read_card
from bot.core.errors import DomainError
from bot.core.png_text import PNG_SIGNATURE, png_with_text_chunk, read_text_chunks, solid_png
from bot.core.trait_suggestions import from_lexicon

EXTENSION_KEY = "persona_hub"
EXTENSION_VERSION = 2
LEGACY_EXTENSIONS_KEY = "card_extensions"
LEGACY_FILES_KEY = "card_files"  # a CHARX's other asset files (bot.core.card_charx), never in the card's JSON

# Card field -> persona column.
COLUMN_OF: dict[str, str] = {
    "description": "description",
    "personality": "personality_text",
    "scenario": "scenario",
    "first_mes": "greeting",
    "mes_example": "example_dialogue",
    "alternate_greetings": "alternate_greetings",
    "system_prompt": "system_prompt",
    "post_history_instructions": "post_history_instructions",
    "creator_notes": "creator_notes",
    "nickname": "nickname",
}
CHARACTER_COLUMNS: tuple[str, ...] = tuple(COLUMN_OF.values())
META_FIELDS = (
    "creator",
    "character_version",
    "tags",
    "character_book",
    "source",
    "group_only_greetings",
    "creator_notes_multilingual",
    "creation_date",
    "modification_date",
    "assets",
)
# Card fields whose exported value is digested (the dates describe the export itself).
SUMMED = ("name", *COLUMN_OF, *(f for f in META_FIELDS if f not in ("creation_date", "modification_date")))
# What our extension holds (PersonaInput names).
SETTINGS = ("avatar_url", "traits", "custom_traits", "behavior", "privacy", "memory", "plugins", "legacy_settings")
_SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "avatar_url": (str,),
    "traits": (Mapping,),
    "custom_traits": (list,),
    "behavior": (Mapping,),
    "privacy": (Mapping,),
    "memory": (Mapping,),
    "plugins": (list,),
    "legacy_settings": (Mapping,),
}
_OURS_V2 = frozenset({"version", "persona", "sums", "v3", "dates", *SETTINGS})
_DATES = ("creation_date", "modification_date")
_OURS_V1 = frozenset({"version", "description", *SETTINGS})
_CARD_KEYS = (LEGACY_CARD_KEY, LEGACY_EXTENSIONS_KEY, LEGACY_FILES_KEY)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def field_sum(value: Any) -> str:
    """A short digest of a card field's value (empty values all digest alike)."""
    norm = None if _is_empty(value) else value
    text = json.dumps(norm, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _timestamp(value: Any) -> int | None:
    if isinstance(value, datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())
    return None


def card_meta(legacy: Mapping[str, Any] | None) -> dict[str, Any]:
    """The card metadata a persona keeps (``legacy_settings["card"]``)."""
    kept = (legacy or {}).get(LEGACY_CARD_KEY)
    return copy.deepcopy(dict(kept)) if isinstance(kept, Mapping) else {}


def _other_extensions(legacy: Mapping[str, Any] | None) -> dict[str, Any]:
    kept = (legacy or {}).get(LEGACY_EXTENSIONS_KEY)
    return copy.deepcopy(dict(kept)) if isinstance(kept, Mapping) else {}


# --------------------------------------------------------------------------------------------------- export


def _v2_data(persona: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"name": str(persona.get("name") or "")}
    for field, column in COLUMN_OF.items():
        if field != "nickname":
            default: Any = [] if column == "alternate_greetings" else ""
            data[field] = copy.deepcopy(persona.get(column) or default)
    data["tags"] = list(meta.get("tags") or [])
    data["creator"] = str(meta.get("creator") or "")
    data["character_version"] = str(meta.get("character_version") or "")
    return data


def _v3_values(persona: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, Any]:
    """The V3-only fields of a persona's card (empty optional ones left out; group greetings always)."""
    values: dict[str, Any] = {"group_only_greetings": list(meta.get("group_only_greetings") or [])}
    if persona.get("nickname"):
        values["nickname"] = str(persona["nickname"])
    for key in ("creator_notes_multilingual", "source", "assets"):
        if not _is_empty(meta.get(key)):
            values[key] = copy.deepcopy(meta[key])
    created = meta.get("creation_date", _timestamp(persona.get("created_at")))
    modified = meta.get("modification_date", _timestamp(persona.get("updated_at")))
    if created is not None:
        values["creation_date"] = created
    if modified is not None:
        values["modification_date"] = modified
    return values


def _our_extension(persona: Mapping[str, Any], legacy: Mapping[str, Any]) -> dict[str, Any]:
    ours: dict[str, Any] = {"version": EXTENSION_VERSION}
    if persona.get("id") is not None:
        ours["persona"] = persona["id"]
    for name in SETTINGS:
        if name == "legacy_settings":
            rest = {k: v for k, v in legacy.items() if k not in _CARD_KEYS}
            value: Any = rest or None
        else:
            value = persona.get(name)
        if value is not None:
            ours[name] = copy.deepcopy(value)
    return ours


def persona_to_card(
    persona: Mapping[str, Any], version: int = 2, book: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A Character Card (V2 or V3) of a persona, each field written once and valid by its spec.

    ``persona`` has the persona's column names for the character (:data:`CHARACTER_COLUMNS`), ``name``, ``id``,
    the :class:`~bot.services.personas.PersonaInput` names of :data:`SETTINGS`, and optionally ``created_at`` /
    ``updated_at`` (datetimes, for V3's dates). ``book``: the persona's lore book as a ``character_book`` (None:
    the card has none; the copy ``legacy_settings`` keeps from an import is never written).
    """
    if version not in (2, 3):
        raise DomainError("Character cards come in version 2 or 3.")
    legacy = dict(persona.get("legacy_settings") or {})
    meta = card_meta(legacy)
    data = _v2_data(persona, meta)
    if book is not None:
        data["character_book"] = book_for_export(book, version)
    v3 = _v3_values(persona, meta)
    ours = _our_extension(persona, legacy)
    if version == 3:
        data.update(v3)
    else:
        only = {k: v for k, v in v3.items() if k not in ("creation_date", "modification_date") and not _is_empty(v)}
        if only:
            ours["v3"] = only
    ours["sums"] = {field: field_sum(data[field]) for field in SUMMED if field in data}
    kept_dates = [key for key in _DATES if key in meta]
    if kept_dates:
        ours["dates"] = kept_dates  # the card's own dates (the others are the persona's, not kept on import)
    extensions = _other_extensions(legacy)
    extensions[EXTENSION_KEY] = ours
    data["extensions"] = extensions
    if version == 2:
        return {"spec": SPEC_V2, "spec_version": "2.0", "data": data}
    return {"spec": SPEC_V3, "spec_version": "3.0", "data": data}


# --------------------------------------------------------------------------------------------------- import


@dataclass(frozen=True)
class CardImport:
    """What a card describes, checked for shape (the persona rules check values when it is written).

    ``columns``: the character columns the card carries (:data:`CHARACTER_COLUMNS` names); ``settings``: the
    other persona fields (:data:`SETTINGS` names; ``legacy_settings`` holds the card's metadata and other
    extensions); ``origin``: the id of the persona that exported it here (our extension), else None;
    ``edited``: the card fields whose value differs from what was exported (None when not exported here).
    """

    name: str
    columns: dict[str, Any]
    settings: dict[str, Any]
    version: int
    origin: int | None = None
    edited: tuple[str, ...] | None = None


def _icon_url(assets: Any) -> str | None:
    for asset in assets or []:
        uri = asset.get("uri")
        if asset.get("type") == "icon" and isinstance(uri, str) and urlsplit(uri).scheme in ("http", "https"):
            return uri
    return None


def _check_ours(ours: Any) -> dict[str, Any]:
    if not isinstance(ours, Mapping):
        raise DomainError(f"The card's '{EXTENSION_KEY}' extension must be an object.")
    version = ours.get("version")
    if version not in (1, EXTENSION_VERSION):
        raise DomainError(
            f"The card's '{EXTENSION_KEY}' extension is version {version!r}; this bot reads versions 1 and 2."
        )
    unknown = sorted(set(ours) - (_OURS_V1 if version == 1 else _OURS_V2))
    if unknown:
        raise DomainError(f"The card's '{EXTENSION_KEY}' extension has unknown fields: {', '.join(unknown)}.")
    for key, kinds in _SETTING_TYPES.items():
        value = ours.get(key)
        if value is not None and not isinstance(value, kinds):
            kind = "text" if kinds == (str,) else "a list" if kinds == (list,) else "an object"
            raise DomainError(f"'{key}' in the card's '{EXTENSION_KEY}' extension must be {kind}.")
    for key in ("sums", "v3"):
        if ours.get(key) is not None and not isinstance(ours[key], Mapping):
            raise DomainError(f"'{key}' in the card's '{EXTENSION_KEY}' extension must be an object.")
    origin = ours.get("persona")
    if origin is not None and (isinstance(origin, bool) or not isinstance(origin, int)):
        raise DomainError(f"'persona' in the card's '{EXTENSION_KEY}' extension must be a whole number.")
    return dict(ours)


def _card_values(data: Mapping[str, Any], v3_kept: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The card's columns and metadata; V3-only values absent from the card come from ``v3_kept``."""
    source = {**{k: v for k, v in v3_kept.items() if k in V3_ONLY and k not in data}, **data}
    columns: dict[str, Any] = {}
    for field, column in COLUMN_OF.items():
        if field in source:
            value = source[field]
            columns[column] = copy.deepcopy(value) if value is not None else ([] if field.endswith("s") else "")
    meta = {key: copy.deepcopy(source[key]) for key in META_FIELDS if not _is_empty(source.get(key))}
    return columns, meta


def _legacy(
    base: Mapping[str, Any] | None, meta: Mapping[str, Any], others: Mapping[str, Any]
) -> dict[str, Any] | None:
    legacy = {k: copy.deepcopy(v) for k, v in (base or {}).items() if k not in _CARD_KEYS}
    if meta:
        legacy[LEGACY_CARD_KEY] = dict(meta)
    if others:
        legacy[LEGACY_EXTENSIONS_KEY] = copy.deepcopy(dict(others))
    return legacy or None


def _traits_from_text(columns: Mapping[str, Any]) -> dict[str, float] | None:
    """A card from elsewhere has no traits: they are suggested from what its description, personality and scenario
    say (:func:`bot.core.trait_suggestions.from_lexicon`); None when those say nothing about them (the defaults)."""
    text = "\n".join(str(columns.get(key) or "") for key in ("description", "personality_text", "scenario"))
    found = from_lexicon(text)
    return dict(found.traits) if found.suggested else None


def card_to_persona(card: Any) -> CardImport:
    """What ``card`` describes (see the module docstring); a card from elsewhere gets traits suggested from its
    texts. Raises :class:`DomainError` for a malformed card."""
    version, data = read_card(card)
    others = dict(data.get("extensions") or {})
    raw_ours = others.pop(EXTENSION_KEY, None)
    name = " ".join(str(data["name"]).split())
    if raw_ours is None:
        columns, meta = _card_values(data, {})
        settings: dict[str, Any] = {"legacy_settings": _legacy(None, meta, others)}
        traits = _traits_from_text(columns)
        if traits is not None:
            settings["traits"] = traits
        icon = _icon_url(data.get("assets")) if version == 3 else None
        if icon is not None:
            settings["avatar_url"] = icon
        return CardImport(name=name, columns=columns, settings=settings, version=version)
    ours = _check_ours(raw_ours)
    columns, meta = _card_values(data, dict(ours.get("v3") or {}) if ours["version"] == 2 else {})
    dates = ours.get("dates")
    kept_dates: list[Any] = dates if isinstance(dates, list) else []
    meta = {k: v for k, v in meta.items() if k not in _DATES or k in kept_dates}
    settings = {key: copy.deepcopy(ours[key]) for key in SETTINGS if ours.get(key) is not None}
    settings["legacy_settings"] = _legacy(ours.get("legacy_settings"), meta, others)
    if ours["version"] == 1:
        return CardImport(name=name, columns=columns, settings=settings, version=version)
    sums = dict(ours.get("sums") or {})
    edited = tuple(f for f in SUMMED if f in data and field_sum(data[f]) != sums.get(f, field_sum(None)))
    return CardImport(
        name=name, columns=columns, settings=settings, version=version, origin=ours.get("persona"), edited=edited
    )


def card_to_json(card: Mapping[str, Any]) -> bytes:
    """A card as compact UTF-8 JSON (an export is no bigger than it must be)."""
    return json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


__all__ = [
    "CHARACTER_COLUMNS",
    "COLUMN_OF",
    "META_FIELDS",
    "PNG_KEYWORD_V2",
    "PNG_KEYWORD_V3",
    "PNG_SIGNATURE",
    "CardImport",
    "card_from_png",
    "card_meta",
    "card_to_json",
    "card_to_persona",
    "card_to_png",
    "decode_card_text",
    "encode_card_text",
    "field_sum",
    "persona_to_card",
    "picture_of",
    "png_with_text_chunk",
    "read_text_chunks",
    "solid_png",
]
