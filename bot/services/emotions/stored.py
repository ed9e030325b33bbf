"""Loading a persona's emotional state for a read or a write, and storing it back (the stored state: the
:mod:`bot.services.emotions` package docstring).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

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


_STATE_COLUMNS = (
    _StateRow.persona_id, _StateRow.mood_pleasure, _StateRow.mood_arousal, _StateRow.mood_dominance,
    _StateRow.baseline_pleasure, _StateRow.baseline_arousal, _StateRow.baseline_dominance, _StateRow.as_of,
)  # fmt: skip


_ACTIVE_COLUMNS = (
    _ActiveRow.id.label("active_id"), _ActiveRow.emotion_type, _ActiveRow.intensity, _ActiveRow.duration_minutes,
    _ActiveRow.started_at, _ActiveRow.cause,
)  # fmt: skip


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


def later(a: datetime, b: datetime) -> datetime:
    return a if a >= b else b


async def load_states(
    session: AsyncSession, persona_ids: Iterable[int], now: datetime, *, for_update: bool
) -> dict[int, Loaded]:
    """Traits, state, active emotions and learned responses of existing personas: four queries for all of them to
    write, one to read.

    ``for_update`` locks the state rows (PostgreSQL; SQLite has one writer anyway), in persona order. A read
    (``for_update`` false) is for showing the state, which learned responses do not change: they are not read."""
    ids = sorted(set(persona_ids))
    if not ids:
        return {}
    states: dict[int, Any] = {}
    actives: dict[int, list[core.ActiveEmotion]] = {}
    if for_update:
        traits_rows = (
            await session.execute(select(_PersonaRow.id, *_trait_columns()).where(_PersonaRow.id.in_(ids)))
        ).all()
    else:
        # A read: traits, state and active emotions in one query, a row per active emotion (a lock cannot take
        # the outer side of a join, so a write reads them apart).
        query = (
            select(_PersonaRow.id, *_trait_columns(), *_STATE_COLUMNS, *_ACTIVE_COLUMNS)
            .outerjoin(_StateRow, _StateRow.persona_id == _PersonaRow.id)  # type: ignore[arg-type]
            .outerjoin(_ActiveRow, _ActiveRow.persona_id == _PersonaRow.id)  # type: ignore[arg-type]
            .where(_PersonaRow.id.in_(ids))
            .order_by(_PersonaRow.id, _ActiveRow.id)
        )
        joined = (await session.execute(query)).all()
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
        state_query = select(_StateRow).where(_StateRow.persona_id.in_(found)).order_by(_StateRow.persona_id)
        if dialect_of(session) == "postgresql":
            state_query = state_query.with_for_update()
        states = {row.persona_id: row for row in (await session.execute(state_query)).scalars()}
    learned: dict[int, dict[str, core.Learned]] = {}
    if for_update:  # a read has its active emotions already, and does not use learned responses
        for row in (
            await session.execute(select(_ActiveRow).where(_ActiveRow.persona_id.in_(found)).order_by(_ActiveRow.id))
        ).scalars():
            actives.setdefault(row.persona_id, []).append(_active(row))
        for row in (await session.execute(select(_LearnedRow).where(_LearnedRow.persona_id.in_(found)))).scalars():
            learned.setdefault(row.persona_id, {})[row.trigger] = core.Learned(row.scale, row.override_emotion)
    out: dict[int, Loaded] = {}
    for persona_id in found:
        row = states.get(persona_id)
        if row is None:
            home = personality.default_mood({k: traits[persona_id][k] for k in BIG_FIVE})
            state = core.new_state(home, now)
        else:
            state = core.EmotionalState(
                mood=clamp_pad((row.mood_pleasure, row.mood_arousal, row.mood_dominance)),
                baseline=clamp_pad((row.baseline_pleasure, row.baseline_arousal, row.baseline_dominance)),
                active=tuple(actives.get(persona_id, ())),
                as_of=row.as_of,
            )
        out[persona_id] = Loaded(persona_id, traits[persona_id], state, row is not None, learned.get(persona_id, {}))
    return out


async def store_states(session: AsyncSession, loaded: Iterable[Loaded]) -> None:
    """Write each persona's state once: the state row (updated, or inserted if it had none) and its active
    emotions (replaced by the current set; expired ones are gone)."""
    items = list(loaded)
    if not items:
        return
    updates, inserts, emotions = [], [], []
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
    table = _StateRow.__table__  # type: ignore[attr-defined]
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
    await session.execute(delete(_ActiveRow.__table__).where(_ActiveRow.__table__.c.persona_id.in_(ids)))  # type: ignore[attr-defined]
    if emotions:
        await session.execute(insert(_ActiveRow.__table__), emotions)  # type: ignore[attr-defined]


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name
