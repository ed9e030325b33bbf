"""``/memory search`` pages: "Previous" / "Next" buttons past the first results.

The buttons are ``DynamicItem``s whose custom ids carry the persona, the page (and, optionally, the order), so a
search shown before a restart still pages; the query travels in the embed's footer (a custom id holds 100
characters, a query up to 200), which :func:`query_of` reads back. Clicks go to the cog named by
:data:`MEMORY_HANDLER_COG` (``on_search_page``).
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.ui.guards import handler_cog
from bot.ui.memory.common import MEMORY_HANDLER_COG

SEARCH_PAGE_TEMPLATE = r"memory-search:(?P<persona>\d{1,20}):(?P<page>\d{1,3})(?::(?P<order>relevance|prompt))?"
# At most this many pages (the candidates are bounded anyway: the hot tier and the best text matches).
MAX_PAGE = 100
# (Discord may strip a footer's trailing space: a blank query leaves "query:".)
_FOOTER = re.compile(r"^Page \d+ · [^·]* · query:(?: (?P<query>.*))?$", re.DOTALL)


def footer_text(page: int, first: int, last: int, query: str) -> str:
    """The footer of a page: where it is, and the query (read back by :func:`query_of`)."""
    shown = f"results {first}–{last}" if last >= first else "no results"
    return f"Page {page} · {shown} · query: {query}"


def query_of(message: discord.Message | None) -> str | None:
    """The query a search message was for (its footer), or None when it is not one."""
    if message is None or not message.embeds:
        return None
    return query_in(message.embeds[0].footer.text)


def query_in(footer: str | None) -> str | None:
    """The query a page's footer text (:func:`footer_text`) holds, or None when it is not a page's."""
    found = _FOOTER.match(footer or "")
    return (found["query"] or "") if found else None


def page_view(persona_id: int, page: int, *, more: bool, order: str | None = None) -> discord.ui.View | None:
    """The buttons for ``page``: "Previous" after the first, "Next" when ``more`` follow; None when neither."""
    view = discord.ui.View(timeout=None)
    if page > 1:
        view.add_item(SearchPageButton(persona_id, page - 1, order, label="Previous"))
    if more and page < MAX_PAGE:
        view.add_item(SearchPageButton(persona_id, page + 1, order, label="Next"))
    return view if view.children else None


class SearchPageButton(discord.ui.DynamicItem[discord.ui.Button], template=SEARCH_PAGE_TEMPLATE):
    """Go to a page of a search's results (the services check the clicker owns the persona)."""

    def __init__(self, persona_id: int, page: int, order: str | None = None, *, label: str = "") -> None:
        custom_id = f"memory-search:{persona_id}:{page}" + (f":{order}" if order else "")
        super().__init__(discord.ui.Button(label=label or None, custom_id=custom_id))
        self.persona_id = persona_id
        self.page = page
        self.order = order

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SearchPageButton:
        return cls(int(match["persona"]), int(match["page"]), match["order"])

    async def callback(self, interaction: discord.Interaction) -> None:
        handler = await handler_cog(interaction, MEMORY_HANDLER_COG, "The memory commands")
        if handler is None:
            return
        await handler.on_search_page(interaction, self.persona_id, self.page, self.order)
