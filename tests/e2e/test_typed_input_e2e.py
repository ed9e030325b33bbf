"""What people type reaches both databases the same way: NUL characters, ids past 64 bits, digits int() refuses.

The real bot against the sandbox, on a SQLite file and on PostgreSQL (which refuses a NUL in text that SQLite keeps).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import PersonaHubBot
from bot.clock import utcnow
from bot.config import load_settings
from bot.db import models
from bot.sandbox import Sandbox
from bot.services import bindings, consent, personas
from bot.services.personas import Actor, PersonaInput
from tests.conftest import _empty_all_tables

pytestmark = pytest.mark.e2e


@pytest.fixture
async def bot(sandbox: Sandbox, database_url: str) -> AsyncIterator[PersonaHubBot]:
    """The real bot on the database, in the sandbox (no scheduler: nothing changes rows behind a test's back)."""
    settings = load_settings(database_url=database_url, scheduler_enabled=False, discord_token=sandbox.token)
    client = PersonaHubBot(settings)
    async with client, sandbox.run_client(client, timeout=30):
        try:
            yield client
        finally:
            if client.db.kind == "postgresql":
                await _empty_all_tables(client.db)


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def errors() -> Iterator[list[logging.LogRecord]]:
    """Every record logged at ERROR or above, by any logger, while the test runs."""
    collector = _Collector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield collector.records
    finally:
        root.removeHandler(collector)


def logged_errors(records: list[logging.LogRecord]) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in records if r.levelno >= logging.ERROR]


async def make_persona(bot: PersonaHubBot, sandbox: Sandbox, name: str = "Ada", *, active: bool = False) -> int:
    actor = Actor(sandbox.alice.id, sandbox.guild.id)
    async with bot.db.transaction() as session:
        record = await personas.create(
            session, actor, PersonaInput(name=name, behavior={"cooldown_seconds": 0, "chattiness": 0}), now=utcnow()
        )
        if active:
            await bindings.activate(
                session, actor, record.id, sandbox.general.id, channel_guild_id=sandbox.guild.id, now=utcnow()
            )
    return record.id


async def test_chat_with_a_nul_is_answered_and_recorded_without_it(
    sandbox: Sandbox, bot: PersonaHubBot, errors: list[logging.LogRecord]
) -> None:
    persona_id = await make_persona(bot, sandbox, active=True)
    async with bot.db.transaction() as session:
        await consent.record(
            session, user_id=sandbox.alice.id, guild_id=sandbox.guild.id, granted=True,
            recorded_by=sandbox.alice.id, now=utcnow(),
        )  # fmt: skip
    sent = await sandbox.send(sandbox.general, "Ada, I love sail\x00ing on the lake!")
    reply = await sandbox.wait_for_message(sandbox.general, author="Ada", after=sent, timeout=10)
    for _ in range(200):
        async with bot.db.session() as session:
            recorded = (
                await session.execute(select(models.PersonaMessage).where(models.PersonaMessage.message_id == reply.id))
            ).scalar_one_or_none()
            memories = (
                (await session.execute(select(models.Memory).where(models.Memory.persona_id == persona_id)))
                .scalars()
                .all()
            )
        if recorded is not None and memories:
            break
        await asyncio.sleep(0.05)
    assert recorded is not None, "the reply was never recorded"
    assert memories and all("\x00" not in m.content for m in memories)
    assert any("sailing" in m.content for m in memories)
    assert logged_errors(errors) == []


async def table_dump(bot: PersonaHubBot) -> dict[str, list[str]]:
    """Every row of every table of the schema, as sorted text (to compare before and after)."""
    dump: dict[str, list[str]] = {}
    async with bot.db.session() as session:
        for table in models.metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            dump[table.name] = sorted(repr(tuple(row)) for row in rows)
    return dump


HUGE = "9" * 30  # past 64 bits: no id can be this


