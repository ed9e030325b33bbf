"""Planning a retirement: save, show, cancel a plan (the owner only), and the dated plans whose jobs should exist.

The rules the plan must follow are :func:`bot.core.retirement.validate_plan`; the caller schedules or removes the
ceremony job (:func:`bot.core.retirement.ceremony_job_id`) after commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import retirement as rules
from bot.core.errors import DomainError, NotFound
from bot.core.ownership import Actor
from bot.db import models
from bot.db.models import RetirementPlan
from bot.services import timeline
from bot.services.access import owned_persona
from bot.services.retirement.store import plan_of, plan_row, plan_view, rows_changed, when_words
from bot.services.retirement.views import PlanInput, PlanView
from bot.templating.prompts import render_template


async def default_ceremony_channel(session: AsyncSession, guild_id: int | None) -> int | None:
    """The server's ceremony channel (``/admin channel ceremony``), if one is set."""
    if guild_id is None:
        return None
    row = await session.get(models.GuildSettings, guild_id)
    return row.ceremony_channel_id if row is not None else None


def _require_active(persona: models.Persona) -> None:
    if persona.status != "active":
        raise DomainError(f"{persona.name} is {persona.status}; only an active persona can plan its retirement.")


def _plan_columns(plan: rules.Plan, now: datetime) -> dict[str, Any]:
    """The plan row's columns for a saved ``plan``."""
    return {
        "status": "planned",
        "triggers": [t.to_dict() for t in plan.triggers],
        "memory_archival": plan.memory_archival,
        "archival_threshold": plan.archival_threshold,
        "achievement_preservation": plan.achievement_preservation,
        "timeline_preservation": plan.timeline_preservation,
        "archive_access": plan.archive_access,
        "community_access": plan.community_access,
        "research_access": plan.research_access,
        "ceremony_channel_id": plan.ceremony_channel_id,
        "ceremony_settings": plan.ceremony.to_dict(),
        "farewell_message": plan.farewell_message,
        "farewell_by_model": plan.farewell_by_model,
        "data_retention_days": plan.data_retention_days,
        "data_export": plan.data_export,
        "data_deletion": {"delete": list(plan.data_deletion)},
        "scheduled_for": plan.scheduled_for,
        "updated_at": now,
    }


async def plan_retirement(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    data: PlanInput,
    *,
    now: datetime,
    channel_postable: bool | None = None,
) -> PlanView:
    """Save the owner's plan (replacing a planned or cancelled one), record a timeline event, and notify followers
    through the outbox when the persona is public. The caller schedules the jobs
    (:func:`bot.core.retirement.ceremony_job_id`) after commit.

    ``channel_postable``: whether the bot can post in the ceremony channel, as the cog found out."""
    persona = await owned_persona(session, persona_id, actor, "plan its retirement")
    _require_active(persona)
    plan = rules.validate_plan(data.draft(), now=now, channel_postable=channel_postable)
    if plan.ceremony_channel_id is not None and persona.guild_id is None:
        raise DomainError("A personal persona has no server to hold a ceremony in; plan it without a channel.")
    row = await plan_row(session, persona_id)
    if row is not None and row.status in ("executing", "executed"):
        raise DomainError(f"{persona.name}'s retirement has already begun; the plan can no longer change.")
    columns = _plan_columns(plan, now)
    if row is None:
        row = RetirementPlan(persona_id=persona_id, created_by=actor.user_id, created_at=now, **columns)
        session.add(row)
    else:
        for name, value in columns.items():
            setattr(row, name, value)
        row.created_by = actor.user_id
        row.created_at = now
    await _announce_plan(session, persona, plan, now=now)
    await session.flush()
    return plan_view(persona, row)


async def _announce_plan(session: AsyncSession, persona: models.Persona, plan: rules.Plan, *, now: datetime) -> None:
    """The plan's timeline event; a public event of a published persona reaches its followers through the outbox,
    in this transaction."""
    assert persona.id is not None
    when = when_words(plan.scheduled_for)
    invitation = render_template(
        "retirement/notify_plan.j2",
        name=persona.name,
        when=when,
        channel_id=plan.ceremony_channel_id,
        invited=plan.ceremony.invite_followers,
    )
    await timeline.record(
        session,
        persona.id,
        "retirement_plan",
        f"{persona.name} plans to retire" + (f" on {when}" if when else ""),
        invitation,
        {"triggers": [t.to_dict() for t in plan.triggers], "channel_id": plan.ceremony_channel_id},
        is_public=persona.is_public,
        now=now,
    )


