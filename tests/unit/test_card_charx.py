"""CHARX (Character Card V3's zip) read and written in memory: the card, its main icon and kept assets, the
bounds (entries, unpacked size, kept assets), paths that could leave the archive, encrypted and malformed zips."""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from typing import Any

import pytest

from bot.core import card_charx, card_zip, cards
from bot.core.errors import DomainError
from bot.core.png_text import solid_png

ICON = solid_png(4, 4, (10, 20, 30))
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60
CARD: dict[str, Any] = {
    "spec": "chara_card_v3",
    "spec_version": "3.0",
    "data": {
        "name": "Mira",
        "description": "A lighthouse keeper.",
        "first_mes": "The lamp is lit.",
        "group_only_greetings": [],
        "assets": [
            {"type": "icon", "uri": "embeded://assets/icon/images/main.png", "name": "main", "ext": "png"},
            {"type": "background", "uri": "embeded://assets/background/images/sea.webp", "name": "sea", "ext": "webp"},
            {"type": "emotion", "uri": "https://example.org/happy.png", "name": "happy", "ext": "png"},
        ],
        "extensions": {},
    },
}
SEA = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x01" * 200


def make_zip(entries: list[tuple[str, bytes]], *, encrypted: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a name twice, on purpose
        for name, data in entries:
            archive.writestr(name, data)
    data = bytearray(buffer.getvalue())
    if encrypted:  # zipfile writes no encryption: set the "encrypted" flag of each header, as a tool that does
        for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(signature)
            while at != -1:
                data[at + offset] |= 0x1
                at = data.find(signature, at + 4)
    return bytes(data)


def charx(card: Any = CARD, *extra: tuple[str, bytes]) -> bytes:
    entries = [("card.json", json.dumps(card).encode()), ("assets/icon/images/main.png", ICON)]
    return make_zip([*entries, ("assets/background/images/sea.webp", SEA), *extra])


def test_a_charx_gives_its_card_its_picture_and_its_other_assets() -> None:
    read = card_charx.read_charx(charx())
    assert read.card["data"]["name"] == "Mira" and read.card["data"]["assets"] == CARD["data"]["assets"]
    assert (read.picture, read.picture_type) == (ICON, "image/png")
    assert card_charx.kept_files({"card_files": read.files}) == {"assets/background/images/sea.webp": SEA}
    assert read.notes == ()


def test_a_jpeg_icon_is_kept_with_its_type_and_a_missing_file_is_named_and_dropped() -> None:
    card = json.loads(json.dumps(CARD))
    card["data"]["assets"][0]["uri"] = "embeded://assets/icon/images/face.jpeg"
    card["data"]["assets"].append(
        {"type": "x_sound", "uri": "embeded://assets/x/audio/a.mp3", "name": "a", "ext": "mp3"}
    )
    read = card_charx.read_charx(
        make_zip([("card.json", json.dumps(card).encode()), ("assets/icon/images/face.jpeg", JPEG)])
    )
    assert (read.picture, read.picture_type) == (JPEG, "image/jpeg")
    assert [a["name"] for a in read.card["data"]["assets"]] == ["main", "happy"]
    assert len(read.notes) == 2 and "'sea'" in read.notes[0] and "not in the file" in read.notes[0]


def test_assets_over_the_kept_budget_are_dropped_with_a_note() -> None:
    card = json.loads(json.dumps(CARD))
    big = bytes(range(256)) * (card_charx.KEPT_FILES_MAX // 256 + 1)
    entries = [("card.json", json.dumps(card).encode()), ("assets/icon/images/main.png", ICON)]
    read = card_charx.read_charx(make_zip([*entries, ("assets/background/images/sea.webp", big)]))
    assert read.files == {} and [a["name"] for a in read.card["data"]["assets"]] == ["main", "happy"]
    assert "was not kept" in read.notes[0] and "512 KB" in read.notes[0]


def test_the_export_writes_the_picture_as_the_main_icon_and_the_kept_files() -> None:
    card = {**CARD, "data": {**CARD["data"], "extensions": {"persona_hub": {"version": 2, "sums": {"assets": "x"}}}}}
    data = card_charx.charx_of(card, (ICON, "image/png"), {"assets/background/images/sea.webp": SEA})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == [
            "assets/background/images/sea.webp",
            "assets/icon/images/main.png",
            "card.json",
        ]
        written = json.loads(archive.read("card.json"))
        assert archive.read("assets/icon/images/main.png") == ICON
    assets = written["data"]["assets"]
    assert assets[0] == {"type": "icon", "uri": "embeded://assets/icon/images/main.png", "name": "main", "ext": "png"}
    assert written["data"]["extensions"]["persona_hub"]["sums"]["assets"] == cards.field_sum(assets)
    again = card_charx.read_charx(data)
    assert again.picture == ICON and again.card["data"]["assets"] == assets


def test_the_export_names_a_jpeg_picture_by_its_extension_and_leaves_out_files_it_lacks() -> None:
    data = card_charx.charx_of(CARD, (JPEG, "image/jpeg"), {})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["assets/icon/images/main.jpeg", "card.json"]
        assets = json.loads(archive.read("card.json"))["data"]["assets"]
    assert [(a["name"], a["uri"]) for a in assets] == [
        ("main", "embeded://assets/icon/images/main.jpeg"),
        ("happy", "https://example.org/happy.png"),
    ]
    plain = {**CARD, "data": {k: v for k, v in CARD["data"].items() if k != "assets"}}
    with zipfile.ZipFile(io.BytesIO(card_charx.charx_of(plain, (ICON, "image/png"), {}))) as archive:
        assert json.loads(archive.read("card.json"))["data"]["assets"][0]["name"] == "main"


@pytest.mark.parametrize("name", ["../evil.png", "/etc/passwd", "assets/../../x", "C:/x", "a\\..\\b", "./card.json"])
def test_entries_whose_path_could_leave_the_archive_are_refused(name: str) -> None:
    with pytest.raises(DomainError, match="could leave the archive"):
        card_charx.read_charx(charx(CARD, (name, b"x")))


def test_an_asset_uri_leaving_the_archive_is_refused() -> None:
    card = json.loads(json.dumps(CARD))
    card["data"]["assets"][1]["uri"] = "embeded://../../etc/passwd"
    with pytest.raises(DomainError, match="points outside the CHARX file"):
        card_charx.read_charx(charx(card))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 this is not a zip", "not a valid zip archive"),
        (b"\x00" * 100, "not a valid zip archive"),
        (make_zip([("readme.txt", b"hi")]), "no 'card.json' at its root"),
        (make_zip([("card.json", b"{not json")]), "'card.json' in this CHARX file is not valid JSON"),
        (make_zip([("card.json", b"\xff\xfe")]), "not UTF-8"),
        (make_zip([("card.json", b"{}")], encrypted=True), "encrypted"),
        (make_zip([("card.json", b"{}"), ("card.json", b"{}")]), "holds 'card.json' twice"),
        (make_zip([(f"f{i}", b"") for i in range(card_zip.ENTRIES_MAX + 1)]), "1,001 entries; the most is 1,000"),
        (make_zip([("card.json", b"{}"), ("z", b"\x00" * (card_zip.UNPACKED_MAX + 1))]), "unpacks to 10,485,763 bytes"),
    ],
)  # fmt: skip
def test_malformed_encrypted_and_oversized_zips_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        card_charx.read_charx(data)


