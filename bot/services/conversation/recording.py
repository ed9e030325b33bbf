"""After the reply (the exchange's own transaction): the persona's messages, the memories the reply drew on marked
recalled and kept as its receipt (:mod:`bot.services.receipts`), the interaction count, the relationship with the
author, and the exchange as a memory, only when the author consents (:func:`bot.services.consent.decide`, asked
again here, so a consent revoked while the model was thinking is honoured). Bots and personas are never
remembered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.errors import DomainError
from bot.core.personas import PrivacySettings
from bot.db import models
from bot.services import (
    achievements,
    consent,
    lore,
    memories,
    persona_messages,
    receipts,
    relationships,
    subscriptions,
)
from bot.services.conversation.data import Incoming, Recorded, Speaker
from bot.services.conversation.remembering import exchange_text, heuristic_importance

_P = models.Persona


async def _record_messages(
    session: AsyncSession,
    incoming: Incoming,
    persona_id: int,
    message_ids: Sequence[int],
    *,
    via_webhook: bool,
    answered: bool,
    now: datetime,
) -> int:
    """The persona's sent messages, part by part; a reply (not an apology: ``answered``) keeps what it answered, so
    another take can be asked for. Returns how many rows were new."""
    recorded = 0
    for part, message_id in enumerate(message_ids):
        recorded += await persona_messages.record(
            session,
            message_id=message_id,
            persona_id=persona_id,
            guild_id=incoming.guild_id,
            channel_id=incoming.channel_id,
            via_webhook=via_webhook,
            now=now,
            answered_message_id=incoming.message_id if answered else None,
            answered_author_id=incoming.author_id if answered else None,
            part=part,
        )
    return recorded


async def record(
    session: AsyncSession,
    incoming: Incoming,
    speaker: Speaker,
    *,
    sent_message_ids: Sequence[int],
    via_webhook: bool,
    reply_text: str | None,
    addressed: bool,
    now: datetime,
    importance: int | None = None,
    encryption_key: str | None = None,
    recall: memories.Recall | None = None,
    remember_reply: bool = True,
    lore_timing: lore.LoreTiming | None = None,
    used: Sequence[int] = (),
) -> Recorded:
    """Store what the exchange leaves (module docstring). ``importance`` overrides the heuristic (the
    model's rating); ``recall`` (the plan's memories) marks the memories the reply drew on as recalled. Nothing
    about the author is stored unless :func:`bot.services.consent.decide` allows it. With no ``reply_text`` (the
    persona apologised: the model could not answer) only the messages are recorded, and nothing was recalled.
    ``remember_reply`` False (one reply answering several people: it names the others) keeps only the author's own
    message in their memory. ``lore_timing``: the timed lore entries the reply's plan fired
    (:func:`bot.services.lore.save_timing`). ``used``: the memories that reached the reply's prompt, best first
    (the plan's :attr:`~bot.services.conversation.ReplyJob.used`), kept as the reply's receipt."""
    pid = speaker.persona_id
    await lore.save_timing(session, lore_timing, now=now)
    recorded = await _record_messages(
        session, incoming, pid, sent_message_ids, via_webhook=via_webhook, answered=reply_text is not None, now=now
    )
    if reply_text is None:
        return Recorded(recorded, None, "no reply to remember", None)
    await memories.apply_recall(session, recall)
    if sent_message_ids and used:
        await receipts.save(
            session,
            persona_id=pid,
            reply_message_id=sent_message_ids[0],
            answered_author_id=incoming.author_id,
            memory_ids=used,
        )
    await session.execute(update(_P).where(col(_P.id) == pid).values(interaction_count=col(_P.interaction_count) + 1))
    await achievements.check(session, pid, now, inputs_changed={"conversations"})
    if incoming.author_is_bot or incoming.author_persona_id is not None:
        return Recorded(recorded, None, "bots and personas are not remembered", None)
    persona = await session.get(_P, pid)
    if persona is None:
        return Recorded(recorded, None, "the persona is gone", None)
    try:
        privacy = PrivacySettings.from_dict(persona.privacy_settings)
    except DomainError:
        return Recorded(recorded, None, "the persona's privacy settings are unreadable", None)
    decision = await consent.decide(
        session, user_id=incoming.author_id, guild_id=incoming.guild_id, persona_id=pid, privacy=privacy
    )
    if not decision.allowed:  # no relationship row either: a person who may not be remembered leaves no trace
        return Recorded(recorded, None, decision.reason, None)
    tie = await relationships.record_exchange(session, pid, incoming.author_id, now=now)
    affinity = tie.affinity if tie else None
    rating = importance if importance is not None else heuristic_importance(incoming.content, addressed=addressed)
    naming = await consent.memory_naming(
        session,
        exchange_text(incoming, speaker.name, reply_text if remember_reply else None),
        author_id=incoming.author_id,
        guild_id=incoming.guild_id,
        persona_id=pid,
        privacy=privacy,
    )
    memory = await memories.capture(
        session,
        pid,
        content=naming.text,
        subject_user_id=naming.subject_user_id,
        category="conversation",
        importance=max(1, min(10, int(rating))),
        source_user_id=incoming.author_id,
        source_channel_id=incoming.channel_id,
        source_message_id=incoming.message_id,
        now=now,
        encryption_key=encryption_key,
        # A subscriber's longer-memory perk: their memories start more stable and fade more slowly.
        stability=(await subscriptions.perks_for(session, pid, incoming.author_id, now=now)).memory_multiplier,
    )
    return Recorded(recorded, memory.id, decision.reason, affinity)
