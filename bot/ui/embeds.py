"""Discord's 6,000 characters for the texts of a message's embeds, kept by every embed built of many fields.

Builders clip each text to its own limit (256-character names, 1,024-character values); many fields can still add
up to more than the message may hold, which Discord refuses (``MAX_EMBED_SIZE_EXCEEDED``). :func:`fit_fields` is
the last guard: trailing fields go, and the reader may be told how many.
"""

from __future__ import annotations

from collections.abc import Callable

import discord

EMBED_TOTAL_MAX = 6000


def fit_fields(embed: discord.Embed, *, left_out: Callable[[int], str] | None = None) -> discord.Embed:
    """Drop trailing fields until ``embed`` is within :data:`EMBED_TOTAL_MAX`; with ``left_out``, the footer
    says (``left_out(count)``) how many fields were dropped, and fits too."""
    dropped = 0

    def note() -> str:
        return left_out(dropped) if left_out is not None and dropped else ""

    while embed.fields and len(embed) + len(note()) > EMBED_TOTAL_MAX:
        embed.remove_field(len(embed.fields) - 1)
        dropped += 1
    if note():
        embed.set_footer(text=note())
    return embed
