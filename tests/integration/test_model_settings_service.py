"""A persona's model settings on SQLite and PostgreSQL: the round trip, the API key encrypted at rest (the raw
column is read), the owner-only rule, the server's allowances enforced by the service and applied where the persona
speaks, and the conversation's cast carrying the settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot.core.errors import DomainError, PermissionDenied
from bot.core.model_settings import ModelAllowances, ModelChoice
from bot.db.engine import Database
from bot.services import bindings, conversation, crypto, guild_settings, model_settings, personas
from bot.services.model_servers import check_server_url
from bot.services.model_settings import ModelUpdate
from bot.services.personas import Actor, PersonaInput

GUILD = 222_222_222_222_222_222
OWNER = 111_111_111_111_111_111
STRANGER = 999_999_999_999_999_999
CHANNEL = 444_444_444_444_444_444
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
KEY = crypto.generate_key()
SECRET = "sk-very-secret-key-123"


async def make_persona(database: Database) -> int:
    actor = Actor(OWNER, GUILD)
    async with database.transaction() as session:
        record = await personas.create(session, actor, PersonaInput(name="Ada"), now=NOW)
        await bindings.activate(session, actor, record.id, CHANNEL, channel_guild_id=GUILD, now=NOW)
    return record.id


async def update(database: Database, persona_id: int, change: ModelUpdate, *, user: int = OWNER, key: str | None = KEY):
    async with database.transaction() as session:
        return await model_settings.update(session, Actor(user, GUILD), persona_id, change, encryption_key=key, now=NOW)


async def allow(database: Database, models: list[str] | None = None, own_servers: bool | None = None) -> None:
    async with database.transaction() as session:
        await guild_settings.set_model_allowances(
            session, guild_id=GUILD, can_manage_guild=True, models_allowed=models, own_servers=own_servers, now=NOW
        )


async def raw_row(database: Database, persona_id: int) -> tuple | None:
    async with database.session() as session:
        found = await session.execute(
            text("SELECT model, temperature, base_url, api_key_encrypted FROM persona_models WHERE persona_id = :p"),
            {"p": persona_id},
        )
        return found.first()


async def test_settings_round_trip_and_the_key_is_encrypted_at_rest(database: Database) -> None:
    persona_id = await make_persona(database)
    await allow(database, own_servers=True)
    server = await check_server_url("http://127.0.0.1:9/v1", allow_private=True)
    view = await update(
        database,
        persona_id,
        ModelUpdate(model="my-model", temperature=0.3, top_p=0.9, max_tokens=77, server=server, api_key=SECRET),
    )
    assert view.choice.model == "my-model" and view.choice.has_api_key and view.choice.base_url == server.url
    row = await raw_row(database, persona_id)
    assert row is not None and row[:3] == ("my-model", 0.3, "http://127.0.0.1:9/v1")
    assert row[3] and SECRET not in row[3]  # the column holds the ciphertext only
    assert crypto.decrypt(row[3], KEY) == SECRET
    async with database.session() as session:
        seen = await model_settings.view(session, Actor(OWNER, GUILD), persona_id)
    assert seen.choice == view.choice and model_settings.api_key_of(seen.choice, KEY) == SECRET
    with pytest.raises(DomainError, match="cannot be read"):
        model_settings.api_key_of(seen.choice, crypto.generate_key())
    # Partial changes keep the rest; "" clears the model; the server's change drops the key given for the old one.
    view = await update(database, persona_id, ModelUpdate(model="", presence_penalty=-1.0))
    assert view.choice.model is None and view.choice.temperature == 0.3 and view.choice.presence_penalty == -1.0
    other = await check_server_url("http://127.0.0.2:9/v1", allow_private=True)
    view = await update(database, persona_id, ModelUpdate(server=other))
    assert view.choice.base_url == other.url and not view.choice.has_api_key
    # Reset deletes the row.
    async with database.transaction() as session:
        view = await model_settings.reset(session, Actor(OWNER, GUILD), persona_id)
    assert view.choice == ModelChoice() and await raw_row(database, persona_id) is None


async def test_bad_input_is_refused_and_changes_nothing(database: Database) -> None:
    persona_id = await make_persona(database)
    await update(database, persona_id, ModelUpdate(model="kept", temperature=1.0))
    for change, sentence in (
        (ModelUpdate(temperature=3.0), "Temperature"),
        (ModelUpdate(model="two words"), "no spaces"),
        (ModelUpdate(api_key=SECRET), "goes with the persona's own server"),
    ):
        with pytest.raises(DomainError, match=sentence):
            await update(database, persona_id, change)
    with pytest.raises(PermissionDenied):
        await update(database, persona_id, ModelUpdate(temperature=0.1), user=STRANGER)
    with pytest.raises(PermissionDenied):
        async with database.session() as session:
            await model_settings.view(session, Actor(STRANGER, GUILD), persona_id)
    await allow(database, own_servers=True)
    server = await check_server_url("http://127.0.0.1:9/v1", allow_private=True)
    with pytest.raises(DomainError, match="MEMORY_ENCRYPTION_KEY"):
        await update(database, persona_id, ModelUpdate(server=server, api_key=SECRET), key=None)
    assert (await raw_row(database, persona_id)) == ("kept", 1.0, None, None)


async def test_the_admins_allowances_are_enforced_by_the_service_and_where_the_persona_speaks(
    database: Database,
) -> None:
    persona_id = await make_persona(database)
    server = await check_server_url("http://127.0.0.1:9/v1", allow_private=True)
    with pytest.raises(DomainError, match="another model server"):  # not allowed by default
        await update(database, persona_id, ModelUpdate(server=server))
    with pytest.raises(PermissionDenied):
        async with database.transaction() as session:
            await guild_settings.set_model_allowances(
                session, guild_id=GUILD, can_manage_guild=False, models_allowed=["a"], own_servers=True, now=NOW
            )
    await allow(database, models=["small-model", "big-model"], own_servers=True)
    async with database.session() as session:
        assert await model_settings.allowances(session, GUILD) == ModelAllowances(("small-model", "big-model"), True)
    with pytest.raises(DomainError, match="do not allow the model huge-model"):
        await update(database, persona_id, ModelUpdate(model="huge-model"))
    await update(database, persona_id, ModelUpdate(model="big-model", temperature=0.5, server=server))

    # The conversation's cast carries the stored choice; a reply gets what the server allows now.
    async with database.session() as session:
        speakers = await conversation.active_personas(session, CHANNEL)
        choice = speakers[0].model
        assert choice is not None and choice.model == "big-model" and choice.base_url == server.url
        assert await model_settings.for_reply(session, choice, GUILD) == choice
    await allow(database, models=["small-model"], own_servers=False)
    async with database.session() as session:
        narrowed = await model_settings.for_reply(session, choice, GUILD)
        assert narrowed == ModelChoice(temperature=0.5)  # no other server, no model off the list
        assert "(its own choice)" not in await model_settings.voice_of(session, persona_id, "the default")
    await allow(database, models=[])  # any model again; other servers still not
    async with database.session() as session:
        assert await model_settings.allowances(session, GUILD) == ModelAllowances((), False)
