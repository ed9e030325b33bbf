"""``/lore add | list | edit | remove | test``: lore books (World Info) of a persona, a channel or the server.

A persona's book is its owner's; a channel's or the server's book is for members with Manage Server
(:mod:`bot.services.lore.books`). Each handler opens one session, closes it, then answers, ephemerally (lore can
hold a story's secrets). Keys are typed on one line, separated by commas; a key written ``/pattern/flags`` is a
regular expression (refused when it could take too long to match).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import utcnow
from bot.cogs._options import actor_of, own_personas
from bot.core.errors import DomainError, NotFound
from bot.core.inputs import parse_id
from bot.core.lore import LOGICS, POSITIONS, LoreEntry, split_keys
from bot.core.text import clip
from bot.services import lore, personas
from bot.ui import lore as lore_ui

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

SCOPES = [
    app_commands.Choice(name="a persona (yours)", value="persona"),
    app_commands.Choice(name="this channel (Manage Server)", value="channel"),
    app_commands.Choice(name="this server (Manage Server)", value="server"),
]
LOGIC_CHOICES = [app_commands.Choice(name=f"{v}: {lore_ui.LOGIC_WORDS[v]}", value=v) for v in LOGICS]
POSITION_CHOICES = [app_commands.Choice(name=lore_ui.POSITION_WORDS[v], value=v) for v in POSITIONS]
SETTINGS = dict(
    secondary_keys="More keys, combined with the keys by the logic",
    logic="How secondary keys combine (default: and any)",
    position="Where the text goes (default: before the character)",
    depth="For 'at depth': lines from the end of the chat history",
    order="Lower first; higher orders win the token budget",
    constant="Always in the prompt, without keys",
    regex="Every key is a regular expression",
    case_sensitive="Keys match only with the same capitals",
    whole_words="Keys match whole words only (default: yes)",
    sticky="Stays on for this many messages after it fires",
    cooldown="Cannot fire again for this many messages after",
    delay="Cannot fire before the channel has this many messages",
    probability="Percent chance it fires when it matches (default 100)",
    scan_depth="How many recent messages its keys look at",
    name="A name for the entry",
)


class LoreCog(commands.Cog):
    lore_group = app_commands.Group(name="lore", description="Lore books (World Info) of personas, channels, servers.")

    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot

    async def _where(
        self, session: AsyncSession, interaction: discord.Interaction, scope: str, persona: str | None
    ) -> lore.Where:
        if scope != "persona":
            return lore.Where(scope, channel_id=interaction.channel_id)
        if not persona:
            raise DomainError("Choose the persona whose lore this is (the persona option).")
        text = persona.strip()
        own = await personas.list_own(session, interaction.user.id, interaction.guild_id)
        typed = parse_id(text)
        for summary in own:
            if summary.id == typed or summary.name.lower() == text.lower():
                return lore.Where("persona", persona_id=summary.id)
        raise NotFound(f"You have no persona called '{clip(text, 80)}' here.")

    async def entry_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        namespace = interaction.namespace
        scope = str(getattr(namespace, "scope", "") or "persona")
        try:
            async with self.bot.db.session() as session:
                where = await self._where(session, interaction, scope, getattr(namespace, "persona", None))
                rows = await lore.entries(session, actor_of(interaction), where)
        except DomainError:
            return []
        typed = current.strip().lower()
        return [
            app_commands.Choice(name=clip(f"#{e.id} {e.label}", 100), value=str(e.id))
            for e in rows
            if typed in e.label.lower() or typed == str(e.id)
        ][:25]

    @lore_group.command(
        name="add", description="Add a lore entry to a persona's, this channel's or this server's book."
    )
    @app_commands.describe(
        scope="Whose book", persona="Your persona (for a persona's book)", keys="Keys, comma separated",
        content="The text the persona is given when the entry fires", **SETTINGS,
    )  # fmt: skip
    @app_commands.choices(scope=SCOPES, logic=LOGIC_CHOICES, position=POSITION_CHOICES)
    @app_commands.autocomplete(persona=own_personas)
    async def add(
        self,
        interaction: discord.Interaction,
        scope: app_commands.Choice[str],
        content: app_commands.Range[str, 1, 6000],
        keys: app_commands.Range[str, 0, 2000] = "",
        persona: str | None = None,
        secondary_keys: app_commands.Range[str, 0, 2000] = "",
        logic: app_commands.Choice[str] | None = None,
        position: app_commands.Choice[str] | None = None,
        depth: app_commands.Range[int, 0, 30] = 4,
        order: app_commands.Range[int, -10000, 10000] = 100,
        constant: bool = False,
        regex: bool = False,
        case_sensitive: bool = False,
        whole_words: bool = True,
        sticky: app_commands.Range[int, 0, 10] = 0,
        cooldown: app_commands.Range[int, 0, 10] = 0,
        delay: app_commands.Range[int, 0, 10] = 0,
        probability: app_commands.Range[int, 0, 100] = 100,
        scan_depth: app_commands.Range[int, 0, 30] | None = None,
        name: app_commands.Range[str, 0, 100] = "",
    ) -> None:
        draft = LoreEntry(
            id=0, keys=tuple(split_keys(keys)), content=content, secondary_keys=tuple(split_keys(secondary_keys)),
            logic=logic.value if logic else "and_any", position=position.value if position else "before_char",
            depth=depth, order=order, constant=constant, use_regex=regex, case_sensitive=case_sensitive,
            whole_words=whole_words, sticky=sticky, cooldown=cooldown, delay=delay, probability=probability,
            scan_depth=scan_depth, name=name.strip(),
        )  # fmt: skip
        async with self.bot.db.transaction() as session:
            where = await self._where(session, interaction, scope.value, persona)
            entry = await lore.add_entry(session, actor_of(interaction), where, draft, now=utcnow())
        await _say_entry(interaction, "Added lore entry", entry)

    @lore_group.command(name="list", description="The entries of a persona's, this channel's or this server's book.")
    @app_commands.describe(scope="Whose book", persona="Your persona (for a persona's book)", page="Which page")
    @app_commands.choices(scope=SCOPES)
    @app_commands.autocomplete(persona=own_personas)
    async def list_entries(
        self,
        interaction: discord.Interaction,
        scope: app_commands.Choice[str],
        persona: str | None = None,
        page: app_commands.Range[int, 1, 100] = 1,
    ) -> None:
        async with self.bot.db.session() as session:
            where = await self._where(session, interaction, scope.value, persona)
            rows = await lore.entries(session, actor_of(interaction), where)
        await interaction.response.send_message(embed=lore_ui.book_page(rows, page, scope.value), ephemeral=True)

    @lore_group.command(name="edit", description="Change a lore entry (only the options you give change).")
    @app_commands.describe(scope="Whose book", persona="Your persona (for a persona's book)", entry="The entry",
                           keys="Keys, comma separated", content="The entry's text", enabled="On or off",
                           **SETTINGS)  # fmt: skip
    @app_commands.choices(scope=SCOPES, logic=LOGIC_CHOICES, position=POSITION_CHOICES)
    @app_commands.autocomplete(persona=own_personas, entry=entry_autocomplete)
    async def edit(
        self,
        interaction: discord.Interaction,
        scope: app_commands.Choice[str],
        entry: str,
        persona: str | None = None,
        keys: app_commands.Range[str, 0, 2000] | None = None,
        content: app_commands.Range[str, 1, 6000] | None = None,
        enabled: bool | None = None,
        secondary_keys: app_commands.Range[str, 0, 2000] | None = None,
        logic: app_commands.Choice[str] | None = None,
        position: app_commands.Choice[str] | None = None,
        depth: app_commands.Range[int, 0, 30] | None = None,
        order: app_commands.Range[int, -10000, 10000] | None = None,
        constant: bool | None = None,
        regex: bool | None = None,
        case_sensitive: bool | None = None,
        whole_words: bool | None = None,
        sticky: app_commands.Range[int, 0, 10] | None = None,
        cooldown: app_commands.Range[int, 0, 10] | None = None,
        delay: app_commands.Range[int, 0, 10] | None = None,
        probability: app_commands.Range[int, 0, 100] | None = None,
        scan_depth: app_commands.Range[int, 0, 30] | None = None,
        name: app_commands.Range[str, 0, 100] | None = None,
    ) -> None:
        given: dict[str, Any] = dict(
            content=content, enabled=enabled, depth=depth, order=order, constant=constant, use_regex=regex,
            case_sensitive=case_sensitive, whole_words=whole_words, sticky=sticky, cooldown=cooldown, delay=delay,
            probability=probability, scan_depth=scan_depth, name=name.strip() if name is not None else None,
            logic=logic.value if logic else None, position=position.value if position else None,
            keys=tuple(split_keys(keys)) if keys is not None else None,
            secondary_keys=tuple(split_keys(secondary_keys)) if secondary_keys is not None else None,
        )  # fmt: skip
        changes = {field: value for field, value in given.items() if value is not None}
        if not changes:
            raise DomainError("Give at least one option to change.")
        entry_id = _entry_id(entry)
        async with self.bot.db.transaction() as session:
            where = await self._where(session, interaction, scope.value, persona)
            updated = await lore.edit_entry(session, actor_of(interaction), where, entry_id, changes, now=utcnow())
        await _say_entry(interaction, "Changed", updated)

    @lore_group.command(name="remove", description="Remove a lore entry.")
    @app_commands.describe(scope="Whose book", persona="Your persona (for a persona's book)", entry="The entry")
    @app_commands.choices(scope=SCOPES)
    @app_commands.autocomplete(persona=own_personas, entry=entry_autocomplete)
    async def remove(
        self, interaction: discord.Interaction, scope: app_commands.Choice[str], entry: str, persona: str | None = None
    ) -> None:
        entry_id = _entry_id(entry)
        async with self.bot.db.transaction() as session:
            where = await self._where(session, interaction, scope.value, persona)
            gone = await lore.remove_entry(session, actor_of(interaction), where, entry_id)
        await interaction.response.send_message(
            f"Removed lore entry **#{gone.id} {discord.utils.escape_markdown(clip(gone.label, 100))}**.",
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @lore_group.command(name="test", description="Which entries of a book would fire for a text, and why.")
    @app_commands.describe(scope="Whose book", persona="Your persona (for a persona's book)", text="A sample message")
    @app_commands.choices(scope=SCOPES)
    @app_commands.autocomplete(persona=own_personas)
    async def test(
        self,
        interaction: discord.Interaction,
        scope: app_commands.Choice[str],
        text: app_commands.Range[str, 1, 2000],
        persona: str | None = None,
    ) -> None:
        async with self.bot.db.session() as session:
            where = await self._where(session, interaction, scope.value, persona)
            activation, labels = await lore.preview(session, actor_of(interaction), where, text)
        await interaction.response.send_message(
            lore_ui.test_summary(activation, labels), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )


def _entry_id(value: str) -> int:
    found = parse_id(value.strip().lstrip("#"))
    if found is None:
        raise NotFound(lore.NO_ENTRY)
    return found


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(LoreCog(bot))


async def _say_entry(interaction: discord.Interaction, what: str, entry: LoreEntry) -> None:
    """The private answer naming an entry that was added or changed, with its summary."""
    await interaction.response.send_message(
        clip(
            f"{what} **#{entry.id} {discord.utils.escape_markdown(entry.label)}**: {lore_ui.entry_summary(entry)}.",
            2000,
        ),
        ephemeral=True,
        allowed_mentions=discord.AllowedMentions.none(),
    )
