"""Reading what the bot stored or showed, in end-to-end tests: row counts and embed fields."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select


async def count(bot: Any, table: Any, *where: Any) -> int:
    """How many rows of ``table`` match ``where``, in the bot's database."""
    async with bot.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


def fields_of(message: Any) -> dict[str, str]:
    """The first embed's fields of a posted message, name -> value."""
    return {f["name"]: f["value"] for f in message.embeds[0].get("fields", [])}


def is_invitation(message: Any) -> bool:
    """Whether a posted message is the memory invitation (its buttons answer ``consent:...``), which a person gets
    the first time a persona answers them (``bot/workflows/invitations.py``)."""
    return any(str(button.get("custom_id", "")).startswith("consent:") for button in message.buttons())


def dms_besides_invitations(sandbox: Any, user: Any) -> list[Any]:
    """``user``'s DMs from the bot, the memory invitation left out."""
    return [message for message in sandbox.dms(user) if not is_invitation(message)]


_NUMBER = re.compile(r"^\[\d+\] ")


def unnumbered(lines: list[str]) -> list[str]:
    """A playground transcript without the message numbers (``[7] ``) at the start of lines."""
    return [_NUMBER.sub("", line) for line in lines]
