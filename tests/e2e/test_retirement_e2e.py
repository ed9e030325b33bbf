"""Retirement end to end: the real bot against the sandbox, with a real SQLite file and the real scheduler.

- A ceremony scheduled a few seconds ahead with ``/retire plan``, the bot stopped before it, the time passing while it
  is down, the bot restarted: the ceremony runs once (the scheduler's misfire grace), and the channel shows the
  farewell under the persona's name (its webhook), followed by the ceremony embed with the life mood chart.
- The same ceremony fired twice at once (two schedulers by mistake) makes one ceremony.
- The inactivity trigger fires from a controllable clock (the sweep job with ``now_iso``).
- ``/retire now`` with its confirmation; ``/legacy`` per the archive access, with a refusal for others; the research
  export holds no person's id or name.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import PersonaHubBot
from bot.clock import utcnow
from bot.db import models
from bot.runtime import scheduling
from bot.sandbox import Sandbox
from bot.sandbox.harness import Posted
from bot.services import bindings, personas
from bot.services.personas import Actor, PersonaInput
from tests.support.bots import bot_on

pytestmark = pytest.mark.e2e

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def make_persona(bot: PersonaHubBot, sandbox: Sandbox, name: str = "Ada") -> int:
    actor = Actor(sandbox.alice.id, sandbox.guild.id)
    async with bot.db.transaction() as session:
        record = await personas.create(
            session, actor, PersonaInput(name=name, description="A kind librarian."), now=utcnow()
        )
        await bindings.activate(
            session, actor, record.id, sandbox.general.id, channel_guild_id=sandbox.guild.id, now=utcnow()
        )
    return record.id


async def status_of(bot: PersonaHubBot, persona_id: int) -> str:
    async with bot.db.session() as session:
        return (await personas.get(session, persona_id)).status


def persona_posts(sandbox: Sandbox, name: str = "Ada") -> list[Posted]:
    return [p for p in sandbox.history(sandbox.personas) if p.author == name and p.webhook_id is not None]


def ceremony_posts(sandbox: Sandbox, name: str = "Ada") -> list[Posted]:
    return [
        p for p in sandbox.history(sandbox.personas) if p.embeds and p.embeds[0].get("title") == f"In memory of {name}"
    ]


async def plan_by_form(sandbox: Sandbox, persona_id: int, **options: object) -> Posted:
    """``/retire plan`` with options, a choice in each select, the details modal, then Save."""
    form = await (await sandbox.slash("retire plan", persona=str(persona_id), **options)).message(timeout=10)
    assert form.embeds[0]["title"] == "Plan Ada's retirement"
    await (await sandbox.select(form, ["important"], custom_id="retire:archival")).response()
    await (await sandbox.select(form, ["followers"], custom_id="retire:access")).response()
    await (
        await sandbox.select(
            form,
            ["achievements", "timeline", "research", "show:lifespan", "show:conversations", "show:mood_chart"],
            custom_id="retire:extras",
        )
    ).response()
    opened = await sandbox.click(form, label="Farewell & retention…")
    await (await sandbox.submit_modal(opened, retention="30", threshold="6", ceremony_days="2")).response()
    saved = await sandbox.click(form, label="Save plan")
    await saved.response()
    return sandbox.posted(sandbox.state.messages[form.id])


# --------------------------------------------------------------------------------------------------- tests


async def test_a_ceremony_missed_while_the_bot_was_down_runs_once_after_restart(
    sandbox: Sandbox, database_file: Path
) -> None:
    async with bot_on(sandbox, database_file, scheduler=True) as bot:
        persona_id = await make_persona(bot, sandbox)
        when = utcnow() + timedelta(seconds=6)
        saved = await plan_by_form(
            sandbox, persona_id, when=when.isoformat(timespec="seconds"), channel=sandbox.personas
        )
        assert saved.embeds[0]["title"] == "Retirement planned: Ada", saved.embeds[0]
        assert bot.scheduler is not None
        job = bot.scheduler.get_job(f"retire:ceremony:{persona_id}")
        assert job is not None and job.next_run_time is not None
    # The bot is down while the time passes.
    with sqlite3.connect(database_file) as connection:
        stored = {row[0] for row in connection.execute("SELECT id FROM apscheduler_jobs")}
    assert f"retire:ceremony:{persona_id}" in stored
    await asyncio.sleep(max(0.0, (when - utcnow()).total_seconds()) + 1.5)
    assert persona_posts(sandbox) == []

    async with bot_on(sandbox, database_file, scheduler=True) as bot:
        farewell = await sandbox.wait_for_message(sandbox.personas, author="Ada", timeout=30)
        await sandbox.wait_until(lambda: ceremony_posts(sandbox), 30, "the ceremony embed")
        await sandbox.wait_until(lambda: sandbox.dms(sandbox.alice), 15, "the result in the owner's DMs")
        assert farewell.webhook_id is not None and farewell.content
        ceremony = ceremony_posts(sandbox)[0]
        assert ceremony.id > farewell.id
        names = {f["name"] for f in ceremony.embeds[0]["fields"]}
        assert names == {"Life span", "Conversations"}
        # The farewell, the ceremony and the legacy tell one count (the farewell itself is not a conversation).
        counted = next(f["value"] for f in ceremony.embeds[0]["fields"] if f["name"] == "Conversations")
        assert f" {counted} conversation" in farewell.content, (counted, farewell.content)
        assert ceremony.attachments and ceremony.attachments[0].data.startswith(PNG_MAGIC)
        assert await status_of(bot, persona_id) == "retired"
        async with bot.db.session() as session:
            assert await bindings.channels_of(session, persona_id) == ()
            archive = (await session.execute(select(models.LegacyArchive))).scalar_one()
        assert archive.archive_access == "followers"
        assert archive.snapshot["ceremony"]["farewell_message_id"] == farewell.id
        assert archive.snapshot["stats"]["conversations"] == int(counted.replace(",", ""))
        # The missed job ran (and is gone); the start-up sweep finds nothing more to do.
        assert bot.scheduler is not None and bot.scheduler.get_job(f"retire:ceremony:{persona_id}") is None
        assert (await scheduling.check_retirement_triggers())["ran"] == []
        await asyncio.sleep(0.5)
    assert len(persona_posts(sandbox)) == 1 and len(ceremony_posts(sandbox)) == 1


async def test_two_firings_of_one_ceremony_make_one_ceremony(sandbox: Sandbox, database_file: Path) -> None:
    async with bot_on(sandbox, database_file, scheduler=True) as bot:
        persona_id = await make_persona(bot, sandbox)
        when = utcnow() + timedelta(hours=1)
        await plan_by_form(sandbox, persona_id, when=when.isoformat(timespec="seconds"), channel=sandbox.personas)
        async with bot.db.session() as session:
            row = (await session.execute(select(models.RetirementPlan))).scalar_one()
        at = row.scheduled_for.isoformat()
        results = await asyncio.gather(
            scheduling.run_retirement_ceremony(persona_id, at), scheduling.run_retirement_ceremony(persona_id, at)
        )
        assert sorted(r["ran"] for r in results) == [False, True]
        await sandbox.wait_until(lambda: ceremony_posts(sandbox), 15, "the ceremony embed")
        # A third firing, later (a retry, a restart), changes nothing either.
        assert (await scheduling.run_retirement_ceremony(persona_id, at))["ran"] is False
        await asyncio.sleep(0.5)
        assert len(persona_posts(sandbox)) == 1 and len(ceremony_posts(sandbox)) == 1
        async with bot.db.session() as session:
            events = await session.execute(select(models.TimelineEvent).where(models.TimelineEvent.kind == "retired"))
            assert len(events.scalars().all()) == 1


async def test_inactivity_trigger_fires_from_a_controllable_clock(sandbox: Sandbox, database_file: Path) -> None:
    async with bot_on(sandbox, database_file, scheduler=True) as bot:
        persona_id = await make_persona(bot, sandbox)
        await plan_by_form(sandbox, persona_id, inactivity_days=3, channel=sandbox.personas)
        now = utcnow()
        quiet = await scheduling.check_retirement_triggers((now + timedelta(days=2)).isoformat())
        assert quiet["due"] == [] and await status_of(bot, persona_id) == "active"
        fired = await scheduling.check_retirement_triggers((now + timedelta(days=3, minutes=1)).isoformat())
        assert fired["ran"] == [persona_id]
        farewell = await sandbox.wait_for_message(sandbox.personas, author="Ada", timeout=15)
        assert farewell.webhook_id is not None
        assert await status_of(bot, persona_id) == "retired"


async def test_retire_now_then_legacy_per_access(sandbox: Sandbox, database_file: Path) -> None:
    async with bot_on(sandbox, database_file) as bot:
        persona_id = await make_persona(bot, sandbox)
        async with bot.db.transaction() as session:
            session.add(
                models.Memory(
                    persona_id=persona_id, content="bob taught me chess", importance=8, source_user_id=sandbox.bob.id
                )
            )
        # A channel the bot cannot post in is refused at once.
        hidden = sandbox.add_channel("hidden")
        sandbox.set_permissions(hidden, sandbox.bot_role, deny=0x400)  # VIEW_CHANNEL
        refused = await (await sandbox.slash("retire plan", persona=str(persona_id), channel=hidden)).message(
            timeout=10
        )
        assert "cannot post in that channel" in refused.content

        await plan_by_form(sandbox, persona_id, channel=sandbox.personas)
        shown = await (await sandbox.slash("retire show", persona=str(persona_id))).message(timeout=10)
        assert "followers" in json.dumps(shown.embeds[0])

        asked = await (await sandbox.slash("retire now", persona=str(persona_id))).message(timeout=10)
        assert asked.embeds[0]["title"] == "Retire Ada now?"
        confirmed = await sandbox.click(asked, label="Retire now")
        await confirmed.response()
        await sandbox.wait_until(
            lambda: sandbox.state.messages[asked.id].embeds[0].get("title") == "Ada has retired", 20, "the result"
        )
        assert len(persona_posts(sandbox)) == 1 and await status_of(bot, persona_id) == "retired"

        # Read-only: the persona cannot be switched on again.
        again = await (await sandbox.slash("persona activate", persona=str(persona_id))).message(timeout=10)
        assert "retired" in again.content

        # Followers only: the owner reads it, bob is refused, then bob follows and reads it.
        own = await (await sandbox.slash("legacy", persona="Ada")).message(timeout=10)
        assert own.embeds[0]["title"] == "The legacy of Ada"
        refusal = await (await sandbox.slash("legacy", persona="Ada", as_user=sandbox.bob)).message(timeout=10)
        assert refusal.content == "The legacy of Ada is open to its followers only."
        async with bot.db.transaction() as session:
            session.add(models.Follow(persona_id=persona_id, user_id=sandbox.bob.id, guild_id=sandbox.guild.id))
        granted = await (await sandbox.slash("legacy", persona="Ada", as_user=sandbox.bob)).message(timeout=10)
        assert granted.embeds[0]["title"] == "The legacy of Ada"

        # The research export names nobody.
        handle = await sandbox.slash("legacy", persona="Ada", research=True, as_user=sandbox.bob)
        export = await handle.message(timeout=15)
        data = export.attachments[0].data.decode()
        document = json.loads(data)
        assert document["format"] == "persona-hub-research" and document["memories"]
        for forbidden in (str(sandbox.alice.id), str(sandbox.bob.id), "alice", "bob", "Alice", "Bob"):
            assert forbidden not in data, forbidden
        assert document["memories"][0]["content"] == "[person] taught me chess"
