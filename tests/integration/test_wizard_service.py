"""Wizard drafts, channel bindings and cloning on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.db import models
from bot.db.engine import Database
from bot.services import bindings, personas
from bot.services import wizard as wizard_service
from bot.services.personas import Actor

GUILD = 111_111_111_111_111_111
OTHER_GUILD = 222_222_222_222_222_222
CHANNEL = 333_333_333_333_333_333
ALICE = Actor(user_id=900_000_000_000_000_001, guild_id=GUILD)
BOB = Actor(user_id=900_000_000_000_000_002, guild_id=GUILD)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def drive_to_review(db: Database, draft_id: int, actor: Actor = ALICE) -> wizard_service.Draft:
    steps: list[tuple[str, str | None, object]] = [
        ("basics", None, {"name": "Ada", "description": "Helper"}),
        ("next", None, None),
        ("template", "calm-listener", None),
        ("next", None, None),
        ("memory-preset", "light", None),
        ("next", None, None),
        ("next", None, None),
        ("next", None, None),
    ]
    draft = None
    for action, arg, values in steps:
        async with db.transaction() as session:
            outcome = await wizard_service.act(session, actor, draft_id, action, arg, values, now=NOW)  # type: ignore[arg-type]
        draft = outcome.draft
    assert draft is not None and draft.step == 6
    return draft


async def count(db: Database, model: object) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())  # type: ignore[arg-type]


async def test_a_draft_becomes_a_persona_and_disappears(database: Database) -> None:
    async with database.transaction() as session:
        draft = await wizard_service.start(session, ALICE, channel_id=CHANNEL, now=NOW)
    assert draft.step == 1 and draft.expires_at == NOW + timedelta(hours=24)
    await drive_to_review(database, draft.id)
    async with database.transaction() as session:
        outcome = await wizard_service.act(session, ALICE, draft.id, "create", now=NOW)
    assert outcome.created and outcome.persona is not None and outcome.persona.name == "Ada"
    assert outcome.persona.memory_config["hot_memory_size"] == 20  # the light preset
    assert await count(database, models.WizardDraft) == 0


async def test_only_the_owner_acts_and_errors_change_nothing(database: Database) -> None:
    async with database.transaction() as session:
        draft = await wizard_service.start(session, ALICE, channel_id=CHANNEL, now=NOW)
    with pytest.raises(PermissionDenied, match="belongs to someone else"):
        async with database.transaction() as session:
            await wizard_service.act(session, BOB, draft.id, "basics", values={"name": "Bob's"}, now=NOW)
    with pytest.raises(DomainError, match="needs a name"):
        async with database.transaction() as session:
            await wizard_service.act(session, ALICE, draft.id, "next", now=NOW)
    with pytest.raises(DomainError, match="cannot contain '@'"):
        async with database.transaction() as session:
            await wizard_service.act(session, ALICE, draft.id, "basics", values={"name": "@everyone"}, now=NOW)
    async with database.session() as session:
        same = await wizard_service.get(session, draft.id, ALICE.user_id, now=NOW)
    assert same.step == 1 and same.data == draft.data


async def test_drafts_expire_resume_and_are_replaced(database: Database) -> None:
    async with database.transaction() as session:
        first = await wizard_service.start(session, ALICE, channel_id=CHANNEL, now=NOW)
        await wizard_service.act(session, ALICE, first.id, "basics", values={"name": "Ada"}, now=NOW)
    later = NOW + timedelta(hours=23)
    async with database.session() as session:
        waiting = await wizard_service.resumable(session, ALICE, now=later)
        assert waiting is not None and waiting.id == first.id and waiting.data["name"] == "Ada"
        assert await wizard_service.resumable(session, BOB, now=later) is None
        assert await wizard_service.resumable(session, ALICE, now=NOW + timedelta(hours=25)) is None
    with pytest.raises(NotFound, match="expired"):
        async with database.transaction() as session:
            await wizard_service.act(session, ALICE, first.id, "next", now=NOW + timedelta(hours=25))
    async with database.transaction() as session:
        second = await wizard_service.start(session, ALICE, channel_id=CHANNEL, now=later)
    assert second.id != first.id and await count(database, models.WizardDraft) == 1


async def test_edit_saves_through_update(database: Database) -> None:
    async with database.transaction() as session:
        draft = await wizard_service.start(session, ALICE, channel_id=CHANNEL, now=NOW)
    await drive_to_review(database, draft.id)
    async with database.transaction() as session:
        created = (await wizard_service.act(session, ALICE, draft.id, "create", now=NOW)).persona
        assert created is not None
        editing = await wizard_service.start_edit(session, ALICE, created.id, channel_id=CHANNEL, now=NOW)
        with pytest.raises(PermissionDenied):
            await wizard_service.start_edit(session, BOB, created.id, channel_id=CHANNEL, now=NOW)
    assert editing.step == 6 and editing.data["name"] == "Ada" and editing.data["memory_preset"] == "light"
    async with database.transaction() as session:
        await wizard_service.act(session, ALICE, editing.id, "goto", "1", now=NOW)
        await wizard_service.act(session, ALICE, editing.id, "basics", values={"name": "Ada Prime"}, now=NOW)
        outcome = await wizard_service.act(session, ALICE, editing.id, "create", now=NOW)
    assert not outcome.created and outcome.persona is not None and outcome.persona.id == created.id
    assert outcome.persona.name == "Ada Prime" and await count(database, models.Persona) == 1


async def test_limit_override_and_clone(database: Database) -> None:
    async with database.transaction() as session:
        draft = await wizard_service.start(session, ALICE, channel_id=CHANNEL, now=NOW)
    await drive_to_review(database, draft.id)
    async with database.transaction() as session:
        ada = (await wizard_service.act(session, ALICE, draft.id, "create", now=NOW)).persona
        assert ada is not None
        session.add(models.Memory(persona_id=ada.id, content="kept"))
        twin = await wizard_service.clone(session, ALICE, ada.id, "Ada Two", now=NOW)
        with pytest.raises(PermissionDenied):
            await wizard_service.clone(session, BOB, ada.id, "Mine", now=NOW)
    assert (
        twin.traits == ada.traits
        and twin.behavior == ada.behavior
        and twin.memory_config
        == {
            **ada.memory_config,
            "last_decay_run": twin.memory_config["last_decay_run"],
        }
    )
    async with database.session() as session:
        memories = (
            await session.execute(
                select(func.count()).select_from(models.Memory).where(models.Memory.persona_id == twin.id)
            )
        ).scalar_one()
    assert memories == 0
    async with database.transaction() as session:
        session.add(models.GuildSettings(guild_id=GUILD, max_personas_per_user=2))
    async with database.session() as session:
        assert await wizard_service.persona_limit(session, GUILD, 10) == 2
        assert await wizard_service.persona_limit(session, OTHER_GUILD, 10) == 10
    with pytest.raises(DomainError, match="already have 2 personas"):
        async with database.transaction() as session:
            await wizard_service.start(session, ALICE, channel_id=CHANNEL, now=NOW)


async def test_bindings_rules(database: Database) -> None:
    async with database.transaction() as session:
        ada = await personas.create(session, ALICE, personas.PersonaInput(name="Ada"), now=NOW)
    async with database.transaction() as session:
        on = await bindings.activate(session, ALICE, ada.id, CHANNEL, channel_guild_id=GUILD, now=NOW)
        again = await bindings.activate(session, ALICE, ada.id, CHANNEL, channel_guild_id=GUILD, now=NOW)
    assert on.changed and on.is_active and on.channel_ids == (CHANNEL,) and not again.changed
    for actor, kwargs, error in (
        (BOB, {"channel_guild_id": GUILD}, PermissionDenied),
        (ALICE, {"channel_guild_id": OTHER_GUILD}, DomainError),
        (ALICE, {"channel_guild_id": None}, DomainError),
    ):
        with pytest.raises(error):
            async with database.transaction() as session:
                await bindings.deactivate(session, actor, ada.id, CHANNEL, now=NOW, **kwargs)  # type: ignore[arg-type]
    assert await count(database, models.ChannelBinding) == 1
    async with database.transaction() as session:
        off = await bindings.deactivate(
            session, BOB, ada.id, CHANNEL, channel_guild_id=GUILD, can_manage_channel=True, now=NOW
        )
    assert off.changed and not off.is_active and off.channel_ids == ()
    async with database.transaction() as session:
        row = await session.get(models.Persona, ada.id)
        assert row is not None
        row.status = "retired"
    with pytest.raises(DomainError, match="retired"):
        async with database.transaction() as session:
            await bindings.activate(session, ALICE, ada.id, CHANNEL, channel_guild_id=GUILD, now=NOW)
    assert await count(database, models.ChannelBinding) == 0


async def test_a_name_already_taken_is_refused_at_step_one_not_at_create(database: Database) -> None:
    async with database.transaction() as session:
        draft = await wizard_service.start(session, ALICE, channel_id=CHANNEL, now=NOW)
    await drive_to_review(database, draft.id)
    async with database.transaction() as session:
        await wizard_service.act(session, ALICE, draft.id, "create", now=NOW)
        second = await wizard_service.start(session, ALICE, channel_id=CHANNEL, now=NOW)
    with pytest.raises(DomainError, match="already have a persona called 'ada' here"):
        async with database.transaction() as session:
            await wizard_service.act(
                session, ALICE, second.id, "basics", None, {"name": "ada", "description": "x"}, now=NOW
            )
    async with database.session() as session:
        kept = await wizard_service.get(session, second.id, ALICE.user_id, now=NOW)
    assert kept.step == 1 and not kept.data.get("name")  # nothing was saved
    # Bob may use the name; and an edit keeps its own name.
    async with database.transaction() as session:
        bobs = await wizard_service.start(session, BOB, channel_id=CHANNEL, now=NOW)
        await wizard_service.act(session, BOB, bobs.id, "basics", None, {"name": "Ada", "description": "x"}, now=NOW)
