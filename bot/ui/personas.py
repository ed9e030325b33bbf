"""Persona embeds and views: list, profile (with privacy applied), delete confirmation, templates."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import discord

from bot.core import personality
from bot.core.prompt_words import affinity_words, strength_words
from bot.core.text import clip, counted
from bot.services.personas import PersonaRecord, PersonaSummary
from bot.services.relationships import Relationships
from bot.ui.guards import asker_of, handler_cog, only_for
from bot.ui.wizard import (
    BRAND_COLOUR,
    CHART_FILENAME,
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    FIELD_VALUE_MAX,
    HANDLER_COG,
    traits_text,
)
from bot.ui.wizard.character import NONE_YET, notes_text, summary_text

# The profile's description gives way to the rest when the whole embed would pass Discord's 6,000 characters.
PROFILE_DESCRIPTION_MAX = 2000
NOTES_MAX = 700

PERSONA_TEMPLATE = r"persona:(?P<persona>\d+):(?P<action>delete|keep)"
TABLE_NAMES = {
    "memory_configs": "memory settings",
    "emotional_states": "emotional state",
    "active_emotions": "active emotions",
    "emotional_events": "emotional events",
    "learned_responses": "learned responses",
    "memories": "memories",
    "consent_records": "consent records",
    "custom_behaviors": "custom behaviours",
    "person_relationships": "relationships with people",
    "persona_relationships": "relationships with personas",
    "achievements": "achievements",
    "timeline_events": "timeline events",
    "follows": "follows",
    "subscription_tiers": "subscription tiers",
    "subscriptions": "subscriptions",
    "endorsements": "endorsements",
    "retirement_plans": "retirement plan",
    "legacy_archives": "legacy archive",
    "wizard_drafts": "edit drafts",
    "channel_bindings": "channel activations",
    "persona_messages": "records of messages it sent",
    "public_profiles": "public profile",
}


class PersonaButton(discord.ui.DynamicItem[discord.ui.Button], template=PERSONA_TEMPLATE):
    """Delete confirmation buttons; they carry the persona id and survive restarts."""

    def __init__(
        self,
        persona_id: int,
        action: str,
        *,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    ) -> None:
        super().__init__(
            discord.ui.Button(label=label or None, style=style, custom_id=f"persona:{persona_id}:{action}")
        )
        self.persona_id = persona_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PersonaButton:
        return cls(int(match["persona"]), match["action"])

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # "Keep it" changes no row, so no service would refuse a stranger: the confirmation is its asker's.
        return await only_for(interaction, asker_of(interaction))

    async def callback(self, interaction: discord.Interaction) -> None:
        handler = await handler_cog(interaction, HANDLER_COG, "The persona commands")
        if handler is None:
            return
        await handler.on_persona_component(interaction, self.persona_id, self.action)


STATUS_WORDS = {
    "draft": "draft (not finished yet)",
    "retiring": "retiring (its farewell is planned: `/retire show`)",
    "retired": "retired (see its legacy with `/legacy`)",
}


def status_text(status: str, is_active: bool) -> str:
    """A persona's state in words people act on: whether it talks, and how to change that."""
    if status != "active":
        return STATUS_WORDS.get(status, status)
    return "🟢 talking in its channels" if is_active else "⚪ silent (turn it on in a channel with `/persona activate`)"


def list_embed(title: str, personas: Sequence[PersonaSummary], *, empty: str) -> discord.Embed:
    embed = discord.Embed(title=clip(title, 256), colour=BRAND_COLOUR)
    if not personas:
        embed.description = empty
        return embed
    lines: list[str] = []
    used = 0
    for persona in personas:
        line = f"**{discord.utils.escape_markdown(persona.name)}** · {status_text(persona.status, persona.is_active)}"
        line += f" · <@{persona.owner_id}>"
        if used + len(line) + 1 > DESCRIPTION_MAX - 40:
            lines.append(f"... and {len(personas) - len(lines)} more")
            break
        lines.append(line)
        used += len(line) + 1
    embed.description = "\n".join(lines)
    embed.set_footer(text=f"{len(personas)} persona{'s' if len(personas) != 1 else ''}")
    return embed


