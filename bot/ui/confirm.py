"""The one confirmation view: a confirm button and a cancel button, for the one person who asked.

The cog does the work in ``on_confirm`` (the UI never calls services); cancelling changes nothing and says so. Once
answered (or timed out) the view stops and its buttons are disabled, so a second click does nothing. Anyone else
who clicks is refused privately (:func:`bot.ui.guards.only_for`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord

from bot.ui.guards import only_for
from bot.ui.wizard import BRAND_COLOUR

Callback = Callable[[discord.Interaction], Awaitable[None]]
CONFIRM_TIMEOUT = 600.0


class ConfirmView(discord.ui.View):
    """Confirm / Cancel for ``owner_id``: ``on_confirm`` answers a confirmation; a cancel replaces the message with
    ``cancelled_title`` and ``cancelled_text`` and removes the buttons.

    ``custom_ids`` (confirm, cancel) name the buttons when a caller wants them stable; by default discord.py makes
    them up."""

    def __init__(
        self,
        owner_id: int,
        on_confirm: Callback,
        *,
        confirm_label: str,
        cancel_label: str = "Cancel",
        confirm_style: discord.ButtonStyle = discord.ButtonStyle.success,
        cancelled_title: str = "Cancelled",
        cancelled_text: str = "Nothing was changed.",
        timeout: float = CONFIRM_TIMEOUT,
        custom_ids: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.on_confirm = on_confirm
        self.cancelled = discord.Embed(title=cancelled_title, description=cancelled_text, colour=BRAND_COLOUR)
        confirm_id, cancel_id = custom_ids if custom_ids is not None else (None, None)
        self.confirm_button = _Answer(self, True, label=confirm_label, style=confirm_style, custom_id=confirm_id)
        self.cancel_button = _Answer(
            self, False, label=cancel_label, style=discord.ButtonStyle.secondary, custom_id=cancel_id
        )
        self.add_item(self.confirm_button)
        self.add_item(self.cancel_button)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await only_for(interaction, self.owner_id)

    async def answer(self, interaction: discord.Interaction, confirmed: bool) -> None:
        """Stop listening, disable the buttons, then confirm (the caller's ``on_confirm``) or cancel."""
        self._close()
        if confirmed:
            await self.on_confirm(interaction)
        else:
            await interaction.response.edit_message(embed=self.cancelled, view=None)

    async def on_timeout(self) -> None:
        self._close()

    def _close(self) -> None:
        self.stop()
        self.confirm_button.disabled = True
        self.cancel_button.disabled = True


class _Answer(discord.ui.Button[ConfirmView]):
    """One of the two buttons; a click answers the view."""

    def __init__(
        self,
        confirm_view: ConfirmView,
        confirmed: bool,
        *,
        label: str,
        style: discord.ButtonStyle,
        custom_id: str | None,
    ) -> None:
        super().__init__(label=label, style=style, custom_id=custom_id)
        self.confirm_view = confirm_view
        self.confirmed = confirmed

    async def callback(self, interaction: discord.Interaction) -> None:
        await self.confirm_view.answer(interaction, self.confirmed)
