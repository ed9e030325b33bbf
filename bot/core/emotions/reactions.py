"""Reactions: which trigger an emoji stands for (the server's map, ``data/reactions.toml``, then Unicode names).
Pure.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from bot.core import catalog
from bot.core.emotions.tables import trigger_entry

# ----------------------------------------------------------------------------------------------------
# Reactions


_SKIP = frozenset({0xFE0E, 0xFE0F, *range(0x1F3FB, 0x1F400)})


def _normalise(emoji: str) -> str:
    return "".join(ch for ch in emoji.strip() if ord(ch) not in _SKIP)


def _custom_name(emoji: str) -> str | None:
    """The name of a custom emoji given as ``<:name:id>``, ``<a:name:id>``, ``:name:`` or ``name``."""
    text = emoji.strip()
    if text.startswith("<") and text.endswith(">"):
        parts = text[1:-1].split(":")
        if len(parts) == 3 and parts[0] in ("", "a") and parts[1]:
            return parts[1]
        return None
    if len(text) > 2 and text.startswith(":") and text.endswith(":"):
        text = text[1:-1]
    if text and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in text):
        return text
    return None


def _checked_trigger(name: str) -> str:
    trigger_entry(name)
    return name


def trigger_for_emoji(emoji: str, server_map: Mapping[str, str] | None = None) -> str | None:
    """The trigger a reaction with ``emoji`` stands for, or None (no emotional effect).

    In order: ``server_map`` (a server's custom emoji by name, exactly or ignoring case, or a Unicode emoji;
    it overrides the default); the default map of ``data/reactions.toml`` (Unicode emoji, compared without
    variation selectors and skin tones); its ``[[fallback]]`` rules, the first whose text occurs in the
    Unicode name of one of the emoji's code points (for a custom emoji: in its name, upper-cased, with ``_``
    and ``-`` as spaces); otherwise None.
    """
    name = _custom_name(emoji)
    server = dict(server_map or {})
    if name is not None:
        if name in server:
            return _checked_trigger(server[name])
        folded = {key.casefold(): value for key, value in server.items()}
        if name.casefold() in folded:
            return _checked_trigger(folded[name.casefold()])
        texts = [name.upper().replace("_", " ").replace("-", " ")]
    else:
        key = _normalise(emoji)
        if not key:
            return None
        for candidate, value in server.items():
            if _normalise(candidate) == key:
                return _checked_trigger(value)
        table = catalog.load("reactions")
        defaults: dict[str, str] = {_normalise(k): v for k, v in table.get("emoji", {}).items()}
        if key in defaults:
            return defaults[key]
        texts = [unicodedata.name(ch, "") for ch in key]
    for rule in catalog.load("reactions").get("fallback", []):
        if any(rule["contains"] in text for text in texts):
            trigger: str = rule["trigger"]
            return trigger
    return None
