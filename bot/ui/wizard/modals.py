"""The wizard's forms (modals): basics, advanced memory settings and a page of traits, and reading a submitted
form's values. A form's submission comes back to the cog by custom_id (``wizmodal:<draft>:<kind>[:<page>]``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import discord

from bot.core import wizard as rules
from bot.core.inputs import require_storable
from bot.core.text import clip
from bot.core.traits import label
from bot.services.wizard import Draft
from bot.ui.wizard.parts import MODAL_TEXT_MAX

# --------------------------------------------------------------------------------------------------- modals


class WizardModal(discord.ui.Modal):
    """A wizard form. Its submission is handled by the cog's interaction listener (by custom_id), so a form
    opened before a restart is still understood after it."""

    def __init__(self, draft_id: int, kind: str, title: str, page: int | None = None) -> None:
        custom_id = f"wizmodal:{draft_id}:{kind}" + (f":{page}" if page is not None else "")
        super().__init__(title=clip(title, 45), custom_id=custom_id, timeout=900)


def basics_modal(draft: Draft) -> discord.ui.Modal:
    data = draft.data
    modal = WizardModal(draft.id, "basics", "Basic info")
    modal.add_item(
        discord.ui.TextInput(
            label="Name", custom_id="name", default=data.get("name") or None, max_length=80, required=True
        )
    )
    modal.add_item(
        discord.ui.TextInput(
            label="Description",
            custom_id="description",
            style=discord.TextStyle.paragraph,
            default=clip(data.get("description") or "", MODAL_TEXT_MAX) or None,
            max_length=MODAL_TEXT_MAX,
            required=False,
        )
    )
    modal.add_item(
        discord.ui.TextInput(
            label="Avatar URL",
            custom_id="avatar_url",
            default=data.get("avatar_url") or None,
            placeholder="https://...",
            max_length=2048,
            required=False,
        )
    )
    return modal


def memory_modal(draft: Draft) -> discord.ui.Modal:
    memory = draft.data["memory"]
    modal = WizardModal(draft.id, "memory", "Memory: advanced")
    labels = {
        "hot_memory_size": "Hot memories (used first)",
        "warm_memory_size": "Warm memories (searchable)",
        "cold_memory_retention_days": "Days cold memories are kept",
        "decay_function": "Decay: linear, exponential or logarithmic",
        "decay_rate": "Decay rate per day (0 = never)",
    }
    for name in rules.MEMORY_MODAL_FIELDS:
        value = memory[name]
        modal.add_item(
            discord.ui.TextInput(
                label=clip(labels[name], 45),
                custom_id=name,
                default=f"{value:g}" if isinstance(value, float) else str(value),
                max_length=20,
            )
        )
    return modal


def traits_modal(draft: Draft, page: int) -> discord.ui.Modal:
    names = rules.TRAIT_PAGES[page]
    traits = draft.data.get("traits") or {}
    modal = WizardModal(draft.id, "traits", f"Traits ({page + 1} of {len(rules.TRAIT_PAGES)})", page=page)
    for name in names:
        value = traits.get(name, 50.0)
        modal.add_item(
            discord.ui.TextInput(label=f"{label(name)} (0-100)", custom_id=name, default=f"{value:g}", max_length=6)
        )
    return modal


def modal_values(data: Mapping[str, Any]) -> dict[str, str]:
    """The text fields of a modal submission's raw data, by custom_id (rows and labelled components alike).

    Text that cannot be stored (a NUL character) is refused here with a DomainError, for every form alike."""
    values: dict[str, str] = {}

    def visit(component: Mapping[str, Any]) -> None:
        if "custom_id" in component and "value" in component:
            value = require_storable(str(component["value"]), "What you typed in the form")
            values[str(component["custom_id"])] = value
        for child in component.get("components") or []:
            visit(child)
        if isinstance(component.get("component"), Mapping):
            visit(component["component"])

    for row in data.get("components") or []:
        visit(row)
    return values
