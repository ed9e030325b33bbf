"""Modal callbacks (interaction response type 9): the modal and its components, V1 and V2.

From developers/interactions/receiving-and-responding.mdx (Modal: ``custom_id`` 1-100, ``title`` max 45,
1-5 components) and developers/components/reference.mdx:

- top level: an action row holding one text input (V1, deprecated), a text display, or a label;
- label: ``label`` max 45, ``description`` max 100, one ``component``: a text input, a string / user / role /
  mentionable / channel select, a file upload, a radio group, a checkbox group or a checkbox;
- text input: ``custom_id`` 1-100, ``style`` 1|2, ``min_length`` 0-4000, ``max_length`` 1-4000, ``value`` max
  4000, ``placeholder`` max 100 (and in a V1 action row its own ``label``, max 45);
- selects: as in messages, but never ``disabled``, and a required one needs ``min_values`` omitted or >= 1;
- file upload: ``min_values`` 0-10, ``max_values`` 1-10, ``file_types`` max 10, each ``image``, ``video``,
  ``audio`` or a dot-prefixed extension (developers/reference.mdx, File Type Filtering);
- radio group: 2-10 options; checkbox group: 1-10 options, ``min_values`` 0-10, ``max_values`` 1-10;
  checkbox: a ``custom_id`` and an optional ``default``.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.server.validation.errors import FormErrors, Path
from bot.sandbox.server.validation.layouts import (
    SELECTS,
    Tally,
    check_select,
    custom_id,
    min_max_values,
    options,
    sized,
    union_type,
)

MODAL_TOP_LEVEL = (1, 10, 18)
IN_MODAL_ROW = (4,)
IN_LABEL = (3, 4, 5, 6, 7, 8, 19, 21, 22, 23)
FILE_GROUPS = ("image", "video", "audio")


def check_modal(data: dict[str, Any], errors: FormErrors, path: Path = ("data",)) -> None:
    for key, high in (("custom_id", 100), ("title", 45)):
        if data.get(key) is None:
            errors.required([*path, key])
        else:
            errors.bad_length([*path, key], data[key], 1, high)
    comps = sized(errors, [*path, "components"], data.get("components"), 1, 5)
    if comps is None:
        return
    tally = Tally()
    for n, comp in enumerate(comps):
        p = [*path, "components", n]
        if union_type(errors, p, comp, MODAL_TOP_LEVEL):
            continue
        if comp["type"] == 1:
            _check_row(errors, p, comp, tally)
        elif comp["type"] == 10:
            if not isinstance(comp.get("content"), str) or not comp["content"]:
                errors.required([*p, "content"])
        else:
            _check_label(errors, p, comp, tally)


def _check_row(errors: FormErrors, path: Path, row: dict[str, Any], tally: Tally) -> None:
    inner = sized(errors, [*path, "components"], row.get("components"), 1, 1)
    if inner is None:
        return
    p = [*path, "components", 0]
    if not union_type(errors, p, inner[0], IN_MODAL_ROW):
        label = inner[0].get("label")
        if label is None:
            errors.required([*p, "label"])
        else:
            errors.bad_length([*p, "label"], label, 1, 45)
        _check_text_input(errors, p, inner[0], tally)


def _check_label(errors: FormErrors, path: Path, label: dict[str, Any], tally: Tally) -> None:
    text = label.get("label")
    if text is None:
        errors.required([*path, "label"])
    else:
        errors.bad_length([*path, "label"], text, 1, 45)
    errors.max_length([*path, "description"], label.get("description"), 100)
    comp = label.get("component")
    p = [*path, "component"]
    if comp is None:
        errors.required(p)
        return
    if union_type(errors, p, comp, IN_LABEL):
        return
    t = comp["type"]
    if t == 4:
        _check_text_input(errors, p, comp, tally)
    elif t in SELECTS:
        check_select(errors, p, comp, tally, in_modal=True)
    elif t == 19:
        _check_file_upload(errors, p, comp, tally)
    elif t == 21:
        custom_id(errors, p, comp, tally)
        options(errors, [*p, "options"], comp.get("options"), 2, 10)
    elif t == 22:
        custom_id(errors, p, comp, tally)
        options(errors, [*p, "options"], comp.get("options"), 1, 10)
        min_max_values(errors, p, comp, 0, 10, in_modal=True)
    else:  # 23, a checkbox
        custom_id(errors, p, comp, tally)
        if comp.get("default") is not None and not isinstance(comp["default"], bool):
            errors.add([*p, "default"], "BASE_TYPE_BAD_BOOLEAN", "Must be either true or false.")


def _check_text_input(errors: FormErrors, path: Path, comp: dict[str, Any], tally: Tally) -> None:
    custom_id(errors, path, comp, tally)
    errors.choices([*path, "style"], comp.get("style"), (1, 2))
    errors.out_of_range([*path, "min_length"], comp.get("min_length"), 0, 4000)
    errors.out_of_range([*path, "max_length"], comp.get("max_length"), 1, 4000)
    errors.max_length([*path, "value"], comp.get("value"), 4000)
    errors.max_length([*path, "placeholder"], comp.get("placeholder"), 100)


def _check_file_upload(errors: FormErrors, path: Path, comp: dict[str, Any], tally: Tally) -> None:
    custom_id(errors, path, comp, tally)
    min_max_values(errors, path, comp, 0, 10, in_modal=True)
    types = comp.get("file_types")
    if types is None or errors.max_length([*path, "file_types"], types, 10):
        return
    for n, kind in enumerate(types):
        if not isinstance(kind, str) or not (kind in FILE_GROUPS or (kind.startswith(".") and len(kind) > 1)):
            errors.add(
                [*path, "file_types", n],
                "BASE_TYPE_CHOICES",
                "Value must be one of {'image', 'video', 'audio'} or a dot-prefixed file extension.",
            )
