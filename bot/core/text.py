"""Small text helpers every layer uses the same way."""

from __future__ import annotations

ELLIPSIS = "…"


def clip(text: object, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut (never longer than ``limit``)."""
    shown = str(text)
    return shown if len(shown) <= limit else shown[: max(0, limit - 1)] + ELLIPSIS


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (line breaks included) turned into one space, trimmed."""
    return " ".join(text.split())


def clip_line(text: str, limit: int) -> str:
    """``text`` on one line, then clipped to ``limit`` characters."""
    return clip(one_line(text), limit)


def counted(count: int, noun: str, plural: str | None = None, *, grouped: bool = True) -> str:
    """``count`` with its noun in the right number: "1 follower", "2 followers", "1 person", "3 people"
    (``plural``: when it is not the noun plus "s"; ``grouped``: thousands separated, "1,200 memories")."""
    number = f"{count:,}" if grouped else str(count)
    return f"{number} {noun if count == 1 else (plural or noun + 's')}"
