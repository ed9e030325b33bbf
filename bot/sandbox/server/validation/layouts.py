"""Components V2 in messages: the body's ``components`` when its flags carry ``IS_COMPONENTS_V2`` (1 << 15).

From developers/components/reference.mdx and using-message-components.mdx:

- which component may hold which (top level: action row, section, text display, media gallery, file, separator,
  container; a container: the same but no container; a section: 1-3 text displays and a button or thumbnail
  accessory; an action row: up to 5 buttons or one select);
- at most 40 components in the message, every one counted (rows, sections and their accessories included, as
  discord.py's ``LayoutView`` counts them), and at most 4000 characters of text display content in all;
- each component's own fields (media gallery 1-10 items, separator spacing 1|2, file ``attachment://`` only,
  container accent colour 0x000000-0xFFFFFF, custom ids 1-100 and unique in the message, ...);
- with the flag, ``content``, ``embeds``, ``sticker_ids`` and ``poll`` are refused (developers/resources/message.mdx,
  Create Message, and webhook.mdx, Execute Webhook).

The helpers for interactive components (custom ids, ``min_values``/``max_values``, selects) are shared with
:mod:`.modals`; number bounds are :meth:`.FormErrors.out_of_range`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.server.validation.errors import FormErrors, Path

IS_COMPONENTS_V2 = 1 << 15
MAX_COMPONENTS = 40
MAX_TEXT = 4000

TOP_LEVEL = (1, 9, 10, 12, 13, 14, 17)
IN_CONTAINER = (1, 9, 10, 12, 13, 14)
IN_ROW = (2, 3, 5, 6, 7, 8)
IN_SECTION = (10,)
ACCESSORIES = (2, 11)
SELECTS = (3, 5, 6, 7, 8)
LEGACY_FIELDS = ("content", "embeds", "sticker_ids", "poll")


@dataclass
class Tally:
    """What one message (or modal) holds in all: components, text display characters, custom ids."""

    count: int = 0
    text: int = 0
    custom_ids: set[str] = field(default_factory=set)


# ----- shared field checks -----


def union_type(errors: FormErrors, path: Path, comp: Any, allowed: tuple[int, ...]) -> bool:
    """Refuses a component whose type may not stand here (Discord's ``UNION_TYPE_CHOICES``); says if it did."""
    if isinstance(comp, dict) and comp.get("type") in allowed:
        return False
    errors.add(path, "UNION_TYPE_CHOICES", f'Value of field "type" must be one of {allowed!r}.')
    return True


def custom_id(errors: FormErrors, path: Path, comp: dict[str, Any], tally: Tally) -> None:
    """``custom_id``: required, 1-100 characters, unique among the components of one message or modal."""
    value = comp.get("custom_id")
    if value is None:
        errors.required([*path, "custom_id"])
    elif not errors.bad_length([*path, "custom_id"], value, 1, 100):
        if value in tally.custom_ids:
            errors.add(
                [*path, "custom_id"], "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
            )
        tally.custom_ids.add(value)


def min_max_values(
    errors: FormErrors, path: Path, comp: dict[str, Any], low: int, high: int, *, in_modal: bool
) -> None:
    """``min_values`` ``low..high``, ``max_values`` 1..``high``, min not above max; in a modal a required
    component (``required`` omitted or true) needs ``min_values`` omitted or at least 1."""
    lo, hi = comp.get("min_values"), comp.get("max_values")
    errors.out_of_range([*path, "min_values"], lo, low, high)
    errors.out_of_range([*path, "max_values"], hi, 1, high)
    if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
        errors.add([*path, "min_values"], "NUMBER_TYPE_MAX", f"int value should be less than or equal to {hi}.")
    if in_modal and comp.get("required", True) is not False and lo == 0:
        errors.add([*path, "min_values"], "NUMBER_TYPE_MIN", "int value should be greater than or equal to 1.")


def sized(errors: FormErrors, path: Path, value: Any, low: int, high: int) -> list[Any] | None:
    """A list of ``low..high`` entries, or None when refused (``BASE_TYPE_REQUIRED`` if missing, else
    ``BASE_TYPE_BAD_LENGTH``)."""
    if value is None:
        errors.required(path)
        return None
    if not isinstance(value, list):
        errors.bad_length(path, None, low, high)
        return None
    return None if errors.bad_length(path, value, low, high) else value


def options(errors: FormErrors, path: Path, opts: Any, low: int, high: int) -> None:
    """Select, radio and checkbox options: ``low..high`` of them, label and value required, each (and the
    description) at most 100 characters."""
    checked = sized(errors, path, opts, low, high)
    for n, o in enumerate(checked or []):
        for key in ("label", "value"):
            if not o.get(key):
                errors.required([*path, n, key])
            else:
                errors.max_length([*path, n, key], o[key], 100)
        errors.max_length([*path, n, "description"], o.get("description"), 100)


def check_select(errors: FormErrors, path: Path, comp: dict[str, Any], tally: Tally, *, in_modal: bool) -> None:
    """A string, user, role, mentionable or channel select (reference.mdx, String Select ... Channel Select)."""
    custom_id(errors, path, comp, tally)
    errors.max_length([*path, "placeholder"], comp.get("placeholder"), 150)
    min_max_values(errors, path, comp, 0, 25, in_modal=in_modal)
    if comp["type"] == 3:
        options(errors, [*path, "options"], comp.get("options"), 1, 25)
    if in_modal and comp.get("disabled"):
        # "Using disabled in a modal will result in an error."
        errors.add([*path, "disabled"], "BASE_TYPE_CHOICES", "Value must be one of {False}.")


def _check_button(errors: FormErrors, path: Path, comp: dict[str, Any], tally: Tally) -> None:
    style = comp.get("style")
    if errors.choices([*path, "style"], style, (1, 2, 3, 4, 5, 6)):
        return
    errors.max_length([*path, "label"], comp.get("label"), 80)
    if style == 5:
        if not comp.get("url"):
            errors.required([*path, "url"])
        errors.max_length([*path, "url"], comp.get("url"), 512)
    elif style == 6:
        if not comp.get("sku_id"):
            errors.required([*path, "sku_id"])
    else:
        custom_id(errors, path, comp, tally)


# ----- the V2 tree -----


def text_displays(components: list[dict[str, Any]]) -> list[str]:
    """The content of every text display in a V2 tree, in reading order (mentions in them ping)."""
    out: list[str] = []
    for comp in components:
        if not isinstance(comp, dict):
            continue
        if comp.get("type") == 10 and isinstance(comp.get("content"), str):
            out.append(comp["content"])
        out += text_displays(comp.get("components") or [])
    return out


def check_v2_body(body: dict[str, Any], errors: FormErrors) -> None:
    """A message or webhook-message body flagged ``IS_COMPONENTS_V2``: no legacy fields, and its component tree."""
    for key in LEGACY_FIELDS:
        if body.get(key):  # null, "" and [] are how a client says "none"
            errors.add(
                [key],
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                f"The '{key}' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
            )
    if body.get("components") is not None:
        check_layout(body["components"], errors)


def check_layout(components: list[dict[str, Any]], errors: FormErrors, path: Path = ("components",)) -> None:
    """Checks a V2 component tree: what may hold what, each component's fields, and the message-wide limits."""
    tally = Tally()
    _children(errors, path, components, TOP_LEVEL, tally)
    if tally.count > MAX_COMPONENTS:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_COMPONENTS} or fewer in length.")
    if tally.text > MAX_TEXT:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_TEXT} or fewer in length.")


