"""Message text as a Discord client shows it: mentions, channels, roles, custom emoji and timestamps in words.

Pure: the names come from a lookup the caller gives, the time from ``now``. Discord's markup
(developers/reference.mdx "Message Formatting"): ``<@id>`` / ``<@!id>`` a user, ``<@&id>`` a role, ``<#id>`` a
channel, ``<:name:id>`` / ``<a:name:id>`` a custom emoji, ``<t:unix>`` / ``<t:unix:style>`` a timestamp with the
styles ``t T d D f F R``, ``</name:id>`` a command.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

_MARKUP = re.compile(
    r"<@!?(?P<user>\d+)>|<@&(?P<role>\d+)>|<#(?P<channel>\d+)>|<a?:(?P<emoji>\w+):\d+>"
    r"|<t:(?P<unix>-?\d+)(?::(?P<style>[tTdDfFR]))?>|</(?P<command>[\w -]+):\d+>"
)

Names = Callable[[str, int], str | None]  # (kind: "user" | "role" | "channel", id) -> its name, or None


def _relative(when: datetime, now: datetime) -> str:
    seconds = (when - now).total_seconds()
    ahead = seconds > 0
    size = abs(seconds)
    for unit, length in (("year", 31_536_000), ("month", 2_592_000), ("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if size >= length:
            count = int(size // length)
            words = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {words}" if ahead else f"{words} ago"
    return "in a few seconds" if ahead else "a few seconds ago"


def timestamp_words(unix: int, style: str | None, now: datetime) -> str:
    """A ``<t:…>`` timestamp as a client shows it (in UTC here)."""
    when = datetime.fromtimestamp(unix, UTC)
    if style == "R":
        return _relative(when, now)
    formats = {
        "t": "%H:%M",
        "T": "%H:%M:%S",
        "d": "%d/%m/%Y",
        "D": "%d %B %Y",
        "F": "%A, %d %B %Y %H:%M",
    }
    return when.strftime(formats.get(style or "f", "%d %B %Y %H:%M"))


def shown_text(text: str, names: Names, now: datetime) -> str:
    """``text`` with Discord's markup in words: ``@alice``, ``@Moderators``, ``#general``, ``:party:``, dates."""

    def word(found: re.Match[str]) -> str:
        for kind, prefix in (("user", "@"), ("role", "@"), ("channel", "#")):
            if found.group(kind):
                name = names(kind, int(found.group(kind)))
                return f"{prefix}{name}" if name else f"{prefix}unknown-{kind}"
        if found.group("emoji"):
            return f":{found.group('emoji')}:"
        if found.group("unix"):
            try:
                return timestamp_words(int(found.group("unix")), found.group("style"), now)
            except (OverflowError, OSError, ValueError):
                return found.group(0)
        return f"/{found.group('command')}"

    return _MARKUP.sub(word, text)
