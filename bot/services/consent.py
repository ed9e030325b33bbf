"""Consent records (who agreed to be remembered, or refused, when, and who recorded it) and the decision for
capture. Records are never updated: a change of mind is a new record, so the history stays."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.errors import DomainError
from bot.core.personas import PrivacySettings
from bot.core.privacy import ConsentDecision, ConsentFact, MemoryNaming, may_remember, mentioned_user_ids
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
    defaults: dict[int | None, str] = {None: "opt-in"}
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
