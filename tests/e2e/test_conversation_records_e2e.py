"""What a conversation leaves behind, end to end (the real bot, the sandbox, the fake model server), on a SQLite file
and on PostgreSQL: a hand-typed mention of an id no one can have, a NUL in the model's answer, several waiting
messages answered in one reply, and two personas speaking side by side."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import PersonaHubBot
from bot.clock import utcnow
from bot.db import models
from bot.sandbox import Sandbox
from bot.services import consent
from tests.e2e.test_conversation_e2e import persona_in, persona_posts
from tests.e2e.test_replies_e2e import echo_tokens
from tests.fakes.model_server import FakeModelServer, answer_with, reply
from tests.support.bots import bot_on
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

FAKE = "<@9999999999999999999999999>"  # 25 digits: past 64 bits, so nobody's id


async def _consent(bot: PersonaHubBot, sandbox: Sandbox, *people: Any) -> None:
    async with bot.db.transaction() as session:
        for person in people:
            await consent.record(
                session, user_id=person.id, guild_id=sandbox.guild.id, granted=True, recorded_by=person.id,
                now=utcnow(),
            )  # fmt: skip


async def _memories(bot: PersonaHubBot) -> list[models.Memory]:
    async with bot.db.session() as session:
        return list((await session.execute(select(models.Memory).order_by(models.Memory.id))).scalars())


async def _memories_once(bot: PersonaHubBot, count: int, what: str) -> list[models.Memory]:
    async def enough() -> bool:
        return len(await _memories(bot)) >= count

    await eventually(enough, what, timeout=15)
    await asyncio.sleep(0.3)  # nothing more arrives
    return await _memories(bot)


async def test_a_mention_of_an_id_past_64_bits_does_not_stop_the_exchange_being_recorded(
    sandbox: Sandbox, bot: PersonaHubBot, model_server: FakeModelServer, caplog: pytest.LogCaptureFixture
) -> None:
    await persona_in(bot, sandbox)
    await _consent(bot, sandbox, sandbox.alice)
    model_server.default = reply("Hello to them!")
    with caplog.at_level(logging.INFO):
        await sandbox.send(sandbox.general, f"Ada, say hello to {FAKE} for me")
        (memory,) = await _memories_once(bot, 1, "the exchange recorded")
    assert "Hello to them" in memory.content and "9999999999" not in memory.content
    assert memory.source_user_id == sandbox.alice.id and memory.subject_user_id is None
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_nul_in_the_models_answer_is_removed_and_the_exchange_recorded(
    sandbox: Sandbox, bot: PersonaHubBot, model_server: FakeModelServer, caplog: pytest.LogCaptureFixture
) -> None:
    await persona_in(bot, sandbox)
    await _consent(bot, sandbox, sandbox.alice)
    model_server.default = reply("Very we\x00ll, thank you!")
    with caplog.at_level(logging.INFO):
        await sandbox.send(sandbox.general, "Ada, how are you?")
        (memory,) = await _memories_once(bot, 1, "the exchange recorded")
    assert "Very well, thank you!" in memory.content and "\x00" not in memory.content
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_each_waiting_message_is_recorded_on_its_own_and_keeps_only_its_authors_words(
    sandbox: Sandbox, bot: PersonaHubBot, model_server: FakeModelServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Three messages wait while Ada speaks, one with a made-up mention; one reply answers them all and names all
    three people. Each is recorded, and each author's memory holds their own words only."""
    carol = sandbox.add_user("carol")
    await persona_in(bot, sandbox)
    await _consent(bot, sandbox, sandbox.alice, sandbox.bob, carol)
    model_server.script(answer_with(echo_tokens, delay=1.0))
    model_server.default = answer_with(echo_tokens)
    with caplog.at_level(logging.INFO):
        await sandbox.send(sandbox.general, "Ada, first question q1")
        await sandbox.wait_until(lambda: model_server.requests, 10, "the first request")
        for author, text in (
            (sandbox.bob, f"Ada, what about q2? {FAKE} asked too"),
            (carol, "Ada, what about q3?"),
            (sandbox.alice, "Ada, what about q4?"),
        ):
            await sandbox.send(sandbox.general, text, author=author)
        rows = await _memories_once(bot, 4, "the four exchanges recorded")
    posts = [sandbox.state.messages[p.id].content for p in persona_posts(sandbox, "Ada")]
    assert posts == ["Answering q1.", "Answering q2, q3, q4."], posts
    by_token = {token: m for m in rows for token in ("q1", "q2", "q3", "q4") if token in m.content}
    assert len(rows) == 4 and set(by_token) == {"q1", "q2", "q3", "q4"}
    assert {token: m.source_user_id for token, m in by_token.items()} == {
        "q1": sandbox.alice.id,
        "q2": sandbox.bob.id,
        "q3": carol.id,
        "q4": sandbox.alice.id,
    }
    names = {"q2": "bob", "q3": "carol", "q4": "alice"}
    for token, own in names.items():
        text = by_token[token].content.casefold()
        others = [name for name in names.values() if name != own]
        assert not [t for t in names if t != token and t in text], text  # no one else's words
        assert not [name for name in others if name in text], text  # and no one else's name
        assert "answering" not in text  # the folded reply is not kept
    assert "9999999999" not in by_token["q2"].content
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_persona_answers_the_next_message_while_another_persona_is_still_speaking(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_server: FakeModelServer
) -> None:
    """Ada and Bea are both asked; the model is slow for Ada. Bea answers, then answers Bob's next message, while
    Ada is still thinking: Bea's turn is never held by Ada's reply."""
    monkeypatch.chdir(tmp_path)

    def slow_for_ada(body: dict[str, Any]) -> float:
        system = next(m["content"] for m in body["messages"] if m["role"] == "system")
        return 4.0 if "You are Ada," in system else 0.0

    model_server.default = answer_with(echo_tokens, pause=slow_for_ada)
    async with bot_on(sandbox, tmp_path / "bot.db", model_server) as bot:
        await persona_in(bot, sandbox, "Ada")
        await persona_in(bot, sandbox, "Bea")
        await sandbox.send(sandbox.general, "Ada and Bea, hello q1")
        await sandbox.wait_until(lambda: persona_posts(sandbox, "Bea"), 3, "Bea's first answer")
        await sandbox.send(sandbox.general, "Bea, and q2?", author=sandbox.bob)
        await sandbox.wait_until(lambda: len(persona_posts(sandbox, "Bea")) >= 2, 3, "Bea's second answer")
        assert persona_posts(sandbox, "Ada") == []  # still thinking
        await sandbox.wait_until(lambda: persona_posts(sandbox, "Ada"), 10, "Ada's answer")
        bea = [sandbox.state.messages[p.id].content for p in persona_posts(sandbox, "Bea")]
        assert bea == ["Answering q1.", "Answering q2."], bea
