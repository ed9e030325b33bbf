"""What a message typed in a DM means for the wizard (pure): :func:`interpret_text` turns a line into an action."""

from __future__ import annotations

from typing import Any

from bot.core import memory as memory_rules
from bot.core import personality
from bot.core.errors import DomainError
from bot.core.wizard.steps import WizardState

DM_WORDS = {"next": "next", "back": "back", "cancel": "cancel", "create": "create", "save": "create"}


def interpret_text(state: WizardState, text: str, image_url: str | None = None) -> tuple[str, str | None, Any]:
    """What a message typed in a DM means for the wizard, as ``(action, arg, values)`` for :func:`bot.core.wizard.apply`
    (or ``cancel`` / ``create`` / ``show``, which the service handles).

    ``next``, ``back``, ``cancel`` and ``create`` are words of their own. On step 1, ``name: ...``,
    ``description: ...`` and ``avatar: <link>`` set that field; an image sets the avatar; other text fills the
    name first, then the description. On step 2 a template's id or name picks it, and ``random`` rolls one; on
    step 3 a preset name picks it. Anything else raises :class:`DomainError` saying what can be typed.
    """
    cleaned = (text or "").strip()
    word = cleaned.lower()
    if word in DM_WORDS:
        return DM_WORDS[word], None, None
    if state.step == 1:
        fields: dict[str, Any] = {}
        if image_url:
            fields["avatar_url"] = image_url
        if cleaned:
            key, sep, rest = cleaned.partition(":")
            key = key.strip().lower()
            if sep and key in ("name", "description", "avatar"):
                fields["avatar_url" if key == "avatar" else key] = rest.strip()
            elif not state.data.get("name"):
                fields["name"] = cleaned
            else:
                fields["description"] = cleaned
        if fields:
            return "basics", None, fields
    elif state.step == 2 and cleaned:
        if word == "random":
            return "random", None, None
        for template in personality.list_templates():
            if word in (template.id, template.name.lower()):
                return "template", template.id, None
    elif state.step == 3 and word in memory_rules.preset_names():
        return "memory-preset", word, None
    hint = {
        1: "type the name (then the description), or 'name: ...', 'description: ...', 'avatar: <link>'",
        2: "type a template's name or 'random', or use the buttons",
        3: f"type a preset ({', '.join(memory_rules.preset_names())}), or use the buttons",
    }.get(state.step, "use the buttons")
    raise DomainError(f"On this step, {hint}; 'next', 'back', 'cancel' and 'create' work anywhere.")
