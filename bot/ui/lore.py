"""What ``/lore`` shows: entries as lines, a page of a book, and why entries would fire (``/lore test``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import discord

from bot.core.lore import LOGIC_WORDS, POSITION_WORDS, Activation, LoreEntry
from bot.core.text import clip, clip_line, counted

PAGE_SIZE = 10  # entries on a page at most; fewer when they are long
EMBED_TOTAL_MAX = 6000  # Discord refuses an embed whose texts add up to more
_FOOTER_ROOM = 100  # the title and the footer ("Page 12 of 40 · 400 entries") take less than this
SCOPE_WORDS = {"persona": "Lore of the persona", "channel": "Lore of this channel", "server": "Lore of this server"}


def entry_summary(entry: LoreEntry) -> str:
    """One entry's settings in words."""
    if entry.constant:
        when = "always (constant)"
    else:
        kind = "patterns" if entry.use_regex else "keys"
        when = f"{kind}: {', '.join(entry.keys)}"
        if entry.secondary_keys:
            when += f" {LOGIC_WORDS[entry.logic]}: {', '.join(entry.secondary_keys)}"
    where = POSITION_WORDS[entry.position] + (f" {entry.depth}" if entry.position == "at_depth" else "")
    extras = [f"order {entry.order}", where]
    for label, value in (("sticky", entry.sticky), ("cooldown", entry.cooldown), ("delay", entry.delay)):
        if value:
            extras.append(f"{label} {value}")
    if entry.probability < 100:
        extras.append(f"{entry.probability}% chance")
    if not entry.enabled:
        extras.append("off")
    return f"{when} · {' · '.join(extras)}"


def _field(entry: LoreEntry) -> tuple[str, str]:
    """An entry's field on a page: its name (<= 256) and value (<= 1,024), as Discord takes them."""
    value = f"{entry_summary(entry)}\n{clip_line(entry.content, 300)}"
    return clip(f"#{entry.id} {entry.label}", 256), clip(value, 1024)


def book_pages(entries: Sequence[LoreEntry]) -> list[list[LoreEntry]]:
    """The entries in pages of at most :data:`PAGE_SIZE` whose fields fit one embed (:data:`EMBED_TOTAL_MAX`
    characters with the title and footer): long entries make a page shorter."""
    pages: list[list[LoreEntry]] = [[]]
    used = 0
    for entry in entries:
        size = sum(map(len, _field(entry)))
        if pages[-1] and (len(pages[-1]) >= PAGE_SIZE or used + size > EMBED_TOTAL_MAX - _FOOTER_ROOM):
            pages.append([])
            used = 0
        pages[-1].append(entry)
        used += size
    return pages


def book_page(entries: Sequence[LoreEntry], page: int, scope: str) -> discord.Embed:
    """A page of a book (``page`` from 1; past the end: the last page), within Discord's embed total."""
    pages = book_pages(entries)
    page = max(1, min(page, len(pages)))
    embed = discord.Embed(title=SCOPE_WORDS.get(scope, "Lore"), colour=0x8E6C3A)
    if not entries:
        embed.description = "No entries yet. Add one with /lore add."
    for entry in pages[page - 1]:
        name, value = _field(entry)
        embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text=f"Page {page} of {len(pages)} · {counted(len(entries), 'entry', 'entries')}")
    return embed


def test_summary(activation: Activation, labels: Mapping[int, str]) -> str:
    """Which entries would fire and why, then which would not."""
    lines = []
    if activation.fired:
        lines.append("**Would fire** (in prompt order):")
        for fired in activation.fired:
            entry = fired.entry
            lines.append(f"- #{entry.id} {clip(entry.label, 60)}: {fired.reason}")
    else:
        lines.append("No entry would fire for that text.")
    quiet = [(entry_id, reason) for entry_id, reason in activation.skipped.items() if entry_id in labels]
    if quiet:
        lines.append("**Would not fire:**")
        lines.extend(f"- #{entry_id} {clip(labels[entry_id], 60)}: {reason}" for entry_id, reason in quiet[:20])
        if len(quiet) > 20:
            lines.append(f"… and {len(quiet) - 20} more.")
    return clip("\n".join(lines), 2000)
