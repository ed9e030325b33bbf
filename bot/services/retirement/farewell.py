"""What a ceremony says and shows: the persona's life in numbers and moods, and its farewell in its own voice.

:func:`write_farewell` holds no session: it is called between transactions, while the ceremony talks to the model.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import retirement as rules
from bot.core.errors import DomainError
from bot.core.personality import describe_traits
from bot.core.personas import BehaviorSettings
from bot.core.text import clip
from bot.db import models
from bot.llm import ModelError, OfflineResponder, Provider
from bot.llm.base import ChatMessage, ChatRequest, Voice
from bot.llm.offline import seed_for, tone
from bot.services import emotions
from bot.services.access import persona_or_not_found
from bot.services.retirement.store import archive_row, count_rows, plan_row, progress_of
from bot.services.retirement.views import CeremonyClaim, LifeStats
from bot.templating.prompts import render_template


async def guild_of(session: AsyncSession, persona_id: int) -> int | None:
    """The guild a persona lives in (None for a personal persona, or one that no longer exists)."""
    query = select(col(models.Persona.guild_id)).where(col(models.Persona.id) == persona_id)
    return (await session.execute(query)).scalar()


async def life_stats(session: AsyncSession, persona_id: int, now: datetime) -> LifeStats:
    """The persona's life in numbers, up to ``now`` (or its retirement). The farewell its ceremony posted is not
    part of it, so the farewell, the ceremony and the legacy tell the same numbers whenever each is made."""
    persona = await persona_or_not_found(session, persona_id)
    archive = await archive_row(session, persona_id)
    message, follow, award, memory = models.PersonaMessage, models.Follow, models.AchievementAward, models.Memory
    plan = await plan_row(session, persona_id)
    farewell_id = progress_of(plan).get("farewell_message_id") if plan is not None else None
    mine = col(message.persona_id) == persona_id
    if farewell_id is not None:
        mine = mine & (col(message.message_id) != int(farewell_id))
    messages = await count_rows(session, message, mine)
    return LifeStats(
        born=persona.created_at,
        until=archive.retired_at if archive is not None else now,
        conversations=max(int(persona.interaction_count or 0), messages),
        messages=messages,
        followers=await count_rows(session, follow, col(follow.persona_id) == persona_id),
        achievements=await count_rows(session, award, col(award.persona_id) == persona_id),
        memories=await count_rows(session, memory, col(memory.persona_id) == persona_id),
    )


async def life_history(session: AsyncSession, persona_id: int, now: datetime) -> emotions.HistoryView:
    """The persona's emotional history over its whole life (for the ceremony's mood chart)."""
    persona = await persona_or_not_found(session, persona_id)
    since = min(persona.created_at, now - timedelta(hours=1))
    return await emotions.history(session, persona_id, since, now + timedelta(seconds=1), max_points=200)


async def mood_words(session: AsyncSession, persona_id: int, now: datetime) -> str:
    """The persona's mood at ``now`` in words ("neutral" when it has no emotional state)."""
    try:
        return (await emotions.current_state(session, persona_id, now)).mood_words
    except DomainError:
        return "neutral"


async def write_farewell(
    llm: Provider, claim: CeremonyClaim, stats: LifeStats, *, mood: str, now: datetime, timeout_fallback: bool = True
) -> str:
    """The farewell in the persona's voice: the model's (rendered from ``prompts/retirement/``), or, with the offline
    responder or when the model fails, the offline farewell template. No session is held here.

    ``timeout_fallback``: False lets a :class:`ModelError` through instead of falling back."""
    if not isinstance(llm, OfflineResponder):
        try:
            text = (await llm.reply(_farewell_request(claim, stats, mood=mood, now=now))).text.strip()
            if text:
                return _clip_farewell(text)
        except ModelError:
            if not timeout_fallback:
                raise
    return _offline_farewell(claim, stats, mood=mood)


def _farewell_request(claim: CeremonyClaim, stats: LifeStats, *, mood: str, now: datetime) -> ChatRequest:
    """The model's request for the farewell, from ``prompts/retirement/``."""
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
    behavior = BehaviorSettings.from_dict(claim.behavior)
    return ChatRequest(
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


def _offline_farewell(claim: CeremonyClaim, stats: LifeStats, *, mood: str) -> str:
    """The offline farewell template, its choices seeded by the persona (the same persona says the same)."""
    rng = random.Random(seed_for(claim.persona_id, "farewell"))

    def pick(options: Sequence[str]) -> str:
        return options[rng.randrange(len(options))] if options else ""

    text = render_template(
        "retirement/farewell_offline.j2",
        name=claim.name,
        lifespan=stats.lifespan,
        conversations=stats.conversations,
        tone=tone(claim.traits, BehaviorSettings.from_dict(claim.behavior)),
        mood_name=mood.split()[-1] if mood else "neutral",
        pick=pick,
    )
    return _clip_farewell(re.sub(r"\s+([,.!?])", r"\1", " ".join(text.split())))


def _clip_farewell(text: str) -> str:
    """``text`` trimmed and cut to the farewell's limit (one Discord message)."""
    return clip(text.strip(), rules.FAREWELL_MAX)
