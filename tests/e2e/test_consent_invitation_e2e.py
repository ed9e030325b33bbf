"""Memory that explains itself (issue 19), end to end: the real bot in the sandbox on SQLite and PostgreSQL, the
fake model server answering. A person a persona answers is invited once, by DM, to choose whether
personas here may remember them; the buttons work after a restart; each answer changes what is remembered; the
server's mode (ask first / opt-out / never, ``/admin memory``) decides for everyone; closed DMs get a note in the
channel that pings no one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.app import PersonaHubBot
from bot.clock import utcnow
from bot.config import load_settings
from bot.db import models
from bot.sandbox import Sandbox
from bot.sandbox.harness import Posted
from bot.services import bindings, personas
from bot.services.personas import Actor, PersonaInput
from tests.conftest import _empty_all_tables
from tests.fakes.model_server import FakeModelServer
from tests.support.reading import count
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

TITLE = "May personas in Sandbox remember you?"
BUTTONS = ["Yes, remember me", "Not now", "Never"]


@asynccontextmanager
async def started(sandbox: Sandbox, database_url: str, model_server: FakeModelServer) -> AsyncIterator[PersonaHubBot]:
    """The real bot on ``database_url``; started again on the same database, it is a new process after a restart."""
    settings = load_settings(
        database_url=database_url,
        scheduler_enabled=False,
        discord_token=sandbox.token,
        llm_base_url=model_server.base_url,
        llm_model="fake-model",
    )
    client = PersonaHubBot(settings)
    async with client, sandbox.run_client(client, timeout=30):
        yield client


@pytest.fixture
async def cleanup(database_url: str) -> AsyncIterator[None]:
    yield
    if database_url.startswith("postgresql"):
        from bot.db.engine import Database

        db = Database(database_url)
        try:
            await _empty_all_tables(db)
        finally:
            await db.dispose()


async def persona_in(bot: PersonaHubBot, sandbox: Sandbox) -> int:
    """Ada, alice's persona, listening in #general and answering when addressed."""
    actor = Actor(sandbox.alice.id, sandbox.guild.id)
    behavior = {"cooldown_seconds": 0, "chattiness": 0}
    async with bot.db.transaction() as session:
        record = await personas.create(session, actor, PersonaInput(name="Ada", behavior=behavior), now=utcnow())
        await bindings.activate(
            session, actor, record.id, sandbox.general.id, channel_guild_id=sandbox.guild.id, now=utcnow()
        )
    return record.id


async def talk(bot: PersonaHubBot, sandbox: Sandbox, text: str, author: Any) -> None:
    """``author`` says ``text`` to Ada in #general; returns once Ada's answer is recorded (and with it, or not,
    the memory of what was said)."""
    said = await sandbox.send(sandbox.general, text, author=author)
    answer = await sandbox.wait_for_message(sandbox.general, author="Ada", after=said.id, timeout=10)
    await eventually(
        lambda: count(bot, models.PersonaMessage, models.PersonaMessage.message_id == answer.id),
        "Ada's answer recorded",
    )


async def memories_of(bot: PersonaHubBot, user: Any) -> list[str]:
    async with bot.db.session() as session:
        query = select(models.Memory.content).where(models.Memory.source_user_id == user.id)
        return list((await session.execute(query)).scalars())


async def invitation_for(sandbox: Sandbox, user: Any) -> Posted:
    await eventually(lambda: sandbox.dms(user), f"the invitation in {user.username}'s DMs")
    [dm] = sandbox.dms(user)
    return dm


async def offer_of(bot: PersonaHubBot, user: Any) -> models.ConsentOffer | None:
    async with bot.db.session() as session:
        query = select(models.ConsentOffer).where(models.ConsentOffer.user_id == user.id)
        return (await session.execute(query)).scalars().first()


async def test_invited_once_by_dm_and_the_buttons_work_after_a_restart(
    sandbox: Sandbox, database_url: str, model_server: FakeModelServer, cleanup: None
) -> None:
    async with started(sandbox, database_url, model_server) as bot:
        await persona_in(bot, sandbox)
        await talk(bot, sandbox, "Ada, I love sailing and I have a cat named Tom!", sandbox.bob)
        dm = await invitation_for(sandbox, sandbox.bob)
        assert dm.embeds[0]["title"] == TITLE
        assert "remember only people who said yes" in dm.embeds[0]["description"]
        assert [button["label"] for button in dm.buttons()] == BUTTONS
        await talk(bot, sandbox, "Ada, I also love baking bread!", sandbox.bob)
        await sandbox.send(sandbox.general, "What a lovely day it is.", author=sandbox.alice)  # Ada stays quiet
        await asyncio.sleep(0.3)
        assert len(sandbox.dms(sandbox.bob)) == 1  # once per person and server
        assert sandbox.dms(sandbox.alice) == []  # only people a persona answers are asked
        assert await memories_of(bot, sandbox.bob) == []  # ask first: nothing kept before a yes
        offer = await offer_of(bot, sandbox.bob)
        assert offer is not None and offer.via == "dm" and offer.answer is None

    async with started(sandbox, database_url, model_server) as bot:  # a new process: the old DM's buttons work
        answered = await (await sandbox.click(dm, label="Yes, remember me", user=sandbox.bob)).message()
        assert answered.content.startswith("Thank you: personas here may remember what you tell them.")
        assert answered.buttons() == []  # answered: the buttons are gone
        await talk(bot, sandbox, "Ada, I moved to Lisbon last week and I love it!", sandbox.bob)
        await eventually(lambda: memories_of(bot, sandbox.bob), "bob's memory")
        assert any("Lisbon" in text for text in await memories_of(bot, sandbox.bob))
        offer = await offer_of(bot, sandbox.bob)
        assert offer is not None and offer.answer == "yes"
        assert len(sandbox.dms(sandbox.bob)) == 1


