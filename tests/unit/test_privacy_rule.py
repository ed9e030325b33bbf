"""The one consent rule (bot.core.privacy.may_remember), case by case, and who a memory may name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.errors import DomainError
from bot.core.privacy import (
    UNNAMED,
    ConsentFact,
    may_remember,
    memory_naming,
    mentioned_user_ids,
    redact_mentions,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)
PERSONA = 7


def decide(facts=(), *, remembers=True, default="opt-in"):
    return may_remember(persona_id=PERSONA, persona_remembers=remembers, server_default=default, facts=list(facts))


def test_a_persona_that_remembers_no_one_remembers_no_one() -> None:
    decision = decide([ConsentFact(True, PERSONA, T0)], remembers=False, default="opt-out")
    assert not decision.allowed


@pytest.mark.parametrize(("default", "allowed"), [("opt-in", False), ("opt-out", True)])
def test_without_an_answer_the_server_default_decides(default, allowed) -> None:
    assert decide(default=default).allowed is allowed


def test_the_latest_answer_wins_and_the_persona_answer_beats_an_earlier_server_grant() -> None:
    server_yes = ConsentFact(True, None, T0)
    persona_no = ConsentFact(False, PERSONA, T0 - timedelta(days=3))  # older, but more specific
    assert not decide([server_yes, persona_no]).allowed
    persona_yes_later = ConsentFact(True, PERSONA, T0 + timedelta(days=1))
    assert decide([server_yes, persona_no, persona_yes_later]).allowed
    server_no_later = ConsentFact(False, None, T0 + timedelta(days=2))
    assert not decide([server_yes, server_no_later], default="opt-out").allowed
    # Another persona's answer says nothing about this one.
    assert not decide([ConsentFact(True, PERSONA + 1, T0)]).allowed


def test_forget_me_beats_an_earlier_consent_for_one_persona_until_consent_is_given_again() -> None:
    """Issue 15 item 3: a server-wide refusal (forget-me) after a persona's own consent wins; a consent given
    after it counts again, for that persona or for the whole server."""
    persona_yes = ConsentFact(True, PERSONA, T0)
    forget_me = ConsentFact(False, None, T0 + timedelta(hours=1))
    for default in ("opt-in", "opt-out"):
        decision = decide([persona_yes, forget_me], default=default)
        assert not decision.allowed and decision.reason == "consent refused for this server"
    # Recorded in the same instant, the refusal wins.
    assert not decide([persona_yes, ConsentFact(False, None, T0)]).allowed
    again = ConsentFact(True, PERSONA, T0 + timedelta(hours=2))
    assert decide([persona_yes, forget_me, again]).allowed
    server_again = ConsentFact(True, None, T0 + timedelta(hours=2))
    assert decide([persona_yes, forget_me, server_again]).allowed
    # A consent for another persona after forget-me does not bring this one back.
    assert not decide([persona_yes, forget_me, ConsentFact(True, PERSONA + 1, T0 + timedelta(hours=2))]).allowed


def test_an_unknown_server_default_is_refused() -> None:
    with pytest.raises(DomainError, match="opt-in, opt-out"):
        decide(default="maybe")


def test_mentions_of_people_are_found_and_roles_and_channels_are_not() -> None:
    text = "<@123> and <@!456> met <@123> in <#789> with <@&42>"
    assert mentioned_user_ids(text) == [123, 456]
    assert (
        redact_mentions(text, lambda user: user == 456) == f"{UNNAMED} and <@!456> met {UNNAMED} in <#789> with <@&42>"
    )


def test_a_memory_names_its_author_and_one_person_who_may_be_remembered_and_no_one_else() -> None:
    """Issue 15 item 4: everyone a memory names is linked to it (author, subject); the naming of anyone else,
    above all of people who never consented, is not kept."""
    text = "Alice <@1> said: “<@2> told me <@3> and <@4> are moving” I (Ada) answered: “Say hi to <@2>!”"
    rememberable = {1, 3, 4}.__contains__
    naming = memory_naming(text, author_id=1, rememberable=rememberable)
    assert naming.subject_user_id == 3
    assert naming.text == (
        f"Alice <@1> said: “{UNNAMED} told me <@3> and {UNNAMED} are moving” I (Ada) answered: “Say hi to {UNNAMED}!”"
    )
    nobody = memory_naming("<@2> says hi", author_id=1, rememberable=lambda user: False)
    assert nobody == type(nobody)(f"{UNNAMED} says hi", None)


def test_a_mention_of_an_id_past_64_bits_names_nobody() -> None:
    from bot.core.privacy import mentioned_user_ids, redact_mentions

    text = "<@9999999999999999999999999> met <@!12> and <@18446744073709551616>"
    assert mentioned_user_ids(text) == [12]
    assert redact_mentions(text, lambda user_id: True) == "someone met <@!12> and someone"
