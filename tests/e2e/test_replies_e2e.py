"""Replies under pressure, end to end (the real bot, the sandbox, a SQLite file, the fake model server on
loopback): a model that never stops or answers garbage is cut off or apologised for, and messages sent to a
persona while it speaks wait for its turn and are answered."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.waiting import MAX_WAITING
from bot.db import models
from bot.sandbox import Sandbox
from tests.e2e.test_conversation_e2e import answer_from, persona_in, persona_posts
from tests.fakes.model_server import FakeModelServer, answer_with, bad_event, endless, not_json, reply
from tests.support.bots import bot_on
from tests.support.reading import count, dms_besides_invitations
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

SIGN = "⌛"
TOKEN = re.compile(r"\bq\d+\b")


def _asked(body: dict[str, Any]) -> str:
    """The last user message of a request: what the persona is answering."""
    return next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")


def echo_tokens(body: dict[str, Any]) -> str:
    """A model that answers with the question tokens (q1, q2, ...) of every message it was asked to answer."""
    return "Answering " + ", ".join(TOKEN.findall(_asked(body))) + "."


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


# --------------------------------------------------------------------------------------------------- bounded output


async def test_an_endless_stream_is_cut_at_the_character_cap_and_the_persona_answers_the_next_message(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer, caplog: pytest.LogCaptureFixture
) -> None:
    model_server.script(endless("la "))
    async with bot_on(sandbox, database_file, model_server) as bot:
        await persona_in(bot, sandbox)
        await sandbox.send(sandbox.general, "Ada, sing for me")
        await sandbox.wait_until(lambda: model_server.hung_up == 1, 20, "the endless stream closed by the bot")
        await sandbox.wait_until(
            lambda: dms_besides_invitations(sandbox, sandbox.alice), 10, "the owner told that the answer was cut short"
        )
        await asyncio.sleep(0.3)
        posts = persona_posts(sandbox, "Ada")
        texts = [sandbox.state.messages[p.id].content for p in posts]
        # 4,000 characters (two or three Discord messages cut at word boundaries), not message after message.
        assert 2 <= len(posts) <= 3, texts
        assert texts[-1].endswith(" …") and sum(len(t) for t in texts) <= 4000 + 2
        assert model_server.requests[-1]["max_tokens"] == 300  # the token cap (balanced) is asked of the server too
        note = dms_besides_invitations(sandbox, sandbox.alice)[0].content
        assert "cut short" in note and "4,000 characters" in note
        # The persona is free again.
        model_server.script(reply("Back to normal."))
        await sandbox.send(sandbox.general, "Ada, are you done?")
        back = await answer_from(bot, sandbox, after=posts[-1].id)
        assert back.content == "Back to normal."
    assert not errors(caplog)


async def test_a_stream_that_keeps_flowing_is_cut_at_the_reply_time(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    model_server.script(endless("word ", chunk_delay=0.05))
    async with bot_on(sandbox, database_file, model_server, llm_reply_seconds=2.0) as bot:
        await persona_in(bot, sandbox)
        started = asyncio.get_running_loop().time()
        await sandbox.send(sandbox.general, "Ada, talk slowly")
        first = await sandbox.wait_for_message(sandbox.general, author="Ada", timeout=10)
        await sandbox.wait_until(
            lambda: sandbox.state.messages[first.id].content.endswith(" …"), 10, "the answer ended visibly"
        )
        assert asyncio.get_running_loop().time() - started < 6
        assert len(persona_posts(sandbox, "Ada")) == 1
        model_server.script(reply("Still here."))
        await sandbox.send(sandbox.general, "Ada, hello?")
        back = await answer_from(bot, sandbox, after=first.id)
        assert back.content == "Still here."


@pytest.mark.parametrize("broken", [not_json(), bad_event()], ids=["body", "event"])
async def test_an_answer_that_is_not_json_gives_the_apology_and_tells_the_owner_without_a_traceback(
    sandbox: Sandbox,
    database_file: Path,
    model_server: FakeModelServer,
    caplog: pytest.LogCaptureFixture,
    broken: Any,
) -> None:
    model_server.default = broken
    async with bot_on(sandbox, database_file, model_server) as bot:
        await persona_in(bot, sandbox)
        await sandbox.send(sandbox.general, "Ada, are you there?")
        sorry = await answer_from(bot, sandbox)
        assert "can't answer right now" in sorry.content
        await sandbox.wait_until(
            lambda: dms_besides_invitations(sandbox, sandbox.alice), 5, "a direct message to the owner"
        )
        assert "not JSON" in dms_besides_invitations(sandbox, sandbox.alice)[0].content
        model_server.default = reply("Fixed.")
        await sandbox.send(sandbox.general, "Ada, and now?")
        assert (await answer_from(bot, sandbox, after=sorry.id)).content == "Fixed."
    assert not errors(caplog)
    assert not [r for r in caplog.records if r.exc_info and "JSONDecodeError" in str(r.exc_info[0])]


# --------------------------------------------------------------------------------------------------- busy personas


async def test_messages_sent_while_the_persona_speaks_are_all_answered_in_its_next_turn(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    carol = sandbox.add_user("carol")
    model_server.script(answer_with(echo_tokens, delay=1.0))
    model_server.default = answer_with(echo_tokens)
    async with bot_on(sandbox, database_file, model_server) as bot:
        await persona_in(bot, sandbox)
        async with bot.db.transaction() as session:  # a server that remembers people: relationships are kept
            session.add(models.GuildSettings(guild_id=sandbox.guild.id, memory_consent_default="opt-out"))
        await sandbox.send(sandbox.general, "Ada, first question q1")
        await sandbox.wait_until(lambda: model_server.requests, 10, "the first request")
        for author, token in ((sandbox.bob, "q2"), (carol, "q3"), (sandbox.alice, "q4")):
            await sandbox.send(sandbox.general, f"Ada, what about {token}?", author=author)
        await sandbox.wait_until(lambda: len(persona_posts(sandbox, "Ada")) >= 2, 15, "the second reply")
        await asyncio.sleep(0.5)
        posts = [sandbox.state.messages[p.id].content for p in persona_posts(sandbox, "Ada")]
        assert posts == ["Answering q1.", "Answering q2, q3, q4."], posts
        assert len(model_server.requests) == 2  # the three waiting messages were answered in one turn
        folded = model_server.requests[1]
        lines = [line.split(": ", 1) for line in _asked(folded).splitlines()]
        assert [(author.casefold(), text) for author, text in lines] == [
            ("bob", "Ada, what about q2?"),
            ("carol", "Ada, what about q3?"),
            ("alice", "Ada, what about q4?"),
        ]
        system = next(m["content"] for m in folded["messages"] if m["role"] == "system")
        assert "reply to each of them, by name" in system
        # Each exchange is recorded: every author's relationship with the persona counts it.
        await eventually(
            lambda: count(bot, models.PersonRelationship, models.PersonRelationship.user_id == carol.id),
            "carol",
            timeout=5,
        )
        async with bot.db.session() as session:
            people = set((await session.execute(select(models.PersonRelationship.user_id))).scalars())
        assert people == {sandbox.alice.id, sandbox.bob.id, carol.id}


async def test_over_the_bound_the_oldest_waiting_messages_get_a_visible_sign(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    people = [sandbox.add_user(f"person{n}") for n in range(MAX_WAITING + 2)]
    model_server.script(answer_with(echo_tokens, delay=1.5))
    model_server.default = answer_with(echo_tokens)
    async with bot_on(sandbox, database_file, model_server) as bot:
        await persona_in(bot, sandbox)
        await sandbox.send(sandbox.general, "Ada, first question q0")
        await sandbox.wait_until(lambda: model_server.requests, 10, "the first request")
        sent = []
        for n, person in enumerate(people, start=1):
            sent.append(await sandbox.send(sandbox.general, f"Ada, q{n}?", author=person))
        await sandbox.wait_until(lambda: len(persona_posts(sandbox, "Ada")) >= 2, 15, "the second reply")
        await asyncio.sleep(0.5)

        def signed(message: Any) -> bool:
            reactors = sandbox.state.messages[message.id].reactions.get(SIGN, {})
            return sandbox.bot_user.id in reactors

        await sandbox.wait_until(lambda: signed(sent[0]) and signed(sent[1]), 5, "the sign on the oldest two")
        assert [signed(m) for m in sent] == [True, True] + [False] * MAX_WAITING
        posts = [sandbox.state.messages[p.id].content for p in persona_posts(sandbox, "Ada")]
        expected = ", ".join(f"q{n}" for n in range(3, MAX_WAITING + 3))
        assert posts == ["Answering q0.", f"Answering {expected}."], posts