@pytest.mark.parametrize("answer", ["Not now", "Never"])
async def test_not_now_asks_again_after_a_month_and_never_does_not(
    sandbox: Sandbox, database_url: str, model_server: FakeModelServer, cleanup: None, answer: str
) -> None:
    async with started(sandbox, database_url, model_server) as bot:
        await persona_in(bot, sandbox)
        await talk(bot, sandbox, "Ada, I love sailing and I have a cat named Tom!", sandbox.bob)
        dm = await invitation_for(sandbox, sandbox.bob)
        answered = await (await sandbox.click(dm, label=answer, user=sandbox.bob)).message()
        expected = "Nothing changed" if answer == "Not now" else "Recorded: nothing about you is remembered here"
        assert answered.content.startswith(expected)
        await talk(bot, sandbox, "Ada, I moved to Lisbon last week and I love it!", sandbox.bob)
        assert await memories_of(bot, sandbox.bob) == []  # neither answer lets a persona remember
        # A month later (the invitation's time moved back; this process forgets whom it looked at).
        async with bot.db.transaction() as session:
            await session.execute(update(models.ConsentOffer).values(offered_at=utcnow() - timedelta(days=31)))
        bot.get_cog("ConversationCog").invitations.looked.clear()
        await talk(bot, sandbox, "Ada, guess what, I got a new boat!", sandbox.bob)
        if answer == "Not now":
            await eventually(lambda: len(sandbox.dms(sandbox.bob)) == 2, "the second invitation")
        else:
            await asyncio.sleep(0.3)
            assert len(sandbox.dms(sandbox.bob)) == 1


async def test_an_opt_out_server_remembers_until_someone_says_never(
    sandbox: Sandbox, database_url: str, model_server: FakeModelServer, cleanup: None
) -> None:
    async with started(sandbox, database_url, model_server) as bot:
        await persona_in(bot, sandbox)
        shown = await (await sandbox.slash("admin memory")).message()
        assert shown.ephemeral and "**ask first**" in shown.content
        changed = await (await sandbox.slash("admin memory", mode="opt-out")).message()
        assert "now **remember unless people opt out** (was: ask first)" in changed.content
        await talk(bot, sandbox, "Ada, I love sailing and I have a cat named Tom!", sandbox.bob)
        await eventually(lambda: memories_of(bot, sandbox.bob), "bob remembered without an answer")
        dm = await invitation_for(sandbox, sandbox.bob)
        assert "remember people unless they say no" in dm.embeds[0]["description"]
        await (await sandbox.click(dm, label="Never", user=sandbox.bob)).message()
        before = len(await memories_of(bot, sandbox.bob))
        await talk(bot, sandbox, "Ada, I moved to Lisbon last week and I love it!", sandbox.bob)
        await asyncio.sleep(0.2)
        assert len(await memories_of(bot, sandbox.bob)) == before  # said never: nothing new


async def test_a_never_server_remembers_no_one_and_asks_nobody(
    sandbox: Sandbox, database_url: str, model_server: FakeModelServer, cleanup: None
) -> None:
    async with started(sandbox, database_url, model_server) as bot:
        await persona_in(bot, sandbox)
        changed = await (await sandbox.slash("admin memory", mode="never")).message()
        assert "now **never remember anyone**" in changed.content
        given = await (await sandbox.slash("privacy consent", choice="give", as_user=sandbox.bob)).message()
        assert "remember no one here" in given.embeds[0]["fields"][1]["value"]
        await talk(bot, sandbox, "Ada, I love sailing and I have a cat named Tom!", sandbox.bob)
        await asyncio.sleep(0.3)
        assert await memories_of(bot, sandbox.bob) == []  # their yes counts for nothing here
        assert sandbox.dms(sandbox.bob) == []  # nobody is asked
        back = await (await sandbox.slash("admin memory", mode="opt-in")).message()
        assert "(was: never remember anyone)" in back.content
        await talk(bot, sandbox, "Ada, I moved to Lisbon last week and I love it!", sandbox.bob)
        await eventually(lambda: memories_of(bot, sandbox.bob), "bob's memory, his yes counting again")


async def test_closed_dms_get_a_note_in_the_channel_that_pings_no_one(
    sandbox: Sandbox, database_url: str, model_server: FakeModelServer, cleanup: None
) -> None:
    sandbox.bob.accepts_dms = False
    async with started(sandbox, database_url, model_server) as bot:
        await persona_in(bot, sandbox)
        await talk(bot, sandbox, "Ada, I love sailing and I have a cat named Tom!", sandbox.bob)
        note = await sandbox.wait_for_message(
            sandbox.general, predicate=lambda posted: "could not DM you" in posted.content
        )
        assert note.content.startswith("Bob, I could not DM you: personas here remember only people who say yes.")
        assert note.message.mention_ids == [] and note.message.allowed_mentions == {"parse": []}
        assert [button["label"] for button in note.buttons()] == BUTTONS
        offer = await offer_of(bot, sandbox.bob)
        assert offer is not None and offer.via == "channel"
        # Each clicker answers for themselves, privately; the note stays for the others.
        clicked = await sandbox.click(note, label="Yes, remember me", user=sandbox.bob)
        answered = await clicked.message()
        assert answered.ephemeral and answered.content.startswith("Thank you")
        assert sandbox.posted(sandbox.state.messages[note.id]).buttons() == note.buttons()
        await talk(bot, sandbox, "Ada, I moved to Lisbon last week and I love it!", sandbox.bob)
        await eventually(lambda: memories_of(bot, sandbox.bob), "bob's memory after his yes")
