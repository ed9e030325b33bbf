"""CHARX: Character Card V3's zip container (pure; the zip itself is :mod:`bot.core.card_zip`).

A ``.charx`` file is a zip with the V3 card at its root as ``card.json``; the card's ``assets`` name the files
beside it with ``embeded://path/in/zip`` URIs (the spec's spelling; ``embedded://`` is read too). The main
icon is the ``icon`` asset named ``main`` (else the first ``icon``).

**Reading** (:func:`read_charx`): the main icon's file becomes the persona's picture (``persona_avatars``, as a
PNG card's picture does; PNG, JPEG, WebP or GIF). The other embedded files are kept verbatim (base64) in
``legacy_settings["card_files"]`` while they fit in :data:`KEPT_FILES_MAX` bytes together, so an export writes
them back; an asset whose file is too big, missing or not a picture the bot knows is dropped from the card's
``assets`` and the import reply says so (as the spec asks). Zip entries nobody references (another tool's own
files) are not read. An asset URI whose path could leave the archive is refused.

**Writing** (:func:`charx_of`): ``card.json`` (the V3 card, compact) with the picture at
``assets/icon/images/main.<ext>`` behind the main ``icon`` asset, and the kept files behind their assets.
Embedded assets whose file is not kept are left out; the others (``https:``, ``ccdefault:``, ``data:``) stay.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.core.card_png import picture_of
from bot.core.card_zip import ZipReader, is_zip, open_zip, safe_path, write_zip
from bot.core.cards import EXTENSION_KEY, LEGACY_FILES_KEY, CardImport, field_sum
from bot.core.errors import DomainError
from bot.core.inputs import parse_json_text

CHARX_SUFFIX = ".charx"
CARD_FILE = "card.json"
CARD_JSON_MAX = 2 * 1024 * 1024
EMBEDDED = "embeded://"
_EMBEDDED_URIS = (EMBEDDED, "embedded://")
ICON_DIR = "assets/icon/images/"
KEPT_FILES_MAX = 512 * 1024
WHAT = "CHARX file"

PNG = "image/png"
# Content type -> extension.
PICTURE_TYPES: dict[str, str] = {PNG: "png", "image/jpeg": "jpeg", "image/webp": "webp", "image/gif": "gif"}
_COMPRESSED_EXTS = frozenset({"png", "jpg", "jpeg", "webp", "gif", "avif", "mp3", "ogg", "mp4", "webm", "zip"})


def picture_type(data: bytes) -> str | None:
    """The content type of a PNG, JPEG, WebP or GIF picture, by its first bytes; else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def looks_like_charx(data: bytes, filename: str | None) -> bool:
    """A zip by its signature, or a file named ``.charx`` (RisuAI writes JPEG pictures with the zip appended)."""
    return is_zip(data) or (filename or "").lower().endswith(CHARX_SUFFIX)


def embedded_path(uri: Any) -> str | None:
    """The path an ``embeded://`` URI names in the zip (None for any other URI)."""
    if not isinstance(uri, str):
        return None
    for prefix in _EMBEDDED_URIS:
        if uri.startswith(prefix):
            return uri[len(prefix) :]
    return None


def main_icon(assets: list[Any]) -> int | None:
    """The index of the main icon: the ``icon`` asset named ``main``, else the first ``icon``."""
    icons = [i for i, a in enumerate(assets) if isinstance(a, Mapping) and a.get("type") == "icon"]
    named = [i for i in icons if assets[i].get("name") == "main"]
    found = named or icons
    return found[0] if found else None


@dataclass(frozen=True)
class Charx:
    """What a CHARX holds: the card (its ``assets`` left as kept), the picture, the other files kept (path ->
    base64) and the notes for the import reply (assets dropped)."""

    card: Any
    picture: bytes | None = None
    picture_type: str | None = None
    files: dict[str, str] | None = None
    notes: tuple[str, ...] = ()


def _card_json(reader: ZipReader) -> Any:
    if CARD_FILE not in reader.infos:
        raise DomainError(f"This {WHAT} has no '{CARD_FILE}' at its root, so it holds no character card.")
    if reader.size(CARD_FILE) > CARD_JSON_MAX:
        raise DomainError(f"The card in this {WHAT} is over {CARD_JSON_MAX // (1024 * 1024)} MB.")
    raw = reader.read(CARD_FILE)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DomainError(f"The '{CARD_FILE}' in this {WHAT} is not UTF-8 text.") from error
    return parse_json_text(text, f"The '{CARD_FILE}' in this {WHAT}")


def _label(asset: Mapping[str, Any]) -> str:
    return f"The {asset.get('type') or 'untyped'} asset '{asset.get('name') or asset.get('uri')}'"


def _picture(reader: ZipReader, asset: Mapping[str, Any], path: str) -> tuple[bytes, str] | str:
    """The main icon's picture and its type, or the note saying why it is not kept."""
    if path not in reader.infos:
        return f"{_label(asset)} names '{path}', which is not in the file; the card has no picture."
    data = reader.read(path)
    kind = picture_type(data)
    if kind is None:
        return f"{_label(asset)} is not a PNG, JPEG, WebP or GIF picture; it was not kept."
    return (picture_of(data) if kind == "image/png" else data), kind


def _kept_file(reader: ZipReader, asset: Mapping[str, Any], path: str, room: int) -> bytes | str:
    """An other asset's file, or the note saying why it is not kept."""
    if path not in reader.infos:
        return f"{_label(asset)} names '{path}', which is not in the file; it was left out."
    size = reader.size(path)
    if size > room:
        return (
            f"{_label(asset)} ({size:,} bytes) was not kept: a card's other assets may take "
            f"{KEPT_FILES_MAX // 1024} KB together; it will not be in exports."
        )
    data = reader.read(path)
    if len(data) > room:  # pragma: no cover - the archive lied about the size; zipfile's own check comes first
        return f"{_label(asset)} was not kept (bigger than its header says)."
    return data


