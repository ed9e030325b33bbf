"""Filling a modal as a user would: the ``data`` of the modal-submit interaction (type 5) Discord would send for
each component the bot put in the modal (developers/components/reference.mdx, "... Interaction Response
Structure"): text inputs (``value``), selects (``values`` and ``resolved``), radio groups (``value``, or null),
checkbox groups (``values``), checkboxes (``value``: true/false), file uploads (attachment ids in ``values``,
the files in ``resolved.attachments``) and text displays (their ``type`` and ``id`` only).

Answers are keyed by a component's ``custom_id`` or by its label. A radio group takes an option's value or label;
a checkbox group a list of those; a checkbox a bool; a select what :meth:`Sandbox.select` takes; a file upload a
``(filename, bytes)`` tuple or a list of them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from bot.sandbox.harness.results import SandboxError
from bot.sandbox.state import Attachment, Channel, attachment_json

FILE_GROUPS = {
    "image": {".png", ".gif", ".jpg", ".jpeg", ".jfif", ".webp", ".avif"},
    "video": {".mp4", ".mov", ".qt", ".webm"},
    "audio": {".mp3", ".m4a", ".wav", ".ogg", ".opus", ".flac"},
}

SelectValues = Callable[[dict[str, Any], list[Any], Channel], tuple[list[str], dict[str, dict[str, Any]]]]
Upload = Callable[[str, bytes], Attachment]


def modal_fields(modal: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """The modal's answerable components with the label a user sees (text displays left out)."""
    out = []
    for row in modal.get("components", []):
        if row.get("type") == 18:
            comp = row.get("component") or {}
            out.append((comp, row.get("label") or comp.get("custom_id") or ""))
        elif row.get("type") == 1:
            for c in row.get("components", []):
                out.append((c, c.get("label") or c.get("custom_id") or ""))
    return out


def option_value(comp: dict[str, Any], pick: Any) -> str:
    """An option of a radio or checkbox group (or string select) by value or label."""
    for o in comp.get("options") or []:
        if pick in (o.get("value"), o.get("label")):
            return str(o["value"])
    shown = [o.get("label") for o in comp.get("options") or []]
    raise SandboxError(f"{comp.get('custom_id')!r} has no option {pick!r}; options: {shown}")


