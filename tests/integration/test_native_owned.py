"""A native export carries the persona's lore book, model settings (never the API key) and picture, on SQLite and
PostgreSQL: export -> delete -> import restores them exactly; a server the guard or the admins refuse is dropped
with a note; a malformed section refuses the file and saves nothing."""

from __future__ import annotations

import base64
import copy
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from PIL import Image
from sqlalchemy import func, select

from bot.core.errors import DomainError
from bot.core.lore import LoreEntry
from bot.db import models
from bot.db.engine import Database
from bot.services import guild_settings, lore, model_servers, personas, portability
from bot.services import model_settings as persona_models
from bot.services.personas import PersonaInput
from bot.services.portability.owned import check_owned
from tests.integration.test_portability import GUILD, LATER, NEW_HOME, NOW, OWNER, STRANGER

SECRET = "sk-the-secret-key-never-exported"
KEY = Fernet.generate_key().decode()
SERVER = "https://models.example.com/v1"
BOOK = {
    "name": "Ada's notes",
    "scan_depth": 4,
    "token_budget": 900,
    "recursive_scanning": False,
    "extensions": {"world": "analytical"},
    "entries": [
        {"keys": ["engine", "Babbage"], "content": "The Analytical Engine.", "enabled": True, "insertion_order": 5,
         "comment": "The engine", "extensions": {"position": 4, "depth": 2, "group": "machines"}, "priority": 3},
        {"keys": ["/poe?t(ry)?/"], "content": "Poetical science.", "enabled": False, "insertion_order": 100,
         "secondary_keys": ["numbers"], "selective": True, "constant": False},
    ],
}  # fmt: skip


async def public(host: str, port: int) -> list[str]:
    """A resolver that answers a public address for every name (no network in tests)."""
    return ["93.184.216.34"]


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


async def _persona(database: Database) -> int:
    """Ada with a lore book (from a card, so entries and book carry extras), her own model server with an API key,
    and a JPEG picture."""
    async with database.transaction() as session:
        record = await personas.create(session, OWNER, PersonaInput(name="Ada"), now=NOW)
        await lore.import_book(session, record.id, GUILD, BOOK, now=NOW)
        await lore.add_entry(
            session, OWNER, lore.Where("persona", persona_id=record.id),
            LoreEntry(id=0, keys=(), content="Always here.", constant=True, name="always", sticky=2), now=LATER,
        )  # fmt: skip
        await guild_settings.set_model_allowances(
            session, guild_id=GUILD, can_manage_guild=True, models_allowed=[], own_servers=True, now=NOW
        )
        server = await model_servers.check_server_url(SERVER, allow_private=False, resolver=public)
        change = persona_models.ModelUpdate(
            model="llama-3-70b", temperature=0.7, top_p=0.9, max_tokens=512, presence_penalty=-0.5, server=server,
            api_key=SECRET, vision=True,
        )  # fmt: skip
        await persona_models.update(session, OWNER, record.id, change, encryption_key=KEY, now=NOW)
        session.add(models.PersonaAvatar(persona_id=record.id, content_type="image/jpeg", data=_jpeg(), updated_at=NOW))
    return record.id


async def _export(database: Database, persona_id: int) -> dict[str, Any]:
    async with database.session() as session:
        return await portability.export_native(session, OWNER, persona_id, now=LATER)


async def _import(database: Database, document: dict[str, Any], actor: Any = OWNER, **options: Any) -> Any:
    data = portability.document_to_json(document)
    upload = await portability.read_upload(data, "ada.json", now=LATER, resolver=public, **options)
    async with database.transaction() as session:
        return await portability.import_upload(session, actor, upload, now=LATER)


OWNED = (models.Persona, models.LoreBook, models.LoreEntryRow, models.PersonaModel, models.PersonaAvatar)


async def _counts(database: Database) -> list[int]:
    async with database.session() as session:
        return [int((await session.execute(select(func.count()).select_from(table))).scalar_one()) for table in OWNED]


