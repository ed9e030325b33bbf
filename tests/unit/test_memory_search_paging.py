"""``/memory search`` pages: the footer keeps the query (a button's custom id is too short for it)."""

from __future__ import annotations

import re

import pytest

from bot.ui.memory.paging import SEARCH_PAGE_TEMPLATE, SearchPageButton, footer_text, page_view, query_in


@pytest.mark.parametrize("query", ["cat", "a · query: b", "x" * 200, ""])
def test_the_footer_gives_the_query_back(query: str) -> None:
    assert query_in(footer_text(3, 21, 30, query)) == query
    assert query_in(footer_text(1, 1, 0, query).rstrip()) == query  # Discord may strip a trailing space


def test_other_footers_are_not_pages() -> None:
    assert query_in(None) is None and query_in("The top 10 are shown") is None


async def test_the_buttons_carry_persona_page_and_order_within_100_characters() -> None:
    view = page_view(2**63 - 1, 2, more=True, order="relevance")
    assert view is not None
    ids = [item.custom_id for item in view.children if isinstance(item, SearchPageButton)]
    assert ids == [f"memory-search:{2**63 - 1}:1:relevance", f"memory-search:{2**63 - 1}:3:relevance"]
    assert all(len(custom_id) <= 100 and re.fullmatch(SEARCH_PAGE_TEMPLATE, custom_id) for custom_id in ids)
    assert page_view(5, 1, more=False) is None
    last = page_view(5, 100, more=True)
    assert last is not None
    assert [item.custom_id for item in last.children if isinstance(item, SearchPageButton)] == ["memory-search:5:99"]
    assert SearchPageButton(5, 2).custom_id == "memory-search:5:2"
