"""Custom behaviours (``CustomBehavior`` rows): add, list, remove, and preview what one would do (:func:`preview`).

Only the persona's owner manages its behaviours. Rules are validated by :func:`bot.templating.behavior_templates.
validate_behavior` (core's rules plus the reply-template sandbox and its budget) before they are stored, and again
when read (a row that no longer validates, say after a trigger was removed from ``data/`` or a template stored
before the budget exceeds it, is skipped with a WARNING, never fatal). Reply templates are compiled in a worker
thread, once per source (when saved, or when first read after a start), never on the event loop per message.
Reading rows as rules, and the enabled rules for a reply or a reaction (:func:`enabled_for`,
:func:`emoji_enabled_for`, re-exported here), is :mod:`bot.services.behavior_rules`.

The slash command gives each part as one line of text; :func:`parse_trigger` and :func:`parse_action` turn it
into the stored shape:

- keywords: ``hello, good morning`` (any of them); ``all: rain, umbrella`` (all of them)
- emoji: ``🎉`` or a server emoji ``<:party:123>``
- emotion: ``joy 60`` (joy at intensity 60 or more; 50 when left out)
- time: ``22:00-06:00 Europe/Paris`` with optional days ``sat,sun`` at the end
- actions: the instruction's text, the reply template, the emotional trigger's name, or the reaction emoji
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core import behaviors as rules
from bot.core.errors import DomainError, NotFound
from bot.core.inputs import parse_id
from bot.core.ownership import Actor
from bot.db import models
from bot.services import emotions
from bot.services.access import owned_persona
from bot.services.behavior_rules import compile_templates, emoji_enabled_for, enabled_for, valid_or_none, validated
from bot.templating import behavior_templates
from bot.templating.behavior_templates import BehaviorTest

__all__ = [
    "BehaviorView",
    "active_intensities",
    "add",
    "emoji_enabled_for",
    "enabled_for",
    "list_for",
    "parse_action",
    "parse_trigger",
    "preview",
    "remove",
]

_BehaviorRow = models.CustomBehavior
_TIME_WINDOW = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s+(\S+)(?:\s+(.+))?\s*$")


@dataclass(frozen=True)
class BehaviorView:
    """A stored behaviour as plain data, with its rule described in words."""

    id: int
    persona_id: int
    name: str
    trigger_kind: str
    action_kind: str
    enabled: bool
    trigger_words: str
    action_words: str
    created_at: datetime


# ----------------------------------------------------------------------------------------------------
# Parsing the command's text


def parse_trigger(kind: str, text: str) -> dict[str, Any]:
    """The stored ``trigger_config`` for a trigger typed as one line (module docstring)."""
    value = (text or "").strip()
    if kind == "keywords":
        match = "any"
        if value.lower().startswith("all:"):
            match, value = "all", value[4:]
        elif value.lower().startswith("any:"):
            value = value[4:]
        return {"words": [word.strip() for word in value.split(",") if word.strip()], "match": match}
    if kind == "emoji":
        return {"emoji": value}
    if kind == "emotion":
        parts = value.replace(">=", " ").split()
        if not parts:
            raise DomainError("Name the emotion, optionally with the intensity: for example 'joy 60'.")
        config: dict[str, Any] = {"emotion": parts[0].lower()}
        if len(parts) > 1:
            try:
                config["min_intensity"] = float(parts[1])
            except ValueError:
                raise DomainError(f"'{parts[1]}' is not an intensity; use a number from 0 to 100.") from None
        if len(parts) > 2:
            raise DomainError("An emotion trigger is the emotion and an intensity: for example 'joy 60'.")
        return config
    if kind == "time":
        found = _TIME_WINDOW.match(value)
        if not found:
            raise DomainError("A time window looks like '22:00-06:00 Europe/Paris', optionally with days 'sat,sun'.")
        config = {"start": found.group(1), "end": found.group(2), "timezone": found.group(3)}
        if found.group(4):
            config["days"] = [day.strip() for day in re.split(r"[,\s]+", found.group(4)) if day.strip()]
        return config
    raise DomainError(f"'{kind}' is not a kind of trigger; choose one of {', '.join(rules.TRIGGER_KINDS)}.")


def parse_action(kind: str, text: str) -> dict[str, Any]:
    """The stored ``action_config`` for an action typed as one line (module docstring)."""
    value = (text or "").strip()
    if kind == "instruction":
        return {"text": value}
    if kind == "reply":
        return {"template": value}
    if kind == "emotion":
        return {"trigger": value.lower()}
    if kind == "reaction":
        return {"emoji": value}
    raise DomainError(f"'{kind}' is not a kind of action; choose one of {', '.join(rules.ACTION_KINDS)}.")


# ----------------------------------------------------------------------------------------------------
# Rows


def _describe_trigger(behavior: rules.Behavior) -> str:
    trigger = behavior.trigger
    if isinstance(trigger, rules.KeywordsTrigger):
        joined = ", ".join(f"“{word}”" for word in trigger.words)
        return f"a message with {'all of' if trigger.match == 'all' else 'any of'} {joined}"
    if isinstance(trigger, rules.EmojiTrigger):
        return f"the emoji {trigger.emoji} (in a message or as a reaction)"
    if isinstance(trigger, rules.EmotionTrigger):
        return f"while feeling {trigger.emotion} at {trigger.min_intensity:g} or more"
    days = "every day" if len(trigger.days) == len(rules.DAYS) else ", ".join(trigger.days)
    return f"between {trigger.start:%H:%M} and {trigger.end:%H:%M} ({trigger.timezone}), {days}"


def _view(row: models.CustomBehavior, behavior: rules.Behavior | None) -> BehaviorView:
    assert row.id is not None
    return BehaviorView(
        id=row.id,
        persona_id=row.persona_id,
        name=row.name,
        trigger_kind=row.trigger_kind,
        action_kind=row.action_kind,
        enabled=row.enabled,
        trigger_words=_describe_trigger(behavior) if behavior else "(no longer valid)",
        action_words=rules.describe_action(behavior) if behavior else "(no longer valid)",
        created_at=row.created_at,
    )


async def add(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    *,
    name: str,
    trigger_kind: str,
    trigger_config: Mapping[str, Any],
    action_kind: str,
    action_config: Mapping[str, Any],
    now: datetime,
) -> BehaviorView:
    """Validate and store a behaviour (owner only; at most ``MAX_BEHAVIORS_PER_PERSONA``, names unique per
    persona, ignoring case)."""
    persona = await owned_persona(session, persona_id, actor, "add behaviours")
    # A reply template is compiled here, once, in a worker thread and within its budget: refused now, not when a
    # message fires it.
    behavior = await behavior_templates.validate_behavior_off_loop(
        name, trigger_kind, dict(trigger_config), action_kind, dict(action_config)
    )
    count = (await session.execute(select(func.count()).where(col(_BehaviorRow.persona_id) == persona_id))).scalar_one()
    if count >= rules.MAX_BEHAVIORS_PER_PERSONA:
        raise DomainError(
            f"{persona.name} has {count} behaviours, the most it can have; remove one first (/behavior remove)."
        )
    taken = (
        await session.execute(
            select(col(_BehaviorRow.id)).where(
                col(_BehaviorRow.persona_id) == persona_id, func.lower(col(_BehaviorRow.name)) == behavior.name.lower()
            )
        )
    ).first()
    if taken is not None:
        raise DomainError(f"{persona.name} already has a behaviour called '{behavior.name}'.")
    columns = rules.behavior_to_columns(behavior)
    row = models.CustomBehavior(persona_id=persona_id, created_at=now, **columns)
    session.add(row)
    await session.flush()
    return _view(row, behavior)


async def list_for(session: AsyncSession, actor: Actor, persona_id: int) -> list[BehaviorView]:
    """The persona's behaviours, oldest first (owner only)."""
    await owned_persona(session, persona_id, actor, "see its behaviours")
    rows = list(
        (
            await session.execute(
                select(_BehaviorRow).where(col(_BehaviorRow.persona_id) == persona_id).order_by(col(_BehaviorRow.id))
            )
        ).scalars()
    )
    await compile_templates(rows)
    return [_view(row, valid_or_none(row)) for row in rows]


