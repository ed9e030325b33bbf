"""Helpers for the realmodel suite: personas in the sandbox, the persona's next reply, speaking-for-others checks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from bot.app import PersonaHubBot
from bot.clock import utcnow
from bot.db import models
from bot.sandbox import Sandbox
from bot.sandbox.harness import Posted
from bot.services import bindings, personas
from bot.services.personas import Actor, PersonaInput
from tests.support.reading import count
from tests.support.waiting import eventually

DISCORD_LIMIT = 2000
FAST = {"cooldown_seconds": 0, "chattiness": 0}  # answers when addressed, only then
FIRST_TOKEN_SECONDS = 120.0  # a 135M model on two shared cores: seconds, but CI machines are busy
REPLY_SECONDS = 180.0


async def persona_in(bot: PersonaHubBot, sandbox: Sandbox, name: str, description: str) -> int:
    """A persona of alice's, active in #general, that answers when addressed."""
    actor = Actor(sandbox.alice.id, sandbox.guild.id)
    async with bot.db.transaction() as session:
        record = await personas.create(
            session, actor, PersonaInput(name=name, description=description, behavior=FAST), now=utcnow()
        )
        await bindings.activate(
            session, actor, record.id, sandbox.general.id, channel_guild_id=sandbox.guild.id, now=utcnow()
        )
    return record.id


async def reply_of(bot: PersonaHubBot, sandbox: Sandbox, name: str, *, after: int = 0) -> list[Posted]:
    """The persona's whole next reply (every message of it), once streamed to the end and recorded."""
    first = await sandbox.wait_for_message(sandbox.general, author=name, after=after, timeout=FIRST_TOKEN_SECONDS)
    await eventually(
        lambda: count(bot, models.PersonaMessage, models.PersonaMessage.message_id == first.id),
        "the reply recorded",
        timeout=REPLY_SECONDS,
    )
    return [p for p in sandbox.history(sandbox.general) if p.author == name and p.webhook_id and p.id >= first.id]


def text_of(posts: Iterable[Posted]) -> str:
    return "\n".join(p.content for p in posts)


def squashed(text: str) -> str:
    return " ".join(text.split())


def label_lines(text: str, names: Iterable[str]) -> list[str]:
    """The lines of ``text`` that open with a speaker's label ("Alice:", "**Bob (you):**", "User:")."""
    who = "|".join(re.escape(n) for n in [*names, "user", "assistant", "system"])
    label = re.compile(rf"^\W{{0,3}}({who})\b[^:\n]{{0,24}}:", re.IGNORECASE)
    return [line for line in text.splitlines() if label.match(line.strip())]


def request_text(body: dict[str, Any]) -> str:
    """Everything a chat request carried to the model, as one searchable string."""
    return json.dumps(body.get("messages", []), ensure_ascii=False)


def card_json(name: str, **data: Any) -> bytes:
    """A Character Card V2 (JSON) with ``data`` over empty defaults."""
    fields: dict[str, Any] = {
        "name": name,
        "description": "",
        "personality": "",
        "scenario": "",
        "first_mes": "",
        "mes_example": "",
        "creator_notes": "",
        "system_prompt": "",
        "post_history_instructions": "",
        "alternate_greetings": [],
        "tags": [],
        "creator": "tests",
        "character_version": "1",
        "extensions": {},
    }
    return json.dumps({"spec": "chara_card_v2", "spec_version": "2.0", "data": {**fields, **data}}).encode()
