"""Character Card V2 / V3 mapping, and cards inside PNG pictures (pure: no I/O, no clock).

**Cards.** The community format for AI characters: V2 is ``{"spec": "chara_card_v2", "spec_version": "2.0",
"data": {...}}``; V3 (``chara_card_v3``, ``"3.0"``) adds ``nickname``, ``creator_notes_multilingual``,
``source``, ``group_only_greetings``, ``creation_date``, ``modification_date`` and ``assets``. A V1 card (the
flat ``{name, description, personality, scenario, first_mes, mes_example}`` without ``spec``) is read as V2.

**Mapping a foreign card to a persona** (:func:`card_to_persona`, no ``persona_hub`` extension):

- ``name`` is the persona's name (checked later by :func:`bot.core.personas.validate_name`).
- ``description`` of the persona = the card's description, then ``Personality: <personality>``, then
  ``Scenario: <scenario>``, as paragraphs (see :func:`merged_description`), cut at
  :data:`~bot.core.personas.DESCRIPTION_MAX` characters with an ellipsis. Free-text personality is not
  guessed into numbers: the fourteen traits start at their defaults.
- Every card field we have no column for (``first_mes``, ``mes_example``, ``scenario``, ``personality``,
  ``alternate_greetings``, ``system_prompt``, ``post_history_instructions``, ``creator_notes``, ``tags``,
  ``creator``, ``character_version``, ``character_book`` and the V3 fields) and the card's original
  ``description`` are kept verbatim (when not empty) in ``legacy_settings["card"]``: prompts may use them
  (the first message, the examples) and an export writes them back. Behaviour settings take no free text,
  so greetings live there too.
- A V3 ``icon`` asset with an http(s) ``uri`` becomes the avatar link.
- Extensions other than ours are returned to be kept untouched (stored in ``legacy_settings["card_extensions"]``
  by the service) and written back on export.

**Our extension.** :func:`persona_to_card` puts everything a card has no field for under
``data.extensions["persona_hub"]`` (traits, custom traits, behaviour, privacy, plugins, memory configuration,
legacy settings, description, avatar). When a card carries it, :func:`card_to_persona` restores those values
exactly; the card's name is the name, and a card-only field (first message, examples, tags, ...) that differs
from what our export would write for that persona was edited in another tool and is kept.

**Description on export.** If the persona's description is still the one an import made of the card
(:func:`merged_description` of the kept fields), the card's original description, personality and scenario are
written back as they were; if the owner changed it, the persona's description is the card's description.
The card's ``personality`` is the kept one, else the trait words of :func:`bot.core.personality.describe_traits`.

**PNG cards** carry the card JSON, UTF-8 then base64, in a ``tEXt`` chunk with keyword ``chara`` (V2) or
``ccv3`` (V3). The chunk format itself (length, type, data, CRC-32, every CRC checked) is
:mod:`bot.core.png_text`; its functions are re-exported here.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.core import personality
from bot.core.errors import DomainError
from bot.core.inputs import parse_json_text
from bot.core.personas import DESCRIPTION_MAX
from bot.core.png_text import PNG_SIGNATURE, png_with_text_chunk, read_text_chunks, solid_png, without_text

SPEC_V2 = "chara_card_v2"
SPEC_V3 = "chara_card_v3"
EXTENSION_KEY = "persona_hub"
EXTENSION_VERSION = 1
LEGACY_CARD_KEY = "card"
LEGACY_EXTENSIONS_KEY = "card_extensions"
PNG_KEYWORD_V2 = "chara"
PNG_KEYWORD_V3 = "ccv3"

_V2_TEXT = (
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
_V2_LISTS = ("alternate_greetings", "tags")
_V3_TEXT = ("nickname",)
_V3_LISTS = ("source", "group_only_greetings")
_V3_DATES = ("creation_date", "modification_date")
# Card fields kept in legacy_settings["card"] (name is the persona's own; extensions are kept apart).
CARD_ONLY_FIELDS: tuple[str, ...] = (
    *_V2_TEXT,
    *_V2_LISTS,
    "character_book",
    *_V3_TEXT,
    *_V3_LISTS,
    "creator_notes_multilingual",
    *_V3_DATES,
    "assets",
)
# What our extension holds: the persona fields (PersonaInput names) a card has no place for.
_EXTENSION_FIELDS = (
    "description",
    "avatar_url",
    "traits",
    "custom_traits",
    "behavior",
    "privacy",
    "memory",
    "plugins",
    "legacy_settings",
)

_ELLIPSIS = "…"


# --------------------------------------------------------------------------------------------------- helpers


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def merged_description(description: str, personality_text: str = "", scenario: str = "") -> str:
    """A persona description from a card: description, personality and scenario as labelled paragraphs,
    cut to the description limit with an ellipsis."""
    parts = [description.strip()]
    if personality_text.strip():
        parts.append(f"Personality: {personality_text.strip()}")
    if scenario.strip():
        parts.append(f"Scenario: {scenario.strip()}")
    text = "\n\n".join(part for part in parts if part)
    if len(text) > DESCRIPTION_MAX:
        text = text[: DESCRIPTION_MAX - len(_ELLIPSIS)].rstrip() + _ELLIPSIS
    return text


def _timestamp(value: Any) -> int | None:
    """A datetime (or ISO text) as Unix seconds, or None."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp())
    return None


