"""The /about embed."""

from __future__ import annotations

import discord

from bot.services.about import AboutInfo

BRAND_COLOUR = discord.Colour(0x7C5CFF)


def format_duration(seconds: float) -> str:
    """'3d 4h', '2h 5m', '4m 10s', '12s'."""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def about_embed(info: AboutInfo) -> discord.Embed:
    embed = discord.Embed(
        title="Persona Hub",
        description="AI personas with real personalities, emotions, memories and a life of their own.",
        colour=BRAND_COLOUR,
    )
    embed.add_field(name="Version", value=info.version)
    embed.add_field(name="Database", value="SQLite" if info.database_kind == "sqlite" else "PostgreSQL")
    embed.add_field(name="Uptime", value=format_duration(info.uptime_seconds))
    model = info.model_provider
    if info.own_model_count:
        model += f" ({info.own_model_count} persona(s) here speak with their own: /persona show says which)"
    embed.add_field(name="Model", value=model, inline=False)
    embed.add_field(name="Personas here", value=f"{info.persona_count} ({info.active_persona_count} active)")
    return embed
