"""Greetings and images end to end: the real bot against the sandbox, a real SQLite file, and the fake model server.

Activating a persona with a greeting posts it once under the persona's name (switching it off and on does not greet
again), recorded as its message, and the model sees it in the channel's history; an image on a message a persona
answers reaches the model as an image part (at the attachment's own URL) when the model can see, and as a note
naming it when it cannot.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update

from bot.clock import utcnow
from bot.db import models
from bot.sandbox import Sandbox
from bot.services import consent
from tests.e2e.test_conversation_e2e import answer_from, persona_in, persona_posts
from tests.e2e.test_persona_management import make_persona
from tests.e2e.test_persona_wizard import answer
from tests.fakes.model_server import FakeModelServer, reply
from tests.support.bots import bot_on
from tests.support.reading import count
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

PICTURE = b"\x89PNG\r\n\x1a\n" + b"a cat, trust me" * 100


def user_turn(body: dict[str, Any]) -> dict[str, Any]:
    return [m for m in body["messages"] if m["role"] == "user"][-1]


async def test_activating_a_persona_greets_the_channel_once_under_its_name(
    sandbox: Sandbox, database_file: Any, model_server: FakeModelServer
) -> None:
    async with bot_on(sandbox, database_file, model_server) as bot:
        ada = await make_persona(bot, sandbox, "Ada")
        async with bot.db.transaction() as session:
            await session.execute(
                update(models.Persona)
                .where(models.Persona.id == ada)
                .values(greeting="Welcome, {{user}}! {{char}} lights the lamp.", behavior_settings={"chattiness": 0})
            )
        done = await answer(await sandbox.slash("persona activate", persona="Ada"))
        assert "now active" in done.content
        greeting = await sandbox.wait_for_message(sandbox.general, author="Ada", timeout=10)
        assert greeting.content == "Welcome, Alice! Ada lights the lamp."
        assert greeting.webhook_id is not None  # under its own name, through the channel webhook
        await _recorded(bot, greeting.id)

        stopped = await answer(await sandbox.slash("persona deactivate", persona="Ada"))
        assert "no longer speaks" in stopped.content
        again = await answer(await sandbox.slash("persona activate", persona="Ada"))
        assert "now active" in again.content

        # Ada answers; by then a second greeting would have been posted. The model saw the greeting as Ada's words.
        model_server.script(reply("The lamp is lit."))
        asked = await sandbox.send(sandbox.general, "Ada, is the lamp lit?")
        answered = await answer_from(bot, sandbox, after=asked)
        assert answered.content == "The lamp is lit."
        assert [p.content for p in persona_posts(sandbox, "Ada")] == [greeting.content, "The lamp is lit."]
        assert "Welcome, Alice! Ada lights the lamp." in json.dumps(model_server.requests[-1]["messages"])
        assert await count(bot, models.PersonaGreeting) == 1


async def _recorded(bot: Any, message_id: int) -> None:
    await eventually(
        lambda: count(bot, models.PersonaMessage, models.PersonaMessage.message_id == message_id),
        "the greeting recorded as the persona's message",
        timeout=10,
    )


async def test_a_persona_without_a_greeting_posts_nothing(
    sandbox: Sandbox, database_file: Any, model_server: FakeModelServer
) -> None:
    async with bot_on(sandbox, database_file, model_server) as bot:
        await make_persona(bot, sandbox, "Ada")
        done = await answer(await sandbox.slash("persona activate", persona="Ada"))
        assert "now active" in done.content
        model_server.script(reply("Hello."))
        asked = await sandbox.send(sandbox.general, "Ada, hello?")
        await answer_from(bot, sandbox, after=asked)
        assert [p.content for p in persona_posts(sandbox, "Ada")] == ["Hello."]
        assert await count(bot, models.PersonaGreeting) == 0


async def test_an_image_reaches_a_vision_model_as_an_image_part_at_its_discord_url(
    sandbox: Sandbox, database_file: Any, model_server: FakeModelServer
) -> None:
    async with bot_on(sandbox, database_file, model_server, llm_vision=True) as bot:
        await persona_in(bot, sandbox)
        async with bot.db.transaction() as session:
            await consent.record(
                session, user_id=sandbox.alice.id, guild_id=sandbox.guild.id, granted=True,
                recorded_by=sandbox.alice.id, now=utcnow(),
            )  # fmt: skip
        model_server.script(reply("What a cat."))
        sent = await sandbox.send(sandbox.general, "Ada, look at this!", files=[("cat.png", PICTURE)])
        answered = await answer_from(bot, sandbox, after=sent)
        assert answered.content == "What a cat."
        [attachment] = sandbox.state.messages[sent.id].attachments
        text, picture = user_turn(model_server.requests[-1])["content"]
        assert text["type"] == "text" and "Ada, look at this!" in text["text"]
        assert picture == {"type": "image_url", "image_url": {"url": attachment.url}}
        async with aiohttp.ClientSession() as http, http.get(picture["image_url"]["url"]) as got:
            assert got.status == 200 and await got.read() == PICTURE  # the model server can fetch it

        # A picture alone, replying to the persona, is answered too.
        model_server.script(reply("Another cat!"))
        alone = await sandbox.send(sandbox.general, "", files=[("cat2.png", PICTURE)], reply_to=answered)
        await answer_from(bot, sandbox, after=alone)
        parts = user_turn(model_server.requests[-1])["content"]
        assert [p["type"] for p in parts] == ["text", "image_url"]
        assert parts[1]["image_url"]["url"] == sandbox.state.messages[alone.id].attachments[0].url

        # Remembered by its name, as the author consented to be remembered.
        async def remembered() -> list[str]:
            async with bot.db.session() as session:
                found = (await session.execute(select(models.Memory.content))).scalars().all()
            return [text for text in found if "[image: cat2.png, 1 KB]" in text]

        await eventually(remembered, "the picture remembered by its name", timeout=10)


async def test_a_model_that_cannot_see_gets_a_note_naming_the_image(
    sandbox: Sandbox, database_file: Any, model_server: FakeModelServer
) -> None:
    async with bot_on(sandbox, database_file, model_server) as bot:
        await persona_in(bot, sandbox)
        model_server.script(reply("I cannot see it, but thanks."))
        sent = await sandbox.send(sandbox.general, "Ada, look at this!", files=[("cat.png", PICTURE)])
        await answer_from(bot, sandbox, after=sent)
        content = user_turn(model_server.requests[-1])["content"]
        assert isinstance(content, str)
        assert "Ada, look at this!" in content and "[image: cat.png, 1 KB]" in content  # 1,508 bytes
        assert "image_url" not in json.dumps(model_server.requests[-1])
