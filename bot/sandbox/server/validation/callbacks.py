"""Interaction callbacks (``POST /interactions/{id}/{token}/callback``): which callback types an interaction takes,
and the data of the types that carry no message or modal (developers/interactions/receiving-and-responding.mdx,
"Interaction Callback Type", "Interaction Callback Data Structure").

- ``CHANNEL_MESSAGE_WITH_SOURCE`` (4), ``DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE`` (5) and ``MODAL`` (9) answer
  application commands; components take 4-7 and 9; a modal submit takes 4-7 but no modal, and 6 and 7 only when
  it came from a message; autocomplete takes only ``APPLICATION_COMMAND_AUTOCOMPLETE_RESULT`` (8).
- A deferred response (5) may set only the ``EPHEMERAL`` flag.
- Autocomplete results: at most 25 choices, names 1-100 characters, values of the focused option's type (strings
  at most 100), as for command option choices.

Messages (4, 7) go through the message checks (``validate_message``), modals (9) through ``modals.check_modal``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.sandbox.server.validation.commands import STRING, check_choices
from bot.sandbox.server.validation.errors import FormErrors

APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
EPHEMERAL = 1 << 6

CALLBACK_TYPES = {
    APPLICATION_COMMAND: (4, 5, 9),
    MESSAGE_COMPONENT: (4, 5, 6, 7, 9),
    AUTOCOMPLETE: (8,),
    MODAL_SUBMIT: (4, 5, 6, 7),
}


def allowed_callbacks(interaction_type: int, *, from_message: bool) -> list[int]:
    """The callback types an interaction of ``interaction_type`` takes (6 and 7 need a message to update)."""
    allowed = CALLBACK_TYPES.get(interaction_type, ())
    return [t for t in allowed if from_message or t not in (6, 7)]


def focused_type(options: Any) -> int:
    """The type of the option being typed in an autocomplete interaction's ``data.options`` (STRING if unknown)."""
    for option in options or []:
        if not isinstance(option, Mapping):
            continue
        if option.get("focused"):
            return int(option.get("type", STRING))
        if option.get("options"):
            found = focused_type(option["options"])
            if found:
                return found
    return 0


def check_callback(
    body: Mapping[str, Any], interaction_type: int, interaction_data: Mapping[str, Any], *, from_message: bool
) -> None:
    """The callback's type for this interaction and the data of types 5 and 8."""
    errors = FormErrors()
    rtype = body.get("type")
    if errors.choices(["type"], rtype, allowed_callbacks(interaction_type, from_message=from_message)):
        errors.raise_if_any()
    data = body.get("data") or {}
    if rtype == 5:
        flags = data.get("flags") or 0
        if not isinstance(flags, int) or flags & ~EPHEMERAL:
            errors.add(
                ["data", "flags"], "BASE_TYPE_INVALID", "Only the EPHEMERAL flag may be set on a deferred response"
            )
    elif rtype == 8:
        choices = data.get("choices")
        if choices is None:
            errors.required(["data", "choices"])
        else:
            option_type = focused_type(interaction_data.get("options")) or STRING
            check_choices(errors, ["data", "choices"], choices, option_type)
    errors.raise_if_any()
