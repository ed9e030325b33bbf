"""Consent records (who agreed to be remembered, or refused, when, and who recorded it) and the decision for
capture. Records are never updated: a change of mind is a new record, so the history stays.

The invitation (``consent_offers``, :func:`claim_offer` / :func:`offer_sent` / :func:`answer_offer`): a person is
asked once per server, by whoever notices them first (the chat listener); the claim is one row per person and
server, so two processes never both ask. The server's mode (ask first / opt-out / never) is
``guild_settings.memory_consent_default`` (:func:`server_mode`; set by
:func:`bot.services.guild_settings.set_memory_mode`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Executable, select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.errors import DomainError
from bot.core.personas import PrivacySettings
from bot.core.privacy import (
    OFFER_ANSWERS,
    ConsentDecision,
    ConsentFact,
    MemoryNaming,
    may_remember,
    mentioned_user_ids,
    offer_due,
)
from bot.core.privacy import memory_naming as core_memory_naming
from bot.db import models

MEMORY_SCOPE = "memory"
BATCH = 500  # ids per IN (...) list


@dataclass(frozen=True)
class ConsentRecordView:
    id: int
    user_id: int
    guild_id: int | None
    persona_id: int | None
    scope: str
    granted: bool
    recorded_by: int
    recorded_at: datetime
    note: str | None


def _view(row: models.ConsentRecord) -> ConsentRecordView:
    assert row.id is not None
    return ConsentRecordView(
        id=row.id,
        user_id=row.user_id,
        guild_id=row.guild_id,
        persona_id=row.persona_id,
        scope=row.scope,
        granted=row.granted,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        note=row.note,
    )


async def record(
    session: AsyncSession,
    *,
    user_id: int,
    guild_id: int | None,
    granted: bool,
    recorded_by: int,
    now: datetime,
    persona_id: int | None = None,
    scope: str = MEMORY_SCOPE,
    note: str | None = None,
) -> ConsentRecordView:
    """Record an answer. People answer for themselves: ``recorded_by`` must be ``user_id`` for memory consent."""
    if scope == MEMORY_SCOPE and recorded_by != user_id:
        raise DomainError("Only you can give or refuse consent to be remembered.")
    if persona_id is not None:
        persona = await session.get(models.Persona, persona_id)
        if persona is None or (guild_id is not None and persona.guild_id not in (guild_id, None)):
            raise DomainError("That persona does not exist here.")
    row = models.ConsentRecord(
        user_id=user_id,
        guild_id=guild_id,
        persona_id=persona_id,
        scope=scope,
        granted=granted,
        recorded_by=recorded_by,
        recorded_at=now,
        note=note,
    )
    session.add(row)
    await session.flush()
    return _view(row)


async def decide(
    session: AsyncSession, *, user_id: int, guild_id: int | None, persona_id: int, privacy: PrivacySettings
) -> ConsentDecision:
    """May ``persona_id`` remember what ``user_id`` says in ``guild_id``? (``bot.core.privacy.may_remember``)"""
    found = await decide_many(session, [(user_id, guild_id, persona_id)], privacy={persona_id: privacy})
    return found[(user_id, guild_id, persona_id)]


Asked = tuple[int, int | None, int]  # (user, guild or None for DMs, persona)


async def decide_many(
    session: AsyncSession, asked: Iterable[Asked], *, privacy: Mapping[int, PrivacySettings] | None = None
) -> dict[Asked, ConsentDecision]:
    """:func:`decide` for many (user, guild, persona) at once, in three queries whatever their number (the burst
    path of reactions and the people a memory names). ``privacy`` gives personas' settings already at hand; the
    others are read. A persona that is gone or whose settings are unreadable remembers no one."""
    wanted = set(asked)
    if not wanted:
        return {}
    settings: dict[int, PrivacySettings | None] = dict(privacy or {})
    missing = sorted({persona for _, _, persona in wanted} - set(settings))
    for start in range(0, len(missing), BATCH):
        rows = await session.execute(
            select(col(models.Persona.id), col(models.Persona.privacy_settings)).where(
                col(models.Persona.id).in_(missing[start : start + BATCH])
            )
        )
        for persona_id, stored in rows.all():
            try:
                settings[persona_id] = PrivacySettings.from_dict(stored)
            except DomainError:
                settings[persona_id] = None
    guilds = sorted({guild for _, guild, _ in wanted if guild is not None})
    defaults: dict[int | None, str] = {None: "opt-in"}  # a server's mode: opt-in (ask first) | opt-out | never
    if guilds:
        rows = await session.execute(
            select(col(models.GuildSettings.guild_id), col(models.GuildSettings.memory_consent_default)).where(
                col(models.GuildSettings.guild_id).in_(guilds)
            )
        )
        defaults.update({guild: default for guild, default in rows.all()})
    facts: dict[tuple[int, int | None], list[tuple[int | None, ConsentFact]]] = defaultdict(list)
    users = sorted({user for user, _, _ in wanted})
    record = models.ConsentRecord
    for start in range(0, len(users), BATCH):
        rows = await session.execute(
            select(
                col(record.user_id),
                col(record.guild_id),
                col(record.persona_id),
                col(record.granted),
                col(record.recorded_at),
            ).where(
                col(record.user_id).in_(users[start : start + BATCH]),
                col(record.scope) == MEMORY_SCOPE,
            )
        )
        for user, guild, persona, granted, at in rows.all():
            facts[(user, guild)].append((persona, ConsentFact(granted=granted, persona_id=persona, recorded_at=at)))
    decisions: dict[Asked, ConsentDecision] = {}
    # Most people in a burst have no record: their decision depends on the persona and the server only.
    unanswered: dict[tuple[int | None, int], ConsentDecision] = {}
    for user, guild, persona in wanted:
        persona_settings = settings.get(persona)
        if persona_settings is None:
            decisions[(user, guild, persona)] = ConsentDecision(False, "the persona's privacy settings are unreadable")
            continue
        known = [fact for scope, fact in facts.get((user, guild), ()) if scope in (persona, None)]
        if not known and (guild, persona) in unanswered:
            decisions[(user, guild, persona)] = unanswered[(guild, persona)]
            continue
        decision = may_remember(
            persona_id=persona,
            persona_remembers=persona_settings.remember_people,
            server_default=defaults.get(guild, "opt-in"),
            facts=known,
        )
        if not known:
            unanswered[(guild, persona)] = decision
        decisions[(user, guild, persona)] = decision
    return decisions


async def memory_naming(
    session: AsyncSession,
    text: str,
    *,
    author_id: int | None,
    guild_id: int | None,
    persona_id: int,
    privacy: PrivacySettings | None = None,
) -> MemoryNaming:
    """What a memory of ``persona_id`` made from ``text`` may keep of the people it names
    (:func:`bot.core.privacy.memory_naming`): mentions of people the persona may not remember are removed."""
    named = [user for user in mentioned_user_ids(text) if user != author_id]
    asked = [(user, guild_id, persona_id) for user in named]
    decisions = await decide_many(session, asked, privacy={persona_id: privacy} if privacy is not None else None)
    allowed = {user for (user, _, _), decision in decisions.items() if decision.allowed}
    return core_memory_naming(text, author_id=author_id, rememberable=allowed.__contains__)


async def history(session: AsyncSession, *, user_id: int, guild_id: int | None = None) -> list[ConsentRecordView]:
    """Every consent record of ``user_id`` (in one guild, when given), newest first."""
    query = select(models.ConsentRecord).where(col(models.ConsentRecord.user_id) == user_id)
    if guild_id is not None:
        query = query.where(col(models.ConsentRecord.guild_id) == guild_id)
    rows = (await session.execute(query.order_by(col(models.ConsentRecord.recorded_at).desc()))).scalars()
    return [_view(row) for row in rows]


# ----------------------------------------------------------------------------------------------------
# The server's mode and the invitation

_OFFER = models.ConsentOffer


@dataclass(frozen=True)
class Invitation:
    """A person to invite to choose, in a server whose mode is ``server_mode`` (``opt-in`` or ``opt-out``)."""

    user_id: int
    guild_id: int
    server_mode: str


async def server_mode(session: AsyncSession, guild_id: int | None) -> str:
    """The server's memory mode: ``opt-in`` (ask first: the default, and always in DMs), ``opt-out`` or ``never``."""
    if guild_id is None:
        return "opt-in"
    query = select(col(models.GuildSettings.memory_consent_default)).where(
        col(models.GuildSettings.guild_id) == guild_id
    )
    return (await session.execute(query)).scalar_one_or_none() or "opt-in"


