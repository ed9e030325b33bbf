"""Notification delivery's place in the bot's life: the loop (:class:`bot.workflows.notifications.NotificationDelivery`)
starts when this cog loads and stops, handing its unsent claims back, when it unloads. No commands, no listeners."""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord.ext import commands

from bot.workflows.notifications import NotificationDelivery

if TYPE_CHECKING:
    from bot.app import PersonaHubBot


class NotificationsCog(commands.Cog):
    def __init__(self, bot: PersonaHubBot) -> None:
        self.delivery = NotificationDelivery(bot)

    async def cog_load(self) -> None:
        self.delivery.start()

    async def cog_unload(self) -> None:
        await self.delivery.stop()


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(NotificationsCog(bot))
