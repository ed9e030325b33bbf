"""Message and webhook-message bodies (developers/resources/message "Create Message" and "Edit Message",
developers/resources/webhook "Execute Webhook" and "Create Webhook").

- ``content``: a string of at most 2000 characters.
- ``embeds``: see :mod:`.embeds`; ``components``: see :mod:`.components` (V1) or ``layouts`` (V2).
- ``nonce``: an integer or a string of at most 25 characters.
- ``sticker_ids``: at most 3.
- ``allowed_mentions``: ``parse`` values among ``roles``, ``users``, ``everyone``; ``users`` and ``roles`` at most
  100 ids each; ``parse`` naming ``users`` (or ``roles``) together with a non-empty ``users`` (or ``roles``) list is
  refused (the fields are "mutually exclusive", "causing a validation error").
- ``attachments``: entries with an ``id``, descriptions of at most 1024 characters.
- ``message_reference``: a ``type`` of 0 (reply) or 1 (forward); a forward names its ``channel_id``.
- ``flags``: with ``IS_COMPONENTS_V2`` the message "can only contain components": ``content``, ``embeds``,
  ``sticker_ids`` and ``poll`` are refused. Flags outside the settable ones are dropped (:func:`settable_flags`), as
  Discord ignores them.
- Webhook names and the ``username`` of an execution: 1-80 characters, without "clyde" or "discord"
  (case-insensitive) (``USERNAME_INVALID_CONTAINS``).
"""

from __future__ import annotations

from typing import Any, Literal

from bot.sandbox.server.validation.components import check_components
from bot.sandbox.server.validation.embeds import check_embeds
from bot.sandbox.server.validation.errors import FormErrors, Path
from bot.sandbox.server.validation.layouts import IS_COMPONENTS_V2, check_layout

Kind = Literal["message", "webhook", "interaction", "edit"]

SUPPRESS_EMBEDS, EPHEMERAL, SUPPRESS_NOTIFICATIONS, IS_VOICE_MESSAGE = 1 << 2, 1 << 6, 1 << 12, 1 << 13
CONTENT_MAX, NONCE_MAX, STICKERS_MAX, MENTION_IDS_MAX, ATTACHMENT_DESCRIPTION_MAX = 2000, 25, 3, 100, 1024
WEBHOOK_NAME_MAX = 80
MENTION_TYPES = ("roles", "users", "everyone")
LEGACY_FIELDS = ("content", "embeds", "sticker_ids", "poll")

# What each kind of request may set ("only ... can be set"); the rest is ignored. Interaction responses and
# follow-ups may also be EPHEMERAL (developers/interactions/receiving-and-responding, Messages).
SETTABLE = {
    "message": SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_VOICE_MESSAGE | IS_COMPONENTS_V2,
    "webhook": SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2,
    "interaction": SUPPRESS_EMBEDS | EPHEMERAL | SUPPRESS_NOTIFICATIONS | IS_VOICE_MESSAGE | IS_COMPONENTS_V2,
    "edit": SUPPRESS_EMBEDS | IS_COMPONENTS_V2,
}


def settable_flags(flags: Any, kind: Kind) -> int:
    """The bits of ``flags`` a request of ``kind`` may set (Discord ignores the others)."""
    return int(flags or 0) & SETTABLE[kind]


def check_webhook_name(name: Any, errors: FormErrors, path: Path) -> None:
    """A webhook's name, or the username a webhook message is sent under."""
    if not isinstance(name, str):
        errors.not_a_string(path)
        return
    if errors.bad_length(path, name, 1, WEBHOOK_NAME_MAX):
        return
    for word in ("clyde", "discord"):
        if word in name.lower():
            errors.add(path, "USERNAME_INVALID_CONTAINS", f'Username cannot contain "{word}"')


