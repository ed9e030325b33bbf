"""The stored behaviours as rules: each row validated when read (:func:`bot.templating.behavior_templates.
validate_behavior`; a row that no longer validates is skipped with a WARNING when firing), reply templates compiled
in a worker thread first, and the enabled rules of personas for acting on messages (:func:`enabled_for`) and on
reactions (:func:`emoji_enabled_for`).

Apart from :mod:`bot.services.behaviors` (managing behaviours), which reads a persona's mood for a preview: the
reaction path of :mod:`bot.services.emotions` reads the rules here without importing the management side.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import behaviors as rules
from bot.core.errors import DomainError
from bot.db import models
from bot.templating import behavior_templates

log = logging.getLogger(__name__)

_BehaviorRow = models.CustomBehavior


def validated(row: models.CustomBehavior) -> rules.Behavior:
    return behavior_templates.validate_behavior(
        row.name,
        row.trigger_kind,
        row.trigger_config,
        row.action_kind,
        row.action_config,
        enabled=row.enabled,
        id=row.id,
    )


async def compile_templates(rows: Iterable[models.CustomBehavior]) -> None:
    """Compile the rows' reply templates not yet compiled, in a worker thread (then :func:`validated` finds
    them in the cache instead of compiling on the event loop)."""
    await behavior_templates.warm(
        row.action_config.get("template")
        for row in rows
        if row.action_kind == "reply" and isinstance(row.action_config, Mapping)
    )


def valid_or_none(row: models.CustomBehavior, *, firing: bool = False) -> rules.Behavior | None:
    try:
        return validated(row)
    except DomainError as error:
        if firing:  # read to act on messages: say which one is left out (listing it shows "no longer valid")
            log.warning("custom behaviour %s of persona %s is skipped: %s", row.id, row.persona_id, error)
        return None


async def enabled_for(session: AsyncSession, persona_ids: list[int]) -> dict[int, list[rules.Behavior]]:
    """The enabled, valid behaviours of these personas (one query), by persona id, oldest first."""
    if not persona_ids:
        return {}
    query = (
        select(_BehaviorRow)
        .where(col(_BehaviorRow.persona_id).in_(persona_ids), col(_BehaviorRow.enabled).is_(True))
        .order_by(col(_BehaviorRow.id))
    )
    out: dict[int, list[rules.Behavior]] = {pid: [] for pid in persona_ids}
    rows = list((await session.execute(query)).scalars())
    await compile_templates(rows)
    for row in rows:
        behavior = valid_or_none(row, firing=True)  # a rule that no longer validates is skipped, not fatal
        if behavior is not None:
            out[row.persona_id].append(behavior)
    return out


async def emoji_enabled_for(session: AsyncSession, persona_ids: list[int]) -> dict[int, list[rules.Behavior]]:
    """The enabled, valid emoji-triggered behaviours of these personas (one query; personas without any are absent)."""
    if not persona_ids:
        return {}
    query = (
        select(_BehaviorRow)
        .where(
            col(_BehaviorRow.persona_id).in_(persona_ids),
            col(_BehaviorRow.enabled).is_(True),
            col(_BehaviorRow.trigger_kind) == "emoji",
        )
        .order_by(col(_BehaviorRow.id))
    )
    out: dict[int, list[rules.Behavior]] = {}
    rows = list((await session.execute(query)).scalars())
    await compile_templates(rows)
    for row in rows:
        behavior = valid_or_none(row, firing=True)
        if behavior is not None:
            out.setdefault(row.persona_id, []).append(behavior)
    return out
