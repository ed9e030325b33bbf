"""Retirement use cases: plan, show, cancel; the ceremony (claim, farewell, posted messages, completion); the legacy
(access, research export); retention.

Each function takes an open session (the caller owns the transaction), ids and plain data. The rules are in
:mod:`bot.core.retirement`; who may do what is enforced here (the owner plans, cancels and retires; the plan's
archive access decides who reads the legacy).

**Exactly once.** The persona moves ``active -> retiring -> retired`` through guarded updates (``UPDATE ... WHERE
status = 'active'``), and the plan ``planned -> executing -> executed`` with it, so a second firing of the same
ceremony (two schedulers by mistake, a retry, a restart) changes nothing. The ``executing`` plan carries a lease
(its ``updated_at``, and ``lease_holder``, the identity of the process running it: :mod:`bot.db.presence`): a
ceremony interrupted by a crash is resumed by whoever finds the lease expired or its holder dead (a process that
starts again after a crash resumes its previous life's ceremony at once), and its
progress (the farewell text, the ids of the messages already posted, whether the export was sent) is kept in the
plan's ``ceremony_settings["progress"]``, so a resumed ceremony does not post twice. Every progress write and the
completion are guarded by the lease (``lease_holder`` is the writer's): a process whose ceremony was taken over
(it looked dead for a while) gets :class:`LeaseLost` and stops, without posting.

**Posting is not here**: the cog posts between :func:`claim_ceremony` and :func:`complete_ceremony` and records
what it posted with :func:`record_posted`. No session is held while it talks to Discord or the model.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import retirement as rules
from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.core.inputs import parse_id
from bot.core.personality import describe_traits
from bot.core.personas import BehaviorSettings
from bot.core.traits import ALL_TRAITS
from bot.db import models, presence
from bot.llm import ModelError, OfflineResponder, Provider
from bot.llm.base import ChatMessage, ChatRequest, Voice
from bot.llm.offline import seed_for, tone
from bot.services import emotions, timeline
from bot.services.personas import Actor
from bot.templating.prompts import render_template

LEASE = timedelta(minutes=5)  # how long a ceremony in progress belongs to the process that claimed it
NOT_FOUND = "That persona does not exist (it may have been deleted)."

_P = models.Persona
_R = models.RetirementPlan
_A = models.LegacyArchive


class LeaseLost(Exception):
    """This process no longer holds the ceremony's lease (another took it over): stop, and post nothing."""


# --------------------------------------------------------------------------------------------------- views


@dataclass(frozen=True)
class PlanView:
    """A saved plan, as plain data."""

    persona_id: int
    persona_name: str
    persona_status: str
    guild_id: int | None
    status: str  # planned | cancelled | executing | executed
    plan: rules.Plan
    created_at: datetime
    updated_at: datetime
    is_public: bool

    @property
    def scheduled_for(self) -> datetime | None:
        return self.plan.scheduled_for


@dataclass(frozen=True)
class LifeStats:
    born: datetime
    until: datetime
    conversations: int
    messages: int
    followers: int
    achievements: int
    memories: int

    @property
    def lifespan(self) -> str:
        return rules.lifespan_words(self.born, self.until)


@dataclass(frozen=True)
class CeremonyClaim:
    """What the caller needs to run (or resume) a ceremony it now holds."""

    persona_id: int
    owner_id: int
    guild_id: int | None
    name: str
    avatar_url: str | None
    description: str
    traits: Mapping[str, float]
    behavior: Mapping[str, Any]
    trigger: str
    resumed: bool
    channel_id: int | None
    farewell_text: str | None  # fixed once written (the owner's, or the model's first answer)
    farewell_by_model: bool
    farewell_message_id: int | None
    ceremony_message_id: int | None
    show: tuple[str, ...]
    invite_followers: bool
    duration_days: int
    data_export: bool


@dataclass(frozen=True)
class CeremonyResult:
    persona_id: int
    owner_id: int
    name: str
    retired_at: datetime
    lifespan: str
    trigger: str
    archived_memories: int
    achievements_preserved: int
    timeline_preserved: int
    archive_access: str
    channels_unbound: int
    retention_until: datetime
    data_export: bool
    export_sent: bool
    channel_id: int | None
    farewell_message_id: int | None
    ceremony_message_id: int | None
    already_done: bool = False


@dataclass(frozen=True)
class LegacyView:
    persona_id: int
    name: str
    owner_id: int
    archive_access: str
    retired_at: datetime
    retention_until: datetime | None
    profile: Mapping[str, Any]
    stats: Mapping[str, Any]
    achievements: Sequence[Mapping[str, Any]]
    timeline: Sequence[Mapping[str, Any]]
    memory_count: int
    memories: Sequence[Mapping[str, Any]] | None  # None: the viewer may see the count only
    farewell: str | None
    research_available: bool
    deleted_at: datetime | None
    deletion_report: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RetentionReport:
    persona_id: int
    name: str
    deleted: dict[str, int]
    persona_deleted: bool