def _card_fields(legacy: Mapping[str, Any] | None) -> dict[str, Any]:
    kept = (legacy or {}).get(LEGACY_CARD_KEY)
    return dict(kept) if isinstance(kept, Mapping) else {}


def _kept_extensions(legacy: Mapping[str, Any] | None) -> dict[str, Any]:
    kept = (legacy or {}).get(LEGACY_EXTENSIONS_KEY)
    return copy.deepcopy(dict(kept)) if isinstance(kept, Mapping) else {}


# --------------------------------------------------------------------------------------------------- export


def persona_to_card(persona: Mapping[str, Any], version: int = 2) -> dict[str, Any]:
    """A Character Card (V2 or V3) of a persona.

    ``persona`` has the :class:`~bot.services.personas.PersonaInput` field names (``name``, ``description``,
    ``avatar_url``, ``traits``, ``custom_traits``, ``behavior``, ``privacy``, ``memory``, ``plugins``,
    ``legacy_settings``) and optionally ``created_at`` / ``updated_at`` (datetimes, for V3's dates).
    """
    if version not in (2, 3):
        raise DomainError("Character cards come in version 2 or 3.")
    legacy = dict(persona.get("legacy_settings") or {})
    kept = _card_fields(legacy)
    description = str(persona.get("description") or "")
    kept_description = kept.get("description")
    kept_personality = kept.get("personality")
    if kept_description is not None and description == merged_description(
        str(kept_description), str(kept.get("personality") or ""), str(kept.get("scenario") or "")
    ):
        description = str(kept_description)
    if kept_personality is None:
        traits = persona.get("traits") or {}
        personality_text = ", ".join(personality.describe_traits(traits)) if traits else ""
    else:
        personality_text = str(kept_personality)

    data: dict[str, Any] = {
        "name": str(persona.get("name") or ""),
        "description": description,
        "personality": personality_text,
        "scenario": str(kept.get("scenario") or ""),
        "first_mes": str(kept.get("first_mes") or ""),
        "mes_example": str(kept.get("mes_example") or ""),
        "creator_notes": str(kept.get("creator_notes") or ""),
        "system_prompt": str(kept.get("system_prompt") or ""),
        "post_history_instructions": str(kept.get("post_history_instructions") or ""),
        "alternate_greetings": list(kept.get("alternate_greetings") or []),
        "tags": list(kept.get("tags") or []),
        "creator": str(kept.get("creator") or ""),
        "character_version": str(kept.get("character_version") or ""),
    }
    if kept.get("character_book") is not None:
        data["character_book"] = copy.deepcopy(kept["character_book"])

    ours_legacy = {k: v for k, v in legacy.items() if k != LEGACY_EXTENSIONS_KEY}
    ours: dict[str, Any] = {"version": EXTENSION_VERSION}
    for name in _EXTENSION_FIELDS:
        value = ours_legacy if name == "legacy_settings" else persona.get(name)
        if name == "legacy_settings" and persona.get("legacy_settings") is None:
            value = None
        ours[name] = copy.deepcopy(value)
    extensions = _kept_extensions(legacy)
    extensions[EXTENSION_KEY] = ours
    data["extensions"] = extensions

    if version == 2:
        return {"spec": SPEC_V2, "spec_version": "2.0", "data": data}

    data["nickname"] = str(kept.get("nickname") or "")
    data["creator_notes_multilingual"] = copy.deepcopy(kept.get("creator_notes_multilingual") or {})
    data["source"] = list(kept.get("source") or [])
    data["group_only_greetings"] = list(kept.get("group_only_greetings") or [])
    created = kept.get("creation_date", _timestamp(persona.get("created_at")))
    modified = kept.get("modification_date", _timestamp(persona.get("updated_at")))
    if created is not None:
        data["creation_date"] = created
    if modified is not None:
        data["modification_date"] = modified
    if kept.get("assets") is not None:
        data["assets"] = copy.deepcopy(kept["assets"])
    return {"spec": SPEC_V3, "spec_version": "3.0", "data": data}


