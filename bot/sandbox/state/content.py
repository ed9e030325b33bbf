"""What Discord makes of the content it is sent, as pure functions: the media type of an upload read from its bytes
(:func:`sniff_content_type`), an image's size (:func:`image_size`), and a message's embeds and components in the
normalised form Discord echoes back (:func:`normalise_embed`, :func:`normalise_components`): ``attachment://``
references resolved to the attachment, a numeric ``id`` on every component, emoji as partial emoji objects."""

from __future__ import annotations

import io
import json
import mimetypes
from collections.abc import Iterable, Iterator
from typing import Any

from bot.sandbox.state.models import Attachment

ATTACHMENT_SCHEME = "attachment://"

# Leading bytes of the image formats Discord shows inline (developers/reference.mdx, "Uploading Files").
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_TEXT = "; charset=utf-8"

# Select menus (string, user, role, mentionable, channel): ``required`` only means something in a modal.
_SELECT_TYPES = (3, 5, 6, 7, 8)


def sniff_content_type(filename: str, data: bytes) -> str | None:
    """The media type Discord gives an upload: from its bytes, whatever the client declared."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    guessed = mimetypes.guess_type(filename)[0]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        if guessed and (guessed.startswith("text/") or guessed == "application/json"):
            return guessed + _TEXT
        try:
            json.loads(text)
        except ValueError:
            return "text/plain" + _TEXT
        return "application/json" + _TEXT
    if guessed and not guessed.startswith(("image/", "text/")):
        return guessed  # archives, documents, audio: named by their extension, as Discord does
    return "application/octet-stream"


def image_size(data: bytes, content_type: str | None) -> tuple[int, int] | None:
    """``(width, height)`` of an image Discord can read, else ``None``."""
    if not (content_type or "").startswith("image/"):
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            return int(img.width), int(img.height)
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def _attachment_for(url: Any, attachments: Iterable[Attachment]) -> Attachment | None:
    if not isinstance(url, str) or not url.startswith(ATTACHMENT_SCHEME):
        return None
    name = url[len(ATTACHMENT_SCHEME) :]
    return next((a for a in attachments if a.filename == name), None)


def _media(att: Attachment) -> dict[str, Any]:
    """The fields Discord fills in for an image it stores (embed image and unfurled media item alike)."""
    data: dict[str, Any] = {"url": att.url, "proxy_url": att.url}
    if att.width is not None:
        data["width"], data["height"] = att.width, att.height
    if att.content_type:
        data["content_type"] = att.content_type
    return data


def normalise_embed(embed: dict[str, Any], attachments: list[Attachment]) -> dict[str, Any]:
    """An embed as Discord stores it: ``type`` "rich" by default, ``attachment://`` images resolved."""
    e = dict(embed)
    e.setdefault("type", "rich")
    for key in ("image", "thumbnail"):
        part = e.get(key)
        if isinstance(part, dict):
            att = _attachment_for(part.get("url"), attachments)
            if att is not None:
                e[key] = {**part, **_media(att), "flags": 0}
    for key in ("author", "footer"):
        part = e.get(key)
        if isinstance(part, dict):
            att = _attachment_for(part.get("icon_url"), attachments)
            if att is not None:
                e[key] = {**part, "icon_url": att.url, "proxy_icon_url": att.url}
    return e


def normalise_emoji(emoji: Any) -> Any:
    """A partial emoji as Discord echoes it: ``{"name"}`` for a unicode one, ``{"id", "name", "animated"}`` else."""
    if not isinstance(emoji, dict):
        return emoji
    if emoji.get("id"):
        return {"id": str(emoji["id"]), "name": emoji.get("name"), "animated": bool(emoji.get("animated", False))}
    return {"name": emoji.get("name")}


def walk(components: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every component of a tree, parents first: children in ``components``, then ``accessory``/``component``."""
    for c in components:
        if not isinstance(c, dict):
            continue
        yield c
        yield from walk(c.get("components") or [])
        for key in ("accessory", "component"):
            if isinstance(c.get(key), dict):
                yield from walk([c[key]])


def _unfurl(media: Any, attachments: list[Attachment]) -> Any:
    if not isinstance(media, dict):
        return media
    att = _attachment_for(media.get("url"), attachments)
    if att is None:
        return {"url": media.get("url")}  # only ``url`` is the sender's to set
    return {**_media(att), "flags": 0, "attachment_id": str(att.id)}


def _normalise_one(c: dict[str, Any], attachments: list[Attachment]) -> dict[str, Any]:
    out = dict(c)
    if "emoji" in out:
        out["emoji"] = normalise_emoji(out["emoji"])
    if isinstance(out.get("options"), list):
        out["options"] = [
            {**o, "emoji": normalise_emoji(o["emoji"])} if isinstance(o, dict) and "emoji" in o else o
            for o in out["options"]
        ]
    if out.get("type") in _SELECT_TYPES:
        out.pop("required", None)  # "ignored in messages" (developers/components/reference.mdx)
    if "media" in out:
        out["media"] = _unfurl(out["media"], attachments)
    if isinstance(out.get("items"), list):
        out["items"] = [
            {**item, "media": _unfurl(item.get("media"), attachments)} if isinstance(item, dict) else item
            for item in out["items"]
        ]
    if out.get("type") == 13 and isinstance(out.get("file"), dict):
        att = _attachment_for(out["file"].get("url"), attachments)
        out["file"] = _unfurl(out["file"], attachments)
        out.pop("name", None), out.pop("size", None)  # "ignored and provided by the API"
        if att is not None:
            out["name"], out["size"] = att.filename, len(att.data)
    if isinstance(out.get("components"), list):
        out["components"] = [_normalise_one(x, attachments) if isinstance(x, dict) else x for x in out["components"]]
    for key in ("accessory", "component"):
        if isinstance(out.get(key), dict):
            out[key] = _normalise_one(out[key], attachments)
    return out


def normalise_components(components: list[dict[str, Any]], attachments: list[Attachment]) -> list[dict[str, Any]]:
    """A message's components as Discord echoes them (developers/components/reference.mdx, "Anatomy of a
    Component"): every component gets an ``id``, "generated sequentially if left empty", skipping ids the sender
    used elsewhere in the message (``0`` counts as empty); emoji normalised; ``attachment://`` media resolved."""
    out = [_normalise_one(c, attachments) if isinstance(c, dict) else c for c in components]
    taken = {c["id"] for c in walk(out) if isinstance(c.get("id"), int) and c["id"]}
    next_id = 1
    for c in walk(out):
        if isinstance(c.get("id"), int) and c["id"]:
            continue
        while next_id in taken:
            next_id += 1
        c["id"] = next_id
        taken.add(next_id)
    return out


def referenced_urls(embeds: list[dict[str, Any]], components: list[dict[str, Any]]) -> set[str]:
    """The URLs a message's embeds and components show (its attachments listed there are not listed again)."""
    urls: set[str] = set()
    for e in embeds:
        for key, field in (("image", "url"), ("thumbnail", "url"), ("author", "icon_url"), ("footer", "icon_url")):
            part = e.get(key)
            if isinstance(part, dict) and isinstance(part.get(field), str):
                urls.add(part[field])
    for c in walk(components):
        media = [c.get("media"), c.get("file")] + [i.get("media") for i in c.get("items") or [] if isinstance(i, dict)]
        urls.update(m["url"] for m in media if isinstance(m, dict) and isinstance(m.get("url"), str))
    return urls
