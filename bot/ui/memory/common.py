"""What every ``/memory`` and ``/privacy`` builder shares: the colour, Discord's limits, escaping, relative times,
the last guard on an embed's size, and the lookup of the cog that answers a click."""

from __future__ import annotations

from datetime import datetime, timedelta

import discord

from bot.core.text import clip
from bot.ui.embeds import EMBED_TOTAL_MAX, fit_fields

MEMORY_HANDLER_COG = "MemoryCog"
PRIVACY_HANDLER_COG = "PrivacyCog"
MEMORY_COLOUR = discord.Colour(0x7C5CFF)

TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
EMBED_MAX = EMBED_TOTAL_MAX
CHOICE_NAME_MAX = 100
MODAL_TITLE_MAX = 45
MODAL_LABEL_MAX = 45


def escape(text: str) -> str:
    """``text`` shown as typed: no markdown, no mentions."""
    return discord.utils.escape_markdown(discord.utils.escape_mentions(text))


def percent(ratio: float) -> str:
    """``0.5`` -> ``"50%"``."""
    return f"{round(ratio * 100)}%"


def ago(delta: timedelta | None) -> str:
    """How long ago, in the largest whole unit ("3 days ago"); "never" for None."""
    if delta is None:
        return "never"
    seconds = max(0.0, delta.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def stamp(moment: datetime) -> str:
    """A Discord relative timestamp (shown in each reader's own time)."""
    return f"<t:{int(moment.timestamp())}:R>"


def fit(embed: discord.Embed) -> discord.Embed:
    """Drop trailing fields until the embed is within Discord's 6000 characters (a last guard: builders clip)."""
    return fit_fields(embed)


def done_embed(title: str, description: str, *, colour: discord.Colour = MEMORY_COLOUR) -> discord.Embed:
    """A short result: a title and a sentence."""
    return discord.Embed(title=clip(title, TITLE_MAX), description=clip(description, DESCRIPTION_MAX), colour=colour)
