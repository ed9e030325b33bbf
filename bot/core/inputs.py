"""What people type, read one way everywhere: the text rule both databases can keep, ids and whole numbers.

SQLite stores a NUL character and PostgreSQL refuses it (and an id past 64 bits overflows both, differently), so
what a person typed is checked here, before it reaches either: the same input gets the same answer on both.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from bot.core import json_text
from bot.core.errors import DomainError

NUL = "\x00"
# Database ids and Discord snowflakes are signed 64-bit integers.
ID_MAX = 2**63 - 1
# More digits than any id has: longer input is not parsed at all (int() of huge strings is slow, then refused).
_ID_DIGITS_MAX = len(str(ID_MAX))
# Nesting deeper than any document this bot reads or writes is refused (and keeps recursion far from its limit).
JSON_DEPTH_MAX = 64
# Uploads this long are parsed in a worker thread (services.portability.read_upload) by the scanner that lets the
# event loop run meanwhile (json_text); shorter text is parsed by the faster C scanner.
SHARING_PARSE_FROM = 256 * 1024


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as it is (on SQLite and PostgreSQL alike), or None when it can."""
    if NUL in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains text that is not valid Unicode"
    return None


def require_storable(text: str, what: str) -> str:
    """``text`` unchanged, or :class:`DomainError` naming ``what`` when it cannot be stored (see ``text_problem``)."""
    problem = text_problem(text)
    if problem is not None:
        raise DomainError(f"{what} {problem}, which I cannot keep; please type it again without it.")
    return text


def storable(text: str) -> str:
    """``text`` with what cannot be stored removed (NULs) or replaced (unpaired surrogates): for what people say
    in chat, which is kept as close to what they said as the databases allow rather than refused."""
    if text_problem(text) is None:
        return text
    return text.replace(NUL, "").encode("utf-8", "replace").decode("utf-8")


def _digits(text: str) -> str | None:
    """``text`` stripped, when it is ASCII digits only (``str.isdigit`` also accepts '²' and '٣', which ``int``
    refuses or reads as another script's numerals)."""
    stripped = text.strip()
    if stripped and stripped.isascii() and stripped.isdigit():
        return stripped
    return None


def parse_id(text: str) -> int | None:
    """The id typed in ``text`` (ASCII digits, 1 .. 2**63-1), or None when it is not one: an id that cannot exist
    is simply not found."""
    digits = _digits(text)
    if digits is None or len(digits) > _ID_DIGITS_MAX:
        return None
    value = int(digits)
    return value if 0 < value <= ID_MAX else None


def whole_number(text: str) -> int | None:
    """The whole number typed in ``text`` ("42", " -7 ", "+3"), or None when it is not one or has more digits than
    any setting could use (so ``int`` never works on a 5,000-digit string)."""
    stripped = text.strip()
    sign = -1 if stripped.startswith("-") else 1
    digits = _digits(stripped.removeprefix("-").removeprefix("+"))
    if digits is None:
        return None
    # Leading zeros count for nothing, but ``int`` refuses a string over 4,300 digits: drop them before it sees them.
    significant = digits.lstrip("0") or "0"
    if len(significant) > _ID_DIGITS_MAX:
        return None
    return sign * int(significant)


def parse_whole(text: str, what: str, *, minimum: int, maximum: int) -> int:
    """A whole number typed by a person, from ``minimum`` to ``maximum``, or :class:`DomainError` naming ``what``."""
    value = whole_number(text)
    if value is None:
        raise DomainError(
            f"{what} must be a whole number from {minimum} to {maximum}; '{_shown(text.strip())}' is not."
        )
    if not minimum <= value <= maximum:
        raise DomainError(f"{what} must be from {minimum} to {maximum}; {value} is not.")
    return value


def whole_in(value: Any, what: str, *, minimum: int, maximum: int) -> int:
    """A whole number read from a document (JSON, a card, a form), from ``minimum`` to ``maximum``, or
    :class:`DomainError` naming ``what`` in the same words as :func:`parse_whole`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(f"{what} must be a whole number from {minimum} to {maximum}; '{_shown(str(value))}' is not.")
    if not minimum <= value <= maximum:
        raise DomainError(f"{what} must be from {minimum} to {maximum}; {value} is not.")
    return value


def one_of(value: Any, what: str, allowed: Sequence[str]) -> str:
    """``value`` when it is one of ``allowed``, else :class:`DomainError` naming ``what`` and the choices."""
    if not isinstance(value, str) or value not in allowed:
        raise DomainError(f"{what} must be one of: {', '.join(allowed)}; '{_shown(str(value))}' is not.")
    return value


def _shown(text: str) -> str:
    text = text.replace(NUL, "")
    return text if len(text) <= 20 else text[:19] + "…"


def check_document(value: Any, what: str, *, depth_max: int = JSON_DEPTH_MAX) -> None:
    """Refuse, with :class:`DomainError` naming ``what``, a parsed JSON document that cannot be kept as it is: text
    (keys included) that cannot be stored, a number that overflowed to infinity (``1e999``, which PostgreSQL's
    JSON refuses), or nesting deeper than ``depth_max``. One pass, without recursion."""

    def refuse(problem: str) -> DomainError:
        return DomainError(f"{what} {problem}.")

    def check_scalar(item: Any) -> None:
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                raise refuse(f"{problem}, which cannot be stored")
        elif isinstance(item, float) and not math.isfinite(item):
            raise refuse("holds a number too large to keep")

    if not isinstance(value, dict | list):
        check_scalar(value)
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > depth_max:
            raise refuse(f"is nested too deeply (more than {depth_max} levels)")
        if isinstance(item, dict):
            for key in item:
                check_scalar(key)
            children: Any = item.values()
        else:
            children = item
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            else:
                check_scalar(child)


def parse_json_text(text: str | bytes, what: str, **loads: Any) -> Any:
    """JSON from an upload, or :class:`DomainError` saying what is wrong with ``what``: not JSON, a number with
    more digits than Python converts, or what :func:`check_document` refuses. ``loads`` go to ``json.loads`` (a
    ``parse_constant`` hook that raises DomainError is passed through)."""
    try:
        if len(text) >= SHARING_PARSE_FROM:
            value = json_text.loads_sharing(text if isinstance(text, str) else text.decode("utf-8"), **loads)
        else:
            value = json.loads(text, **loads)
    except json.JSONDecodeError as error:
        raise DomainError(
            f"{what} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from None
    except RecursionError:
        raise DomainError(f"{what} is nested too deeply.") from None
    except DomainError:
        raise
    except ValueError:
        # int() refuses numbers with more digits than sys.get_int_max_str_digits() (4300 by default).
        raise DomainError(f"{what} holds a number too long to read.") from None
    check_document(value, what)
    return value