# --------------------------------------------------------------------------------------------------- import


def _check_card(card: Any) -> tuple[int, dict[str, Any]]:
    """The card's version (2 or 3) and its data, with every field's type checked (a V1 card reads as V2)."""
    if not isinstance(card, Mapping):
        raise DomainError("A character card must be a JSON object.")
    spec = card.get("spec")
    if spec is None and "name" in card and "data" not in card:
        data: Any = dict(card)  # V1: the fields at the top level
        version = 2
    elif spec == SPEC_V2:
        data, version = card.get("data"), 2
    elif spec == SPEC_V3:
        data, version = card.get("data"), 3
    else:
        raise DomainError(f"This is not a character card I know (spec {spec!r}; expected {SPEC_V2} or {SPEC_V3}).")
    if not isinstance(data, Mapping):
        raise DomainError("The character card has no 'data' object.")
    data = dict(data)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DomainError("The character card has no name.")
    for key in (*_V2_TEXT, *_V3_TEXT):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise DomainError(f"The card's '{key}' must be text.")
    for key in (*_V2_LISTS, *_V3_LISTS):
        value = data.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise DomainError(f"The card's '{key}' must be a list of texts.")
    for key in _V3_DATES:
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise DomainError(f"The card's '{key}' must be a Unix timestamp (a number).")
    for key in ("character_book", "creator_notes_multilingual", "extensions"):
        if data.get(key) is not None and not isinstance(data[key], Mapping):
            raise DomainError(f"The card's '{key}' must be an object.")
    assets = data.get("assets")
    if assets is not None and (not isinstance(assets, list) or not all(isinstance(a, Mapping) for a in assets)):
        raise DomainError("The card's 'assets' must be a list of objects.")
    return version, data


_EXTENSION_TYPES: dict[str, tuple[type, ...]] = {
    "description": (str,),
    "avatar_url": (str,),
    "traits": (Mapping,),
    "custom_traits": (list,),
    "behavior": (Mapping,),
    "privacy": (Mapping,),
    "memory": (Mapping,),
    "plugins": (list,),
    "legacy_settings": (Mapping,),
}


def _check_extension_types(persona: Mapping[str, Any]) -> None:
    for key, kinds in _EXTENSION_TYPES.items():
        value = persona.get(key)
        if value is not None and not isinstance(value, kinds):
            kind = "text" if kinds == (str,) else "a list" if kinds == (list,) else "an object"
            raise DomainError(f"'{key}' in the card's '{EXTENSION_KEY}' extension must be {kind}.")


def _icon_url(assets: Any) -> str | None:
    for asset in assets or []:
        uri = asset.get("uri")
        if asset.get("type") == "icon" and isinstance(uri, str) and urlsplit(uri).scheme in ("http", "https"):
            return uri
    return None


