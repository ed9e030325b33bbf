"""/persona import of a ``.charx`` (Character Card V3's zip) and /persona export format:charx through the sandbox:
the card's fields land in the persona, its main icon is kept and written back, an asset too big to keep is named
in the reply, the export re-imports as up to date, and a zip whose entry could leave the archive is refused."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from bot.sandbox import Sandbox
from tests.e2e.test_card_import_export_e2e import CARD
from tests.e2e.test_persona_wizard import answer, persona_rows
from tests.integration.test_card_portability import picture

pytestmark = pytest.mark.e2e

ICON = picture(32)
V3: dict[str, Any] = {
    "spec": "chara_card_v3",
    "spec_version": "3.0",
    "data": {
        **CARD["data"],
        "character_version": "3",
        "nickname": "Vale",
        "group_only_greetings": [],
        "assets": [
            {"type": "icon", "uri": "embeded://assets/icon/images/main.png", "name": "main", "ext": "png"},
            {"type": "x_music", "uri": "embeded://assets/x_music/audio/shanty.mp3", "name": "shanty", "ext": "mp3"},
        ],
    },
}


def charx(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("card.json", json.dumps(V3))
        for path, data in files.items():
            archive.writestr(path, data)
    return buffer.getvalue()


async def test_a_charx_imports_exports_with_its_picture_and_re_imports_up_to_date(
    sandbox: Sandbox, running_bot
) -> None:
    files = {"assets/icon/images/main.png": ICON, "assets/x_music/audio/shanty.mp3": bytes(range(256)) * 2100}
    imported = await answer(await sandbox.slash("persona import", file=("vale.charx", charx(files))))
    assert imported.ephemeral and "Imported **Captain Vale**" in imported.content
    assert "x\\_music asset 'shanty'" in imported.content and "was not kept" in imported.content
    [row] = await persona_rows(running_bot)
    assert (row.nickname, row.scenario, row.greeting) == ("Vale", "The deck of the Kestrel.", "Ahoy.")

    exported = await answer(await sandbox.slash("persona export", persona="Captain Vale", format="charx"))
    [attachment] = exported.attachments
    assert attachment.filename.endswith(".charx")
    with zipfile.ZipFile(io.BytesIO(attachment.data)) as archive:
        assert sorted(archive.namelist()) == ["assets/icon/images/main.png", "card.json"]
        assert archive.read("assets/icon/images/main.png") == ICON  # the card's own picture
        card = json.loads(archive.read("card.json"))
    assert card["spec"] == "chara_card_v3" and card["data"]["nickname"] == "Vale"
    assert card["data"]["assets"] == [V3["data"]["assets"][0]]

    again = await answer(await sandbox.slash("persona import", file=("vale.charx", attachment.data)))
    assert again.ephemeral and "is up to date" in again.content
    assert len(await persona_rows(running_bot)) == 1


async def test_a_charx_leaving_its_archive_is_refused_with_a_sentence(sandbox: Sandbox, running_bot) -> None:
    bad = charx({"assets/icon/images/main.png": ICON, "../../escape.txt": b"x"})
    refused = await answer(await sandbox.slash("persona import", file=("bad.charx", bad)))
    assert refused.ephemeral and "could leave the archive" in refused.content
    refused = await answer(await sandbox.slash("persona import", file=("bad.charx", b"not a zip at all")))
    assert refused.ephemeral and "not a valid zip archive" in refused.content
    assert await persona_rows(running_bot) == []
