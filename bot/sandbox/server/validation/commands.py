"""Application-command sync: the bodies of bulk overwrite (``PUT .../commands``), create and edit.

Discord's rules (developers/interactions/application-commands.mdx, "Application Command Naming", "Application
Command Structure", "Application Command Option Structure", "Option Choice Structure", "Registering a Command",
"Slash Commands", "Localization"):

- ``CHAT_INPUT`` command names and every option name match ``^[-_ʼ\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``
  and use the lowercase variant of any letter that has one. The docs' regex shows an ASCII apostrophe, but Discord
  refuses it (``STRING_TYPE_REGEX``) and allows U+02BC MODIFIER LETTER APOSTROPHE instead: the docs were corrected to
  say so (discord-api-docs #7371, fixed by #8567). ``USER`` and ``MESSAGE`` names are 1-32 characters of any case and
  may hold spaces.
- Descriptions: 1-100 characters for ``CHAT_INPUT`` commands and for every option; ``USER`` and ``MESSAGE`` commands
  take none (and no options).
- At most 25 options per level and 25 choices per option; choice names 1-100 characters, string values at most
  100; integer values and bounds within ±(2^53-1), number values within ±2^53.
- Required options come before optional ones; a subcommand group holds only subcommands; a subcommand holds no
  subcommand or group; subcommands and groups are not mixed with other option types on one level.
- ``min_length`` 0-6000, ``max_length`` 1-6000; ``autocomplete`` may not be set with ``choices``.
- Option names are unique within their level; command names are unique per type in one scope.
- A slash command's name, description and choice names and values, over the whole tree, come to at most 8000
  characters, counting the longest localization of each field (``APPLICATION_COMMAND_TOO_LARGE``).
- At most 100 ``CHAT_INPUT``, 15 ``USER`` and 15 ``MESSAGE`` commands per scope (the docs raised context menus
  from 5 to 15 in March 2026; over it Discord answers ``30032 Maximum number of application commands reached``).
- Localization dictionaries are keyed by Discord's locales (developers/reference.mdx "Locales"); their values
  follow the rules of the field they localize.

Bulk errors are keyed by the command's index first (``0.options.1.name``), as Discord sends them and as
discord.py's ``CommandSyncFailure`` reads them; single create/edit errors start at the field.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from bot.sandbox.server.http import ApiError
from bot.sandbox.server.validation.errors import FormErrors, Path

CHAT_INPUT, USER, MESSAGE, PRIMARY_ENTRY_POINT = 1, 2, 3, 4
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, NUMBER = 1, 2, 3, 4, 10

MAX_COMMANDS = {CHAT_INPUT: 100, USER: 15, MESSAGE: 15, PRIMARY_ENTRY_POINT: 1}
MAX_BULK = 130  # the longest list a bulk overwrite takes (100 + 15 + 15), refused as a list length
MAX_NAME = 32
MAX_DESCRIPTION = 100
MAX_OPTIONS = 25
MAX_CHOICES = 25
MAX_CHOICE_NAME = 100
MAX_CHOICE_VALUE = 100
MAX_STRING_LENGTH = 6000
MAX_COMMAND_SIZE = 8000
MAX_INTEGER = 2**53 - 1
MAX_NUMBER = 2**53

MAX_COMMANDS_REACHED = 30032

LOCALES = frozenset(
    "id da de en-GB en-US es-ES es-419 fr hr it lt hu nl no pl pt-BR ro fi sv-SE vi tr cs el bg ru uk hi th "
    "zh-CN ja zh-TW ko".split()
)

# Unicode scripts Devanagari and Thai (their letters are \p{L} already; these add their marks and signs).
_SCRIPT_RANGES = (
    (0x0900, 0x0950),
    (0x0955, 0x0963),
    (0x0966, 0x097F),
    (0xA8E0, 0xA8FF),
    (0x11B00, 0x11B09),
    (0x0E01, 0x0E3A),
    (0x0E40, 0x0E5B),
)


def _name_char(c: str) -> bool:
    if c in "-_\u02bc" or unicodedata.category(c)[0] in "LN":
        return True
    return any(low <= ord(c) <= high for low, high in _SCRIPT_RANGES)


def check_name(errors: FormErrors, path: Path, name: Any, *, slash: bool) -> None:
    """A command or option name: slash rules when ``slash``, else a context-menu name (any case, spaces)."""
    if name is None:
        errors.required(path)
        return
    if not isinstance(name, str):
        errors.not_a_string(path)
        return
    if errors.bad_length(path, name, 1, MAX_NAME):
        return
    if not slash:
        if not name.strip():
            errors.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        return
    if not all(_name_char(c) for c in name):
        errors.add(path, "STRING_TYPE_REGEX", "String value did not match validation regex.")
    elif any(c.lower() != c for c in name):
        errors.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def check_text(errors: FormErrors, path: Path, text: Any, low: int, high: int, *, required: bool = True) -> None:
    """A description or choice name: a string of ``low..high`` characters."""
    if text is None:
        if required:
            errors.required(path)
        return
    if not isinstance(text, str):
        errors.not_a_string(path)
        return
    errors.bad_length(path, text, low, high)


def check_localizations(errors: FormErrors, path: Path, table: Any, check: Any) -> None:
    """``name_localizations`` / ``description_localizations``: locale keys, each value checked by ``check``."""
    if table is None:
        return
    if not isinstance(table, Mapping):
        errors.not_a_dict(path)
        return
    for locale, value in table.items():
        if locale not in LOCALES:
            errors.add([*path, locale], "BASE_TYPE_CHOICES", f"Value must be one of {sorted(LOCALES)}.")
        else:
            check([*path, locale], value)


def _longest(value: Any, localizations: Any) -> int:
    sizes = [len(str(value)) if value is not None else 0]
    if isinstance(localizations, Mapping):
        sizes += [len(str(v)) for v in localizations.values() if v is not None]
    return max(sizes)


def command_size(data: Mapping[str, Any]) -> int:
    """What Discord counts against the 8000: names, descriptions, choice names and values, over the whole tree,
    each field at its longest localization."""
    size = _longest(data.get("name"), data.get("name_localizations"))
    size += _longest(data.get("description"), data.get("description_localizations"))
    for choice in data.get("choices") or []:
        if isinstance(choice, Mapping):
            size += _longest(choice.get("name"), choice.get("name_localizations"))
            size += len(str(choice.get("value", "")))
    for option in data.get("options") or []:
        if isinstance(option, Mapping):
            size += command_size(option)
    return size


def check_permissions_string(errors: FormErrors, path: Path, value: Any) -> str | None:
    """``default_member_permissions``: a permission bit set as a string (Discord also takes the number); returns
    the string Discord gives back, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        errors.add(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
        return None
    return str(int(value))


def _check_choice_list(errors: FormErrors, path: Path, values: Any, allowed: Iterable[int]) -> None:
    if values is None:
        return
    allowed = list(allowed)
    if not isinstance(values, list):
        errors.add(path, "BASE_TYPE_LIST", "Must be a list.")
        return
    for k, v in enumerate(values):
        errors.choices([*path, k], v, allowed)


_LEVEL_TYPES = {
    None: list(range(1, 12)),  # the command's own options: anything
    SUB_COMMAND_GROUP: [SUB_COMMAND],  # a group holds subcommands only
    SUB_COMMAND: list(range(3, 12)),  # a subcommand holds parameters only
}


def check_options(errors: FormErrors, path: Path, options: Any, *, parent: int | None) -> None:
    """One level of options: the command's (``parent`` None), a group's or a subcommand's."""
    if options is None:
        return
    if not isinstance(options, list):
        errors.add(path, "BASE_TYPE_LIST", "Must be a list.")
        return
    errors.max_length(path, options, MAX_OPTIONS)
    names: set[str] = set()
    seen_optional = False
    nesting = [o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in options if isinstance(o, Mapping)]
    mixed = any(nesting) and not all(nesting)
    for k, option in enumerate(options):
        where = [*path, k]
        if not isinstance(option, Mapping):
            errors.not_a_dict(where)
            continue
        otype = option.get("type")
        if errors.choices([*where, "type"], otype, _LEVEL_TYPES[parent]):
            continue
        if mixed and otype in (SUB_COMMAND, SUB_COMMAND_GROUP):
            errors.add(
                [*where, "type"],
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-command and sub-command group option types are mutually exclusive to all other types",
            )
        check_option(errors, where, option)
        name = option.get("name")
        if isinstance(name, str):
            if name in names:
                errors.add(
                    [*where, "name"], "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME", "Option names must be unique"
                )
            names.add(name)
        if otype in (SUB_COMMAND, SUB_COMMAND_GROUP):
            check_options(errors, [*where, "options"], option.get("options"), parent=otype)
        elif option.get("required"):
            if seen_optional:
                errors.add(
                    where,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
    _check_localized_names(errors, path, options)


def _check_localized_names(errors: FormErrors, path: Path, options: list[Any]) -> None:
    """A localized option name differs from the other options' default names and from their names in that
    locale ("Localization": "Localized option names are subject to an additional constraint")."""
    defaults = [o.get("name") if isinstance(o, Mapping) else None for o in options]
    taken: dict[str, set[str]] = {}
    for k, option in enumerate(options):
        table = option.get("name_localizations") if isinstance(option, Mapping) else None
        if not isinstance(table, Mapping):
            continue
        for locale, value in table.items():
            others = {d for j, d in enumerate(defaults) if j != k}
            seen = taken.setdefault(locale, set())
            if value in others or value in seen:
                errors.add(
                    [*path, k, "name_localizations", locale],
                    "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME",
                    "Option names must be unique",
                )
            seen.add(value)


def check_option(errors: FormErrors, where: Path, option: Mapping[str, Any]) -> None:
    """One option's own fields: name, description, localizations, choices and bounds."""
    check_name(errors, [*where, "name"], option.get("name"), slash=True)
    check_localizations(
        errors,
        [*where, "name_localizations"],
        option.get("name_localizations"),
        lambda p, v: check_name(errors, p, v, slash=True),
    )
    check_text(errors, [*where, "description"], option.get("description"), 1, MAX_DESCRIPTION)
    check_localizations(
        errors,
        [*where, "description_localizations"],
        option.get("description_localizations"),
        lambda p, v: check_text(errors, p, v, 1, MAX_DESCRIPTION),
    )
    otype = option.get("type")
    choices = option.get("choices")
    if choices and otype in (STRING, INTEGER, NUMBER):
        check_choices(errors, [*where, "choices"], choices, otype)
        if option.get("autocomplete"):
            errors.add(
                [*where, "autocomplete"],
                "APPLICATION_COMMAND_OPTIONS_AUTOCOMPLETE_INVALID",
                "Autocomplete cannot be set with choices",
            )
    if otype in (INTEGER, NUMBER):
        _check_range(errors, where, option, "min_value", "max_value", _number_check(otype))
    if otype == STRING:
        _check_range(errors, where, option, "min_length", "max_length", _length_check)


def check_choices(errors: FormErrors, path: Path, choices: Any, otype: int) -> None:
    """Choices of a STRING, INTEGER or NUMBER option, or an autocomplete answer: at most 25, names 1-100,
    values of the option's type (strings at most 100)."""
    if not isinstance(choices, list):
        errors.add(path, "BASE_TYPE_LIST", "Must be a list.")
        return
    errors.max_length(path, choices, MAX_CHOICES)
    for k, choice in enumerate(choices):
        where = [*path, k]
        if not isinstance(choice, Mapping):
            errors.not_a_dict(where)
            continue
        check_text(errors, [*where, "name"], choice.get("name"), 1, MAX_CHOICE_NAME)
        check_localizations(
            errors,
            [*where, "name_localizations"],
            choice.get("name_localizations"),
            lambda p, v: check_text(errors, p, v, 1, MAX_CHOICE_NAME),
        )
        check_choice_value(errors, [*where, "value"], choice.get("value"), otype)


def check_choice_value(errors: FormErrors, path: Path, value: Any, otype: int) -> None:
    if value is None:
        errors.required(path)
    elif otype == STRING:
        if not isinstance(value, str):
            errors.not_a_string(path)
        else:
            errors.max_length(path, value, MAX_CHOICE_VALUE)
    else:
        _number_check(otype)(errors, path, value)


def _number_check(otype: int) -> Any:
    """The bounds check of an INTEGER or NUMBER option's values: says whether ``value`` passed."""
    kind, limit = ("int", MAX_INTEGER) if otype == INTEGER else ("float", MAX_NUMBER)

    def check(errors: FormErrors, path: Path, value: Any) -> bool:
        return not errors.out_of_range(path, value, -limit, limit, kind=kind)

    return check


def _length_check(errors: FormErrors, path: Path, value: Any) -> bool:
    """``min_length`` 0-6000 or ``max_length`` 1-6000: says whether ``value`` passed."""
    low = 1 if path[-1] == "max_length" else 0
    return not errors.out_of_range(path, value, low, MAX_STRING_LENGTH)


def _check_range(
    errors: FormErrors, where: Path, option: Mapping[str, Any], low_key: str, high_key: str, check: Any
) -> None:
    """``min_*``/``max_*`` each within its bounds, and the minimum not above the maximum."""
    low: Any = option.get(low_key)
    high: Any = option.get(high_key)
    low_ok = low is not None and check(errors, [*where, low_key], low)
    high_ok = high is not None and check(errors, [*where, high_key], high)
    if low_ok and high_ok and low > high:
        errors.add([*where, high_key], "NUMBER_TYPE_MIN", f"value should be greater than or equal to {low}.")


def check_command(errors: FormErrors, path: Path, data: Any, *, guild: bool) -> None:
    """One application command object, its options and its size."""
    if not isinstance(data, Mapping):
        errors.not_a_dict(path)
        return
    ctype = _type(data)
    allowed_types = [CHAT_INPUT, USER, MESSAGE] if guild else list(MAX_COMMANDS)
    if errors.choices([*path, "type"], ctype, allowed_types):
        return
    slash = ctype == CHAT_INPUT
    check_name(errors, [*path, "name"], data.get("name"), slash=slash)
    check_localizations(
        errors,
        [*path, "name_localizations"],
        data.get("name_localizations"),
        lambda p, v: check_name(errors, p, v, slash=slash),
    )
    if slash:
        check_text(errors, [*path, "description"], data.get("description"), 1, MAX_DESCRIPTION)
        check_localizations(
            errors,
            [*path, "description_localizations"],
            data.get("description_localizations"),
            lambda p, v: check_text(errors, p, v, 1, MAX_DESCRIPTION),
        )
        check_options(errors, [*path, "options"], data.get("options"), parent=None)
    elif ctype in (USER, MESSAGE):
        # Context menus take no description (Discord gives back "") and no options.
        errors.max_length([*path, "description"], data.get("description") or "", 0)
        errors.max_length([*path, "options"], data.get("options") or [], 0)
    check_permissions_string(errors, [*path, "default_member_permissions"], data.get("default_member_permissions"))
    _check_choice_list(errors, [*path, "contexts"], data.get("contexts"), (0, 1, 2))
    _check_choice_list(errors, [*path, "integration_types"], data.get("integration_types"), (0, 1))
    if slash and command_size(data) > MAX_COMMAND_SIZE:
        errors.add(path, "APPLICATION_COMMAND_TOO_LARGE", f"Command exceeds maximum size ({MAX_COMMAND_SIZE})")


def _type(data: Mapping[str, Any]) -> Any:
    """The command's type as sent (absent or null: CHAT_INPUT)."""
    ctype = data.get("type")
    return CHAT_INPUT if ctype is None else ctype


def _key(data: Mapping[str, Any]) -> tuple[Any, str]:
    return _type(data), str(data.get("name"))


def check_bulk(body: Any, *, guild: bool) -> None:
    """A bulk overwrite body: the list, every command (errors keyed by index), unique names, the counts."""
    errors = FormErrors()
    if not isinstance(body, list):
        errors.add([], "BASE_TYPE_LIST", "Must be a list.")
        errors.raise_if_any()
        return
    if errors.max_length([], body, MAX_BULK):
        errors.raise_if_any()
    seen: set[tuple[Any, str]] = set()
    for index, data in enumerate(body):
        check_command(errors, [index], data, guild=guild)
        if isinstance(data, Mapping):
            if _key(data) in seen:
                errors.add([index], "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
            seen.add(_key(data))
    errors.raise_if_any()
    check_counts([_key(d) for d in body])


def check_counts(keys: Iterable[tuple[Any, str]]) -> None:
    """Refuses a scope holding more commands of one type than Discord allows (30032)."""
    counts: dict[Any, int] = {}
    for ctype, _ in keys:
        counts[ctype] = counts.get(ctype, 0) + 1
    for ctype, count in counts.items():
        limit = MAX_COMMANDS.get(ctype)
        if limit is not None and count > limit:
            raise ApiError(400, MAX_COMMANDS_REACHED, f"Maximum number of application commands reached ({limit})")


def check_single(data: Any, *, guild: bool) -> None:
    """A create or edit body (after an edit's fields are laid over the stored command)."""
    errors = FormErrors()
    check_command(errors, [], data, guild=guild)
    errors.raise_if_any()