def card_to_persona(card: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The persona a card describes, and the card's other extensions (to keep untouched).

    The first value has :class:`~bot.services.personas.PersonaInput` field names; its values are not yet
    checked by the persona rules (the service does that before writing anything). Card fields we have no
    column for are in ``legacy_settings["card"]``. Raises :class:`DomainError` for a malformed card.
    """
    version, data = _check_card(card)
    extensions = dict(data.get("extensions") or {})
    ours = extensions.pop(EXTENSION_KEY, None)
    name = " ".join(str(data["name"]).split())
    card_values = {key: copy.deepcopy(data[key]) for key in CARD_ONLY_FIELDS if not _is_empty(data.get(key))}

    if ours is not None:
        if not isinstance(ours, Mapping):
            raise DomainError(f"The card's '{EXTENSION_KEY}' extension must be an object.")
        if ours.get("version") != EXTENSION_VERSION:
            raise DomainError(
                f"The card's '{EXTENSION_KEY}' extension is version {ours.get('version')!r}; "
                f"this bot reads version {EXTENSION_VERSION}."
            )
        unknown = sorted(set(ours) - {"version", *_EXTENSION_FIELDS})
        if unknown:
            raise DomainError(f"The card's '{EXTENSION_KEY}' extension has unknown fields: {', '.join(unknown)}.")
        persona: dict[str, Any] = {"name": name, **{k: copy.deepcopy(ours.get(k)) for k in _EXTENSION_FIELDS}}
        _check_extension_types(persona)
        # Card-only fields edited in another tool (they differ from what our export writes) are kept.
        expected = persona_to_card(persona, version)["data"]
        kept = _card_fields(persona.get("legacy_settings"))
        changed = False
        for key in CARD_ONLY_FIELDS:
            if key in ("description", *_V3_DATES) or (version == 2 and key not in data and key not in expected):
                continue
            given, wanted = card_values.get(key), expected.get(key)
            if (None if _is_empty(wanted) else wanted) == given:
                continue
            changed = True
            if given is None:
                kept.pop(key, None)
            else:
                kept[key] = given
        if changed:
            legacy = {k: v for k, v in (persona.get("legacy_settings") or {}).items() if k != LEGACY_CARD_KEY}
            if kept:
                legacy[LEGACY_CARD_KEY] = kept
            persona["legacy_settings"] = legacy
        return persona, extensions

    kept = dict(card_values)
    # The card's own dates describe the card: keep them only as they came.
    persona = {
        "name": name,
        "description": merged_description(
            str(data.get("description") or ""), str(data.get("personality") or ""), str(data.get("scenario") or "")
        ),
        "avatar_url": _icon_url(data.get("assets")) if version == 3 else None,
        "legacy_settings": {LEGACY_CARD_KEY: kept} if kept else None,
    }
    return persona, extensions


def keep_extensions(legacy: Mapping[str, Any] | None, extensions: Mapping[str, Any]) -> dict[str, Any] | None:
    """Legacy settings with a card's other extensions stored for the next export (unchanged when none)."""
    if not extensions:
        return dict(legacy) if legacy is not None else None
    return {**dict(legacy or {}), LEGACY_EXTENSIONS_KEY: copy.deepcopy(dict(extensions))}


def card_to_json(card: Mapping[str, Any]) -> bytes:
    """A card as UTF-8 JSON."""
    return json.dumps(card, ensure_ascii=False, indent=2).encode("utf-8")


def encode_card_text(card: Mapping[str, Any]) -> str:
    """A card as PNG chunk text: UTF-8 JSON, base64."""
    compact = json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(compact).decode("ascii")


def decode_card_text(text: str) -> Any:
    """The card JSON in a PNG chunk (base64 of UTF-8 JSON; plain JSON is accepted too)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        raw = stripped.encode("utf-8")
    else:
        try:
            raw = base64.b64decode(stripped, validate=True)
        except (binascii.Error, ValueError) as error:
            raise DomainError("The card in the PNG is not valid base64.") from error
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DomainError(f"The card in the PNG is not valid JSON: {error}.") from error
    return parse_json_text(decoded, "The card in the PNG")


# --------------------------------------------------------------------------------------------------- PNG


def card_from_png(png_bytes: bytes) -> Any:
    """The card JSON a PNG carries (``ccv3`` preferred over ``chara``)."""
    chunks = read_text_chunks(png_bytes)
    for keyword in (PNG_KEYWORD_V3, PNG_KEYWORD_V2):
        if keyword in chunks:
            return decode_card_text(chunks[keyword])
    raise DomainError(f"This PNG has no character card in it (no '{PNG_KEYWORD_V2}' or '{PNG_KEYWORD_V3}' text chunk).")


def card_to_png(card: Mapping[str, Any], picture_png: bytes) -> bytes:
    """The picture with the card inside: a V3 card goes in ``ccv3`` with a V2 copy in ``chara`` (for older
    readers); a V2 card in ``chara`` (a stale ``ccv3`` is removed, so readers do not prefer it)."""
    if card.get("spec") == SPEC_V3:
        v2 = {"spec": SPEC_V2, "spec_version": "2.0", "data": _v2_data(card["data"])}
        png = png_with_text_chunk(picture_png, PNG_KEYWORD_V2, encode_card_text(v2))
        return png_with_text_chunk(png, PNG_KEYWORD_V3, encode_card_text(card))
    png = without_text(picture_png, PNG_KEYWORD_V3)
    return png_with_text_chunk(png, PNG_KEYWORD_V2, encode_card_text(card))


def _v2_data(data: Mapping[str, Any]) -> dict[str, Any]:
    v3_only = {*_V3_TEXT, *_V3_LISTS, "creator_notes_multilingual", *_V3_DATES, "assets"}
    return {k: copy.deepcopy(v) for k, v in data.items() if k not in v3_only}


__all__ = [
    "PNG_SIGNATURE",
    "card_from_png",
    "card_to_json",
    "card_to_persona",
    "card_to_png",
    "decode_card_text",
    "encode_card_text",
    "keep_extensions",
    "merged_description",
    "persona_to_card",
    "png_with_text_chunk",
    "read_text_chunks",
    "solid_png",
]