async def test_lore_model_settings_and_picture_round_trip_without_the_api_key(database: Database) -> None:
    ada = await _persona(database)
    document = await _export(database, ada)
    text = portability.document_to_json(document).decode()
    assert SECRET not in text and "api_key" not in text  # neither the key nor its ciphertext leaves
    book = document["lore_book"]
    assert book["name"] == "Ada's notes" and len(book["entries"]) == 3 and book["extras"]["extensions"]
    assert document["model_settings"]["base_url"] == SERVER and document["model_settings"]["temperature"] == 0.7
    picture = document["picture"]
    assert picture["content_type"] == "image/jpeg" and base64.b64decode(picture["data"]) == _jpeg()
    async with database.session() as session:
        card_book = await lore.export_book(session, ada)

    async with database.transaction() as session:
        await personas.delete_persona(session, OWNER, ada)
    assert await _counts(database) == [0, 0, 0, 0, 0]
    imported = await _import(database, document)
    assert any("without its API key" in note for note in imported.notes)

    again = await _export(database, imported.id)
    for section in ("lore_book", "model_settings", "picture"):
        assert again[section] == document[section], section
    async with database.session() as session:
        assert await lore.export_book(session, imported.id) == card_book  # the card's book, extras and all
        row = await session.get(models.PersonaModel, imported.id)
        avatar = await session.get(models.PersonaAvatar, imported.id)
        view = await persona_models.view(session, OWNER, imported.id)
    assert row is not None and row.api_key_encrypted is None and not view.choice.has_api_key
    assert avatar is not None and avatar.data == _jpeg()
    async with database.session() as session:  # the book fires for the new persona
        activation, _labels = await lore.preview(
            session, OWNER, lore.Where("persona", persona_id=imported.id), "Babbage"
        )
    assert {fired.entry.content for fired in activation.fired} >= {"The Analytical Engine.", "Always here."}


async def test_a_server_the_admins_or_the_guard_refuse_is_dropped_with_a_note(database: Database) -> None:
    document = await _export(database, await _persona(database))
    elsewhere = await _import(database, document, NEW_HOME)  # a server whose admins allow no own servers
    assert any("admins do not let personas use another model server" in note for note in elsewhere.notes)
    async with database.session() as session:
        row = await session.get(models.PersonaModel, elsewhere.id)
    assert row is not None and (row.base_url, row.model, row.vision) == (None, None, None)
    assert (row.temperature, row.max_tokens) == (0.7, 512)  # the rest of the settings stay

    private = copy.deepcopy(document)
    private["model_settings"]["base_url"] = "http://127.0.0.1:8080/v1"
    guarded = await _import(database, private, STRANGER)
    assert any("was left out" in note and "private" in note for note in guarded.notes)
    async with database.session() as session:
        row = await session.get(models.PersonaModel, guarded.id)
    assert row is not None and row.base_url is None
    allowed = await _import(database, private, STRANGER, allow_private_servers=True)  # the operator allows it
    async with database.session() as session:
        row = await session.get(models.PersonaModel, allowed.id)
    assert row is not None and row.base_url == "http://127.0.0.1:8080/v1"


def _broken(document: dict[str, Any]) -> list[tuple[Any, str]]:
    def changed(section: str, change: Any) -> dict[str, Any]:
        result = copy.deepcopy(document)
        change(result)
        return result

    def entry(key: str, value: Any) -> Any:
        return lambda d: d["lore_book"]["entries"][2].__setitem__(key, value)

    return [
        (changed("", lambda d: d.__setitem__("lore_book", [])), "'lore_book' must be an object"),
        (changed("", lambda d: d["lore_book"].__setitem__("entries", {})), "entries must be a list"),
        (changed("", lambda d: d["lore_book"].__setitem__("token_budget", 99_999)), "Token budget must be between"),
        (changed("", entry("keys", ["/(a+)+$/"])), "Lore entry 3 .* is refused: The pattern"),
        (changed("", entry("content", "")), "Lore entry 3 .* needs some content"),
        (changed("", entry("keys", ["tea", 7])), "Lore entry 3: keys must be a list of words"),
        (changed("", lambda d: d["lore_book"]["entries"].extend([d["lore_book"]["entries"][0]] * 498)), "at most 500"),
        (changed("", lambda d: d["model_settings"].__setitem__("temperature", 5)), "Temperature must be between"),
        (changed("", lambda d: d["model_settings"].__setitem__("base_url", "ftp://x")), "must start with http"),
        (changed("", lambda d: d["model_settings"].__setitem__("api_key_encrypted", "gAAAA")), "never travel"),
        (changed("", lambda d: d["picture"].__setitem__("data", "not base64!")), "not base64"),
        (changed("", lambda d: d["picture"].__setitem__("content_type", "image/png")), "not the image/png picture"),
        (changed("", lambda d: d["picture"].__setitem__("content_type", "image/bmp")), "content_type must be one of"),
    ]


async def test_a_malformed_section_refuses_the_file_and_saves_nothing(database: Database) -> None:
    document = await _export(database, await _persona(database))
    before = await _counts(database)
    for broken, message in _broken(document):
        with pytest.raises(DomainError, match=message):
            await _import(database, broken, STRANGER)
            pytest.fail(f"imported despite: {message}")
        assert await _counts(database) == before, message


def test_a_picture_over_the_card_limit_is_refused_before_decoding() -> None:
    big = {"picture": {"content_type": "image/png", "data": "A" * (12 * 1024 * 1024)}}
    with pytest.raises(DomainError, match="at most 8 MB"):
        check_owned(big, now=NOW)
    document = {"lore_book": None, "model_settings": None, "picture": None}
    assert check_owned(json.loads(json.dumps(document)), now=NOW + timedelta(days=1)).book is None
