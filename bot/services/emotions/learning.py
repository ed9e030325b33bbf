"""Feedback: the owner says whether a response was right, and the learned response to its trigger changes
(:func:`bot.core.emotions.learn`); reversible.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import emotions as core
from bot.core.errors import DomainError, NotFound
from bot.core.ownership import Actor
from bot.db import models
from bot.services.access import owned_persona
from bot.services.emotions.views import FeedbackResult

_EventRow = models.EmotionalEvent
_LearnedRow = models.LearnedResponse


def _verdict(value: str) -> core.Verdict:
    """``value`` as a verdict, or :class:`DomainError`."""
    if value == "right":
        return "right"
    if value == "wrong":
        return "wrong"
    raise DomainError("A verdict is 'right' or 'wrong'.")


def _adjustment(value: str | None) -> core.Adjustment | None:
    """``value`` as an adjustment (None: none given), or :class:`DomainError`."""
    if value is None:
        return None
    if value == "too_strong":
        return "too_strong"
    if value == "too_weak":
        return "too_weak"
    raise DomainError("An adjustment is 'too_strong' or 'too_weak'.")


def _decode(stored: str | None) -> tuple[str | None, str | None]:
    """A stored feedback verdict as (verdict, adjustment)."""
    if stored in ("too_strong", "too_weak"):
        return "wrong", stored
    return stored, None


async def _feedback_target(
    session: AsyncSession, actor_user_id: int, persona_id: int, event_id: int
) -> tuple[models.EmotionalEvent, models.LearnedResponse | None]:
    await owned_persona(session, persona_id, Actor(actor_user_id), "give feedback on its emotions")
    event = (
        await session.execute(
            select(_EventRow).where(col(_EventRow.id) == event_id, col(_EventRow.persona_id) == persona_id)
        )
    ).scalar_one_or_none()
    if event is None:
        raise NotFound("That emotional event does not exist for this persona.")
    learned = (
        await session.execute(
            select(_LearnedRow).where(
                col(_LearnedRow.persona_id) == persona_id, col(_LearnedRow.trigger) == event.trigger
            )
        )
    ).scalar_one_or_none()
    return event, learned


def _undo(learned: core.Learned, event: models.EmotionalEvent) -> core.Learned:
    """Take back what an earlier verdict on ``event`` taught (the opposite adjustment; its override cleared if it
    is still the one in force)."""
    _, adjustment = _decode(event.feedback_verdict)
    scale = learned.scale
    if adjustment is not None:
        opposite: core.Adjustment = "too_weak" if adjustment == "too_strong" else "too_strong"
        scale = core.apply_feedback(scale, "wrong", opposite)
    override = learned.override
    if event.feedback_emotion is not None and override == event.feedback_emotion:
        override = None
    return core.Learned(scale=scale, override=override)


async def feedback(
    session: AsyncSession,
    actor_user_id: int,
    persona_id: int,
    event_id: int,
    verdict: str,
    adjustment: str | None = None,
    should_be: str | None = None,
    *,
    now: datetime,
) -> FeedbackResult:
    """The owner says whether the persona's response in one event was right (owner only).

    ``"wrong"`` needs ``adjustment`` (``"too_strong"`` / ``"too_weak"``), ``should_be`` (an emotion type), or both;
    the learned response to the event's trigger changes as :func:`bot.core.emotions.learn` says, and the event is
    marked. Reversible: a new verdict on the same event first undoes the earlier one (so "right" after "too strong"
    restores the scale), and :func:`withdraw_feedback` undoes it and clears the mark."""
    checked_verdict, checked_adjustment = _verdict(verdict), _adjustment(adjustment)
    event, row = await _feedback_target(session, actor_user_id, persona_id, event_id)
    before = core.Learned(row.scale, row.override_emotion) if row is not None else core.Learned()
    replaced = event.feedback_verdict is not None
    base = _undo(before, event) if replaced else before
    after = core.learn(base, event.trigger, checked_verdict, checked_adjustment, should_be)
    count = (row.feedback_count if row is not None else 0) + (0 if replaced else 1)
    if row is None:
        row = models.LearnedResponse(persona_id=persona_id, trigger=event.trigger, updated_at=now)
        session.add(row)
    row.scale, row.override_emotion, row.feedback_count, row.updated_at = after.scale, after.override, count, now
    event.feedback_verdict = adjustment if verdict == "wrong" and adjustment else verdict
    event.feedback_emotion = should_be if verdict == "wrong" else None
    await session.flush()
    return FeedbackResult(
        event_id=event_id,
        trigger=event.trigger,
        verdict=event.feedback_verdict,
        should_be=event.feedback_emotion,
        scale_before=before.scale,
        scale=after.scale,
        override_before=before.override,
        override=after.override,
        feedback_count=count,
        replaced=replaced,
    )


async def withdraw_feedback(
    session: AsyncSession, actor_user_id: int, persona_id: int, event_id: int, *, now: datetime
) -> FeedbackResult:
    """Undo the verdict given on an event (owner only): the learned response goes back and the mark is cleared."""
    event, row = await _feedback_target(session, actor_user_id, persona_id, event_id)
    before = core.Learned(row.scale, row.override_emotion) if row is not None else core.Learned()
    if event.feedback_verdict is None or row is None:
        raise DomainError("There is no feedback on that event to withdraw.")
    after = _undo(before, event)
    row.scale, row.override_emotion = after.scale, after.override
    row.feedback_count = max(0, row.feedback_count - 1)
    row.updated_at = now
    event.feedback_verdict = None
    event.feedback_emotion = None
    await session.flush()
    return FeedbackResult(
        event_id=event_id,
        trigger=event.trigger,
        verdict=None,
        should_be=None,
        scale_before=before.scale,
        scale=after.scale,
        override_before=before.override,
        override=after.override,
        feedback_count=row.feedback_count,
        replaced=True,
    )