def _children(errors: FormErrors, path: Path, comps: Any, allowed: tuple[int, ...], tally: Tally) -> None:
    if not isinstance(comps, list):
        errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        return
    for n, comp in enumerate(comps):
        _component(errors, [*path, n], comp, allowed, tally)


def _component(errors: FormErrors, path: Path, comp: Any, allowed: tuple[int, ...], tally: Tally) -> None:
    if union_type(errors, path, comp, allowed):
        return
    tally.count += 1
    t = comp["type"]
    if t == 1:
        _check_row(errors, path, comp, tally)
    elif t == 2:
        _check_button(errors, path, comp, tally)
    elif t in SELECTS:
        check_select(errors, path, comp, tally, in_modal=False)
    elif t == 9:
        _check_section(errors, path, comp, tally)
    elif t == 10:
        content = comp.get("content")
        if not isinstance(content, str) or not content:
            errors.required([*path, "content"])
        else:
            tally.text += len(content)
    elif t == 11:
        _media(errors, [*path, "media"], comp.get("media"))
        errors.max_length([*path, "description"], comp.get("description"), 1024)
    elif t == 12:
        _check_gallery(errors, path, comp)
    elif t == 13:
        if _media(errors, [*path, "file"], comp.get("file")) and not comp["file"]["url"].startswith("attachment://"):
            scheme = comp["file"]["url"].partition(":")[0]
            errors.add(
                [*path, "file", "url"],
                "URL_TYPE_INVALID_SCHEME",
                f"Scheme \"{scheme}\" is not supported. Scheme must be one of ('attachment',).",
            )
    elif t == 14:
        if comp.get("spacing") is not None:
            errors.choices([*path, "spacing"], comp["spacing"], (1, 2))
    elif t == 17:
        errors.out_of_range([*path, "accent_color"], comp.get("accent_color"), 0, 0xFFFFFF)
        _children(errors, [*path, "components"], comp.get("components"), IN_CONTAINER, tally)


def _check_row(errors: FormErrors, path: Path, comp: dict[str, Any], tally: Tally) -> None:
    inner = sized(errors, [*path, "components"], comp.get("components"), 1, 5)
    if inner is None:
        return
    if any(isinstance(c, dict) and c.get("type") in SELECTS for c in inner) and len(inner) > 1:
        width = "The specified component exceeds the maximum width"
        errors.add([*path, "components"], "COMPONENT_LAYOUT_WIDTH_EXCEEDED", width)
    _children(errors, [*path, "components"], inner, IN_ROW, tally)


def _check_section(errors: FormErrors, path: Path, comp: dict[str, Any], tally: Tally) -> None:
    inner = sized(errors, [*path, "components"], comp.get("components"), 1, 3)
    if inner is not None:
        _children(errors, [*path, "components"], inner, IN_SECTION, tally)
    accessory = comp.get("accessory")
    if accessory is None:
        errors.required([*path, "accessory"])
    else:
        _component(errors, [*path, "accessory"], accessory, ACCESSORIES, tally)


def _check_gallery(errors: FormErrors, path: Path, comp: dict[str, Any]) -> None:
    items = sized(errors, [*path, "items"], comp.get("items"), 1, 10)
    for n, item in enumerate(items or []):
        _media(errors, [*path, "items", n, "media"], item.get("media"))
        errors.max_length([*path, "items", n, "description"], item.get("description"), 1024)


def _media(errors: FormErrors, path: Path, media: Any) -> bool:
    """An unfurled media item: only ``url`` is the sender's, and it is required. Says whether it is there."""
    if not isinstance(media, dict) or not isinstance(media.get("url"), str) or not media["url"]:
        errors.required([*path, "url"] if isinstance(media, dict) else path)
        return False
    return True
