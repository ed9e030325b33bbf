"""Which ceremonies are due: planned ones whose date or inactivity trigger has come, and interrupted ones whose
lease is free (:mod:`bot.services.retirement.lease`). The trigger rules are :func:`bot.core.retirement.due_trigger`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import retirement as rules
from bot.db import models, presence
from bot.db.models import Persona, RetirementPlan
from bot.services.retirement.lease import lease_free
from bot.services.retirement.store import aware


async def last_activity(session: AsyncSession, persona_id: int) -> datetime | None:
    """The last time the persona spoke, was spoken to, or felt something (None: never)."""
    message, relationship, event = models.PersonaMessage, models.PersonRelationship, models.EmotionalEvent
    times = [
        (await session.execute(select(func.max(col(message.created_at))).where(
            col(message.persona_id) == persona_id))).scalar_one(),
        (await session.execute(select(func.max(col(relationship.last_spoken_at))).where(
            col(relationship.persona_id) == persona_id))).scalar_one(),
        (await session.execute(select(func.max(col(event.created_at))).where(
            col(event.persona_id) == persona_id))).scalar_one(),
    ]  # fmt: skip
    present = [aware(t) for t in times if t is not None]
    return max(present) if present else None


async def due_ceremonies(
    session: AsyncSession, now: datetime, *, holder: presence.Holder | None = None
) -> list[tuple[int, str]]:
    """Ceremonies to run at ``now``: planned ones whose date or inactivity trigger is due, and interrupted ones
    whose lease ran out or whose process is gone (``resume``), as process ``holder`` sees it (its identity,
    :mod:`bot.db.presence`; None: only the lease's time counts). (persona id, trigger)."""
    due: list[tuple[int, str]] = []
    planned = await session.execute(
        select(col(RetirementPlan.persona_id), col(RetirementPlan.triggers), col(RetirementPlan.created_at))
        .join(Persona, col(Persona.id) == col(RetirementPlan.persona_id))
        .where(col(RetirementPlan.status) == "planned", col(Persona.status) == "active")
        .order_by(col(RetirementPlan.id))
    )
    for persona_id, triggers, created_at in planned.all():
        parsed = [rules.Trigger.from_dict(t) for t in triggers or []]
        if not any(t.kind in ("date", "inactivity") for t in parsed):
            continue
        last = await last_activity(session, persona_id) if any(t.kind == "inactivity" for t in parsed) else None
        trigger = rules.due_trigger(parsed, now=now, last_activity=last, planned_at=created_at)
        if trigger is not None:
            due.append((int(persona_id), trigger))
    stale = await session.execute(
        select(col(RetirementPlan.persona_id))
        .where(col(RetirementPlan.status) == "executing", lease_free(session, now, holder))
        .order_by(col(RetirementPlan.id))
    )
    due.extend((int(p), "resume") for p in stale.scalars())
    return due
