"""``/memory config``: the settings embed, the preset select, the section forms and how a submitted form reads.

The preset select is a ``DynamicItem`` (its custom id carries the persona), and the forms are answered by the memory
cog's interaction listener (by :data:`CONFIG_MODAL_PATTERN`), so both still work after a restart."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import discord

from bot.core import memory as rules
from bot.core.inputs import whole_number
from bot.core.text import clip
from bot.ui.guards import handler_cog
from bot.ui.memory.common import (
    DESCRIPTION_MAX,
    FIELD_VALUE_MAX,
    MEMORY_COLOUR,
    MEMORY_HANDLER_COG,
    MODAL_LABEL_MAX,
    MODAL_TITLE_MAX,
    TITLE_MAX,
    escape,
    fit,
)
from bot.ui.memory.components import MemoryButton

MEMORY_SELECT_TEMPLATE = r"memsel:(?P<persona>\d+):preset"
CONFIG_MODAL_PATTERN = re.compile(r"memmodal:(?P<persona>\d+):(?P<section>capacity|decay|weights|other)")


# Each form holds at most five settings (Discord's limit on a modal's inputs): section -> (title, [(setting, label)]).
CONFIG_SECTIONS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "capacity": (
        "Capacity and tiers",
        (
            ("max_memory_size_mb", "Size limit in MB"),
            ("max_entities", "Most memories kept"),
            ("hot_memory_size", "Hot memories (used first)"),
            ("warm_memory_size", "Warm memories (searchable)"),
            ("cold_memory_retention_days", "Days cold memories are kept"),
        ),
    ),
    "decay": (
        "Decay",
        (
            ("decay_enabled", "Decay on? (yes / no)"),
            ("decay_function", "linear, exponential or logarithmic"),
            ("decay_rate", "Decay rate per day (0 = never)"),
            ("decay_schedule", "continuous, daily or weekly"),
            ("high_importance_threshold", "Never decays from importance (1-10)"),
        ),
    ),
    "weights": (
        "Retrieval weights and exemptions",
        (
            ("weight_recency", "Weight of recency"),
            ("weight_importance", "Weight of importance"),
            ("weight_relevance", "Weight of relevance"),
            ("pinned_memories_exempt", "Pinned memories never decay? (yes / no)"),
            ("exempt_categories", "Categories that never decay (a, b, ...)"),
        ),
    ),
    "other": (
        "Relationships, encryption, sharing",
        (
            ("track_relationships", "Track relationships? (yes / no)"),
            ("max_relationship_depth", "Relationship depth"),
            ("encrypt_sensitive", "Encrypt sensitive memories? (yes / no)"),
            ("shareable", "Memories shareable? (yes / no)"),
        ),
    ),
}
SECTION_BUTTONS = {
    "capacity": "Capacity & tiers",
    "decay": "Decay",
    "weights": "Weights & exemptions",
    "other": "Other",
}

_BOOL_SETTINGS = frozenset(
    {"decay_enabled", "pinned_memories_exempt", "track_relationships", "encrypt_sensitive", "shareable"}
)
_INT_SETTINGS = frozenset(
    {
        "max_entities",
        "hot_memory_size",
        "warm_memory_size",
        "cold_memory_retention_days",
        "high_importance_threshold",
        "max_relationship_depth",
    }
)
_FLOAT_SETTINGS = frozenset(
    {"max_memory_size_mb", "weight_recency", "weight_importance", "weight_relevance", "decay_rate"}
)
_YES = frozenset({"yes", "y", "true", "on", "1"})
_NO = frozenset({"no", "n", "false", "off", "0"})


def _shown(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if name == "exempt_categories":
        return ", ".join(value)
    return str(value)


def _preset_summary(name: str) -> str:
    config = rules.preset(name)
    return (
        f"hot {config.hot_memory_size}, warm {config.warm_memory_size}, at most {config.max_entities} memories, "
        f"{config.decay_function} decay {config.decay_rate:g}/day"
    )


def config_embed(persona_name: str, config: rules.MemoryConfig, *, note: str | None = None) -> discord.Embed:
    """Every memory setting, grouped as the forms group them."""
    embed = discord.Embed(
        title=clip(f"Memory settings: {persona_name}", TITLE_MAX),
        description=clip(
            (f"{note}\n\n" if note else "")
            + "Pick a preset, or change settings with the buttons (each setting is checked before it is saved).",
            DESCRIPTION_MAX,
        ),
        colour=MEMORY_COLOUR,
    )
    values = rules.config_to_dict(config)
    for title, settings in CONFIG_SECTIONS.values():
        lines = [
            f"{label}: **{clip(escape(_shown(name, values[name])) or '(none)', 200)}**" for name, label in settings
        ]
        embed.add_field(name=title, value=clip("\n".join(lines), FIELD_VALUE_MAX), inline=False)
    return fit(embed)


def config_view(persona_id: int) -> discord.ui.View:
    """The preset select and one button per settings form."""
    view = discord.ui.View(timeout=None)
    view.add_item(PresetSelect(persona_id))
    for section, label in SECTION_BUTTONS.items():
        view.add_item(MemoryButton(persona_id, f"open-{section}", label=label))
    return view


class ConfigModal(discord.ui.Modal):
    """A settings form. Its submission is handled by the memory cog's interaction listener (by custom_id), so a
    form opened before a restart is still understood after it."""

    def __init__(self, persona_id: int, section: str, title: str) -> None:
        super().__init__(title=clip(title, MODAL_TITLE_MAX), custom_id=f"memmodal:{persona_id}:{section}", timeout=900)


def config_modal(persona_id: int, section: str, config: rules.MemoryConfig) -> discord.ui.Modal:
    """The form for one section of :data:`CONFIG_SECTIONS`, filled with the current values."""
    title, settings = CONFIG_SECTIONS[section]
    modal = ConfigModal(persona_id, section, title)
    values = rules.config_to_dict(config)
    for name, label in settings:
        long = name == "exempt_categories"
        modal.add_item(
            discord.ui.TextInput(
                label=clip(label, MODAL_LABEL_MAX),
                custom_id=name,
                default=_shown(name, values[name]) or None,
                style=discord.TextStyle.paragraph if long else discord.TextStyle.short,
                max_length=1000 if long else 20,
                required=not long,
            )
        )
    return modal


def parse_config_form(section: str, values: Mapping[str, str]) -> dict[str, Any]:
    """A submitted form's text as setting values, for ``memories.config_update`` to validate whole.

    Text that does not read as its setting's type is passed on as text, so the service's validation names the
    setting and says what it must be (nothing is saved then). Fields not in the section are ignored.
    """
    _, settings = CONFIG_SECTIONS[section]
    changes: dict[str, Any] = {}
    for name, _label in settings:
        if name not in values:
            continue
        text = values[name].strip()
        value: Any = text
        if name in _BOOL_SETTINGS:
            lowered = text.lower()
            value = True if lowered in _YES else False if lowered in _NO else text
        elif name in _INT_SETTINGS:
            value = whole_number(text)
            if value is None:
                try:
                    value = float(text)  # "2.5" then fails as "must be a whole number"
                except ValueError:
                    value = text
        elif name in _FLOAT_SETTINGS:
            try:
                value = float(text)
            except ValueError:
                value = text
        elif name == "exempt_categories":
            value = [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]
        changes[name] = value
    return changes


class PresetSelect(discord.ui.DynamicItem[discord.ui.Select], template=MEMORY_SELECT_TEMPLATE):
    """The settings view's preset select (light / balanced / deep)."""

    def __init__(self, persona_id: int) -> None:
        options = [
            discord.SelectOption(label=name, value=name, description=clip(_preset_summary(name), 100))
            for name in rules.preset_names()
        ]
        super().__init__(
            discord.ui.Select(
                custom_id=f"memsel:{persona_id}:preset",
                placeholder="Apply a preset (replaces every setting)",
                options=options,
            )
        )
        self.persona_id = persona_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PresetSelect:
        return cls(int(match["persona"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        handler = await handler_cog(interaction, MEMORY_HANDLER_COG, "The memory commands")
        if handler is None:
            return
        data: Mapping[str, object] = interaction.data or {}
        chosen = data.get("values")
        values = list(self.item.values) or ([str(value) for value in chosen] if isinstance(chosen, list) else [])
        await handler.on_memory_component(interaction, self.persona_id, "preset", None, values)
