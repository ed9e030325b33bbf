"""CHARX cards on SQLite and PostgreSQL: import keeps the main icon as the persona's picture and small assets for
the export, names the assets it drops; export -> re-import round trips (the same persona fields, the picture kept,
the update rule of cards); a bad archive saves nothing."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.core import card_charx
from bot.core.cards import CHARACTER_COLUMNS
from bot.core.errors import DomainError
from bot.db import models
from bot.db.engine import Database
from bot.services import portability
from tests.integration.test_card_portability import CARD, picture
from tests.integration.test_portability import LATER, NEW_HOME, NOW, OWNER, import_card

ICON_PATH = "assets/icon/images/main.png"
SEA_PATH = "assets/background/images/sea.png"
BIG_PATH = "assets/x_music/audio/theme.mp3"
V3: dict[str, Any] = {
    "spec": "chara_card_v3",
    "spec_version": "3.0",
    "data": {
        **CARD["data"],
        "nickname": "Sera",
        "group_only_greetings": ["Hello, all of you."],
        "creation_date": 1_700_000_000,
        "assets": [
            {"type": "icon", "uri": "embeded://" + ICON_PATH, "name": "main", "ext": "png"},
            {"type": "background", "uri": "embeded://" + SEA_PATH, "name": "sea", "ext": "png"},
            {"type": "x_music", "uri": "embeded://" + BIG_PATH, "name": "theme", "ext": "mp3"},
        ],
    },
}


def make_charx(card: dict[str, Any], files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("card.json", json.dumps(card))
        for path, data in files.items():
            archive.writestr(path, data)
    return buffer.getvalue()


FILES = {ICON_PATH: picture(), SEA_PATH: picture(64), BIG_PATH: bytes(range(256)) * 3000}


async def _avatar(database: Database, persona_id: int) -> models.PersonaAvatar | None:
    async with database.session() as session:
        return await session.get(models.PersonaAvatar, persona_id)


async def _export(database: Database, persona_id: int) -> bytes:
    async with database.session() as session:
        return await portability.export_card(session, OWNER, persona_id, as_charx=True)


async def _row(database: Database, persona_id: int) -> models.Persona:
    async with database.session() as session:
        row = await session.get(models.Persona, persona_id)
    assert row is not None
    return row


def _fields(row: models.Persona) -> dict[str, Any]:
    return {"name": row.name, **{column: getattr(row, column) for column in CHARACTER_COLUMNS}}


async def test_a_charx_round_trips_with_its_picture_and_kept_assets(database: Database) -> None:
    original = make_charx(V3, FILES)
    async with database.transaction() as session:
        first = await import_card(session, OWNER, original, "sera.charx", now=NOW)
    assert not first.updated and len(first.notes) == 1
    assert "'theme'" in first.notes[0] and "was not kept" in first.notes[0]
    row = await _row(database, first.record.id)
    assert (row.nickname, row.greeting, row.description) == (
        "Sera",
        CARD["data"]["first_mes"],
        CARD["data"]["description"],
    )
    avatar = await _avatar(database, first.record.id)
    assert avatar is not None and (avatar.data, avatar.content_type) == (FILES[ICON_PATH], "image/png")

    exported = await _export(database, first.record.id)
    # Measured against the file without the asset the import dropped (else the rule would hold too easily).
    lean_card = {**V3, "data": {**V3["data"], "assets": V3["data"]["assets"][:2]}}
    lean = make_charx(lean_card, {path: data for path, data in FILES.items() if path != BIG_PATH})
    ratio = len(exported) / len(lean)
    print(f"CHARX {len(lean):,} B -> CHARX {len(exported):,} B: {ratio:.2f}x")
    assert ratio <= 1.5
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        assert sorted(archive.namelist()) == [SEA_PATH, ICON_PATH, "card.json"]
        assert archive.read(ICON_PATH) == FILES[ICON_PATH] and archive.read(SEA_PATH) == FILES[SEA_PATH]
        card = json.loads(archive.read("card.json"))
    assert card["spec"] == "chara_card_v3" and [a["name"] for a in card["data"]["assets"]] == ["main", "sea"]
    assert card["data"]["character_book"]["entries"][0]["use_regex"] is False

    # The owner re-imports the export: the same persona, nothing new.
    async with database.transaction() as session:
        again = await import_card(session, OWNER, exported, "sera.charx", now=LATER)
    assert again.updated and again.record.id == first.record.id and again.changed == ()
    # Someone else imports it: a new persona with the same fields and picture.
    async with database.transaction() as session:
        other = await import_card(session, NEW_HOME, exported, "sera.charx", now=LATER)
    assert not other.updated and other.changed == () and other.notes == ()
    assert _fields(await _row(database, other.record.id)) == _fields(await _row(database, first.record.id))
    copy_avatar = await _avatar(database, other.record.id)
    assert copy_avatar is not None and copy_avatar.data == FILES[ICON_PATH]
    copy_row = await _row(database, other.record.id)
    assert card_charx.kept_files(copy_row.legacy_settings) == {SEA_PATH: FILES[SEA_PATH]}


async def test_a_charx_edited_elsewhere_updates_its_persona_and_picture(database: Database) -> None:
    async with database.transaction() as session:
        first = await import_card(session, OWNER, make_charx(V3, FILES), "sera.charx", now=NOW)
    with zipfile.ZipFile(io.BytesIO(await _export(database, first.record.id))) as archive:
        card = json.loads(archive.read("card.json"))
    card["data"]["description"] = "A guardian of the city now."
    new_icon = picture(32)
    edited = make_charx(card, {ICON_PATH: new_icon, SEA_PATH: FILES[SEA_PATH]})
    async with database.transaction() as session:
        second = await import_card(session, OWNER, edited, "sera.charx", now=LATER)
    assert second.updated and second.changed == ("description", "avatar")
    assert (await _row(database, first.record.id)).description == "A guardian of the city now."
    avatar = await _avatar(database, first.record.id)
    assert avatar is not None and avatar.data == new_icon


async def test_a_jpeg_icon_is_kept_and_written_back_as_jpeg(database: Database) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20
    card = json.loads(json.dumps(V3))
    card["data"]["assets"] = [
        {"type": "icon", "uri": "embeded://assets/icon/images/1.jpg", "name": "main", "ext": "jpg"}
    ]
    async with database.transaction() as session:
        first = await import_card(session, OWNER, make_charx(card, {"assets/icon/images/1.jpg": jpeg}), None, now=NOW)
    avatar = await _avatar(database, first.record.id)
    assert avatar is not None and (avatar.data, avatar.content_type) == (jpeg, "image/jpeg")
    with zipfile.ZipFile(io.BytesIO(await _export(database, first.record.id))) as archive:
        assert archive.read("assets/icon/images/main.jpeg") == jpeg
        assets = json.loads(archive.read("card.json"))["data"]["assets"]
    assert assets == [{"type": "icon", "uri": "embeded://assets/icon/images/main.jpeg", "name": "main", "ext": "jpeg"}]


def _no_card() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("other.json", "{}")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (make_charx(V3, {**FILES, "../../outside.png": b"x"}), "could leave the archive"),
        (_no_card(), "no 'card.json'"),
        (make_charx({**V3, "data": {**V3["data"], "name": ""}}, FILES), "has no name"),
    ],
)
async def test_bad_charx_files_are_refused_and_save_nothing(database: Database, data: bytes, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        async with database.transaction() as session:
            await import_card(session, OWNER, data, "bad.charx", now=NOW)
    async with database.session() as session:
        assert (await session.execute(select(func.count()).select_from(models.Persona))).scalar_one() == 0
