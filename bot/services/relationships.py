"""Relationships: a persona and a person (messages exchanged, last spoken, affinity), and two personas (a kind and
a strength set by the owner). Both shape the prompt (:mod:`bot.services.conversation`).

Affinity (-1..1) moves by these rules, chosen here:

- **Conversation**: each exchange (a person's message the persona answered) adds :data:`CONVERSATION_STEP`
  (+0.01): people the persona talks with often grow on it, slowly.
- **Reactions** on the persona's messages: the reaction's emotional trigger (``bot.core.emotions.trigger_for_emoji``)
  is weighed by the pleasure of the emotions it produces (``data/triggers.toml`` and ``data/emotions.toml``: the
  intensity-weighted mean of each response's PAD pleasure, -1..1), times :data:`REACTION_STEP` (0.05). A heart
  warms, an angry face cools; an emoji with no trigger changes nothing.

Counters are kept only when the persona's memory settings say ``track_relationships``. Plain ids and data; the
caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, case, delete, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import emotions as emotion_rules
from bot.core.errors import DomainError
from bot.core.ownership import Actor, require_owner
from bot.db import bulk, models
from bot.services.access import persona_or_not_found

CONVERSATION_STEP = 0.01
REACTION_STEP = 0.05
KINDS_MAX = 32
_PR = models.PersonRelationship
_TIE_COLUMNS = ("persona_id", "user_id", "messages_exchanged", "affinity")
# The stored affinity plus this batch's step, clamped to -1..1 (the same as the SQLite statement below).
_TIE_UPSERT = (
    "ON CONFLICT (persona_id, user_id) DO UPDATE SET affinity ="
    " LEAST(1.0, GREATEST(-1.0, person_relationships.affinity + excluded.affinity))"
)
_PP = models.PersonaRelationship
# The table, for the bulk upsert, from the metadata (SQLModel does not declare ``__table__`` to type checkers).
_TIE_TABLE: Table = models.metadata.tables["person_relationships"]


# The persona's ties with some people, for every reply: built once (building the select and its cache key, and
# loading ORM objects, cost some 0.3 ms each time). Columns in PersonTie's order.
_TIES_WITH = select(
    _TIE_TABLE.c.user_id, _TIE_TABLE.c.messages_exchanged, _TIE_TABLE.c.last_spoken_at, _TIE_TABLE.c.affinity
).where(_TIE_TABLE.c.persona_id == bindparam("persona_id"), _TIE_TABLE.c.user_id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class PersonTie:
    """The persona and one person."""

    user_id: int
    messages_exchanged: int
    last_spoken_at: datetime | None
    affinity: float


@dataclass(frozen=True)
class PersonaLink:
    """The persona and another persona, as the owner set it."""

    other_persona_id: int
    other_name: str
    kind: str
    strength: float


@dataclass(frozen=True)
class Relationships:
    """Everything :func:`for_persona` returns (people most talked-with first)."""

    persona_id: int
    people: tuple[PersonTie, ...]
    personas: tuple[PersonaLink, ...]


def _clamp(value: float) -> float:
    return max(-1.0, min(1.0, value))


async def _tracks(session: AsyncSession, persona_id: int) -> bool:
    row = await session.get(models.MemoryConfig, persona_id)
    return True if row is None else bool(row.track_relationships)


async def _tie(session: AsyncSession, persona_id: int, user_id: int) -> models.PersonRelationship:
    row = (
        await session.execute(select(_PR).where(col(_PR.persona_id) == persona_id, col(_PR.user_id) == user_id))
    ).scalar_one_or_none()
    if row is None:
        row = models.PersonRelationship(persona_id=persona_id, user_id=user_id, messages_exchanged=0, affinity=0.0)
        session.add(row)
    return row


async def record_exchange(
    session: AsyncSession, persona_id: int, user_id: int, *, now: datetime, messages: int = 2
) -> PersonTie | None:
    """A person's message and the persona's answer: ``messages`` more exchanged, last spoken ``now``, affinity
    up by :data:`CONVERSATION_STEP`. None when the persona does not track relationships."""
    if not await _tracks(session, persona_id):
        return None
    row = await _tie(session, persona_id, user_id)
    row.messages_exchanged = (row.messages_exchanged or 0) + messages
    row.last_spoken_at = now
    row.affinity = _clamp((row.affinity or 0.0) + CONVERSATION_STEP)
    await session.flush()
    return PersonTie(user_id, row.messages_exchanged, row.last_spoken_at, row.affinity)


@cache
def trigger_valence(trigger: str) -> float:
    """-1..1: the intensity-weighted mean PAD pleasure of the emotions ``trigger`` produces (a neutral persona)."""
    now = datetime(2000, 1, 1, tzinfo=UTC)
    state = emotion_rules.new_state((0.0, 0.0, 0.0), now)
    responses = emotion_rules.respond(trigger, {}, state, now)
    total = sum(r.intensity for r in responses)
    if total <= 0:
        return 0.0
    return _clamp(sum(emotion_rules.emotion_pad(r.emotion_type)[0] * r.intensity for r in responses) / total)


async def record_reactions(session: AsyncSession, reactions: Sequence[tuple[int, int, str]], *, now: datetime) -> int:
    """A batch of (persona, person, trigger) reactions: each pair's affinity moves by the sum of
    :data:`REACTION_STEP` x valence, clamped to -1..1, in one upsert (the burst path of reactions). Personas that
    do not track relationships are left out. Returns how many pairs moved."""
    steps: dict[tuple[int, int], float] = {}
    for persona_id, user_id, trigger in reactions:
        try:
            step = REACTION_STEP * trigger_valence(trigger)
        except DomainError:  # a trigger no longer in data/triggers.toml
            continue
        if step:
            steps[(persona_id, user_id)] = steps.get((persona_id, user_id), 0.0) + step
    if not steps:
        return 0
    untracked = set(
        (
            await session.execute(
                select(col(models.MemoryConfig.persona_id)).where(
                    col(models.MemoryConfig.persona_id).in_({p for p, _ in steps}),
                    col(models.MemoryConfig.track_relationships).is_(False),
                )
            )
        ).scalars()
    )
    rows = [
        {"persona_id": p, "user_id": u, "messages_exchanged": 0, "affinity": _clamp(step)}
        for (p, u), step in sorted(steps.items())  # one lock order for every writer
        if p not in untracked
    ]
    if not rows:
        return 0
    table = _TIE_TABLE
    if session.get_bind().dialect.name == "postgresql":  # the rows as column arrays (bot.db.bulk)
        params = bulk.unnest_params(table, _TIE_COLUMNS, rows)
        await session.execute(bulk.unnest_insert(table, _TIE_COLUMNS, _TIE_UPSERT), params)
        return len(rows)
    insert = sqlite_insert(table)
    moved = table.c.affinity + insert.excluded.affinity  # the stored affinity plus this batch's step
    statement = insert.on_conflict_do_update(
        index_elements=["persona_id", "user_id"],
        set_={"affinity": case((moved > 1.0, 1.0), (moved < -1.0, -1.0), else_=moved)},
    )
    await session.execute(statement, rows)
    return len(rows)


async def people(session: AsyncSession, persona_id: int, user_ids: Iterable[int]) -> dict[int, PersonTie]:
    """The persona's ties with these people (those it has any), by user id; one query."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = (await session.execute(_TIES_WITH, {"persona_id": persona_id, "ids": ids})).all()
    return {row[0]: PersonTie(*row) for row in rows}


