"""Claiming a ceremony, exactly once: the persona ``active -> retiring`` and its plan ``planned -> executing`` through
guarded updates, with a lease held by the claiming process; or, when the ceremony is already executing and its lease
is free, taking it over (``resumed``). A second firing of the same ceremony changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import retirement as rules
from bot.core.errors import DomainError, NotFound
from bot.core.ownership import Actor, require_owner
from bot.core.traits import ALL_TRAITS
from bot.db import presence
from bot.db.models import Persona, RetirementPlan
from bot.services.access import persona_or_not_found
from bot.services.retirement.lease import lease_free, set_progress
from bot.services.retirement.store import plan_row, progress_of, rows_changed
from bot.services.retirement.views import CeremonyClaim


async def claim_ceremony(
    session: AsyncSession,
    persona_id: int,
    *,
    now: datetime,
    trigger: str,
    actor: Actor | None = None,
    scheduled_for: datetime | None = None,
    holder: presence.Holder | None = None,
) -> CeremonyClaim | None:
    """Take the ceremony: ``active -> retiring`` (guarded), the plan ``planned -> executing`` with a lease held by
    ``holder`` (this process's identity, :mod:`bot.db.presence`). A ceremony already ``executing`` whose lease ran
    out, or whose holder is gone, is taken over (``resumed``). Returns None when there is nothing to do: retired
    already, held by a live process, cancelled, or (for a scheduled run) re-planned to another time than
    ``scheduled_for``.

    ``actor``: the owner retiring by hand (``/retire now``); checked. Jobs pass None."""
    persona = await persona_or_not_found(session, persona_id)
    row = await _claimable_plan(session, persona, actor, scheduled_for)
    if row is None:
        return None
    resumed = await _take(session, persona, actor, now=now, holder=holder)
    if resumed is None:
        return None
    await session.refresh(persona)
    await session.refresh(row)
    progress = progress_of(row)
    if not resumed:
        progress = await set_progress(session, persona_id, holder, trigger=trigger, claimed_at=now.isoformat())
    return _claim_of(persona, row, progress, trigger=str(progress.get("trigger", trigger)), resumed=resumed)


async def _claimable_plan(
    session: AsyncSession, persona: Persona, actor: Actor | None, scheduled_for: datetime | None
) -> RetirementPlan | None:
    """The plan to claim, or None for a job with nothing to do; the owner retiring by hand is told why not."""
    assert persona.id is not None
    if actor is not None:
        require_owner(persona, actor, "retire it")
        if persona.status == "retired":
            raise DomainError(f"{persona.name} has retired already.")
    row = await plan_row(session, persona.id)
    if row is None:
        if actor is not None:
            raise NotFound(f"{persona.name} has no retirement plan. Make one with /retire plan first.")
        return None
    if actor is not None and row.status == "cancelled":
        raise DomainError(f"{persona.name}'s retirement plan was cancelled; make a new one with /retire plan.")
    if scheduled_for is not None and row.status == "planned" and row.scheduled_for != scheduled_for:
        return None  # a stale job: the plan now names another time
    return row


async def _take(
    session: AsyncSession, persona: Persona, actor: Actor | None, *, now: datetime, holder: presence.Holder | None
) -> bool | None:
    """Begin the ceremony (False) or take over an interrupted one (True); None when it is not this process's."""
    assert persona.id is not None
    taken = await session.execute(
        update(Persona)
        .where(col(Persona.id) == persona.id, col(Persona.status) == "active")
        .values(status="retiring", updated_at=now),
        execution_options={"synchronize_session": False},
    )
    if rows_changed(taken):
        return False if await _begin(session, persona, actor, now=now, holder=holder) else None
    lease = await session.execute(
        update(RetirementPlan)
        .where(
            col(RetirementPlan.persona_id) == persona.id,
            col(RetirementPlan.status) == "executing",
            lease_free(session, now, holder),
        )
        .values(updated_at=now, lease_holder=holder.value if holder else None),
        execution_options={"synchronize_session": False},
    )
    if not rows_changed(lease):
        if actor is not None and persona.status == "retiring":
            raise DomainError(f"{persona.name}'s ceremony is under way.")
        return None
    return True


async def _begin(
    session: AsyncSession, persona: Persona, actor: Actor | None, *, now: datetime, holder: presence.Holder | None
) -> bool:
    """The persona is now ``retiring``: move its plan ``planned -> executing`` under ``holder``'s lease. With no
    plan to execute (cancelled), put the persona back as it was and say False (or tell the owner why)."""
    planned = await session.execute(
        update(RetirementPlan)
        .where(col(RetirementPlan.persona_id) == persona.id, col(RetirementPlan.status) == "planned")
        .values(status="executing", updated_at=now, lease_holder=holder.value if holder else None),
        execution_options={"synchronize_session": False},
    )
    if rows_changed(planned):
        return True
    await session.execute(
        update(Persona).where(col(Persona.id) == persona.id, col(Persona.status) == "retiring").values(status="active"),
        execution_options={"synchronize_session": False},
    )
    if actor is not None:
        raise DomainError(f"{persona.name} has no active retirement plan.")
    return False


def _claim_of(
    persona: Persona, row: RetirementPlan, progress: Mapping[str, Any], *, trigger: str, resumed: bool
) -> CeremonyClaim:
    """What the caller needs to run the ceremony: the persona, its plan and the ceremony's progress so far."""
    assert persona.id is not None
    settings = rules.CeremonySettings.from_dict(row.ceremony_settings)
    return CeremonyClaim(
        persona_id=persona.id,
        owner_id=persona.owner_id,
        guild_id=persona.guild_id,
        name=persona.name,
        avatar_url=persona.avatar_url,
        description=persona.description,
        traits={name: float(getattr(persona, name)) for name in ALL_TRAITS},
        behavior=dict(persona.behavior_settings or {}),
        trigger=trigger,
        resumed=resumed,
        channel_id=row.ceremony_channel_id,
        farewell_text=progress.get("farewell_text") or (None if row.farewell_by_model else row.farewell_message),
        farewell_by_model=row.farewell_by_model,
        farewell_message_id=progress.get("farewell_message_id"),
        ceremony_message_id=progress.get("ceremony_message_id"),
        show=settings.show,
        invite_followers=settings.invite_followers,
        duration_days=settings.duration_days,
        data_export=row.data_export,
    )