def profile_embed(
    record: PersonaRecord,
    *,
    visible: Mapping[str, bool],
    mood_words: str | None,
    channel_ids: Sequence[int] = (),
    with_chart: bool = False,
    relationships: Relationships | None = None,
    model: str | None = None,
) -> discord.Embed:
    """The profile as ``visible`` allows (field -> may the viewer see it, from ``PrivacySettings.can_see``). The
    character (creator's notes, what it has) shows with the description; the nickname with the profile. Within
    Discord's limits: every field <= 1,024 characters, the whole <= 6,000 (the description gives way)."""
    embed = discord.Embed(title=clip(record.name, 256), colour=BRAND_COLOUR)
    if visible.get("description") and record.description:
        embed.description = clip(record.description, PROFILE_DESCRIPTION_MAX)
    if record.avatar_url:
        embed.set_thumbnail(url=record.avatar_url)
    embed.add_field(name="Owner", value=f"<@{record.owner_id}>")
    embed.add_field(name="Status", value=status_text(record.status, record.is_active))
    if visible.get("mood") and mood_words:
        embed.add_field(name="Mood", value=mood_words)
    if visible.get("traits"):
        words = personality.describe_traits(record.traits)
        embed.add_field(name="Personality", value=clip(", ".join(words) or "balanced", FIELD_VALUE_MAX), inline=False)
        embed.add_field(name="Traits", value=clip(traits_text(record.traits), FIELD_VALUE_MAX), inline=False)
        if with_chart:
            embed.set_image(url=f"attachment://{CHART_FILENAME}")
    if channel_ids:
        embed.add_field(
            name="Speaks in", value=clip(" ".join(f"<#{c}>" for c in channel_ids), FIELD_VALUE_MAX), inline=False
        )
    if visible.get("relationships") and relationships is not None:
        text = relationships_text(relationships)
        if text:
            embed.add_field(name="Relationships", value=clip(text, FIELD_VALUE_MAX), inline=False)
    if model:
        embed.add_field(name="Voice", value=clip(model, FIELD_VALUE_MAX), inline=False)
    _character_fields(embed, record, show_character=bool(visible.get("description")))
    embed.set_footer(text=f"Created {record.created_at:%Y-%m-%d}")
    return _fit(embed)


def _character_fields(embed: discord.Embed, record: PersonaRecord, *, show_character: bool) -> None:
    if record.nickname:
        embed.add_field(name="Nickname", value=clip(record.nickname, FIELD_VALUE_MAX))
    if not show_character:
        return
    if record.creator_notes:
        embed.add_field(name="Creator's notes", value=notes_text(record.creator_notes, NOTES_MAX), inline=False)
    summary = summary_text({**record.character, "nickname": "", "creator_notes": ""})  # both shown on their own
    if summary != NONE_YET:
        embed.add_field(name="Character", value=summary, inline=False)


def _fit(embed: discord.Embed) -> discord.Embed:
    """The embed within Discord's 6,000 characters in all: the description is clipped (honestly) to make room."""
    excess = len(embed) - EMBED_TOTAL_MAX
    if excess > 0 and embed.description:
        embed.description = clip(embed.description, max(1, len(embed.description) - excess))
    return embed


def describe_removed(removed: Mapping[str, int]) -> str:
    parts = [f"{count} {TABLE_NAMES.get(table, table)}" for table, count in sorted(removed.items())]
    return ", ".join(parts) if parts else "no other records"


def delete_confirmation(record: PersonaRecord, removed: Mapping[str, int]) -> tuple[discord.Embed, discord.ui.View]:
    embed = discord.Embed(
        title=clip(f"Delete {record.name}?", 256),
        description=clip(
            f"This deletes **{discord.utils.escape_markdown(record.name)}** for good, with everything that belongs to "
            f"it: {describe_removed(removed)}. It cannot be undone; export it first if you may want it back.",
            DESCRIPTION_MAX,
        ),
        colour=discord.Colour.red(),
    )
    view = discord.ui.View(timeout=None)
    view.add_item(PersonaButton(record.id, "delete", label="Delete for good", style=discord.ButtonStyle.danger))
    view.add_item(PersonaButton(record.id, "keep", label="Keep it"))
    return embed, view


def templates_embed() -> discord.Embed:
    embed = discord.Embed(
        title="Personality templates",
        description="Start from one with `/persona create template:` and its name, then fine-tune.",
        colour=BRAND_COLOUR,
    )
    for template in personality.list_templates()[:25]:
        embed.add_field(
            name=clip(f"{template.emoji} {template.name}", 256),
            value=clip(f"{template.description} · mood: {personality.mood_words(template.traits)}", FIELD_VALUE_MAX),
            inline=False,
        )
    return embed


def relationships_text(relationships: Relationships, *, people: int = 5) -> str:
    """ "Friend of Grace (close)" lines, then the people it talks with most, in words."""
    lines = [
        f"{link.kind.capitalize()} of **{link.other_name}** ({strength_words(link.strength)})"
        for link in relationships.personas
    ]
    lines += [
        f"<@{tie.user_id}>: {counted(tie.messages_exchanged, 'message')}, {affinity_words(tie.affinity)}"
        for tie in relationships.people[:people]
    ]
    return "\n".join(lines)
