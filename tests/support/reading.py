"""Reading what the bot stored or showed, in end-to-end tests: row counts and embed fields."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select


async def count(bot: Any, table: Any, *where: Any) -> int:
    """How many rows of ``table`` match ``where``, in the bot's database."""
    async with bot.db.session() as session:
        return int((await session.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


def fields_of(message: Any) -> dict[str, str]:
    """The first embed's fields of a posted message, name -> value."""
    return {f["name"]: f["value"] for f in message.embeds[0].get("fields", [])}
