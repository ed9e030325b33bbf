"""The one consent rule (bot.core.privacy.may_remember), case by case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.errors import DomainError
from bot.core.privacy import ConsentFact, may_remember

T0 = datetime(2026, 11, 1, tzinfo=UTC)
PERSONA = 7


def decide(facts=(), *, remembers=True, asks=False, default="opt-in"):
    return may_remember(
        persona_id=PERSONA,
        persona_remembers=remembers,
        persona_asks_first=asks,
        server_default=default,
        facts=list(facts),
    )


def test_a_persona_that_remembers_no_one_remembers_no_one() -> None:
    decision = decide([ConsentFact(True, PERSONA, T0)], remembers=False, default="opt-out")
    assert not decision.allowed and not decision.should_ask


@pytest.mark.parametrize(
    ("default", "asks", "allowed", "should_ask"),
    [
        ("opt-in", False, False, False),
        ("opt-in", True, False, True),
        ("opt-out", False, True, False),
        ("opt-out", True, False, True),
    ],
)
def test_without_an_answer_the_server_default_decides(default, asks, allowed, should_ask) -> None:
    decision = decide(default=default, asks=asks)
    assert (decision.allowed, decision.should_ask) == (allowed, should_ask)


def test_the_latest_answer_wins_and_the_persona_answer_beats_the_server_answer() -> None:
    server_yes = ConsentFact(True, None, T0)
    persona_no = ConsentFact(False, PERSONA, T0 - timedelta(days=3))  # older, but more specific
    assert not decide([server_yes, persona_no]).allowed
    persona_yes_later = ConsentFact(True, PERSONA, T0 + timedelta(days=1))
    assert decide([server_yes, persona_no, persona_yes_later]).allowed
    server_no_later = ConsentFact(False, None, T0 + timedelta(days=2))
    assert not decide([server_yes, server_no_later], default="opt-out").allowed
    # Another persona's answer says nothing about this one.
    assert not decide([ConsentFact(True, PERSONA + 1, T0)]).allowed


def test_an_unknown_server_default_is_refused() -> None:
    with pytest.raises(DomainError, match="opt-in, opt-out"):
        decide(default="maybe")
