"""``/memory search`` pages past the first ten (issue 20): "Next" / "Previous" buttons whose custom ids carry the
persona and the page, so a search shown before a restart still pages; every page explains each result's parts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.app import PersonaHubBot
from bot.clock import utcnow
from bot.config import load_settings
from bot.sandbox import Sandbox
from bot.sandbox.harness import Posted
from bot.services import memories, personas
from bot.services.personas import Actor, PersonaInput
from tests.conftest import _empty_all_tables

pytestmark = pytest.mark.e2e


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


@asynccontextmanager
async def started(sandbox: Sandbox, database_url: str) -> AsyncIterator[PersonaHubBot]:
    """The real bot on ``database_url``; started again on the same database, it is a new process after a restart."""
    settings = load_settings(database_url=database_url, scheduler_enabled=False, discord_token=sandbox.token)
    client = PersonaHubBot(settings)
    async with client, sandbox.run_client(client, timeout=30):
        yield client


async def store(bot: PersonaHubBot, sandbox: Sandbox) -> tuple[list[int], list[int]]:
    """Ada with 23 memories about kites (kite number n says "kite" n + 1 times: the more, the better the match)
    and 4 recent, important ones about nothing of the sort."""
    actor = Actor(sandbox.alice.id, sandbox.guild.id)
    now = utcnow()
    async with bot.db.transaction() as session:
        ada = (await personas.create(session, actor, PersonaInput(name="Ada"), now=now)).id
        kites = []
        for n in range(23):
            record = await memories.capture(
                session, ada, content=f"kite number {n} " + "kite " * n, category="conversation", importance=3,
                source_user_id=4242, source_channel_id=1, source_message_id=2, now=now - timedelta(days=30),
            )  # fmt: skip
            kites.append(record.id)
        others = []
        for n in range(4):
            record = await memories.capture(
                session, ada, content=f"breakfast was good, day {n}", category="conversation", importance=10,
                source_user_id=4242, source_channel_id=1, source_message_id=2, now=now,
            )  # fmt: skip
            others.append(record.id)
    return kites, others


@dataclass(frozen=True)
class Page:
    """What a search message showed at one moment (the message itself changes as it pages)."""

    ids: list[int]
    names: list[str]
    values: list[str]
    footer: str
    buttons: list[str]


def page_of(message: Posted) -> Page:
    fields = message.embeds[0]["fields"]
    return Page(
        ids=[int(field["name"].split("#")[1].split(" ")[0]) for field in fields],
        names=[field["name"] for field in fields],
        values=[field["value"] for field in fields],
        footer=message.embeds[0]["footer"]["text"],
        buttons=[button["label"] for button in message.buttons()],
    )


async def test_search_pages_past_ten_and_the_buttons_work_after_a_restart(
    sandbox: Sandbox, database_url: str, cleanup: None
) -> None:
    async with started(sandbox, database_url) as bot:
        kites, others = await store(bot, sandbox)
        shown = await (
            await sandbox.slash("memory search", persona="Ada", query="kites and a kite", order="prompt")
        ).message()
        first = page_of(shown)
    # Page 1: the ten best matches; the recent, important memories that share no word come after every match.
    assert len(first.ids) == 10 and set(first.ids) <= set(kites)
    assert first.footer == "Page 1 · results 1–10 · query: kites and a kite"
    assert first.buttons == ["Next"]
    assert first.names[0].startswith("1. #") and "found by words #1" in first.values[0]

    async with started(sandbox, database_url):  # a new process: the button still pages
        second = page_of(await (await sandbox.click(shown, label="Next")).message())
        assert second.footer == "Page 2 · results 11–20 · query: kites and a kite"
        assert second.buttons == ["Previous", "Next"] and second.names[0].startswith("11. #")
        third = page_of(await (await sandbox.click(shown, label="Next")).message())
        back = page_of(await (await sandbox.click(shown, label="Previous")).message())

    # Page 3: the last three matches, then the four that match nothing, explained as such; no page 4.
    assert third.names[0].startswith("21. #") and third.footer == "Page 3 · results 21–27 · query: kites and a kite"
    assert set(first.ids + second.ids + third.ids[:3]) == set(kites)
    assert set(third.ids[3:]) == set(others)
    assert "relevance 0 (no content word in common" in third.values[3]
    assert third.buttons == ["Previous"]
    assert back == second
    assert len(set(first.ids + second.ids + third.ids)) == 27  # no memory shown twice