@pytest.mark.parametrize(
    ("command", "options", "expected"),
    [
        # NUL in a name: refused on both databases (PostgreSQL raised on it; SQLite stored it).
        ("persona clone", {"persona": "Ada", "name": "Ev\x00e"}, "NUL"),
        (
            "behavior add",
            {
                "persona": "Ada",
                "name": "gr\x00eet",
                "trigger": "keywords",
                "trigger_value": "hi",
                "action": "reply",
                "action_value": "hello",
            },
            "NUL",
        ),
        ("memory search", {"persona": "Ada", "query": "sail\x00ing"}, "NUL"),
        # An id past 64 bits is not found (both databases overflowed).
        ("persona show", {"persona": HUGE}, "found no persona"),
        ("memory forget", {"persona": "Ada", "memory": HUGE}, "Choose a memory"),
        # Digits int() refuses ('²' passes str.isdigit): not found, or asked again.
        ("persona show", {"persona": "²"}, "found no persona"),
        ("memory pin", {"persona": "Ada", "memory": "²"}, "Choose a memory"),
        ("mood feedback", {"persona": "Ada", "event": "²", "verdict": "right"}, "Pick the event"),
        ("mood feedback", {"persona": "Ada", "event": HUGE, "verdict": "right"}, "Pick the event"),
        # Services that look up what was typed (a retired persona, a behaviour) read ids the same way.
        ("legacy", {"persona": "²"}, "found no retired persona"),
        ("legacy", {"persona": HUGE}, "found no retired persona"),
        ("behavior remove", {"persona": "Ada", "name": "²"}, "no behaviour called"),
    ],
)
async def test_typed_options_get_a_clear_ephemeral_sentence_and_change_nothing(
    sandbox: Sandbox,
    bot: PersonaHubBot,
    errors: list[logging.LogRecord],
    command: str,
    options: dict[str, Any],
    expected: str,
) -> None:
    await make_persona(bot, sandbox)
    before = await table_dump(bot)
    answer = await (await sandbox.slash(command, **options)).message()
    assert answer.ephemeral and expected in answer.content, answer.content
    assert "Something went wrong" not in answer.content
    assert await table_dump(bot) == before
    assert logged_errors(errors) == []


async def test_forms_answer_what_they_cannot_read_with_a_sentence_and_keep_nothing(
    sandbox: Sandbox, bot: PersonaHubBot, errors: list[logging.LogRecord]
) -> None:
    persona_id = await make_persona(bot, sandbox, active=True)
    # The retirement form's numbers: '²' passed str.isdigit and int() raised, so the form got no answer at all.
    form = await (await sandbox.slash("retire plan", persona=str(persona_id))).message(timeout=10)
    opened = await sandbox.click(form, label="Farewell & retention…")
    answer = await (await sandbox.submit_modal(opened, retention="²")).message()
    assert answer.ephemeral and answer.content.startswith("The retention must be a whole number"), answer.content
    opened = await sandbox.click(form, label="Farewell & retention…")
    answer = await (await sandbox.submit_modal(opened, farewell="Good\x00bye")).message()
    assert answer.ephemeral and "NUL" in answer.content, answer.content
    # The wizard's basic info: a NUL in the name went into the draft (PostgreSQL's JSON refuses it).
    started = await (await sandbox.slash("persona create")).message()
    before = await table_dump(bot)
    opened = await sandbox.click(started, label="Edit basic info")
    answer = await (await sandbox.submit_modal(opened, name="Ev\x00e")).message()
    assert answer.ephemeral and "NUL" in answer.content, answer.content
    assert await table_dump(bot) == before
    assert logged_errors(errors) == []


async def test_autocomplete_and_the_dm_wizard_treat_a_nul_like_the_commands_do(
    sandbox: Sandbox, bot: PersonaHubBot, errors: list[logging.LogRecord]
) -> None:
    await make_persona(bot, sandbox)
    # Autocomplete looked the typed prefix up as it was (PostgreSQL raised): now nothing is offered for it.
    assert await sandbox.autocomplete("persona show", "persona", "A\x00") == []
    assert [c["name"] for c in await sandbox.autocomplete("persona show", "persona", "A")] == ["Ada"]
    # The wizard as a DM chat: a typed name with a NUL is refused there as in the form.
    dm = await sandbox.open_dm(sandbox.alice)
    await (await sandbox.slash("persona create", in_channel=dm)).message()
    before = await table_dump(bot)
    sent = await sandbox.send(dm, "No\x00va")
    reply = await sandbox.wait_for_message(dm, after=sent)
    assert "NUL" in reply.content, reply.content
    assert await table_dump(bot) == before
    assert logged_errors(errors) == []
