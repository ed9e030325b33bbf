"""``/lore list``'s page (bot.ui.lore): however long the entries, a page fits Discord's 6,000-character embed
total; long entries make pages shorter, and every entry is on exactly one page."""

from __future__ import annotations

import discord

from bot.core.lore import LoreEntry
from bot.ui.lore import EMBED_TOTAL_MAX, PAGE_SIZE, book_page, book_pages


def _long(entry_id: int) -> LoreEntry:
    keys = tuple(f"the-very-long-key-number-{n}-of-entry-{entry_id}-in-this-book" for n in range(50))
    return LoreEntry(id=entry_id, keys=keys, content="A long entry. " * 200)


def _ids(embed: discord.Embed) -> list[int]:
    return [int((field.name or "").split()[0].lstrip("#")) for field in embed.fields]


def test_ten_entries_of_fifty_long_keys_fit_an_embed_over_several_pages() -> None:
    entries = [_long(n) for n in range(1, 11)]
    footer = book_page(entries, 1, "persona").footer.text or ""
    pages = int(footer.split(" of ")[1].split()[0])
    assert pages > 1  # ten such entries do not fit one embed
    seen: list[int] = []
    for page in range(1, pages + 1):
        embed = book_page(entries, page, "persona")
        assert len(embed) <= EMBED_TOTAL_MAX and 0 < len(embed.fields) <= PAGE_SIZE
        assert all(len(field.value or "") <= 1024 and len(field.name or "") <= 256 for field in embed.fields)
        seen += _ids(embed)
    assert seen == list(range(1, 11))


def test_short_entries_fill_pages_of_ten() -> None:
    entries = [LoreEntry(id=n, keys=("dragon",), content="Dragons sleep.") for n in range(1, 26)]
    assert [len(page) for page in book_pages(entries)] == [10, 10, 5]
    assert _ids(book_page(entries, 3, "server")) == list(range(21, 26))
    assert _ids(book_page(entries, 99, "server")) == list(range(21, 26))  # past the end: the last page
    empty = book_page([], 1, "channel")
    assert empty.description and "No entries yet" in empty.description and not empty.fields