def read_charx(data: bytes) -> Charx:
    """The card, picture and kept files of a ``.charx`` (see the module docstring); :class:`DomainError` for an
    archive or card that cannot be read."""
    reader = open_zip(data, WHAT)
    card = _card_json(reader)
    inner = card.get("data") if isinstance(card, Mapping) else None
    if not isinstance(inner, Mapping) or not isinstance(inner.get("assets"), list):
        return Charx(card=card)
    assets: list[Any] = inner["assets"]
    main = main_icon(assets)
    kept: list[Any] = []
    files: dict[str, str] = {}
    notes: list[str] = []
    seen: dict[str, bool] = {}  # path -> whether its file is kept (a file two assets share is read once)
    picture: tuple[bytes, str] | None = None
    room = KEPT_FILES_MAX
    for index, asset in enumerate(assets):
        path = embedded_path(asset.get("uri")) if isinstance(asset, Mapping) else None
        if path is None:
            kept.append(asset)
            continue
        if not safe_path(path):
            raise DomainError(f"{_label(asset)} points outside the {WHAT} ({asset.get('uri')!r}); refused.")
        if path in seen:
            if seen[path]:
                kept.append(asset)
            continue
        outcome = _picture(reader, asset, path) if index == main else _kept_file(reader, asset, path, room)
        seen[path] = not isinstance(outcome, str)
        if isinstance(outcome, str):
            notes.append(outcome)
            continue
        kept.append(asset)
        if isinstance(outcome, tuple):
            picture = outcome
        else:
            files[path] = base64.b64encode(outcome).decode("ascii")
            room -= len(outcome)
    card = {**card, "data": {**inner, "assets": kept}}
    return Charx(
        card=card,
        picture=picture[0] if picture else None,
        picture_type=picture[1] if picture else None,
        files=files,
        notes=tuple(notes),
    )


def with_files(card: CardImport, files: Mapping[str, str] | None) -> CardImport:
    """``card`` with a CHARX's kept files in its legacy settings (``card_files``; an empty mapping when none)."""
    settings = dict(card.settings)
    legacy = dict(settings.get("legacy_settings") or {})
    legacy[LEGACY_FILES_KEY] = dict(files or {})
    settings["legacy_settings"] = legacy
    return replace(card, settings=settings)


def kept_files(legacy: Mapping[str, Any] | None) -> dict[str, bytes]:
    """The files a persona keeps for its card's assets (path -> bytes); unreadable ones left out."""
    kept = (legacy or {}).get(LEGACY_FILES_KEY)
    files: dict[str, bytes] = {}
    if not isinstance(kept, Mapping):
        return files
    for path, text in kept.items():
        if isinstance(path, str) and safe_path(path) and isinstance(text, str):
            try:
                files[path] = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                continue
    return files


def _icon_asset(path: str, ext: str) -> dict[str, Any]:
    return {"type": "icon", "uri": EMBEDDED + path, "name": "main", "ext": ext}


def _export_assets(
    assets: list[Any], picture: tuple[bytes, str] | None, files: Mapping[str, bytes]
) -> tuple[list[Any], list[tuple[str, bytes, bool]]]:
    """The card's assets as the CHARX writes them, and the zip entries behind them."""
    main = main_icon(assets)
    out: list[Any] = []
    entries: list[tuple[str, bytes, bool]] = []
    icon: dict[str, Any] | None = None
    if picture is not None:
        ext = PICTURE_TYPES[picture[1]]
        icon = _icon_asset(f"{ICON_DIR}main.{ext}", ext)
        entries.append((f"{ICON_DIR}main.{ext}", picture[0], False))
        if main is None:
            out.append(icon)
    icon_path = entries[0][0] if entries else None
    written: set[str] = set()
    for index, asset in enumerate(assets):
        if index == main and icon is not None:
            out.append({**copy.deepcopy(dict(asset)), **icon})
            continue
        path = embedded_path(asset.get("uri")) if isinstance(asset, Mapping) else None
        if path is None:
            out.append(copy.deepcopy(asset))
        elif path in files and path != icon_path:
            out.append(copy.deepcopy(asset))
            if path not in written:
                written.add(path)
                ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
                entries.append((path, files[path], ext not in _COMPRESSED_EXTS))
    return out, entries


def charx_of(card: Mapping[str, Any], picture: tuple[bytes, str] | None, files: Mapping[str, bytes]) -> bytes:
    """A ``.charx`` of a V3 ``card`` (from :func:`bot.core.cards.persona_to_card`), with ``picture`` (bytes and
    content type, one of :data:`PICTURE_TYPES`) as its main icon and ``files`` (path -> bytes, as
    :func:`kept_files` gives) behind the embedded assets that name them. Our extension's digest of ``assets``
    is of the assets as written, so a re-import reads them as unedited."""
    data = dict(card["data"])
    raw_assets = data.get("assets")
    assets, entries = _export_assets(list(raw_assets) if isinstance(raw_assets, list) else [], picture, files)
    if assets:
        data["assets"] = assets
    else:
        data.pop("assets", None)
    extensions = data.get("extensions")
    ours = extensions.get(EXTENSION_KEY) if isinstance(extensions, Mapping) else None
    if isinstance(extensions, Mapping) and isinstance(ours, Mapping) and isinstance(ours.get("sums"), Mapping):
        sums = {**ours["sums"], "assets": field_sum(data.get("assets"))}
        data["extensions"] = {**extensions, EXTENSION_KEY: {**ours, "sums": sums}}
    body = json.dumps({**card, "data": data}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return write_zip([(CARD_FILE, body, True), *entries])
