"""Loading a persona's emotional state for a read or a write, and storing it back (the stored state: the
:mod:`bot.services.emotions` package docstring).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import emotions as core
from bot.core import personality
from bot.core.pad import clamp_pad
from bot.core.traits import ALL_TRAITS, BIG_FIVE
from bot.db import models

_StateRow = models.EmotionalState
_ActiveRow = models.ActiveEmotion
_LearnedRow = models.LearnedResponse
_PersonaRow = models.Persona


@dataclass
class Loaded:
    """A persona's state as loaded for a write (mutable while a batch works on it)."""

    persona_id: int
    traits: dict[str, float]
    state: core.EmotionalState
    has_row: bool
    learned: dict[str, core.Learned]


# The tables, for bulk statements, from the metadata (SQLModel does not declare ``__table__`` to type checkers).
_STATE_TABLE: Table = models.metadata.tables["emotional_states"]
_ACTIVE_TABLE: Table = models.metadata.tables["active_emotions"]

_STATE_COLUMNS = (
    "persona_id",
    "mood_pleasure",
    "mood_arousal",
    "mood_dominance",
    "baseline_pleasure",
    "baseline_arousal",
    "baseline_dominance",
    "as_of",
)
_ACTIVE_COLUMNS = ("emotion_type", "intensity", "duration_minutes", "started_at", "cause")


def _active(row: Any) -> core.ActiveEmotion:
    """An active emotion from a row with its columns (an ``ActiveEmotion`` or a joined read)."""
    return core.ActiveEmotion(
        type=row.emotion_type,
        intensity=min(100.0, max(0.0, row.intensity)),
        duration_minutes=row.duration_minutes,
        started_at=row.started_at,
        cause=row.cause,
    )


def _trait_columns() -> list[Any]:
    return [getattr(_PersonaRow, name) for name in ALL_TRAITS]


_PERSONA_TABLE: Table = models.metadata.tables["personas"]

# A read's one query: traits, state and active emotions, a row per active emotion (a lock cannot take the outer side
# of a join, so a write reads them apart). Built once: the chat path reads a persona's state for every reply, and
# building this select and its cache key cost some 0.35 ms each time. Core columns (the same ones): no ORM compile
# state, which costs about as much again.
READ_COLUMNS = (
    _PERSONA_TABLE.c.id,
    *(_PERSONA_TABLE.c[name] for name in ALL_TRAITS),
    *(_STATE_TABLE.c[name] for name in _STATE_COLUMNS),
    _ACTIVE_TABLE.c.id.label("active_id"),
    *(_ACTIVE_TABLE.c[name] for name in _ACTIVE_COLUMNS),
)
# ... from these tables, for the personas in :ids (_READ_STATES: a persona's rows in its active emotions' order) or
# for :persona_id alone (READ_ONE: no list to expand).
READ_FROM = _PERSONA_TABLE.outerjoin(_STATE_TABLE, _STATE_TABLE.c.persona_id == _PERSONA_TABLE.c.id).outerjoin(
    _ACTIVE_TABLE, _ACTIVE_TABLE.c.persona_id == _PERSONA_TABLE.c.id
)
READ_ONE = _PERSONA_TABLE.c.id == bindparam("persona_id")
_READ_STATES = (
    select(*READ_COLUMNS)
    .select_from(READ_FROM)
    .where(_PERSONA_TABLE.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_PERSONA_TABLE.c.id, _ACTIVE_TABLE.c.id)
)


def later(a: datetime, b: datetime) -> datetime:
    return a if a >= b else b


