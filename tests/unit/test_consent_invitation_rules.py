"""The server's "never" mode, when a person is invited to choose (issue 19), and search by relevance: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core import memory as rules
from bot.core.privacy import REOFFER_AFTER, ConsentFact, may_remember, offer_due

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def test_a_never_server_remembers_no_one_whatever_they_said() -> None:
    yes = [ConsentFact(granted=True, persona_id=7, recorded_at=NOW), ConsentFact(True, None, NOW)]
    decision = may_remember(persona_id=7, persona_remembers=True, server_default="never", facts=yes)
    assert not decision.allowed and "remember no one here" in decision.reason
    # the same answers in the other modes are remembered
    for mode in ("opt-in", "opt-out"):
        assert may_remember(persona_id=7, persona_remembers=True, server_default=mode, facts=yes).allowed


@pytest.mark.parametrize(
    ("mode", "answered", "answer", "offered_ago", "due"),
    [
        ("opt-in", False, None, None, True),  # never asked: ask
        ("opt-out", False, None, None, True),  # told in opt-out servers too
        ("never", False, None, None, False),  # a server that remembers no one asks nobody
        ("opt-in", True, None, None, False),  # answered by command already
        ("opt-in", False, None, timedelta(days=400), False),  # asked, never answered: once is enough
        ("opt-in", False, "later", REOFFER_AFTER - timedelta(seconds=1), False),  # "not now": not yet
        ("opt-in", False, "later", REOFFER_AFTER, True),  # "not now": asked again after a while
        ("opt-in", False, "never", timedelta(days=400), False),  # "never": never again
        ("opt-in", True, "yes", timedelta(days=400), False),
    ],
)
def test_who_is_invited(
    mode: str, answered: bool, answer: str | None, offered_ago: timedelta | None, due: bool
) -> None:
    offered_at = NOW - offered_ago if offered_ago is not None else None
    assert offer_due(server_mode=mode, answered=answered, offer_answer=answer, offered_at=offered_at, now=NOW) is due


def test_search_by_relevance_keeps_only_matches_best_first() -> None:
    # index 0 a birthday (no match, best blended score), 1 and 3 match, 2 no match
    assert rules.by_relevance([0.0, 1.5, 0.0, 2.0], [3.0, 1.0, 2.0, 0.5], 10) == [3, 1]
    assert rules.by_relevance([1.0, 1.0], [0.2, 0.9], 10) == [1, 0]  # equal matches: the better score first
    assert rules.by_relevance([0.0, 0.0], [1.0, 2.0], 10) == []  # nothing matched: nothing shown
    assert rules.by_relevance([1.0, 2.0, 3.0], [0, 0, 0], 2) == [2, 1]


def test_matched_words_are_the_query_words_the_text_holds() -> None:
    assert rules.matched_words(["cat", "tom", "dog"], "Alice's CAT is named Tom.") == ["cat", "tom"]
    assert rules.matched_words(["cat"], "a category of things") == []  # whole words, as the search matches