async def _find(session: AsyncSession, persona_id: int, name: str) -> models.CustomBehavior:
    text = " ".join((name or "").split())
    query = select(_BehaviorRow).where(col(_BehaviorRow.persona_id) == persona_id)
    typed_id = parse_id(text)
    if typed_id is not None:
        row = (await session.execute(query.where(col(_BehaviorRow.id) == typed_id))).scalar_one_or_none()
        if row is not None:
            return row
    row = (await session.execute(query.where(func.lower(col(_BehaviorRow.name)) == text.lower()))).scalar_one_or_none()
    if row is None:
        raise NotFound(f"There is no behaviour called '{text[:80]}'.")
    return row


async def remove(session: AsyncSession, actor: Actor, persona_id: int, name: str) -> BehaviorView:
    """Delete a behaviour by name (or id); owner only. Returns what was removed."""
    await owned_persona(session, persona_id, actor, "remove behaviours")
    row = await _find(session, persona_id, name)
    await compile_templates([row])
    view = _view(row, valid_or_none(row))
    await session.delete(row)
    await session.flush()
    return view


async def preview(
    session: AsyncSession,
    actor: Actor,
    persona_id: int,
    name: str,
    *,
    message_text: str,
    emoji: str | None,
    author_name: str,
    now: datetime,
) -> BehaviorTest:
    """What the behaviour ``name`` would do with this sample message now (owner only), with the persona's
    current emotions and mood. A broken reply template raises :class:`DomainError` saying why."""
    persona = await owned_persona(session, persona_id, actor, "test its behaviours")
    row = await _find(session, persona_id, name)
    await compile_templates([row])
    behavior = validated(row)
    state = await emotions.current_state(session, persona_id, now)
    return behavior_templates.test_behavior(
        behavior,
        message_text=message_text,
        emoji=emoji,
        emotions=active_intensities(state),
        now=now,
        persona_name=persona.name,
        author_name=author_name,
        mood=state.mood_words,
    )


def active_intensities(state: emotions.MoodView) -> dict[str, float]:
    """Active emotion type -> its strongest current intensity (what emotion triggers compare against)."""
    out: dict[str, float] = {}
    for item in state.active:
        out[item.type] = max(out.get(item.type, 0.0), item.intensity)
    return out