async def _answered(session: AsyncSession, user_id: int, guild_id: int) -> bool:
    query = (
        select(col(models.ConsentRecord.id))
        .where(
            col(models.ConsentRecord.user_id) == user_id,
            col(models.ConsentRecord.guild_id) == guild_id,
            col(models.ConsentRecord.scope) == MEMORY_SCOPE,
        )
        .limit(1)
    )
    return (await session.execute(query)).first() is not None


async def claim_offer(session: AsyncSession, *, user_id: int, guild_id: int, now: datetime) -> Invitation | None:
    """The invitation to send to ``user_id`` in ``guild_id`` now, claimed (recorded as being sent), or None when
    none is due (:func:`bot.core.privacy.offer_due`) or another process claimed it first."""
    mode = await server_mode(session, guild_id)
    query = select(_OFFER).where(col(_OFFER.user_id) == user_id, col(_OFFER.guild_id) == guild_id)
    row = (await session.execute(query)).scalars().first()
    due = offer_due(
        server_mode=mode,
        answered=await _answered(session, user_id, guild_id),
        offer_answer=row.answer if row is not None else None,
        offered_at=row.offered_at if row is not None else None,
        now=now,
    )
    if not due:
        return None
    statement: Executable
    if row is None:
        maker = pg_dialect.insert if session.get_bind().dialect.name == "postgresql" else sqlite_dialect.insert
        statement = (
            maker(_OFFER)
            .values(user_id=user_id, guild_id=guild_id, offered_at=now, via="pending")
            .on_conflict_do_nothing(index_elements=["user_id", "guild_id"])
        )
    else:  # asked again after "not now": only if nobody else did meanwhile
        statement = (
            update(_OFFER)
            .where(col(_OFFER.id) == row.id, col(_OFFER.offered_at) == row.offered_at)
            .values(offered_at=now, via="pending", answer=None, answered_at=None)
        )
    claimed = await session.execute(statement)
    if getattr(claimed, "rowcount", 0) != 1:
        return None
    return Invitation(user_id=user_id, guild_id=guild_id, server_mode=mode)