@dataclass(frozen=True)
class PlanInput:
    """What the owner chose (the cog's form); unchecked. Defaults as :class:`bot.core.retirement.PlanDraft`."""

    when: datetime | None = None
    inactivity_days: int | None = None
    manual: bool = False
    memory_archival: str = "all"
    archival_threshold: int = 7
    achievement_preservation: bool = True
    timeline_preservation: bool = True
    archive_access: str = "owner"
    community_access: bool = False
    research_access: bool = False
    ceremony_channel_id: int | None = None
    invite_followers: bool = True
    ceremony_show: Sequence[str] = rules.CEREMONY_SHOWS
    ceremony_days: int = 7
    farewell_message: str | None = None
    data_retention_days: int = 365
    data_export: bool = False
    data_deletion: Sequence[str] = rules.DEFAULT_DELETION

    def draft(self) -> rules.PlanDraft:
        triggers: list[rules.Trigger] = []
        if self.when is not None:
            triggers.append(rules.Trigger("date", at=self.when))
        if self.inactivity_days is not None:
            triggers.append(rules.Trigger("inactivity", days=self.inactivity_days))
        if self.manual or not triggers:
            triggers.append(rules.Trigger("manual"))
        farewell = (self.farewell_message or "").strip() or None
        return rules.PlanDraft(
            triggers=tuple(triggers),
            memory_archival=self.memory_archival,
            archival_threshold=self.archival_threshold,
            achievement_preservation=self.achievement_preservation,
            timeline_preservation=self.timeline_preservation,
            archive_access=self.archive_access,
            community_access=self.community_access,
            research_access=self.research_access,
            ceremony_channel_id=self.ceremony_channel_id,
            ceremony=rules.CeremonySettings(self.invite_followers, tuple(self.ceremony_show), self.ceremony_days),
            farewell_message=farewell,
            farewell_by_model=farewell is None,
            data_retention_days=self.data_retention_days,
            data_export=self.data_export,
            data_deletion=tuple(self.data_deletion),
        )


# --------------------------------------------------------------------------------------------------- helpers


def job_id(persona_id: int) -> str:
    """The ceremony job's id in the scheduler's store."""
    return f"retire:ceremony:{persona_id}"


async def _persona(session: AsyncSession, persona_id: int) -> models.Persona:
    row = await session.get(_P, persona_id)
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


async def _plan_row(session: AsyncSession, persona_id: int) -> models.RetirementPlan | None:
    return (await session.execute(select(_R).where(_R.persona_id == persona_id))).scalar_one_or_none()


def _plan_of(row: models.RetirementPlan) -> rules.Plan:
    return rules.Plan(
        triggers=tuple(rules.Trigger.from_dict(t) for t in row.triggers or []),
        memory_archival=row.memory_archival,
        archival_threshold=row.archival_threshold,
        achievement_preservation=row.achievement_preservation,
        timeline_preservation=row.timeline_preservation,
        archive_access=row.archive_access,
        community_access=row.community_access,
        research_access=row.research_access,
        ceremony_channel_id=row.ceremony_channel_id,
        ceremony=rules.CeremonySettings.from_dict(row.ceremony_settings),
        farewell_message=row.farewell_message,
        farewell_by_model=row.farewell_by_model,
        data_retention_days=row.data_retention_days,
        data_export=row.data_export,
        data_deletion=tuple((row.data_deletion or {}).get("delete", ())),
    )


