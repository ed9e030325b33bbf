"""The memory buttons (forget confirmation, settings sections) and the forget confirmation. The buttons are
``DynamicItem``s whose custom ids carry the persona and memory ids, so a message sent before a restart still works;
clicks go to the cog named by :data:`MEMORY_HANDLER_COG`."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.core.text import clip
from bot.services.memories import MemoryRecord
from bot.ui.guards import asker_of, handler_cog, only_for
from bot.ui.memory.common import DESCRIPTION_MAX, MEMORY_HANDLER_COG, TITLE_MAX, escape, stamp
from bot.ui.memory.search import memory_text

MEMORY_BUTTON_TEMPLATE = (
    r"memory:(?P<persona>\d+):(?P<action>forget|keep|open-capacity|open-decay|open-weights|open-other)"
    r"(?::(?P<memory>\d+))?"
)


class MemoryButton(discord.ui.DynamicItem[discord.ui.Button], template=MEMORY_BUTTON_TEMPLATE):
    """Forget confirmation and settings buttons; they carry the persona (and memory) ids and survive restarts."""

    def __init__(
        self,
        persona_id: int,
        action: str,
        memory_id: int | None = None,
        *,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    ) -> None:
        custom_id = f"memory:{persona_id}:{action}" + (f":{memory_id}" if memory_id is not None else "")
        super().__init__(discord.ui.Button(label=label or None, style=style, custom_id=custom_id))
        self.persona_id = persona_id
        self.action = action
        self.memory_id = memory_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> MemoryButton:
        memory = match["memory"]
        return cls(int(match["persona"]), match["action"], int(memory) if memory else None)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # "Keep it" changes no row, so no service would refuse a stranger: the confirmation is its asker's.
        return await only_for(interaction, asker_of(interaction))

    async def callback(self, interaction: discord.Interaction) -> None:
        handler = await handler_cog(interaction, MEMORY_HANDLER_COG, "The memory commands")
        if handler is None:
            return
        await handler.on_memory_component(interaction, self.persona_id, self.action, self.memory_id, None)


def forget_confirmation(
    persona_id: int, persona_name: str, memory: MemoryRecord
) -> tuple[discord.Embed, discord.ui.View]:
    """``/memory forget`` asks first: the memory, and "Forget it" / "Keep it" buttons."""
    embed = discord.Embed(
        title=clip(f"Make {persona_name} forget this?", TITLE_MAX),
        description=clip(
            f"{memory_text(memory)}\n\nIt is deleted for good: {escape(persona_name)} will never recall it again, "
            "and it cannot be undone.",
            DESCRIPTION_MAX,
        ),
        colour=discord.Colour.red(),
    )
    embed.add_field(name="Tier", value=memory.tier)
    embed.add_field(name="Remembered", value=stamp(memory.created_at))
    view = discord.ui.View(timeout=None)
    view.add_item(MemoryButton(persona_id, "forget", memory.id, label="Forget it", style=discord.ButtonStyle.danger))
    view.add_item(MemoryButton(persona_id, "keep", memory.id, label="Keep it"))
    return embed, view