async def offer_sent(session: AsyncSession, *, user_id: int, guild_id: int, via: str) -> None:
    """How the claimed invitation went out: ``dm``, ``channel`` (DMs closed) or ``none`` (neither could be sent:
    it is not tried again, the person can still use ``/privacy consent``)."""
    await session.execute(
        update(_OFFER).where(col(_OFFER.user_id) == user_id, col(_OFFER.guild_id) == guild_id).values(via=via)
    )


async def answer_offer(
    session: AsyncSession, *, user_id: int, guild_id: int, answer: str, now: datetime
) -> ConsentRecordView | None:
    """A click on the invitation: ``yes`` records consent for every persona of the server, ``never`` a refusal
    (and no invitation again), ``later`` nothing (asked again after a while). The answer is kept on the
    invitation (one is made when the click comes from a channel note meant for someone else)."""
    if answer not in OFFER_ANSWERS:
        raise DomainError(f"'{answer}' is not an answer to the invitation.")
    found = await session.execute(
        update(_OFFER)
        .where(col(_OFFER.user_id) == user_id, col(_OFFER.guild_id) == guild_id)
        .values(answer=answer, answered_at=now)
    )
    if getattr(found, "rowcount", 0) == 0:
        session.add(_OFFER(user_id=user_id, guild_id=guild_id, offered_at=now, via="channel", answer=answer,
                           answered_at=now))  # fmt: skip
        await session.flush()
    if answer == "later":
        return None
    return await record(
        session,
        user_id=user_id,
        guild_id=guild_id,
        granted=answer == "yes",
        recorded_by=user_id,
        now=now,
        note="invitation",
    )
