"""A Components V2 message as lines of text, the way the playground prints it.

Text displays print as text; a container's lines carry a bar (``▌``); a section's accessory follows its text
(a button as ``[N] Label``, a thumbnail as ``🖼 name``); a separator is a rule (or a blank line without a
divider); galleries and files print their names; action rows print their buttons and selects. Buttons and
selects are numbered in the order :meth:`Posted.buttons` and :meth:`Posted.selects` list them, so ``:click N``
and ``:select N`` find what the user read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

RULE = "─" * 24


@dataclass
class _Numbers:
    button: int = 0
    select: int = 0


def media_name(media: dict[str, Any] | None) -> str:
    url = (media or {}).get("url") or ""
    if url.startswith("attachment://"):
        return url.removeprefix("attachment://")
    return urlparse(url).path.rsplit("/", 1)[-1] or url


def button_text(b: dict[str, Any], n: int) -> str:
    name = b.get("label") or (b.get("emoji") or {}).get("name") or b.get("custom_id")
    return f"[{n}] {name}{' (disabled)' if b.get('disabled') else ''}"


def select_text(s: dict[str, Any], n: int) -> str:
    opts = s.get("options") or []
    shown = "  ".join(f"({k}) {o['label']}" for k, o in enumerate(opts, 1)) or "(users/roles/channels by name)"
    return f"select {n} {s.get('placeholder') or s.get('custom_id')}: {shown}   (:select {n} 1,2)"


def layout_lines(components: list[dict[str, Any]]) -> list[str]:
    """The lines of a V2 message's components, each indented by two spaces."""
    numbers = _Numbers()
    out: list[str] = []
    for comp in components:
        out += _lines(comp, numbers)
    return ["  " + line for line in out]


def _lines(comp: dict[str, Any], numbers: _Numbers) -> list[str]:
    t = comp.get("type")
    if t == 10:
        return (comp.get("content") or "").splitlines() or [""]
    if t == 17:
        head = ["(spoiler)"] if comp.get("spoiler") else []
        inner = [line for child in comp.get("components") or [] for line in _lines(child, numbers)]
        return ["▌ " + line for line in head + inner]
    if t == 9:
        text = [line for child in comp.get("components") or [] for line in _lines(child, numbers)] or [""]
        accessory = comp.get("accessory") or {}
        if accessory.get("type") == 2:
            numbers.button += 1
            side = button_text(accessory, numbers.button) + "   (:click N)"
        else:
            side = f"🖼 {media_name(accessory.get('media'))}"
        return [*text[:-1], f"{text[-1]}   {side}"]
    if t == 14:
        return [RULE if comp.get("divider", True) else ""]
    if t == 12:
        return ["🖼 " + ", ".join(media_name(i.get("media")) for i in comp.get("items") or [])]
    if t == 13:
        return [f"📎 {media_name(comp.get('file'))}"]
    if t == 1:
        return _row(comp, numbers)
    return [f"(component type {t})"]


def _row(row: dict[str, Any], numbers: _Numbers) -> list[str]:
    buttons, lines = [], []
    for c in row.get("components") or []:
        if c.get("type") == 2:
            numbers.button += 1
            buttons.append(button_text(c, numbers.button))
        else:
            numbers.select += 1
            lines.append(select_text(c, numbers.select))
    if buttons:
        lines.insert(0, "buttons: " + "  ".join(buttons) + "   (:click N)")
    return lines