def _view(persona: models.Persona, row: models.RetirementPlan) -> PlanView:
    assert persona.id is not None
    return PlanView(
        persona_id=persona.id,
        persona_name=persona.name,
        persona_status=persona.status,
        guild_id=persona.guild_id,
        status=row.status,
        plan=_plan_of(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
        is_public=persona.is_public,
    )


def _require_owner(persona: models.Persona, actor: Actor, action: str) -> None:
    if persona.owner_id != actor.user_id:
        raise PermissionDenied(f"Only {persona.name}'s owner can {action}.")


def _progress(row: models.RetirementPlan) -> dict[str, Any]:
    return dict((row.ceremony_settings or {}).get("progress") or {})


async def _set_progress(
    session: AsyncSession, persona_id: int, holder: presence.Holder | None, **changes: Any
) -> dict[str, Any]:
    """Write the ceremony's progress, only while ``holder`` holds its lease (else :class:`LeaseLost`)."""
    row = await _plan_row(session, persona_id)
    if row is None:
        raise NotFound("There is no retirement plan for that persona.")
    progress = {**_progress(row), **changes}
    written = await session.execute(
        update(_R)
        .where(_R.id == row.id, presence.held_by(_R.lease_holder, holder))
        .values(ceremony_settings={**(row.ceremony_settings or {}), "progress": progress}),
        execution_options={"synchronize_session": False},
    )
    if not written.rowcount:  # type: ignore[attr-defined]
        raise LeaseLost(f"the retirement ceremony of persona {persona_id} was taken over by another process")
    await session.refresh(row)
    return progress


async def _count(session: AsyncSession, model: Any, *where: Any) -> int:
    return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


def _aware(value: Any) -> datetime:
    """A time read from SQL (aggregates come back naive or as text on SQLite) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _when_words(when: datetime | None) -> str | None:
    return f"{when:%Y-%m-%d %H:%M} UTC" if when is not None else None


# --------------------------------------------------------------------------------------------------- planning


async def default_ceremony_channel(session: AsyncSession, guild_id: int | None) -> int | None:
    """The server's ceremony channel (``/admin channel ceremony``), if one is set."""
    if guild_id is None:
        return None
    row = await session.get(models.GuildSettings, guild_id)
    return row.ceremony_channel_id if row is not None else None


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
    through the outbox when the persona is public. The caller schedules the jobs (:func:`job_id`) after commit.

    ``channel_postable``: whether the bot can post in the ceremony channel, as the cog found out."""
    persona = await _persona(session, persona_id)
    _require_owner(persona, actor, "plan its retirement")
    if persona.status != "active":
        raise DomainError(f"{persona.name} is {persona.status}; only an active persona can plan its retirement.")
    plan = rules.validate_plan(data.draft(), now=now, channel_postable=channel_postable)
    if plan.ceremony_channel_id is not None and persona.guild_id is None:
        raise DomainError("A personal persona has no server to hold a ceremony in; plan it without a channel.")
    row = await _plan_row(session, persona_id)
    if row is not None and row.status in ("executing", "executed"):
        raise DomainError(f"{persona.name}'s retirement has already begun; the plan can no longer change.")
    columns = {
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
    if row is None:
        row = models.RetirementPlan(persona_id=persona_id, created_by=actor.user_id, created_at=now, **columns)
        session.add(row)
    else:
        for name, value in columns.items():
            setattr(row, name, value)
        row.created_by = actor.user_id
        row.created_at = now
    when = _when_words(plan.scheduled_for)
    invitation = render_template(
        "retirement/notify_plan.j2",
        name=persona.name,
        when=when,
        channel_id=plan.ceremony_channel_id,
        invited=plan.ceremony.invite_followers,
    )
    # A public event of a published persona reaches its followers through the outbox, in this transaction.
    await timeline.record(
        session,
        persona_id,
        "retirement_plan",
        f"{persona.name} plans to retire" + (f" on {when}" if when else ""),
        invitation,
        {"triggers": [t.to_dict() for t in plan.triggers], "channel_id": plan.ceremony_channel_id},
        is_public=persona.is_public,
        now=now,
    )
    await session.flush()
    return _view(persona, row)


def check_plan(data: PlanInput, *, now: datetime, channel_postable: bool | None = None) -> rules.Plan:
    """The input checked as :func:`plan_retirement` will check it (to refuse a bad command option at once)."""
    return rules.validate_plan(data.draft(), now=now, channel_postable=channel_postable)


async def plan_input(session: AsyncSession, actor: Actor, persona_id: int) -> tuple[str, PlanInput]:
    """The persona's name and the form's starting values (the saved plan's, or the defaults). Owner only; the
    persona must be active."""
    persona = await _persona(session, persona_id)
    _require_owner(persona, actor, "plan its retirement")
    if persona.status != "active":
        raise DomainError(f"{persona.name} is {persona.status}; only an active persona can plan its retirement.")
    row = await _plan_row(session, persona_id)
    if row is None or row.status not in ("planned", "cancelled"):
        return persona.name, PlanInput()
    plan = _plan_of(row)
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
    persona = await _persona(session, persona_id)
    _require_owner(persona, actor, "see its retirement plan")
    row = await _plan_row(session, persona_id)
    if row is None:
        raise NotFound(f"{persona.name} has no retirement plan. Make one with /retire plan.")
    return _view(persona, row)


async def cancel(session: AsyncSession, actor: Actor, persona_id: int, *, now: datetime) -> PlanView:
    """Cancel a planned retirement (owner only; not once the ceremony has begun). The caller removes the job."""
    persona = await _persona(session, persona_id)
    _require_owner(persona, actor, "cancel its retirement")
    result = await session.execute(
        update(_R)
        .where(_R.persona_id == persona_id, _R.status == "planned")
        .values(status="cancelled", updated_at=now),
        execution_options={"synchronize_session": False},
    )
    row = await _plan_row(session, persona_id)
    if not result.rowcount:  # type: ignore[attr-defined]
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
    return _view(persona, row)


async def scheduled_ceremonies(session: AsyncSession) -> list[tuple[int, datetime]]:
    """Planned ceremonies with a date, (persona id, time): the jobs that should exist."""
    query = select(_R.persona_id, _R.scheduled_for).where(_R.status == "planned", _R.scheduled_for.is_not(None))
    return [(int(p), when) for p, when in (await session.execute(query)).all()]


async def last_activity(session: AsyncSession, persona_id: int) -> datetime | None:
    """The last time the persona spoke, was spoken to, or felt something (None: never)."""
    times = [
        (await session.execute(select(func.max(models.PersonaMessage.created_at)).where(
            models.PersonaMessage.persona_id == persona_id))).scalar_one(),
        (await session.execute(select(func.max(models.PersonRelationship.last_spoken_at)).where(
            models.PersonRelationship.persona_id == persona_id))).scalar_one(),
        (await session.execute(select(func.max(models.EmotionalEvent.created_at)).where(
            models.EmotionalEvent.persona_id == persona_id))).scalar_one(),
    ]  # fmt: skip
    present = [_aware(t) for t in times if t is not None]
    return max(present) if present else None


def _lease_free(session: AsyncSession, now: datetime, holder: presence.Holder | None) -> Any:
    """SQL: an executing ceremony's lease may be taken: it ran out, or the process holding it is gone."""
    return or_(_R.updated_at <= now - LEASE, presence.holder_gone(_R.lease_holder, holder, session.bind.dialect.name))


async def due_ceremonies(
    session: AsyncSession, now: datetime, *, holder: presence.Holder | None = None
) -> list[tuple[int, str]]:
    """Ceremonies to run at ``now``: planned ones whose date or inactivity trigger is due, and interrupted ones
    whose lease ran out or whose process is gone (``resume``), as process ``holder`` sees it (its identity,
    :mod:`bot.db.presence`; None: only the lease's time counts). (persona id, trigger)."""
    due: list[tuple[int, str]] = []
    planned = await session.execute(
        select(_R.persona_id, _R.triggers, _R.created_at)
        .join(_P, _P.id == _R.persona_id)
        .where(_R.status == "planned", _P.status == "active")
        .order_by(_R.id)
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
        select(_R.persona_id).where(_R.status == "executing", _lease_free(session, now, holder)).order_by(_R.id)
    )
    due.extend((int(p), "resume") for p in stale.scalars())
    return due


# --------------------------------------------------------------------------------------------------- the ceremony


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
    persona = await _persona(session, persona_id)
    if actor is not None:
        _require_owner(persona, actor, "retire it")
        if persona.status == "retired":
            raise DomainError(f"{persona.name} has retired already.")
    row = await _plan_row(session, persona_id)
    if row is None:
        if actor is not None:
            raise NotFound(f"{persona.name} has no retirement plan. Make one with /retire plan first.")
        return None
    if actor is not None and row.status == "cancelled":
        raise DomainError(f"{persona.name}'s retirement plan was cancelled; make a new one with /retire plan.")
    if scheduled_for is not None and row.status == "planned" and row.scheduled_for != scheduled_for:
        return None  # a stale job: the plan now names another time
    resumed = False
    taken = await session.execute(
        update(_P).where(_P.id == persona_id, _P.status == "active").values(status="retiring", updated_at=now),
        execution_options={"synchronize_session": False},
    )
    if taken.rowcount:  # type: ignore[attr-defined]
        planned = await session.execute(
            update(_R)
            .where(_R.persona_id == persona_id, _R.status == "planned")
            .values(status="executing", updated_at=now, lease_holder=holder.value if holder else None),
            execution_options={"synchronize_session": False},
        )
        if not planned.rowcount:  # type: ignore[attr-defined]
            # No plan to execute (cancelled): put the persona back as it was.
            await session.execute(
                update(_P).where(_P.id == persona_id, _P.status == "retiring").values(status="active"),
                execution_options={"synchronize_session": False},
            )
            if actor is not None:
                raise DomainError(f"{persona.name} has no active retirement plan.")
            return None
    else:
        lease = await session.execute(
            update(_R)
            .where(_R.persona_id == persona_id, _R.status == "executing", _lease_free(session, now, holder))
            .values(updated_at=now, lease_holder=holder.value if holder else None),
            execution_options={"synchronize_session": False},
        )
        if not lease.rowcount:  # type: ignore[attr-defined]
            if actor is not None and persona.status == "retiring":
                raise DomainError(f"{persona.name}'s ceremony is under way.")
            return None
        resumed = True
    await session.refresh(persona)
    await session.refresh(row)
    progress = _progress(row)
    if not resumed:
        progress = await _set_progress(session, persona_id, holder, trigger=trigger, claimed_at=now.isoformat())
    settings = rules.CeremonySettings.from_dict(row.ceremony_settings)
    assert persona.id is not None
    return CeremonyClaim(
        persona_id=persona.id,
        owner_id=persona.owner_id,
        guild_id=persona.guild_id,
        name=persona.name,
        avatar_url=persona.avatar_url,
        description=persona.description,
        traits={name: float(getattr(persona, name)) for name in ALL_TRAITS},
        behavior=dict(persona.behavior_settings or {}),
        trigger=str(progress.get("trigger", trigger)),
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


async def hold_lease(session: AsyncSession, persona_id: int, *, now: datetime, holder: presence.Holder | None) -> None:
    """Renew ``holder``'s lease on the ceremony before it posts; :class:`LeaseLost` when it is no longer its."""
    held = await session.execute(
        update(_R)
        .where(_R.persona_id == persona_id, _R.status == "executing", presence.held_by(_R.lease_holder, holder))
        .values(updated_at=now),
        execution_options={"synchronize_session": False},
    )
    if not held.rowcount:  # type: ignore[attr-defined]
        raise LeaseLost(f"the retirement ceremony of persona {persona_id} was taken over by another process")


async def keep_farewell(
    session: AsyncSession, persona_id: int, text: str, *, holder: presence.Holder | None = None
) -> str:
    """Fix the farewell text for this ceremony (the first one written wins, so a resumed ceremony says the same).
    Only the lease's holder writes (:class:`LeaseLost`)."""
    row = await _plan_row(session, persona_id)
    if row is None:
        raise NotFound("There is no retirement plan for that persona.")
    kept = _progress(row).get("farewell_text")
    if kept:
        return str(kept)
    await _set_progress(session, persona_id, holder, farewell_text=text)
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
    await _set_progress(session, persona_id, holder, **{f"{kind}_message_id": message_id, "channel_id": channel_id})


async def guild_of(session: AsyncSession, persona_id: int) -> int | None:
    """The guild a persona lives in (None for a personal persona, or one that no longer exists)."""
    return (await session.execute(select(models.Persona.guild_id).where(models.Persona.id == persona_id))).scalar()


async def life_stats(session: AsyncSession, persona_id: int, now: datetime) -> LifeStats:
    """The persona's life in numbers, up to ``now`` (or its retirement)."""
    persona = await _persona(session, persona_id)
    archive = (await session.execute(select(_A).where(_A.persona_id == persona_id))).scalar_one_or_none()
    messages = await _count(session, models.PersonaMessage, models.PersonaMessage.persona_id == persona_id)
    return LifeStats(
        born=persona.created_at,
        until=archive.retired_at if archive is not None else now,
        conversations=max(int(persona.interaction_count or 0), messages),
        messages=messages,
        followers=await _count(session, models.Follow, models.Follow.persona_id == persona_id),
        achievements=await _count(session, models.AchievementAward, models.AchievementAward.persona_id == persona_id),
        memories=await _count(session, models.Memory, models.Memory.persona_id == persona_id),
    )


async def life_history(session: AsyncSession, persona_id: int, now: datetime) -> emotions.HistoryView:
    """The persona's emotional history over its whole life (for the ceremony's mood chart)."""
    persona = await _persona(session, persona_id)
    since = min(persona.created_at, now - timedelta(hours=1))
    return await emotions.history(session, persona_id, since, now + timedelta(seconds=1), max_points=200)


async def mood_words(session: AsyncSession, persona_id: int, now: datetime) -> str:
    try:
        return (await emotions.current_state(session, persona_id, now)).mood_words
    except DomainError:
        return "neutral"


async def write_farewell(
    llm: Provider, claim: CeremonyClaim, stats: LifeStats, *, mood: str, now: datetime, timeout_fallback: bool = True
) -> str:
    """The farewell in the persona's voice: the model's (rendered from ``prompts/retirement/``), or, with the offline
    responder or when the model fails, the offline farewell template. No session is held here."""
    behavior = BehaviorSettings.from_dict(claim.behavior)
    if not isinstance(llm, OfflineResponder):
        system = render_template(
            "retirement/farewell_system.j2",
            name=claim.name,
            description=claim.description,
            traits=describe_traits(claim.traits),
            mood=mood,
            lifespan=stats.lifespan,
            conversations=stats.conversations,
            followers=stats.followers,
            achievements=stats.achievements,
            today=f"{now:%A %d %B %Y}",
        )
        request = ChatRequest(
            system=system,
            messages=(
                ChatMessage(role="user", content=render_template("retirement/farewell_request.j2", name=claim.name)),
            ),
            max_tokens=300,
            temperature=0.8,
            voice=Voice(
                persona_id=claim.persona_id, name=claim.name, traits=dict(claim.traits), mood=mood, behavior=behavior
            ),
        )
        try:
            text = (await llm.reply(request)).text.strip()
            if text:
                return clip_farewell(text)
        except ModelError:
            if not timeout_fallback:
                raise
    rng = random.Random(seed_for(claim.persona_id, "farewell"))

    def pick(options: Sequence[str]) -> str:
        return options[rng.randrange(len(options))] if options else ""

    text = render_template(
        "retirement/farewell_offline.j2",
        name=claim.name,
        lifespan=stats.lifespan,
        conversations=stats.conversations,
        tone=tone(claim.traits, behavior),
        mood_name=mood.split()[-1] if mood else "neutral",
        pick=pick,
    )
    return clip_farewell(re.sub(r"\s+([,.!?])", r"\1", " ".join(text.split())))


def clip_farewell(text: str) -> str:
    text = text.strip()
    return text if len(text) <= rules.FAREWELL_MAX else text[: rules.FAREWELL_MAX - 1] + "…"


def _memory_row(row: models.Memory) -> dict[str, Any]:
    return {
        "content": row.content,
        "category": row.category,
        "importance": row.importance,
        "pinned": row.pinned,
        "encrypted": row.encrypted,
        "source_user_id": row.source_user_id,
        "subject_user_id": row.subject_user_id,
        "created_at": row.created_at.isoformat(),
    }


async def complete_ceremony(
    session: AsyncSession, persona_id: int, *, now: datetime, holder: presence.Holder | None = None
) -> CeremonyResult:
    """Finish a claimed ceremony (``retiring -> retired``, guarded): archive the memories per the plan, preserve
    achievements and timeline, set the archive access, remove every channel binding (the persona speaks nowhere),
    record the result on the timeline, notify followers. Run twice, the second call changes nothing and returns
    the first result (``already_done``). Only the lease's holder completes it (:class:`LeaseLost`)."""
    persona = await _persona(session, persona_id)
    row = await _plan_row(session, persona_id)
    if row is None:
        raise NotFound("There is no retirement plan for that persona.")
    if row.status == "executing":
        await hold_lease(session, persona_id, now=now, holder=holder)
    done = await session.execute(
        update(_P)
        .where(_P.id == persona_id, _P.status == "retiring")
        .values(status="retired", is_active=False, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        return await result_of(session, persona_id)
    await session.refresh(persona)
    plan = _plan_of(row)
    progress = _progress(row)
    stats = await life_stats(session, persona_id, now)

    memory_rows = list(
        (
            await session.execute(
                select(models.Memory).where(models.Memory.persona_id == persona_id).order_by(models.Memory.id)
            )
        ).scalars()
    )
    keep = set(
        rules.select_for_archive(
            (rules.MemoryFacts(m.id or 0, m.importance) for m in memory_rows),
            plan.memory_archival,
            plan.archival_threshold,
        )
    )
    archived = [_memory_row(m) for m in memory_rows if m.id in keep]
    achievements: list[dict[str, Any]] = []
    if plan.achievement_preservation:
        query = select(models.AchievementAward).where(models.AchievementAward.persona_id == persona_id)
        achievements = [
            {"key": a.achievement_key, "awarded_at": a.awarded_at.isoformat(), "is_public": a.is_public}
            for a in (await session.execute(query.order_by(models.AchievementAward.id))).scalars()
        ]
    timeline_rows: list[dict[str, Any]] = []
    if plan.timeline_preservation:
        query = select(models.TimelineEvent).where(models.TimelineEvent.persona_id == persona_id)
        timeline_rows = [
            {"kind": e.kind, "title": e.title, "description": e.description, "created_at": e.created_at.isoformat()}
            for e in (
                await session.execute(query.order_by(models.TimelineEvent.created_at, models.TimelineEvent.id))
            ).scalars()
        ]
    unbound = await session.execute(delete(models.ChannelBinding).where(models.ChannelBinding.persona_id == persona_id))
    until = rules.retention_until(now, plan.data_retention_days)
    snapshot = {
        "profile": {
            "name": persona.name,
            "description": persona.description,
            "avatar_url": persona.avatar_url,
            "owner_id": persona.owner_id,
            "guild_id": persona.guild_id,
            "traits": {name: float(getattr(persona, name)) for name in ALL_TRAITS},
            "born": persona.created_at.isoformat(),
            "retired": now.isoformat(),
            "lifespan": stats.lifespan,
        },
        "stats": {
            "conversations": stats.conversations,
            "messages": stats.messages,
            "followers": stats.followers,
            "achievements": stats.achievements,
            "memories": stats.memories,
        },
        "memories": archived,
        "achievements": achievements,
        "timeline": timeline_rows,
        "ceremony": {
            "trigger": progress.get("trigger"),
            "channel_id": progress.get("channel_id", row.ceremony_channel_id),
            "farewell": progress.get("farewell_text"),
            "farewell_message_id": progress.get("farewell_message_id"),
            "ceremony_message_id": progress.get("ceremony_message_id"),
        },
        "access": {
            "archive": plan.archive_access,
            "community": plan.community_access,
            "research": plan.research_access,
        },
    }
    session.add(
        models.LegacyArchive(
            persona_id=persona_id,
            archive_access=plan.archive_access,
            snapshot=snapshot,
            archived_memory_count=len(archived),
            retired_at=now,
            retention_until=until,
        )
    )
    row.status = "executed"
    row.updated_at = now
    channel_id = progress.get("channel_id", row.ceremony_channel_id)
    await timeline.record(
        session,
        persona_id,
        "retired",
        f"{persona.name} retired after {stats.lifespan}",
        render_template(
            "retirement/notify_ceremony.j2", name=persona.name, channel_id=channel_id, lifespan=stats.lifespan
        ),
        {
            "archived_memories": len(archived),
            "achievements_preserved": len(achievements),
            "timeline_preserved": len(timeline_rows),
            "archive_access": plan.archive_access,
            "trigger": progress.get("trigger"),
            "farewell_message_id": progress.get("farewell_message_id"),
        },
        is_public=persona.is_public,
        now=now,
    )
    await session.flush()
    return CeremonyResult(
        persona_id=persona_id,
        owner_id=persona.owner_id,
        name=persona.name,
        retired_at=now,
        lifespan=stats.lifespan,
        trigger=str(progress.get("trigger") or "manual"),
        archived_memories=len(archived),
        achievements_preserved=len(achievements),
        timeline_preserved=len(timeline_rows),
        archive_access=plan.archive_access,
        channels_unbound=int(unbound.rowcount or 0),  # type: ignore[attr-defined]
        retention_until=until,
        data_export=plan.data_export,
        export_sent=bool(progress.get("export_sent_at")),
        channel_id=progress.get("channel_id", row.ceremony_channel_id),
        farewell_message_id=progress.get("farewell_message_id"),
        ceremony_message_id=progress.get("ceremony_message_id"),
    )


async def result_of(session: AsyncSession, persona_id: int) -> CeremonyResult:
    """The result of a finished ceremony (from its archive)."""
    persona = await _persona(session, persona_id)
    archive = (await session.execute(select(_A).where(_A.persona_id == persona_id))).scalar_one_or_none()
    row = await _plan_row(session, persona_id)
    if archive is None or row is None:
        raise DomainError(f"{persona.name} has not retired.")
    snapshot = archive.snapshot or {}
    ceremony = snapshot.get("ceremony") or {}
    progress = _progress(row)
    return CeremonyResult(
        persona_id=persona_id,
        owner_id=persona.owner_id,
        name=persona.name,
        retired_at=archive.retired_at,
        lifespan=str((snapshot.get("profile") or {}).get("lifespan", "")),
        trigger=str(ceremony.get("trigger") or "manual"),
        archived_memories=archive.archived_memory_count,
        achievements_preserved=len(snapshot.get("achievements") or []),
        timeline_preserved=len(snapshot.get("timeline") or []),
        archive_access=archive.archive_access,
        channels_unbound=0,
        retention_until=archive.retention_until or archive.retired_at,
        data_export=row.data_export,
        export_sent=bool(progress.get("export_sent_at")),
        channel_id=ceremony.get("channel_id"),
        farewell_message_id=ceremony.get("farewell_message_id"),
        ceremony_message_id=ceremony.get("ceremony_message_id"),
        already_done=True,
    )


async def claim_export(
    session: AsyncSession, persona_id: int, *, now: datetime, holder: presence.Holder | None = None
) -> bool:
    """Whether the owner's data export should be sent now (asked for, not sent yet); marks it sent. The caller
    sends after commit; a crash in between loses the DM, never sends it twice."""
    row = await _plan_row(session, persona_id)
    if row is None or not row.data_export or _progress(row).get("export_sent_at"):
        return False
    await _set_progress(session, persona_id, holder, export_sent_at=now.isoformat())
    return True


# --------------------------------------------------------------------------------------------------- the legacy


async def find_retired(session: AsyncSession, guild_id: int | None, value: str) -> int:
    """A retired persona by id, or by exact name on this server."""
    text = value.strip()
    typed_id = parse_id(text)
    if typed_id is not None and (await session.get(_P, typed_id)) is not None:
        return typed_id
    query = select(_P.id).where(func.lower(_P.name) == text.lower(), _P.status == "retired")
    query = query.where(_P.guild_id.is_(None) if guild_id is None else _P.guild_id == guild_id)
    found = (await session.execute(query.order_by(_P.id.desc()).limit(1))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"I found no retired persona called '{text[:80]}' here.")
    return int(found)


async def retired_choices(
    session: AsyncSession, guild_id: int | None, prefix: str, limit: int = 25
) -> list[tuple[int, str]]:
    """Retired personas on this server whose names start with ``prefix`` (for autocomplete)."""
    query = select(_P.id, _P.name).where(_P.status == "retired")
    query = query.where(_P.guild_id.is_(None) if guild_id is None else _P.guild_id == guild_id)
    if prefix:
        query = query.where(func.lower(_P.name).startswith(prefix.lower(), autoescape=True))
    return [(int(i), n) for i, n in (await session.execute(query.order_by(func.lower(_P.name)).limit(limit))).all()]


async def _archive_for(
    session: AsyncSession, viewer: Actor, persona_id: int
) -> tuple[models.Persona, models.LegacyArchive]:
    persona = await _persona(session, persona_id)
    archive = (await session.execute(select(_A).where(_A.persona_id == persona_id))).scalar_one_or_none()
    if archive is None or persona.status != "retired":
        raise NotFound(f"{persona.name} has not retired; it has no legacy yet.")
    is_owner = persona.owner_id == viewer.user_id
    follows = await _count(
        session, models.Follow, models.Follow.persona_id == persona_id, models.Follow.user_id == viewer.user_id
    )
    allowed = rules.can_view_legacy(
        archive.archive_access,
        is_owner=is_owner,
        is_follower=follows > 0,
        same_guild=viewer.guild_id is not None and viewer.guild_id == persona.guild_id,
    )
    if not allowed:
        raise PermissionDenied(rules.access_refusal(archive.archive_access, persona.name))
    return persona, archive


async def legacy(session: AsyncSession, viewer: Actor, persona_id: int) -> LegacyView:
    """A retired persona's preserved legacy, for a viewer the archive access admits (others: PermissionDenied)."""
    persona, archive = await _archive_for(session, viewer, persona_id)
    snapshot = archive.snapshot or {}
    access = snapshot.get("access") or {}
    is_owner = persona.owner_id == viewer.user_id
    memories = list(snapshot.get("memories") or [])
    shown = [m for m in memories if not m.get("encrypted")] if is_owner or access.get("community") else None
    assert persona.id is not None
    return LegacyView(
        persona_id=persona.id,
        name=persona.name,
        owner_id=persona.owner_id,
        archive_access=archive.archive_access,
        retired_at=archive.retired_at,
        retention_until=archive.retention_until,
        profile=dict(snapshot.get("profile") or {}),
        stats=dict(snapshot.get("stats") or {}),
        achievements=list(snapshot.get("achievements") or []),
        timeline=list(snapshot.get("timeline") or []),
        memory_count=len(memories),
        memories=shown,
        farewell=(snapshot.get("ceremony") or {}).get("farewell"),
        research_available=bool(access.get("research")),
        deleted_at=archive.deleted_at,
        deletion_report=dict(archive.deletion_report or {}),
    )


async def people_of(session: AsyncSession, persona_id: int) -> set[int]:
    """Every person's id the persona's data names: the ids an anonymised export must not hold, and whose names the
    caller looks up. Read from the register of person columns (:mod:`bot.db.people`): every such column of a table
    that belongs to the persona, and the ids inside its documents (the archive's memories), so a column added there
    is covered here too."""
    from bot.db import people  # the register; imported here to keep this change to this function

    persona = await _persona(session, persona_id)
    ids = {persona.owner_id}

    def named(value: Any, keys: tuple[str, ...]) -> Iterable[int]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in keys and isinstance(item, int) and not isinstance(item, bool) and item:
                    yield item
                elif key in keys and isinstance(item, str) and item.strip().isdigit():
                    yield int(item)
                else:
                    yield from named(item, keys)
        elif isinstance(value, list):
            for item in value:
                yield from named(item, keys)

    for name in people.TABLES:
        table = models.metadata.tables[name]
        owner = table.c.get("persona_id")
        if owner is None:
            continue
        for column in people.person_columns(name):
            query = select(table.c[column]).where(owner == persona_id, table.c[column].is_not(None)).distinct()
            ids.update(int(v) for v in (await session.execute(query)).scalars())
        for column, document in people.person_documents(name).items():
            for value in (await session.execute(select(table.c[column]).where(owner == persona_id))).scalars():
                ids.update(named(value, document.keys))
    return ids


async def research_export(
    session: AsyncSession, viewer: Actor, persona_id: int, *, names: Iterable[str] = (), now: datetime
) -> dict[str, Any]:
    """The anonymised research export of a legacy (when the plan allows research and the viewer may read the
    legacy): what the persona was and lived, without any person's id or name. ``names`` are the display names of
    :func:`people_of`, looked up by the caller."""
    persona, archive = await _archive_for(session, viewer, persona_id)
    snapshot = archive.snapshot or {}
    if not (snapshot.get("access") or {}).get("research"):
        raise PermissionDenied(f"{persona.name}'s legacy is not open to research.")
    ids = await people_of(session, persona_id)
    events_query = (
        select(
            models.EmotionalEvent.trigger,
            models.EmotionalEvent.emotion_type,
            models.EmotionalEvent.intensity,
            models.EmotionalEvent.new_pleasure,
            models.EmotionalEvent.new_arousal,
            models.EmotionalEvent.new_dominance,
            models.EmotionalEvent.context,
            models.EmotionalEvent.created_at,
        )
        .where(models.EmotionalEvent.persona_id == persona_id)
        .order_by(models.EmotionalEvent.created_at, models.EmotionalEvent.id)
    )
    events = [
        {
            "trigger": e.trigger,
            "emotion": e.emotion_type,
            "intensity": e.intensity,
            "mood_after": [e.new_pleasure, e.new_arousal, e.new_dominance],
            "context": e.context,
            "at": _aware(e.created_at).isoformat(),
        }
        for e in (await session.execute(events_query)).all()
    ]
    profile = dict(snapshot.get("profile") or {})
    document = {
        "format": "persona-hub-research",
        "version": 1,
        "exported_at": now.isoformat(),
        "persona": {k: profile.get(k) for k in ("name", "description", "traits", "born", "retired", "lifespan")},
        "stats": dict(snapshot.get("stats") or {}),
        "memories": [
            {k: m.get(k) for k in ("content", "category", "importance", "pinned", "created_at")}
            for m in snapshot.get("memories") or []
            if not m.get("encrypted")
        ],
        "achievements": list(snapshot.get("achievements") or []),
        "timeline": list(snapshot.get("timeline") or []),
        "emotional_events": events,
    }
    return rules.anonymise(document, names=names, ids=ids)


# --------------------------------------------------------------------------------------------------- retention


async def due_retention(session: AsyncSession, now: datetime) -> list[int]:
    """Personas whose legacy's retention has ended and whose data has not been deleted yet."""
    query = select(_A.persona_id).where(_A.deleted_at.is_(None), _A.retention_until <= now).order_by(_A.id)
    return [int(p) for p in (await session.execute(query)).scalars()]


async def apply_retention(session: AsyncSession, persona_id: int, *, now: datetime) -> RetentionReport | None:
    """Delete what the plan's deletion policy names, once (the archive is claimed with a guarded update), and
    record what was deleted on the archive (or, when the persona itself goes, in ``app_state``)."""
    claimed = await session.execute(
        update(_A)
        .where(_A.persona_id == persona_id, _A.deleted_at.is_(None), _A.retention_until <= now)
        .values(deleted_at=now),
        execution_options={"synchronize_session": False},
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return None
    persona = await _persona(session, persona_id)
    row = await _plan_row(session, persona_id)
    policy = _plan_of(row).data_deletion if row is not None else rules.DEFAULT_DELETION
    name = persona.name
    deleted: dict[str, int] = {}

    async def drop(label: str, *models_: Any) -> None:
        total = 0
        for model in models_:
            result = await session.execute(delete(model).where(model.persona_id == persona_id))
            total += int(result.rowcount or 0)  # type: ignore[attr-defined]
        deleted[label] = total

    if "persona" in policy:
        from bot.services.personas import count_owned_rows

        deleted = await count_owned_rows(session, persona_id)
        await session.execute(delete(_P).where(_P.id == persona_id))
        session.add(
            models.AppState(
                key=f"retire:deleted:{persona_id}",
                value={"persona_id": persona_id, "name": name, "deleted": deleted, "at": now.isoformat()},
                updated_at=now,
            )
        )
        await session.flush()
        return RetentionReport(persona_id, name, deleted, True)
    if "memories" in policy:
        await drop("memories", models.Memory)
    if "emotional_history" in policy:
        await drop("emotional_history", models.EmotionalEvent, models.ActiveEmotion, models.LearnedResponse)
    if "relationships" in policy:
        await drop("relationships", models.PersonRelationship)
    if "messages" in policy:
        await drop("messages", models.PersonaMessage)
    if "follows" in policy:
        await drop("follows", models.Follow)
        persona.follower_count = 0
    archive = (await session.execute(select(_A).where(_A.persona_id == persona_id))).scalar_one()
    snapshot = dict(archive.snapshot or {})
    if "timeline" in policy:
        await drop("timeline", models.TimelineEvent)
        deleted["timeline"] += len(snapshot.get("timeline") or [])
        snapshot["timeline"] = []
    if "achievements" in policy:
        await drop("achievements", models.AchievementAward)
        deleted["achievements"] += len(snapshot.get("achievements") or [])
        snapshot["achievements"] = []
    if "archived_memories" in policy:
        deleted["archived_memories"] = len(snapshot.get("memories") or [])
        snapshot["memories"] = []
        archive.archived_memory_count = 0
    archive.snapshot = snapshot
    archive.deletion_report = {"at": now.isoformat(), "policy": list(policy), "deleted": deleted}
    await session.flush()
    return RetentionReport(persona_id, name, deleted, False)