async def load_states(
    session: AsyncSession,
    persona_ids: Iterable[int],
    now: datetime,
    *,
    for_update: bool,
    read: Sequence[Any] | None = None,
) -> dict[int, Loaded]:
    """Traits, state, active emotions and learned responses of existing personas: four queries for all of them to
    write, one to read.

    ``for_update`` locks the state rows (PostgreSQL; SQLite has one writer anyway), in persona order. A read
    (``for_update`` false) is for showing the state, which learned responses do not change: they are not read.
    ``read``: a read's rows (:data:`READ_COLUMNS`, in its order), when the caller read them with more."""
    ids = sorted(set(persona_ids))
    if not ids:
        return {}
    states: dict[int | None, Any] = {}  # persona id -> its state row (or the joined row of a read)
    actives: dict[int, list[core.ActiveEmotion]] = {}
    traits_rows: Sequence[Any]
    if for_update:
        traits_rows = (
            await session.execute(select(col(_PersonaRow.id), *_trait_columns()).where(col(_PersonaRow.id).in_(ids)))
        ).all()
    else:
        joined = read if read is not None else (await session.execute(_READ_STATES, {"ids": ids})).all()
        traits_rows = list({row.id: row for row in reversed(joined)}.values())
        states = {row.id: row for row in traits_rows if row.persona_id is not None}
        for row in joined:
            if row.active_id is not None:
                actives.setdefault(row.id, []).append(_active(row))
    width = 1 + len(ALL_TRAITS)
    traits = {
        row[0]: {name: float(value) for name, value in zip(ALL_TRAITS, row[1:width], strict=True)}
        for row in traits_rows
    }
    found = sorted(traits)
    if not found:
        return {}
    if for_update:
        state_query = select(_StateRow).where(col(_StateRow.persona_id).in_(found)).order_by(col(_StateRow.persona_id))
        if dialect_of(session) == "postgresql":
            state_query = state_query.with_for_update()
        states = {row.persona_id: row for row in (await session.execute(state_query)).scalars()}
    learned: dict[int, dict[str, core.Learned]] = {}
    if for_update:  # a read has its active emotions already, and does not use learned responses
        active_query = select(_ActiveRow).where(col(_ActiveRow.persona_id).in_(found)).order_by(col(_ActiveRow.id))
        for active in (await session.execute(active_query)).scalars():
            actives.setdefault(active.persona_id, []).append(_active(active))
        learned_query = select(_LearnedRow).where(col(_LearnedRow.persona_id).in_(found))
        for response in (await session.execute(learned_query)).scalars():
            learned.setdefault(response.persona_id, {})[response.trigger] = core.Learned(
                response.scale, response.override_emotion
            )
    out: dict[int, Loaded] = {}
    for persona_id in found:
        stored = states.get(persona_id)
        if stored is None:
            home = personality.default_mood({k: traits[persona_id][k] for k in BIG_FIVE})
            state = core.new_state(home, now)
        else:
            state = core.EmotionalState(
                mood=clamp_pad((stored.mood_pleasure, stored.mood_arousal, stored.mood_dominance)),
                baseline=clamp_pad((stored.baseline_pleasure, stored.baseline_arousal, stored.baseline_dominance)),
                active=tuple(actives.get(persona_id, ())),
                as_of=stored.as_of,
            )
        has_row = stored is not None
        out[persona_id] = Loaded(persona_id, traits[persona_id], state, has_row, learned.get(persona_id, {}))
    return out


async def store_states(session: AsyncSession, loaded: Iterable[Loaded]) -> None:
    """Write each persona's state once: the state row (updated, or inserted if it had none) and its active
    emotions (replaced by the current set; expired ones are gone)."""
    items = list(loaded)
    if not items:
        return
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    emotions: list[dict[str, Any]] = []
    for item in items:
        state = item.state
        values = {
            "persona_id": item.persona_id,
            "mood_pleasure": state.mood[0],
            "mood_arousal": state.mood[1],
            "mood_dominance": state.mood[2],
            "baseline_pleasure": state.baseline[0],
            "baseline_arousal": state.baseline[1],
            "baseline_dominance": state.baseline[2],
            "as_of": state.as_of,
        }
        (updates if item.has_row else inserts).append(values)
        emotions.extend(
            {
                "persona_id": item.persona_id,
                "emotion_type": e.type,
                "intensity": e.intensity,
                "duration_minutes": e.duration_minutes,
                "cause": e.cause,
                "started_at": e.started_at,
            }
            for e in state.active
            if state.as_of < e.ends_at
        )
    table = _STATE_TABLE
    for values in updates:
        await session.execute(
            update(table)
            .where(table.c.persona_id == values["persona_id"])
            .values({k: v for k, v in values.items() if k != "persona_id"})
        )
    if inserts:
        await session.execute(insert(table), inserts)
        for item in items:
            item.has_row = True
    ids = [item.persona_id for item in items]
    await session.execute(delete(_ACTIVE_TABLE).where(_ACTIVE_TABLE.c.persona_id.in_(ids)))
    if emotions:
        await session.execute(insert(_ACTIVE_TABLE), emotions)


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name
