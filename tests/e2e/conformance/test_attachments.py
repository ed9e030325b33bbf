"""Attachments as Discord stores them: the media type read from the bytes (not the upload's declared type), image
sizes, and ``attachment://filename`` references in embeds and components resolved to the attachment (which is then
not listed again in the message's ``attachments``: "any attached files that are not referenced in embeds or
components", developers/resources/message.mdx)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from PIL import Image

from bot.sandbox import Sandbox
from tests.e2e.conformance.shapes_support import ATTACHMENT_FIELDS, Rest

pytestmark = pytest.mark.e2e


def picture(fmt: str, size: tuple[int, int] = (3, 2)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(out, fmt)
    return out.getvalue()


@pytest.fixture
async def rest(sandbox: Sandbox) -> AsyncIterator[Rest]:
    async with aiohttp.ClientSession() as http:
        yield Rest(sandbox, http)


@pytest.mark.parametrize(
    ("filename", "data", "declared", "expected"),
    [
        ("a.txt", picture("PNG"), "text/plain", "image/png"),
        ("b.png", picture("JPEG"), "image/png", "image/jpeg"),
        ("c.bin", picture("GIF"), "application/octet-stream", "image/gif"),
        ("d.jpg", picture("WEBP"), "image/jpeg", "image/webp"),
        ("e.dat", json.dumps({"a": 1}).encode(), "application/octet-stream", "application/json; charset=utf-8"),
        ("f.png", b"just some words", "image/png", "text/plain; charset=utf-8"),
        ("g.json", b"[1, 2]", "text/plain", "application/json; charset=utf-8"),
    ],
    ids=["png", "jpeg", "gif", "webp", "json", "text", "json-by-name"],
)
async def test_content_type_comes_from_the_bytes(
    sandbox: Sandbox, rest: Rest, filename: str, data: bytes, declared: str, expected: str
) -> None:
    status, msg = await rest.upload(
        "POST", f"/channels/{sandbox.general.id}/messages", {}, [(filename, data, declared)]
    )
    assert status == 200, msg
    (att,) = msg["attachments"]
    assert att["content_type"] == expected and att["size"] == len(data)
    assert set(att) <= ATTACHMENT_FIELDS
    is_image = expected.startswith("image/")
    assert ("width" in att and "height" in att) is is_image
    if is_image:
        assert (att["width"], att["height"]) == (3, 2)
    async with rest.http.get(att["url"]) as r:
        assert await r.read() == data and r.headers["Content-Type"] == expected


async def test_embed_attachment_references_resolve_to_the_attachment(sandbox: Sandbox, rest: Rest) -> None:
    """developers/reference.mdx, "Using Attachments within Embeds": image, thumbnail, author and footer icons."""
    embed = {
        "title": "card",
        "image": {"url": "attachment://big.png"},
        "thumbnail": {"url": "attachment://small.png"},
        "author": {"name": "Ada", "icon_url": "attachment://small.png"},
        "footer": {"text": "f", "icon_url": "attachment://small.png"},
    }
    files = [("big.png", picture("PNG", (40, 30)), "image/png"), ("small.png", picture("PNG", (8, 8)), "image/png")]
    status, msg = await rest.upload("POST", f"/channels/{sandbox.general.id}/messages", {"embeds": [embed]}, files)
    assert status == 200, msg
    stored = sandbox.state.messages[int(msg["id"])].attachments
    urls = {a.filename: a.url for a in stored}
    e = msg["embeds"][0]
    assert e["type"] == "rich"
    assert (e["image"]["url"], e["image"]["width"], e["image"]["height"]) == (urls["big.png"], 40, 30)
    assert e["image"]["content_type"] == "image/png" and e["image"]["proxy_url"]
    assert (e["thumbnail"]["url"], e["thumbnail"]["width"]) == (urls["small.png"], 8)
    assert e["author"]["icon_url"] == e["footer"]["icon_url"] == urls["small.png"]
    assert e["author"]["proxy_icon_url"] and e["footer"]["proxy_icon_url"]
    assert msg["attachments"] == []  # both are shown by the embed


async def test_component_media_references_resolve_and_files_get_name_and_size(sandbox: Sandbox, rest: Rest) -> None:
    """components/reference.mdx, "Unfurled Media Item": Discord fills ``proxy_url``, ``width``/``height``,
    ``content_type``, ``flags`` and ``attachment_id``; a File component gets ``name`` and ``size``."""
    components = [
        {
            "type": 9,
            "components": [{"type": 10, "content": "look"}],
            "accessory": {"type": 11, "media": {"url": "attachment://thumb.png"}},
        },
        {"type": 12, "items": [{"media": {"url": "attachment://shot.gif"}, "description": "a shot"}]},
        {"type": 13, "file": {"url": "attachment://notes.txt"}, "name": "ignored", "size": 1},
        {"type": 10, "content": "extra file below"},
    ]
    files = [
        ("thumb.png", picture("PNG", (5, 4)), "image/png"),
        ("shot.gif", picture("GIF", (6, 7)), "image/gif"),
        ("notes.txt", b"remember this", "text/plain"),
        ("loose.txt", b"not shown by any component", "text/plain"),
    ]
    body = {"flags": 1 << 15, "components": components}
    status, msg = await rest.upload("POST", f"/channels/{sandbox.general.id}/messages", body, files)
    assert status == 200, msg
    by_name = {a.filename: a for a in sandbox.state.messages[int(msg["id"])].attachments}
    section, gallery, file, _ = msg["components"]
    thumb = section["accessory"]["media"]
    assert thumb["url"] == by_name["thumb.png"].url and thumb["attachment_id"] == str(by_name["thumb.png"].id)
    assert (thumb["width"], thumb["height"], thumb["content_type"], thumb["flags"]) == (5, 4, "image/png", 0)
    shot = gallery["items"][0]
    assert shot["description"] == "a shot" and (shot["media"]["width"], shot["media"]["height"]) == (6, 7)
    assert file["file"]["url"] == by_name["notes.txt"].url and "width" not in file["file"]
    assert (file["name"], file["size"]) == ("notes.txt", len(b"remember this"))
    assert [a["filename"] for a in msg["attachments"]] == ["loose.txt"]


async def test_an_edit_resolves_references_to_new_and_kept_files(sandbox: Sandbox, rest: Rest) -> None:
    channel = sandbox.general.id
    status, msg = await rest.upload(
        "POST", f"/channels/{channel}/messages", {"content": "v1"}, [("old.png", picture("PNG"), "image/png")]
    )
    assert status == 200 and [a["filename"] for a in msg["attachments"]] == ["old.png"]
    old_id = msg["attachments"][0]["id"]
    body = {
        "embeds": [{"image": {"url": "attachment://old.png"}, "thumbnail": {"url": "attachment://new.png"}}],
        "attachments": [{"id": old_id}, {"id": 0, "filename": "new.png"}],
    }
    files = [("new.png", picture("PNG", (9, 9)), "image/png")]
    status, edited = await rest.upload("PATCH", f"/channels/{channel}/messages/{msg['id']}", body, files)
    assert status == 200, edited
    urls = {a.filename: a.url for a in sandbox.state.messages[int(msg["id"])].attachments}
    assert edited["embeds"][0]["image"]["url"] == urls["old.png"]
    assert edited["embeds"][0]["thumbnail"]["url"] == urls["new.png"] and edited["attachments"] == []
