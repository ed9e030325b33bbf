"""The wizard's forms (modals): basics, advanced memory settings, a page of traits, the character's two pages and
its alternate greetings, and reading a submitted form's values. A form's submission comes back to the cog by
custom_id (``wizmodal:<draft>:<kind>[:<page>]``).

A form box holds at most 4,000 characters while a persona's texts may be longer (``bot.core.character``): a text
longer than a box is left out of the form (so submitting it cannot cut the text), and the form says so in its
title; a form whose every text is too long is not opened, with a sentence saying why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import discord

from bot.core import wizard as rules
from bot.core.character import GREETING_SEPARATOR, NAME_MAX, NICKNAME_MAX, pack_greetings
from bot.core.errors import DomainError
from bot.core.inputs import require_storable
from bot.core.text import clip
from bot.core.trait_suggestions import DESCRIBE_MAX
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
    description = data.get("description") or ""
    fits = len(description) <= MODAL_TEXT_MAX
    modal = WizardModal(draft.id, "basics", "Basic info" if fits else "Basic info (description: too long here)")
    modal.add_item(
        discord.ui.TextInput(
            label="Name", custom_id="name", default=data.get("name") or None, max_length=NAME_MAX, required=True
        )
    )
    if fits:  # a longer description is kept as it is (the form would cut it)
        modal.add_item(
            discord.ui.TextInput(
                label="Description",
                custom_id="description",
                style=discord.TextStyle.paragraph,
                default=description or None,
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


# The character forms' boxes: label (<= 45 characters) and placeholder (<= 100).
CHARACTER_BOXES: dict[str, tuple[str, str]] = {
    "scenario": ("Scenario", "Where and when the conversation takes place"),
    "greeting": ("Greeting (its first message)", "What it says when it arrives in a channel"),
    "example_dialogue": (
        "Example dialogue",
        "Lines like {{user}}: Hi! and {{char}}: Well met. Begin each example with <START>",
    ),
    "system_prompt": ("System prompt", "Instructions for the model; {{original}} stands for the default ones"),
    "post_history_instructions": ("Post-history instructions", "Reminders the model reads after the chat history"),
    "personality_text": ("Personality summary", "A short summary of its personality, in words"),
    "creator_notes": ("Creator's notes", "Notes for people (shown on /persona show; never sent to the model)"),
    "nickname": ("Nickname", "What it is called in conversation, when not its name"),
}
CHARACTER_TITLES = ("Character: story", "Character: personality")  # <= 45 with " (long texts left out)"


def character_modal(draft: Draft, page: int) -> discord.ui.Modal:
    """One page of the character (``rules.CHARACTER_PAGES``), its current texts filled in."""
    if not 0 <= page < len(rules.CHARACTER_PAGES):
        raise DomainError("There is no such page of the character.")
    character = draft.data.get("character") or {}
    names = rules.CHARACTER_PAGES[page]
    shown = [name for name in names if len(str(character.get(name) or "")) <= MODAL_TEXT_MAX]
    if not shown:
        raise DomainError(
            f"Every text on this page is longer than a Discord form holds ({MODAL_TEXT_MAX:,} characters), so it "
            "cannot be edited here; import a character card to change them."
        )
    title = CHARACTER_TITLES[page] + (" (long texts left out)" if len(shown) < len(names) else "")
    modal = WizardModal(draft.id, "character", title, page=page)
    for name in shown:
        label_, placeholder = CHARACTER_BOXES[name]
        single = name == "nickname"
        modal.add_item(
            discord.ui.TextInput(
                label=label_,
                custom_id=name,
                style=discord.TextStyle.short if single else discord.TextStyle.paragraph,
                default=str(character.get(name) or "") or None,
                placeholder=placeholder,
                max_length=NICKNAME_MAX if single else MODAL_TEXT_MAX,
                required=False,
            )
        )
    return modal


def describe_modal(draft: Draft) -> discord.ui.Modal:
    """A few sentences about the persona, read for suggested traits (the basics' description to start with)."""
    description = draft.data.get("description") or ""
    modal = WizardModal(draft.id, "describe", "Describe your persona")
    modal.add_item(
        discord.ui.TextInput(
            label="A few sentences about it",
            custom_id="description",
            style=discord.TextStyle.paragraph,
            default=description if 0 < len(description) <= DESCRIBE_MAX else None,
            placeholder="A shy, quiet bookworm who loves puzzles...",
            max_length=DESCRIBE_MAX,
            required=True,
        )
    )
    return modal


def greetings_modal(draft: Draft) -> discord.ui.Modal:
    """The alternate greetings over five boxes; in each, greetings are separated by a line holding only ---."""
    greetings = list((draft.data.get("character") or {}).get("alternate_greetings") or [])
    packed = pack_greetings(greetings, rules.GREETING_BOXES, MODAL_TEXT_MAX)
    if packed is None:
        raise DomainError(
            f"The alternate greetings are too long together for a Discord form ({rules.GREETING_BOXES} boxes of "
            f"{MODAL_TEXT_MAX:,} characters), so they cannot be edited here; import a character card to change them."
        )
    modal = WizardModal(draft.id, "greetings", "Alternate greetings")
    for number in range(1, rules.GREETING_BOXES + 1):
        modal.add_item(
            discord.ui.TextInput(
                label=f"Alternate greetings ({number} of {rules.GREETING_BOXES})",
                custom_id=f"greetings_{number}",
                style=discord.TextStyle.paragraph,
                default=packed[number - 1] if number <= len(packed) else None,
                placeholder=f"One greeting, or several with a line of only {GREETING_SEPARATOR} between them",
                max_length=MODAL_TEXT_MAX,
                required=False,
            )
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
