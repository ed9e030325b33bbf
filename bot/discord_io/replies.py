"""Answering an interaction privately, and the one way errors become answers.

A :class:`~bot.core.errors.DomainError` is the user's to read: its sentence is sent, ephemeral. Anything else is
logged with a traceback and the person gets :data:`SOMETHING_WENT_WRONG` (no details). The command tree's error
handler (``bot/app.py``) and the cogs' button, form and component handlers use :func:`error_answer` and
:func:`errors_answered`, so the wording and the logging are the same everywhere. Three places show a domain error's
sentence in a message of their own instead (no traceback to log there): the wizard answered by typing in a DM
(``bot/cogs/_persona_flows.py``), the manual retirement's confirmation (``bot/cogs/retirement.py``) and the plan
form's validation (``bot/ui/retirement/form.py``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import discord

from bot.core.errors import DomainError

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = "Something went wrong on my side; nothing was changed. Please try again."


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Answer ``interaction`` privately, whether or not it was answered or deferred already."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not deliver an error message for interaction %s", interaction.id)


def error_answer(error: BaseException, *, failed: str, after: str = "", apology: str = SOMETHING_WENT_WRONG) -> str:
    """What the person is told about ``error``: a domain error's sentence (then ``after``); for anything else the
    traceback is logged as "``failed`` failed" and the answer is ``apology``."""
    if isinstance(error, DomainError):
        return f"{error}{after}"
    log.error("%s failed", failed, exc_info=error)
    return apology


@contextlib.asynccontextmanager
async def errors_answered(
    interaction: discord.Interaction,
    failed: str | None = None,
    *,
    after: str = "",
    apology: str = SOMETHING_WENT_WRONG,
) -> AsyncIterator[None]:
    """Run the block; a domain error it raises is answered privately with its sentence (then ``after``). When
    ``failed`` names the work (for the log), any other exception is logged and answered with ``apology``; without
    it, other exceptions go on up (to the view's or the tree's handler). Code after the block runs either way."""
    try:
        yield
    except Exception as error:
        if failed is None and not isinstance(error, DomainError):
            raise
        await send_ephemeral(interaction, error_answer(error, failed=failed or "", after=after, apology=apology))