def test_a_truncated_zip_is_refused_and_a_damaged_entry_is_named() -> None:
    whole = charx()
    with pytest.raises(DomainError, match="not a valid zip archive"):
        card_charx.read_charx(whole[: len(whole) // 2])
    damaged = bytearray(charx())
    start = damaged.index(b"card.json") + len("card.json")  # the first local header's name, then the data
    damaged[start + 5] ^= 0xFF
    with pytest.raises(DomainError, match=r"damaged|not valid"):
        card_charx.read_charx(bytes(damaged))


def test_the_card_is_read_as_any_card_is() -> None:
    imported = cards.card_to_persona(card_charx.read_charx(charx()).card)
    assert imported.version == 3 and imported.columns["greeting"] == "The lamp is lit."
    assert imported.settings["legacy_settings"]["card"]["assets"] == CARD["data"]["assets"]
    kept = card_charx.with_files(imported, {"a/b.bin": "AAE="})
    assert kept.settings["legacy_settings"]["card_files"] == {"a/b.bin": "AAE="}
    assert "card_files" not in json.dumps(cards.persona_to_card({"name": "Mira", **kept.settings}, 3))


def test_what_is_read_counts_against_the_budget_whatever_the_headers_say() -> None:
    reader = card_zip.open_zip(charx(), "CHARX file")
    reader.budget = 10
    with pytest.raises(DomainError, match="unpacks to more than 10 MB"):
        reader.read("assets/icon/images/main.png")


def test_detection_by_signature_or_name_and_safe_paths() -> None:
    assert card_charx.looks_like_charx(charx(), None) and card_charx.looks_like_charx(JPEG, "mira.CHARX")
    assert not card_charx.looks_like_charx(ICON, "mira.png")
    assert card_zip.safe_path("assets/icon/images/main.png") and not card_zip.safe_path("assets//x")
    assert card_charx.kept_files({"card_files": {"../x": "AA==", "ok": "%%", "fine": "AAE="}}) == {"fine": b"\x00\x01"}
    with pytest.raises(DomainError, match="not a path inside an archive"):
        card_zip.write_zip([("../x", b"", False)])
