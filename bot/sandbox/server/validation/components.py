"""V1 (legacy) message components: action rows holding buttons or one select (developers/components/reference).

- Top level: at most 5 components, each an Action Row (type 1) ("Legacy messages allow up to 5 action rows").
- Action Row: 1 to 5 buttons, or a single select; a select shares its row with nothing
  (``COMPONENT_LAYOUT_WIDTH_EXCEEDED``, "The specified component exceeds the maximum width").
- Button: style 1-6; label at most 80; url at most 512; non-link, non-premium buttons need a ``custom_id`` and have
  no ``url`` or ``sku_id``; link buttons need a ``url`` and have no ``custom_id``; premium buttons need a
  ``sku_id`` and have no ``custom_id``, ``label``, ``url`` or ``emoji``.
- Selects (types 3, 5-8): ``custom_id``; placeholder at most 150; ``min_values`` 0-25, ``max_values`` 1-25, min not
  above max; a string select has 1-25 options, each with a label and a value of at most 100 and a description of at
  most 100; ``default_values`` (auto-populated selects) within min..max.
- ``custom_id``: 1 to 100 characters, unique per message (``COMPONENT_CUSTOM_ID_DUPLICATED``).

The helpers taking a ``seen`` set (custom ids met so far) are what the Components V2 checks reuse for the buttons and
selects inside V2 layouts. Where Discord's documentation names a rule but not its error code, the code here is the
sandbox's own name for it; tests assert the ``50035`` and the field path.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.server.validation.errors import FormErrors, Path

ACTION_ROW, BUTTON, STRING_SELECT = 1, 2, 3
SELECTS = (3, 5, 6, 7, 8)
LINK, PREMIUM = 5, 6
MAX_ROWS, MAX_BUTTONS = 5, 5
CUSTOM_ID_MAX, LABEL_MAX, URL_MAX = 100, 80, 512
OPTIONS_MAX, OPTION_TEXT_MAX, PLACEHOLDER_MAX, VALUES_MAX = 25, 100, 150, 25


def _not_allowed(errors: FormErrors, path: Path, field: str, why: str) -> None:
    errors.add([*path, field], "COMPONENT_FIELD_NOT_ALLOWED", why)


def check_custom_id(component: dict[str, Any], errors: FormErrors, path: Path, seen: set[str]) -> None:
    """A required ``custom_id`` of 1-100 characters, not used before in the message."""
    custom_id = component.get("custom_id")
    if custom_id is None:
        errors.required([*path, "custom_id"])
        return
    if not isinstance(custom_id, str):
        errors.not_a_string([*path, "custom_id"])
        return
    if errors.bad_length([*path, "custom_id"], custom_id, 1, CUSTOM_ID_MAX):
        return
    if custom_id in seen:
        errors.add([*path, "custom_id"], "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id was already specified")
    seen.add(custom_id)


def check_button(button: dict[str, Any], errors: FormErrors, path: Path, seen: set[str]) -> None:
    style = button.get("style")
    if style is None:
        errors.required([*path, "style"])
        return
    if errors.choices([*path, "style"], style, (1, 2, 3, 4, 5, 6)):
        return
    errors.max_length([*path, "label"], button.get("label"), LABEL_MAX)
    errors.max_length([*path, "url"], button.get("url"), URL_MAX)
    if style == LINK:
        if not button.get("url"):
            errors.required([*path, "url"])
        if button.get("custom_id") is not None:
            _not_allowed(errors, path, "custom_id", "A link button cannot have a custom_id.")
    elif style == PREMIUM:
        if not button.get("sku_id"):
            errors.required([*path, "sku_id"])
        for field in ("custom_id", "label", "url", "emoji"):
            if button.get(field) is not None:
                _not_allowed(errors, path, field, f"A premium button cannot have a {field}.")
    else:
        check_custom_id(button, errors, path, seen)
        for field in ("url", "sku_id"):
            if button.get(field) is not None:
                _not_allowed(errors, path, field, f"A button of style {style} cannot have a {field}.")


def _check_options(select: dict[str, Any], errors: FormErrors, path: Path) -> None:
    options = select.get("options")
    if select.get("type") != STRING_SELECT:
        if options is not None:
            _not_allowed(errors, path, "options", "Only a string select has options.")
        return
    if not isinstance(options, list):
        errors.required([*path, "options"])
        return
    if errors.bad_length([*path, "options"], options, 1, OPTIONS_MAX):
        return
    for i, option in enumerate(options):
        where = [*path, "options", i]
        if not isinstance(option, dict):
            errors.not_a_dict(where)
            continue
        for field in ("label", "value"):
            if not option.get(field):
                errors.required([*where, field])
        for field in ("label", "value", "description"):
            errors.max_length([*where, field], option.get(field), OPTION_TEXT_MAX)


def check_select(select: dict[str, Any], errors: FormErrors, path: Path, seen: set[str]) -> None:
    check_custom_id(select, errors, path, seen)
    errors.max_length([*path, "placeholder"], select.get("placeholder"), PLACEHOLDER_MAX)
    low, high = select.get("min_values"), select.get("max_values")
    bad = errors.out_of_range([*path, "min_values"], low, 0, VALUES_MAX)
    bad = errors.out_of_range([*path, "max_values"], high, 1, VALUES_MAX) or bad
    low, high = (1 if low is None else low), (1 if high is None else high)
    if not bad and low > high:
        errors.add([*path, "min_values"], "NUMBER_TYPE_MAX", f"int value should be less than or equal to {high}.")
    _check_options(select, errors, path)
    defaults = select.get("default_values")
    if defaults is not None and not bad and not low <= len(defaults) <= high:
        errors.bad_length([*path, "default_values"], defaults, low, high)


def check_row(row: dict[str, Any], errors: FormErrors, path: Path, seen: set[str]) -> None:
    """An action row of a message: 1-5 buttons or one select."""
    children = row.get("components")
    if not isinstance(children, list):
        errors.required([*path, "components"])
        return
    if errors.bad_length([*path, "components"], children, 1, MAX_BUTTONS):
        return
    width = 0
    for i, child in enumerate(children):
        where = [*path, "components", i]
        kind = child.get("type") if isinstance(child, dict) else None
        if kind == BUTTON:
            check_button(child, errors, where, seen)
            width += 1
        elif kind in SELECTS:
            check_select(child, errors, where, seen)
            width += MAX_BUTTONS
        else:
            shown = ", ".join(str(t) for t in (BUTTON, *SELECTS))
            errors.add([*where, "type"], "UNION_TYPE_CHOICES", f'Value of field "type" must be one of ({shown}).')
            continue
        if width > MAX_BUTTONS:
            errors.add(where, "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width")


def check_components(components: Any, errors: FormErrors, path: Path = ("components",)) -> None:
    """The ``components`` of a message without ``IS_COMPONENTS_V2``: at most 5 action rows."""
    if components is None:
        return
    if not isinstance(components, list):
        errors.add(path, "BASE_TYPE_LIST", "Must be an array.")
        return
    if errors.max_length(path, components, MAX_ROWS):
        return
    seen: set[str] = set()
    for i, row in enumerate(components):
        if not isinstance(row, dict) or row.get("type") != ACTION_ROW:
            errors.add([*path, i, "type"], "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1,).')
            continue
        check_row(row, errors, [*path, i], seen)