class ModalFiller:
    """Builds one modal-submit ``data`` from the user's answers, refusing what the modal would not let through."""

    def __init__(
        self,
        modal: dict[str, Any],
        given: dict[str, Any],
        select_values: SelectValues,
        upload: Upload,
        channel: Channel,
    ) -> None:
        self.modal = modal
        self.given = given
        self.select_values = select_values
        self.upload = upload
        self.channel = channel
        self.used: set[str] = set()
        self.resolved: dict[str, dict[str, Any]] = {}
        # Discord numbers the components it was sent without an ``id`` (1, 2, ... skipping ids in use) and the
        # submission carries them.
        self.ids = _assign_ids(modal)

    def build(self) -> dict[str, Any]:
        out: list[dict[str, Any]] = []
        for row in self.modal.get("components", []):
            if row.get("type") == 1:
                inner = [self.answer(c, c.get("label")) for c in row.get("components", [])]
                out.append({"type": 1, "id": self.ids[id(row)], "components": inner})
            elif row.get("type") == 18:
                label = {"type": 18, "id": self.ids[id(row)]}
                out.append({**label, "component": self.answer(row["component"], row.get("label"))})
            elif row.get("type") == 10:
                out.append({"type": 10, "id": self.ids[id(row)]})
        unknown = set(self.given) - self.used
        if unknown:
            raise SandboxError(f"modal {self.modal.get('title')!r} has no field(s) {sorted(unknown)}")
        data: dict[str, Any] = {"custom_id": self.modal["custom_id"], "components": out}
        if self.resolved:
            data["resolved"] = self.resolved
        return data

    def answer(self, comp: dict[str, Any], label: str | None) -> dict[str, Any]:
        cid = comp.get("custom_id")
        name = label or cid
        key = next((k for k in (cid, label, comp.get("label")) if k and k in self.given), None)
        if key is not None:
            self.used.add(key)
        given = self.given[key] if key is not None else None
        required = comp.get("required", True) is not False
        t = comp.get("type")
        out: dict[str, Any] = {"type": t, "id": self.ids[id(comp)], "custom_id": cid}
        if t == 4:
            out["value"] = self._text(comp, name, given, required)
        elif t in (3, 5, 6, 7, 8):
            out["values"] = self._select(comp, name, given, required)
        elif t == 21:
            out["value"] = self._radio(comp, name, given, required)
        elif t == 22:
            out["values"] = self._checkboxes(comp, name, given, required)
        elif t == 23:
            value = bool(comp.get("default", False)) if given is None else given
            if not isinstance(value, bool):
                raise SandboxError(f"checkbox {name!r} takes True or False, not {value!r}")
            out["value"] = value
        elif t == 19:
            out["values"] = self._files(comp, name, given, required)
        else:
            raise SandboxError(f"modal field {name!r} has a type ({t}) a user cannot fill")
        return out

    def _text(self, comp: dict[str, Any], name: str | None, given: Any, required: bool) -> str:
        value = (comp.get("value") or "") if given is None else str(given)
        if required and not value:
            raise SandboxError(f"modal field {name!r} is required")
        if value and not comp.get("min_length", 0) <= len(value) <= comp.get("max_length", 4000):
            raise SandboxError(f"modal field {name!r}: length {len(value)} out of range")
        return value

    def _select(self, comp: dict[str, Any], name: str | None, given: Any, required: bool) -> list[str]:
        chosen = [] if given is None else (given if isinstance(given, list) else [given])
        if comp.get("type") == 3:
            chosen = [option_value(comp, c) for c in chosen]
        if required and not chosen:
            raise SandboxError(f"modal field {name!r} is required")
        low = comp.get("min_values")
        low = (1 if required else 0) if low is None else low
        wire, resolved = self.select_values({**comp, "min_values": low if chosen else 0}, chosen, self.channel)
        for kind, entries in resolved.items():
            self.resolved.setdefault(kind, {}).update(entries)
        return wire

    def _radio(self, comp: dict[str, Any], name: str | None, given: Any, required: bool) -> str | None:
        if given is None:
            given = next((o["value"] for o in comp.get("options") or [] if o.get("default")), None)
        if given is None:
            if required:
                raise SandboxError(f"radio group {name!r} is required")
            return None
        return option_value(comp, given)

    def _checkboxes(self, comp: dict[str, Any], name: str | None, given: Any, required: bool) -> list[str]:
        opts = comp.get("options") or []
        if given is None:
            picked = [o["value"] for o in opts if o.get("default")]
        else:
            picked = [option_value(comp, g) for g in (given if isinstance(given, list) else [given])]
        low = comp.get("min_values")
        low = (1 if required else 0) if low is None else low
        high = comp.get("max_values") or len(opts)
        if picked or required:
            if not low <= len(picked) <= high:
                raise SandboxError(f"checkbox group {name!r} takes {low}..{high} ticks, got {len(picked)}")
        return picked

    def _files(self, comp: dict[str, Any], name: str | None, given: Any, required: bool) -> list[str]:
        files = [] if given is None else (given if isinstance(given, list) else [given])
        low = comp.get("min_values")
        low = (1 if required else 0) if low is None else low
        high = comp.get("max_values")
        high = 1 if high is None else high
        if (files or required) and not low <= len(files) <= high:
            raise SandboxError(f"file upload {name!r} takes {low}..{high} files, got {len(files)}")
        allowed = _allowed_extensions(comp.get("file_types"))
        ids = []
        for f in files:
            if not (isinstance(f, tuple) and len(f) == 2):
                raise SandboxError(f"file upload {name!r} takes (filename, bytes) tuples, not {f!r}")
            filename, data = f
            if allowed is not None and PurePath(filename).suffix.lower() not in allowed:
                raise SandboxError(f"file upload {name!r} takes only {sorted(allowed)}, not {filename!r}")
            att = self.upload(filename, data)
            entry = attachment_json(att)
            entry["ephemeral"] = True
            self.resolved.setdefault("attachments", {})[str(att.id)] = entry
            ids.append(str(att.id))
        return ids


def _allowed_extensions(types: list[str] | None) -> set[str] | None:
    if not types:
        return None
    allowed: set[str] = set()
    for t in types:
        allowed |= FILE_GROUPS.get(t, {t.lower()})
    return allowed


def _assign_ids(modal: dict[str, Any]) -> dict[int, int]:
    """Each component's ``id`` (keyed by the Python object's ``id``): its own, or the next number not in use."""
    comps: list[dict[str, Any]] = []
    for row in modal.get("components", []):
        comps.append(row)
        comps += row.get("components") or []
        if isinstance(row.get("component"), dict):
            comps.append(row["component"])
    taken = {c["id"] for c in comps if isinstance(c.get("id"), int) and c["id"]}
    ids: dict[int, int] = {}
    n = 0
    for c in comps:
        if isinstance(c.get("id"), int) and c["id"]:
            ids[id(c)] = c["id"]
            continue
        n += 1
        while n in taken:
            n += 1
        ids[id(c)] = n
    return ids
