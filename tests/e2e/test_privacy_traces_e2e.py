"""People who never consented leave no trace (issue 15 item 4), end to end: the real bot against the sandbox on
SQLite, with the offline responder. Alice consents and tells Ada about Bob by mention; Bob, who never consented,
talks to Ada and reacts to her. Nothing stored names Bob, and his export says so; his reaction is still felt."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import utcnow
from bot.db import models
from bot.sandbox import Sandbox
from bot.services import bindings, personas
from bot.services.personas import Actor, PersonaInput
from tests.support.reading import dms_besides_invitations
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def persona_in_general(bot: Any, sandbox: Sandbox) -> int:
    actor = Actor(sandbox.alice.id, sandbox.guild.id)
    async with bot.db.transaction() as session:
        record = await personas.create(
            session, actor, PersonaInput(name="Ada", behavior={"cooldown_seconds": 0, "chattiness": 0}), now=utcnow()
        )
        await bindings.activate(
            session, actor, record.id, sandbox.general.id, channel_guild_id=sandbox.guild.id, now=utcnow()
        )
    return record.id


async def rows(bot: Any, *columns: Any) -> list[Any]:
    async with bot.db.session() as session:
        return list((await session.execute(select(*columns))).all())


async def test_a_person_who_never_consented_leaves_no_trace(sandbox: Sandbox, running_bot) -> None:
    alice, bob = sandbox.alice, sandbox.bob
    ada = await persona_in_general(running_bot, sandbox)
    await (await sandbox.slash("privacy consent", persona="Ada", choice="give")).message()  # Alice only

    await sandbox.send(sandbox.general, f"Ada, <@{bob.id}> told me he is moving to Lisbon!", author=alice)
    first = await sandbox.wait_for_message(sandbox.general, author="Ada", timeout=10)

    async def remembered() -> bool:
        return bool(await rows(running_bot, models.Memory.id))

    await eventually(remembered, "Alice's memory", timeout=5)
    await sandbox.send(sandbox.general, "Ada, I never said you could remember me", author=bob)
    second = await sandbox.wait_for_message(sandbox.general, author="Ada", after=first.id, timeout=10)
    await sandbox.react(second, "❤️", user=bob)

    async def felt() -> bool:
        return bool(await rows(running_bot, models.EmotionalEvent.id))

    await eventually(felt, "Bob's reaction to be counted", timeout=5)
    await asyncio.sleep(0.2)  # anything Bob's message would wrongly leave is written by now

    [(content, source, subject)] = await rows(
        running_bot, models.Memory.content, models.Memory.source_user_id, models.Memory.subject_user_id
    )
    assert "someone told me he is moving to Lisbon" in content and str(bob.id) not in content
    assert (source, subject) == (alice.id, None)
    assert await rows(running_bot, models.PersonRelationship.user_id) == [(alice.id,)]
    assert await rows(running_bot, models.EmotionalEvent.persona_id, models.EmotionalEvent.user_id) == [(ada, None)]
    async with running_bot.db.session() as session:
        [(emotion, intensity)] = (
            await session.execute(select(models.EmotionalEvent.emotion_type, models.EmotionalEvent.intensity))
        ).all()
        active = (await session.execute(select(func.count()).select_from(models.ActiveEmotion))).scalar_one()
    assert emotion is not None and intensity > 0 and active > 0  # the heart was still felt

    handle = await sandbox.slash("privacy export-my-data", as_user=bob)
    reply = await handle.message()
    assert reply.content.startswith(
        "Sent to your DMs: 0 memories, 0 archived memories, 0 personas, 0 consent records, 0 relationship records, "
        "0 reactions"
    )
    [dm] = dms_besides_invitations(sandbox, bob)
    data = json.loads(dm.attachments[0].data)
    assert data["memories"] == data["relationships"] == data["emotional_events"] == []
