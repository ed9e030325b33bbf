"""Direct messages: one way to DM a person (the persona's owner, a retiring persona's owner), and the DM channel ids
the notification delivery sends through.

A DM that cannot be delivered (DMs closed, the user gone) is logged and reported as False, never raised: the work
that wanted to tell someone has already happened.
"""

from __future__ import annotations

import logging

import discord

log = logging.getLogger(__name__)

DM_LIMIT = 2000  # Discord's message length
DM_CHANNELS_KEPT = 50_000


async def send_dm(
    client: discord.Client,
    user_id: int,
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    file: discord.File | None = None,
    view: discord.ui.View | None = None,
    about: str = "",
    level: int = logging.WARNING,
) -> bool:
    """DM ``user_id`` (``content`` cut to Discord's limit; no mentions); False when it could not be delivered, logged
    at ``level`` with ``about`` saying what the message was."""
    try:
        user = client.get_user(user_id) or await client.fetch_user(user_id)
        await user.send(
            content[:DM_LIMIT] if content is not None else None,
            embed=embed or discord.utils.MISSING,
            file=file or discord.utils.MISSING,
            view=view or discord.utils.MISSING,
            allowed_mentions=discord.AllowedMentions.none(),
        )
    except discord.HTTPException:
        log.log(level, "could not send a direct message to user %s%s", user_id, f" ({about})" if about else "")
        return False
    return True


class DmChannelIds:
    """The id of the DM channel with each person, opened once and remembered (the oldest forgotten past
    :data:`DM_CHANNELS_KEPT`), so a DM can be sent through a partial messageable with a nonce."""

    def __init__(self, client: discord.Client, kept: int = DM_CHANNELS_KEPT) -> None:
        self.client = client
        self.kept = kept
        self._ids: dict[int, int] = {}

    async def of(self, user_id: int) -> int:
        cached = self._ids.get(user_id)
        if cached is None:
            data = await self.client.http.start_private_message(user_id)
            cached = self._ids[user_id] = int(data["id"])
            if len(self._ids) > self.kept:
                self._ids.pop(next(iter(self._ids)))
        return cached
