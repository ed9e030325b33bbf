"""Who speaks in a channel: the active personas bound there (or to a thread's channel), with what the prompt needs
of each, their custom behaviours, and when each last spoke there. Reads only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.errors import DomainError
from bot.core.personas import BehaviorSettings
from bot.core.traits import ALL_TRAITS
from bot.db import models
from bot.services import behaviors, memories, model_settings, subscriptions
from bot.services.conversation.data import Cast, Speaker
from bot.templating.prompts import PersonaProfile

_P = models.Persona


async def active_personas(session: AsyncSession, channel_id: int, parent_id: int | None = None) -> list[Speaker]:
    """The active personas bound to ``channel_id``, and, in a thread, those bound to its channel whose behaviour
    settings say ``reply_in_threads``, each with its own model settings. Oldest binding first."""
    binding = models.ChannelBinding
    where = col(binding.channel_id) == channel_id
    if parent_id is not None:
        where = or_(where, col(binding.channel_id) == parent_id)
    query = (
        select(_P, col(binding.channel_id))
        .join(binding, col(binding.persona_id) == col(_P.id))
        .where(where, col(_P.is_active).is_(True), col(_P.status) == "active")
        .order_by(col(binding.id))
    )
    out: dict[int, Speaker] = {}
    for row, bound_to in (await session.execute(query)).all():
        pid = row.id
        if pid is None or pid in out:
            continue
        try:
            behavior = BehaviorSettings.from_dict(row.behavior_settings)
        except DomainError:
            behavior = BehaviorSettings()
        if bound_to != channel_id and not behavior.reply_in_threads:
            continue
        out[pid] = Speaker(
            pid, row.owner_id, row.name, row.avatar_url, behavior, _profile(row, behavior), tuple(row.plugins or ())
        )
    choices = await model_settings.choices_for(session, list(out))
    return [replace(speaker, model=choices.get(pid)) if pid in choices else speaker for pid, speaker in out.items()]


async def cast(session: AsyncSession, channel_id: int, parent_id: int | None = None) -> Cast:
    """:func:`active_personas` with their enabled behaviours, retrieval weights and whether they offer
    subscription tiers (nothing more is read when nobody speaks here)."""
    speakers = await active_personas(session, channel_id, parent_id)
    if not speakers:
        return Cast()
    ids = [s.persona_id for s in speakers]
    rules = await behaviors.enabled_for(session, ids)
    return Cast(
        tuple(speakers),
        {pid: tuple(found) for pid, found in rules.items()},
        await memories.retrieval_weights(session, ids),
        await subscriptions.personas_with_tiers(session, ids),
    )


async def last_replies(session: AsyncSession, channel_id: int, persona_ids: Sequence[int]) -> dict[int, datetime]:
    """When each persona last spoke in ``channel_id`` (personas that never did are left out)."""
    if not persona_ids:
        return {}
    message = models.PersonaMessage
    query = (
        select(col(message.persona_id), func.max(col(message.created_at)))
        .where(col(message.channel_id) == channel_id, col(message.persona_id).in_(list(persona_ids)))
        .group_by(col(message.persona_id))
    )
    out: dict[int, datetime] = {}
    for pid, when in (await session.execute(query)).all():
        if when is not None:
            out[int(pid)] = _aware(when)
    return out


def _aware(value: object) -> datetime:
    """A stored time as an aware UTC datetime (aggregates come back naive, or as text, on SQLite)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _profile(row: models.Persona, behavior: BehaviorSettings) -> PersonaProfile:
    """Who the persona is, for the prompt: identity, traits, behaviour and the whole character as a card holds it
    (custom traits that cannot be read are left out)."""
    custom: list[tuple[str, float]] = []
    for item in row.custom_traits or []:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            try:
                custom.append((item["name"], float(item.get("value", 50))))
            except (TypeError, ValueError):
                continue
    assert row.id is not None
    return PersonaProfile(
        id=row.id,
        name=row.name,
        description=row.description or "",
        traits={name: float(getattr(row, name)) for name in ALL_TRAITS},
        custom_traits=tuple(custom),
        behavior=behavior,
        personality_text=row.personality_text or "",
        scenario=row.scenario or "",
        example_dialogue=row.example_dialogue or "",
        system_prompt=row.system_prompt or "",
        post_history_instructions=row.post_history_instructions or "",
        nickname=row.nickname or "",
    )
