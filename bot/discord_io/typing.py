"""Showing "… is typing" while a persona's answer is being made."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import discord

TYPING_EVERY = 8.0  # Discord shows typing for 10 seconds after each request


@contextlib.asynccontextmanager
async def typing_in(channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """Show typing in ``channel`` while the block runs, without waiting for Discord before the work starts (the
    requests run in a task of their own, every :data:`TYPING_EVERY` seconds, and stop with the block)."""

    async def keep_typing() -> None:
        while True:
            try:
                await channel.typing()
            except discord.HTTPException:
                return
            await asyncio.sleep(TYPING_EVERY)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