async def links(
    session: AsyncSession, persona_id: int, other_ids: Iterable[int] | None = None
) -> dict[int, PersonaLink]:
    """The persona's relationships with other personas (only with ``other_ids``, when given), by the other's id."""
    if other_ids is not None:
        other_ids = sorted(set(other_ids))
        if not other_ids:  # nobody else here (most replies): no query, and none built
            return {}
    query = (
        select(col(_PP.other_persona_id), col(models.Persona.name), col(_PP.kind), col(_PP.strength))
        .join(models.Persona, col(models.Persona.id) == col(_PP.other_persona_id))
        .where(col(_PP.persona_id) == persona_id)
    )
    if other_ids is not None:
        query = query.where(col(_PP.other_persona_id).in_(other_ids))
    return {row[0]: PersonaLink(row[0], row[1], row[2], float(row[3])) for row in (await session.execute(query)).all()}


async def set_link(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    other_persona_id: int,
    *,
    kind: str,
    strength: float,
    now: datetime,
) -> PersonaLink:
    """Set how ``persona_id`` relates to ``other_persona_id`` (owner of the first only): a kind (friend, rival,
    ...) and a strength 0..1. Setting it again replaces it."""
    persona = await persona_or_not_found(session, persona_id)
    other = await persona_or_not_found(session, other_persona_id)
    require_owner(persona, actor, "set its relationships")
    if persona_id == other_persona_id:
        raise DomainError("A persona cannot have a relationship with itself.")
    cleaned = " ".join((kind or "").split()).lower()
    if not cleaned or len(cleaned) > KINDS_MAX:
        raise DomainError(f"A relationship needs a kind of 1 to {KINDS_MAX} characters (friend, rival, ...).")
    if isinstance(strength, bool) or not isinstance(strength, int | float) or not 0.0 <= float(strength) <= 1.0:
        raise DomainError("A relationship's strength must be between 0 and 1.")
    row = (
        await session.execute(
            select(_PP).where(col(_PP.persona_id) == persona_id, col(_PP.other_persona_id) == other_persona_id)
        )
    ).scalar_one_or_none()
    if row is None:
        row = models.PersonaRelationship(
            persona_id=persona_id, other_persona_id=other_persona_id, kind=cleaned, strength=float(strength)
        )
        row.created_at = now
        session.add(row)
    else:
        row.kind = cleaned
        row.strength = float(strength)
    await session.flush()
    return PersonaLink(other_persona_id, other.name, cleaned, float(strength))


async def remove_link(session: AsyncSession, actor: Actor, persona_id: int, other_persona_id: int) -> str:
    """Remove how ``persona_id`` relates to ``other_persona_id`` (owner of the first only); the other's name."""
    persona = await persona_or_not_found(session, persona_id)
    other = await persona_or_not_found(session, other_persona_id)
    require_owner(persona, actor, "set its relationships")
    statement = delete(_PP).where(col(_PP.persona_id) == persona_id, col(_PP.other_persona_id) == other_persona_id)
    removed = cast(CursorResult[Any], await session.execute(statement))  # a DELETE's result is a CursorResult
    if not removed.rowcount:
        raise DomainError(f"{persona.name} has no relationship with {other.name}.")
    return other.name


async def for_persona(session: AsyncSession, persona_id: int, *, limit: int = 25) -> Relationships:
    """The persona's relationships for display (``/persona show``): the people it has talked with most (at most
    ``limit``) and the personas its owner related it to. The caller applies the ``relationships`` privacy field."""
    query = (
        select(_PR)
        .where(col(_PR.persona_id) == persona_id)
        .order_by(col(_PR.messages_exchanged).desc(), col(_PR.user_id))
        .limit(max(1, limit))
    )
    ties = tuple(
        PersonTie(row.user_id, row.messages_exchanged, row.last_spoken_at, row.affinity)
        for row in (await session.execute(query)).scalars()
    )
    linked = await links(session, persona_id)
    return Relationships(persona_id, ties, tuple(sorted(linked.values(), key=lambda link: link.other_name.lower())))
