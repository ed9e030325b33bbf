"""What a message carries, as plain data for the layers that may not see ``discord``: its text (:func:`text_of`)
and its files (:class:`bot.core.images.Attachment`). The URL kept is the attachment's own, exactly as Discord gave
it (signed CDN links included)."""

from __future__ import annotations

import discord

from bot.core.images import Attachment
from bot.core.inputs import storable


def text_of(message: discord.Message) -> str:
    """What a message says, as both databases can keep it (a NUL removed): what people say is never refused."""
    if message.content:
        return storable(message.content)
    for embed in message.embeds:
        if embed.description:
            return storable(embed.description)
    return ""


def attachments_of(message: discord.Message) -> tuple[Attachment, ...]:
    """Every file on ``message``: name, URL, declared media type and size."""
    return tuple(
        Attachment(filename=a.filename, url=a.url, content_type=a.content_type, size=int(a.size or 0))
        for a in message.attachments
    )


def has_image(message: discord.Message) -> bool:
    """Whether ``message`` carries an image (by its declared type, or its name when none is declared)."""
    return any(attachment.is_image for attachment in attachments_of(message))
