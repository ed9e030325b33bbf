"""Embeds in message and webhook bodies: Discord's "Embed Limits" (developers/resources/message, Embed Object).

Each limit is measured on the text trimmed of leading and trailing whitespace, as Discord measures it: title 256,
description 4096, 25 fields, field name 256, field value 1024, footer text 2048, author name 256; a field needs a
name and a value; and the texts of all embeds of one message (title, description, field names and values, footer
text, author name) add up to at most 6000 characters, else Discord refuses the ``embeds`` with
``MAX_EMBED_SIZE_EXCEEDED`` ("Embed size exceeds maximum size of 6000").
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.server.validation.errors import FormErrors, Path

MAX_EMBEDS = 10
EMBED_TOTAL_MAX = 6000
TITLE_MAX, DESCRIPTION_MAX = 256, 4096
FIELDS_MAX, FIELD_NAME_MAX, FIELD_VALUE_MAX = 25, 256, 1024
FOOTER_TEXT_MAX, AUTHOR_NAME_MAX = 2048, 256


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _part(embed: dict[str, Any], key: str, sub: str) -> str:
    inner = embed.get(key)
    return _text(inner.get(sub)) if isinstance(inner, dict) else ""


def embed_size(embed: dict[str, Any]) -> int:
    """The characters of ``embed`` that count toward the 6000 of a message."""
    size = len(_text(embed.get("title"))) + len(_text(embed.get("description")))
    size += len(_part(embed, "footer", "text")) + len(_part(embed, "author", "name"))
    for field in embed.get("fields") or []:
        if isinstance(field, dict):
            size += len(_text(field.get("name"))) + len(_text(field.get("value")))
    return size


def _check_text(errors: FormErrors, path: Path, value: Any, limit: int) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        errors.not_a_string(path)
        return
    errors.max_length(path, value.strip(), limit)


def _check_fields(fields: Any, errors: FormErrors, path: Path) -> None:
    if not isinstance(fields, list):
        errors.add(path, "BASE_TYPE_LIST", "Must be an array.")
        return
    errors.max_length(path, fields, FIELDS_MAX)
    for i, field in enumerate(fields):
        if not isinstance(field, dict):
            errors.not_a_dict([*path, i])
            continue
        for key, limit in (("name", FIELD_NAME_MAX), ("value", FIELD_VALUE_MAX)):
            if not _text(field.get(key)):
                errors.required([*path, i, key])
            else:
                _check_text(errors, [*path, i, key], field.get(key), limit)


def check_embed(embed: Any, errors: FormErrors, path: Path) -> None:
    """One embed's own limits (not the message's 6000-character total)."""
    if not isinstance(embed, dict):
        errors.not_a_dict(path)
        return
    _check_text(errors, [*path, "title"], embed.get("title"), TITLE_MAX)
    _check_text(errors, [*path, "description"], embed.get("description"), DESCRIPTION_MAX)
    if embed.get("fields") is not None:
        _check_fields(embed["fields"], errors, [*path, "fields"])
    for key, sub, limit in (("footer", "text", FOOTER_TEXT_MAX), ("author", "name", AUTHOR_NAME_MAX)):
        inner = embed.get(key)
        if inner is None:
            continue
        if not isinstance(inner, dict):
            errors.not_a_dict([*path, key])
        elif not _text(inner.get(sub)):
            errors.required([*path, key, sub])
        else:
            _check_text(errors, [*path, key, sub], inner.get(sub), limit)


def check_embeds(embeds: Any, errors: FormErrors, path: Path = ("embeds",)) -> None:
    """A message's ``embeds``: at most 10, each within its limits, 6000 characters in all."""
    if embeds is None:
        return
    if not isinstance(embeds, list):
        errors.add(path, "BASE_TYPE_LIST", "Must be an array.")
        return
    errors.max_length(path, embeds, MAX_EMBEDS)
    for i, embed in enumerate(embeds):
        check_embed(embed, errors, [*path, i])
    if sum(embed_size(e) for e in embeds if isinstance(e, dict)) > EMBED_TOTAL_MAX:
        errors.add(path, "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}")
