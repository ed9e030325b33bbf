"""What Discord permits, read in one place: the caller's Manage Server permission, and whether the bot can post in
a channel (a ceremony's channel, a notification channel). The services get the answers as plain facts."""

from __future__ import annotations

import discord


def manages_guild(interaction: discord.Interaction) -> bool:
    """Whether the caller has Manage Server where they ask from (never in DMs)."""
    return bool(interaction.guild_id is not None and interaction.permissions.manage_guild)


def can_send(channel: discord.abc.GuildChannel | discord.Thread) -> bool | None:
    """Whether the bot may send messages in ``channel``; None when it cannot tell (its member is not loaded)."""
    me = channel.guild.me
    return channel.permissions_for(me).send_messages if me is not None else None


def can_hold_ceremony(channel: discord.abc.GuildChannel | discord.Thread | None) -> bool:
    """Whether the bot can hold a retirement ceremony in ``channel``: a text channel where it can see, post, embed,
    attach, and speak as the persona (manage webhooks)."""
    if not isinstance(channel, discord.TextChannel):
        return False
    me = channel.guild.me
    if me is None:
        return False
    p = channel.permissions_for(me)
    return p.view_channel and p.send_messages and p.embed_links and p.attach_files and p.manage_webhooks
