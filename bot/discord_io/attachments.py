"""A message's files as plain data (:class:`bot.core.images.Attachment`), for the layers that may not see
``discord``. The URL kept is the attachment's own, exactly as Discord gave it (signed CDN links included)."""

from __future__ import annotations

import discord

from bot.core.images import Attachment


def attachments_of(message: discord.Message) -> tuple[Attachment, ...]:
    """Every file on ``message``: name, URL, declared media type and size."""
    return tuple(
        Attachment(filename=a.filename, url=a.url, content_type=a.content_type, size=int(a.size or 0))
        for a in message.attachments
    )


def has_image(message: discord.Message) -> bool:
    """Whether ``message`` carries an image (by its declared type, or its name when none is declared)."""
    return any(attachment.is_image for attachment in attachments_of(message))
