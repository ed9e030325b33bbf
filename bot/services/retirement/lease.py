"""The ceremony's lease and progress: who runs a ceremony now, and what it has done so far.

An ``executing`` plan carries a lease: its ``updated_at`` and ``lease_holder`` (the identity of the process running
it, :mod:`bot.db.presence`). The progress (the farewell text, the ids of the messages already posted, whether the
export was sent) lives in the plan's ``ceremony_settings["progress"]``, so a resumed ceremony does not post twice.
Every progress write is guarded by the lease: a process whose ceremony was taken over gets :class:`LeaseLost`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.errors import DomainError
from bot.db import presence
from bot.db.models import RetirementPlan
from bot.services.retirement.store import existing_plan_row, plan_row, progress_of, rows_changed

LEASE = timedelta(minutes=5)  # how long a ceremony in progress belongs to the process that claimed it


class LeaseLost(Exception):
    """This process no longer holds the ceremony's lease (another took it over): stop, and post nothing."""


def lease_lost(persona_id: int) -> LeaseLost:
    return LeaseLost(f"the retirement ceremony of persona {persona_id} was taken over by another process")


def lease_free(session: AsyncSession, now: datetime, holder: presence.Holder | None) -> ColumnElement[bool]:
    """SQL: an executing ceremony's lease may be taken: it ran out, or the process holding it is gone."""
    dialect = session.get_bind().dialect.name
    return or_(
        col(RetirementPlan.updated_at) <= now - LEASE,
        presence.holder_gone(RetirementPlan.lease_holder, holder, dialect),
    )


async def set_progress(
    session: AsyncSession, persona_id: int, holder: presence.Holder | None, **changes: Any
) -> dict[str, Any]:
    """Write the ceremony's progress, only while ``holder`` holds its lease (else :class:`LeaseLost`)."""
    row = await existing_plan_row(session, persona_id)
    progress = {**progress_of(row), **changes}
    written = await session.execute(
        update(RetirementPlan)
        .where(col(RetirementPlan.id) == row.id, presence.held_by(RetirementPlan.lease_holder, holder))
        .values(ceremony_settings={**(row.ceremony_settings or {}), "progress": progress}),
        execution_options={"synchronize_session": False},
    )
    if not rows_changed(written):
        raise lease_lost(persona_id)
    await session.refresh(row)
    return progress


async def hold_lease(session: AsyncSession, persona_id: int, *, now: datetime, holder: presence.Holder | None) -> None:
    """Renew ``holder``'s lease on the ceremony before it posts; :class:`LeaseLost` when it is no longer its."""
    held = await session.execute(
        update(RetirementPlan)
        .where(
            col(RetirementPlan.persona_id) == persona_id,
            col(RetirementPlan.status) == "executing",
            presence.held_by(RetirementPlan.lease_holder, holder),
        )
        .values(updated_at=now),
        execution_options={"synchronize_session": False},
    )
    if not rows_changed(held):
        raise lease_lost(persona_id)


async def keep_farewell(
    session: AsyncSession, persona_id: int, text: str, *, holder: presence.Holder | None = None
) -> str:
    """Fix the farewell text for this ceremony (the first one written wins, so a resumed ceremony says the same).
    Only the lease's holder writes (:class:`LeaseLost`)."""
    row = await existing_plan_row(session, persona_id)
    kept = progress_of(row).get("farewell_text")
    if kept:
        return str(kept)
    await set_progress(session, persona_id, holder, farewell_text=text)
    return text


async def record_posted(
    session: AsyncSession,
    persona_id: int,
    kind: str,
    message_id: int,
    channel_id: int,
    *,
    holder: presence.Holder | None = None,
) -> None:
    """Remember a message the ceremony posted (``farewell`` or ``ceremony``), so a resumed ceremony skips it. Only
    the lease's holder writes (:class:`LeaseLost`)."""
    if kind not in ("farewell", "ceremony"):
        raise DomainError("A ceremony posts a farewell and a ceremony message, nothing else.")
    await set_progress(session, persona_id, holder, **{f"{kind}_message_id": message_id, "channel_id": channel_id})


async def claim_export(
    session: AsyncSession, persona_id: int, *, now: datetime, holder: presence.Holder | None = None
) -> bool:
    """Whether the owner's data export should be sent now (asked for, not sent yet); marks it sent. The caller
    sends after commit; a crash in between loses the DM, never sends it twice."""
    row = await plan_row(session, persona_id)
    if row is None or not row.data_export or progress_of(row).get("export_sent_at"):
        return False
    await set_progress(session, persona_id, holder, export_sent_at=now.isoformat())
    return True