def check_plan(data: PlanInput, *, now: datetime, channel_postable: bool | None = None) -> rules.Plan:
    """The input checked as :func:`plan_retirement` will check it (to refuse a bad command option at once)."""
    return rules.validate_plan(data.draft(), now=now, channel_postable=channel_postable)


async def plan_input(session: AsyncSession, actor: Actor, persona_id: int) -> tuple[str, PlanInput]:
    """The persona's name and the form's starting values (the saved plan's, or the defaults). Owner only; the
    persona must be active."""
    persona = await owned_persona(session, persona_id, actor, "plan its retirement")
    _require_active(persona)
    row = await plan_row(session, persona_id)
    if row is None or row.status not in ("planned", "cancelled"):
        return persona.name, PlanInput()
    plan = plan_of(row)
    return persona.name, PlanInput(
        when=plan.scheduled_for if row.status == "planned" else None,
        inactivity_days=plan.inactivity_days,
        manual=any(t.kind == "manual" for t in plan.triggers),
        memory_archival=plan.memory_archival,
        archival_threshold=plan.archival_threshold,
        achievement_preservation=plan.achievement_preservation,
        timeline_preservation=plan.timeline_preservation,
        archive_access=plan.archive_access,
        community_access=plan.community_access,
        research_access=plan.research_access,
        ceremony_channel_id=plan.ceremony_channel_id,
        invite_followers=plan.ceremony.invite_followers,
        ceremony_show=plan.ceremony.show,
        ceremony_days=plan.ceremony.duration_days,
        farewell_message=plan.farewell_message,
        data_retention_days=plan.data_retention_days,
        data_export=plan.data_export,
        data_deletion=plan.data_deletion,
    )


async def get_plan(session: AsyncSession, actor: Actor, persona_id: int) -> PlanView:
    """The persona's plan (owner only), or :class:`NotFound`."""
    persona = await owned_persona(session, persona_id, actor, "see its retirement plan")
    row = await plan_row(session, persona_id)
    if row is None:
        raise NotFound(f"{persona.name} has no retirement plan. Make one with /retire plan.")
    return plan_view(persona, row)


async def cancel(session: AsyncSession, actor: Actor, persona_id: int, *, now: datetime) -> PlanView:
    """Cancel a planned retirement (owner only; not once the ceremony has begun). The caller removes the job."""
    persona = await owned_persona(session, persona_id, actor, "cancel its retirement")
    result = await session.execute(
        update(RetirementPlan)
        .where(col(RetirementPlan.persona_id) == persona_id, col(RetirementPlan.status) == "planned")
        .values(status="cancelled", updated_at=now),
        execution_options={"synchronize_session": False},
    )
    row = await plan_row(session, persona_id)
    if not rows_changed(result):
        if row is None or row.status == "cancelled":
            raise NotFound(f"{persona.name} has no retirement plan to cancel.")
        raise DomainError(f"{persona.name}'s retirement has already begun; it cannot be cancelled.")
    assert row is not None
    await session.refresh(row)
    await timeline.record(
        session,
        persona_id,
        "retirement_plan",
        f"{persona.name} will not retire after all",
        details={"cancelled": True},
        is_public=persona.is_public,
        now=now,
    )
    await session.flush()
    return plan_view(persona, row)


async def scheduled_ceremonies(session: AsyncSession) -> list[tuple[int, datetime]]:
    """Planned ceremonies with a date, (persona id, time): the jobs that should exist."""
    query = select(col(RetirementPlan.persona_id), col(RetirementPlan.scheduled_for)).where(
        col(RetirementPlan.status) == "planned", col(RetirementPlan.scheduled_for).is_not(None)
    )
    return [(int(p), when) for p, when in (await session.execute(query)).all() if when is not None]