def check_allowed_mentions(allowed: Any, errors: FormErrors, path: Path = ("allowed_mentions",)) -> None:
    if allowed is None:
        return
    if not isinstance(allowed, dict):
        errors.not_a_dict(path)
        return
    parse = allowed.get("parse") or []
    if not isinstance(parse, list):
        errors.add([*path, "parse"], "BASE_TYPE_LIST", "Must be an array.")
        parse = []
    for i, value in enumerate(parse):
        errors.choices([*path, "parse", i], value, MENTION_TYPES)
    for key in ("users", "roles"):
        ids = allowed.get(key)
        if ids is None:
            continue
        if not isinstance(ids, list):
            errors.add([*path, key], "BASE_TYPE_LIST", "Must be an array.")
            continue
        errors.max_length([*path, key], ids, MENTION_IDS_MAX)
        if ids and key in parse:
            errors.add(
                path,
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{key}"] and {key}: [ids...] are mutually exclusive.',
            )


def _check_attachments(attachments: Any, errors: FormErrors, path: Path = ("attachments",)) -> None:
    if attachments is None:
        return
    if not isinstance(attachments, list):
        errors.add(path, "BASE_TYPE_LIST", "Must be an array.")
        return
    for i, entry in enumerate(attachments):
        if not isinstance(entry, dict):
            errors.not_a_dict([*path, i])
            continue
        if entry.get("id") is None:
            errors.required([*path, i, "id"])
        errors.max_length([*path, i, "description"], entry.get("description"), ATTACHMENT_DESCRIPTION_MAX)


def _check_reference(reference: Any, errors: FormErrors, path: Path = ("message_reference",)) -> None:
    if reference is None:
        return
    if not isinstance(reference, dict):
        errors.not_a_dict(path)
        return
    kind = reference.get("type", 0)
    if errors.choices([*path, "type"], kind, (0, 1)):
        return
    if reference.get("message_id") is None:
        errors.required([*path, "message_id"])
    if kind == 1 and reference.get("channel_id") is None:
        errors.required([*path, "channel_id"])


def _check_scalars(body: dict[str, Any], errors: FormErrors) -> None:
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        errors.not_a_string(["content"])
    else:
        errors.max_length(["content"], content, CONTENT_MAX)
    nonce = body.get("nonce")
    if isinstance(nonce, str):
        errors.max_length(["nonce"], nonce, NONCE_MAX)
    elif nonce is not None and (isinstance(nonce, bool) or not isinstance(nonce, int)):
        errors.add(["nonce"], "BASE_TYPE_STRING", "Must be a string or an integer.")
    stickers = body.get("sticker_ids")
    if stickers is not None:
        errors.max_length(["sticker_ids"], stickers, STICKERS_MAX)


def check_switch_to_v2(body: dict[str, Any], kept: dict[str, bool], errors: FormErrors) -> None:
    """An edit setting ``IS_COMPONENTS_V2`` on a message that still has ``kept`` legacy fields (content, embeds)
    must reset them ("For content and poll this is null. For embeds and sticker_ids this is []")."""
    if not settable_flags(body.get("flags"), "edit") & IS_COMPONENTS_V2:
        return
    for field, present in kept.items():
        if present and field not in body:
            errors.add(
                [field],
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                f"The '{field}' field must be reset when setting MessageFlags.IS_COMPONENTS_V2",
            )


def check_message(body: dict[str, Any], errors: FormErrors, *, kind: Kind, current_flags: int = 0) -> None:
    """Every documented limit of a message body of ``kind`` (``current_flags``: the flags of an edited message)."""
    _check_scalars(body, errors)
    check_allowed_mentions(body.get("allowed_mentions"), errors)
    _check_attachments(body.get("attachments"), errors)
    if kind != "edit":
        _check_reference(body.get("message_reference"), errors)
    if kind == "webhook" and body.get("username") is not None:
        check_webhook_name(body["username"], errors, ["username"])
    flags = body.get("flags")
    if flags is not None and (isinstance(flags, bool) or not isinstance(flags, int)):
        errors.add(["flags"], "NUMBER_TYPE_COERCE", f'Value "{flags}" is not int.')
        flags = 0
    v2 = bool((settable_flags(flags, kind) | current_flags) & IS_COMPONENTS_V2)
    if v2:
        for field in LEGACY_FIELDS:
            if body.get(field):
                errors.add(
                    [field],
                    "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                    f"The '{field}' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
                )
        if isinstance(body.get("components"), list):
            check_layout(body["components"], errors)
    else:
        check_embeds(body.get("embeds"), errors)
        check_components(body.get("components"), errors)
