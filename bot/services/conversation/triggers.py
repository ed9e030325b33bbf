"""The emotional triggers custom behaviours fired on a message, applied in a transaction of their own between the
plan (which only reads) and the reply."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import consent, emotions
from bot.services.conversation.data import BehaviorSideEffects, Incoming


async def apply_behavior_triggers(
    session: AsyncSession, incoming: Incoming, effects: Sequence[BehaviorSideEffects], *, now: datetime
) -> int:
    """Apply the emotional triggers that custom behaviours fired on ``incoming`` (the plan's ``effects``: the
    plan only reads, so it can run outside a transaction); returns how many were applied. The reply's prompt holds
    the mood from before them, as a person's answer comes before the feeling settles."""
    applied = 0
    asked = {(incoming.author_id, incoming.guild_id, effect.persona_id) for effect in effects}
    decisions = await consent.decide_many(session, asked) if effects else {}
    for effect in effects:
        decision = decisions.get((incoming.author_id, incoming.guild_id, effect.persona_id))
        # A person the persona may not remember is not named in its emotional history.
        author = incoming.author_id if decision is not None and decision.allowed else None
        names = effect.trigger_behaviors
        for index, trigger in enumerate(effect.emotion_triggers):
            # Which behaviour, never which message: the message's id would name its author's words in the persona's
            # emotional history, beyond the reach of the anonymous path and of forget-me.
            which = f"custom behaviour '{names[index]}'" if index < len(names) else "a custom behaviour"
            await emotions.apply_trigger(
                session,
                effect.persona_id,
                trigger,
                now=now,
                user_id=author,
                channel_id=incoming.channel_id,
                message_id=None,
                context=f"{which} on a message",
            )
            applied += 1
    return applied
