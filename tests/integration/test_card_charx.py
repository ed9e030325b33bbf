"""CHARX cards on SQLite and PostgreSQL: import keeps the main icon as the persona's picture and small assets for
the export, names the assets it drops; export -> re-import round trips (the same persona fields, the picture kept,
the update rule of cards); a bad archive saves nothing."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.core import card_charx, cards, picture_png
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


def _smooth(size: tuple[int, int], shift: int = 0) -> Image.Image:
    """A picture JPEG keeps well: smooth gradients."""
    width, height = size
    image = Image.new("RGB", size)
    image.putdata(
        [((x * 255 // width + shift) % 256, y * 255 // height, 128) for y in range(height) for x in range(width)]
    )
    return image


def _encoded(image: Image.Image, kind: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **options)
    return buffer.getvalue()


def _icon_card(path: str, ext: str) -> dict[str, Any]:
    card = json.loads(json.dumps(V3))
    card["data"]["assets"] = [{"type": "icon", "uri": "embeded://" + path, "name": "main", "ext": ext}]
    return card


def _mean_difference(a: Image.Image, b: Image.Image) -> float:
    left, right = a.convert("RGB").tobytes(), b.convert("RGB").tobytes()
    assert len(left) == len(right)
    return sum(abs(p - q) for p, q in zip(left, right, strict=True)) / len(left)


async def _png_export(database: Database, persona_id: int) -> bytes:
    async with database.session() as session:
        return await portability.export_card(session, OWNER, persona_id, version=3, as_png=True)


async def test_a_jpeg_picture_is_the_picture_of_the_exported_png_card(database: Database) -> None:
    original = _smooth((120, 90))
    jpeg = _encoded(original, "JPEG", quality=95)
    async with database.transaction() as session:
        first = await import_card(
            session, OWNER, make_charx(_icon_card("a/1.jpg", "jpg"), {"a/1.jpg": jpeg}), None, now=NOW
        )
    exported = await _png_export(database, first.record.id)
    with Image.open(io.BytesIO(exported)) as shown:
        assert shown.format == "PNG" and shown.size == (120, 90)  # not the plain 256 x 256 square
        assert _mean_difference(shown, original) < 4  # the original's pixels, give or take JPEG's rounding
    card = cards.card_from_png(exported)  # the card reads back from the converted picture
    assert card["data"]["name"] == V3["data"]["name"] and card["data"]["nickname"] == "Sera"
    async with database.transaction() as session:  # and re-imports as the same persona, its picture now a PNG
        again = await import_card(session, OWNER, exported, "sera.png", now=LATER)
    assert again.record.id == first.record.id


async def test_a_gif_gives_its_first_frame_and_a_big_webp_is_scaled_down(database: Database) -> None:
    frames = [_smooth((40, 30)), _smooth((40, 30), shift=128)]
    gif = _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    webp = _encoded(_smooth((3000, 1500)), "WEBP", quality=90)
    async with database.transaction() as session:
        animated = await import_card(
            session, OWNER, make_charx(_icon_card("a/1.gif", "gif"), {"a/1.gif": gif}), None, now=NOW
        )
    async with database.transaction() as session:
        big = await import_card(
            session, NEW_HOME, make_charx(_icon_card("a/1.webp", "webp"), {"a/1.webp": webp}), None, now=NOW
        )
    with Image.open(io.BytesIO(await _png_export(database, animated.record.id))) as shown:
        assert getattr(shown, "n_frames", 1) == 1
        assert _mean_difference(shown, frames[0]) < 8 < _mean_difference(shown, frames[1])
    async with database.session() as session:
        exported = await portability.export_card(session, NEW_HOME, big.record.id, as_png=True)
    with Image.open(io.BytesIO(exported)) as shown:
        assert shown.size == (picture_png.MAX_SIDE, picture_png.MAX_SIDE // 2)  # bounded, aspect kept


def test_a_picture_that_cannot_be_read_or_declares_a_huge_canvas_gives_none() -> None:
    assert picture_png.as_png(b"\xff\xd8\xff\xe0 not really a jpeg") is None
    huge = _encoded(Image.new("1", (10_000, 10_000)), "GIF")  # tiny file, 100 million pixels
    assert len(huge) < 100_000 and picture_png.as_png(huge) is None
