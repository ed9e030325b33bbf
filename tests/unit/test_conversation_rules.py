"""Reply rules (bot.core.conversation): when to answer, names, splitting, budget and turns."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.conversation import (
    HeardMessage,
    PresentPersona,
    TurnCandidate,
    addressed_by_name,
    choose_turns,
    estimate_tokens,
    fit_to_budget,
    plan_turns,
    should_reply,
    split_message,
)
from bot.core.personas import BehaviorSettings

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
DEFAULTS = BehaviorSettings()


def decide(settings: BehaviorSettings = DEFAULTS, **overrides: object):
    arguments: dict = {
        "mentioned": False,
        "named": False,
        "replied_to": False,
        "author_is_bot": False,
        "author_is_self": False,
        "exchange_depth": 0,
        "random_value": 0.99,
        "now": NOW,
        "last_reply_at": None,
    }
    arguments.update(overrides)
    return should_reply(settings, **arguments)


# --- should_reply: hand cases -----------------------------------------------------------------------


def test_direct_address_is_answered() -> None:
    assert decide(mentioned=True) == decide(mentioned=True).__class__(True, "mentioned")
    assert decide(replied_to=True).reason == "replied to"
    assert decide(named=True).reason == "addressed by name"
    assert decide().reply is False and decide().reason == "not addressed"


def test_settings_can_switch_off_each_kind_of_address() -> None:
    quiet = BehaviorSettings(
        reply_when_mentioned=False, reply_when_named=False, reply_when_replied_to=False, chattiness=0
    )
    assert not decide(quiet, mentioned=True, named=True, replied_to=True).reply


def test_chattiness_is_a_chance() -> None:
    chatty = BehaviorSettings(chattiness=30)
    assert decide(chatty, random_value=0.29).reason == "chattiness"
    assert not decide(chatty, random_value=0.30).reply
    assert not decide(BehaviorSettings(chattiness=0), random_value=0.0).reply
    assert decide(BehaviorSettings(chattiness=100), random_value=0.999).reply


def test_cooldown_holds_back_unprompted_replies_but_not_people_who_ask() -> None:
    chatty = BehaviorSettings(chattiness=100, cooldown_seconds=10)
    recent = NOW - timedelta(seconds=5)
    assert decide(chatty, last_reply_at=recent, random_value=0.0).reason == "cooldown"
    assert decide(chatty, last_reply_at=NOW - timedelta(seconds=10), random_value=0.0).reply
    assert decide(chatty, last_reply_at=recent, mentioned=True).reply
    # A bot or persona addressing it still waits.
    assert decide(chatty, last_reply_at=recent, mentioned=True, author_is_persona=True).reason == "cooldown"


def test_never_its_own_messages_and_no_other_bots_unless_configured() -> None:
    assert decide(author_is_self=True, mentioned=True).reason == "its own message"
    assert decide(author_is_bot=True, mentioned=True).reason == "another bot"
    assert decide(author_is_bot=True, mentioned=True, reply_to_bots=True).reply


def test_persona_exchanges_stop_at_the_depth_cap() -> None:
    settings = BehaviorSettings(max_persona_exchange_depth=3)
    assert decide(settings, author_is_persona=True, author_is_bot=True, named=True, exchange_depth=2).reply
    capped = decide(settings, author_is_persona=True, author_is_bot=True, named=True, exchange_depth=3)
    assert capped.reason == "persona exchange depth reached"
    never = BehaviorSettings(max_persona_exchange_depth=0)
    assert not decide(never, author_is_persona=True, mentioned=True, exchange_depth=0).reply


# --- should_reply: properties -----------------------------------------------------------------------

settings_strategy = st.builds(
    BehaviorSettings,
    reply_when_mentioned=st.booleans(),
    reply_when_named=st.booleans(),
    reply_when_replied_to=st.booleans(),
    chattiness=st.integers(0, 100),
    cooldown_seconds=st.integers(0, 3600),
    max_persona_exchange_depth=st.integers(0, 20),
)
flags = st.fixed_dictionaries(
    {
        "mentioned": st.booleans(),
        "named": st.booleans(),
        "replied_to": st.booleans(),
        "author_is_bot": st.booleans(),
        "author_is_persona": st.booleans(),
        "exchange_depth": st.integers(0, 30),
        "random_value": st.floats(0, 1, exclude_max=True),
        "last_reply_at": st.none() | st.integers(0, 7200).map(lambda s: NOW - timedelta(seconds=s)),
    }
)


@given(settings_strategy, flags)
def test_property_never_answers_itself(settings: BehaviorSettings, values: dict) -> None:
    assert not decide(settings, author_is_self=True, **values).reply


@given(settings_strategy, flags)
def test_property_the_depth_cap_is_never_passed(settings: BehaviorSettings, values: dict) -> None:
    values = {
        **values,
        "author_is_persona": True,
        "exchange_depth": max(values["exchange_depth"], settings.max_persona_exchange_depth),
    }
    assert not decide(settings, **values).reply


@given(settings_strategy, flags)
def test_property_a_person_who_mentions_it_gets_an_answer(settings: BehaviorSettings, values: dict) -> None:
    values = {**values, "author_is_bot": False, "author_is_persona": False, "mentioned": True}
    if settings.reply_when_mentioned:
        assert decide(settings, **values) == decide(settings, **values).__class__(True, "mentioned")


@given(settings_strategy, flags)
def test_property_unprompted_replies_respect_chance_and_cooldown(settings: BehaviorSettings, values: dict) -> None:
    values = {**values, "mentioned": False, "named": False, "replied_to": False}
    result = decide(settings, **values)
    if result.reply:
        assert values["random_value"] < settings.chattiness / 100
        last = values["last_reply_at"]
        assert last is None or (NOW - last).total_seconds() >= settings.cooldown_seconds
        assert not values["author_is_bot"] or values["author_is_persona"]


@given(settings_strategy, flags)
def test_property_more_chattiness_never_answers_less(settings: BehaviorSettings, values: dict) -> None:
    louder = BehaviorSettings(**{**settings.to_dict(), "chattiness": 100})
    if decide(settings, **values).reply:
        assert decide(louder, **values).reply


# --- names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("hey max, you there?", "Max", True),
        ("MAX!", "Max", True),
        ("Maxwell is here", "Max", False),
        ("ask maxi", "Max", False),
        ("is Mary  Jane around?", "Mary Jane", True),
        ("Mary-Jane", "Mary Jane", False),
        ("Thanks, Dr. Who.", "Dr. Who", True),
        ("R2-D2, report", "R2-D2", True),
        ("R2-D22", "R2-D2", False),
        ("ping Zoë please", "zoë", True),
        ("anything", "", False),
        ("a.b", "a.b", True),
        ("axb", "a.b", False),
    ],
)
def test_addressed_by_name(text: str, name: str, expected: bool) -> None:
    assert addressed_by_name(text, name) is expected


# --- splitting --------------------------------------------------------------------------------------


def normalised(text: str) -> str:
    return " ".join(text.split())


def test_short_text_is_one_part_and_blank_is_none() -> None:
    assert split_message("Hello!") == ["Hello!"]
    assert split_message("  \n ") == []


def test_splits_on_sentence_boundaries() -> None:
    text = " ".join(f"This is sentence number {i}." for i in range(200))
    parts = split_message(text, 500)
    assert all(len(p) <= 500 for p in parts)
    assert all(p.endswith(".") for p in parts)
    assert normalised(" ".join(parts)) == normalised(text)


def test_falls_back_to_words_then_hard_cuts() -> None:
    words = " ".join(["word"] * 500)
    parts = split_message(words, 100)
    assert all(len(p) <= 100 and not p.startswith(" ") for p in parts)
    assert all(part.split() and set(part.split()) == {"word"} for part in parts)
    solid = "x" * 250
    assert split_message(solid, 100) == ["x" * 100, "x" * 100, "x" * 50]


def test_code_blocks_are_kept_whole_when_possible() -> None:
    code = "```python\nprint('hi')\nprint('there')\n```"
    text = "Intro sentence. " * 20 + code + " After."
    parts = split_message(text, 400)
    assert all(len(p) <= 400 for p in parts)
    holding = [p for p in parts if "print('hi')" in p]
    assert len(holding) == 1 and code in holding[0]


def test_a_code_block_longer_than_a_part_is_closed_and_reopened() -> None:
    body = "\n".join(f"line_{i} = {i}" for i in range(100))
    parts = split_message(f"Here:\n```python\n{body}\n```", 300)
    assert len(parts) > 2 and all(len(p) <= 300 for p in parts)
    for part in parts:
        assert part.count("```") % 2 == 0, part  # every part is balanced
    assert all(p.startswith("```python\n") for p in parts[2:])
    code_lines = [line for p in parts for line in p.splitlines() if line.startswith("line_")]
    assert code_lines == body.splitlines()  # no line lost or cut


@given(st.text(alphabet=st.sampled_from("ab .!?\n`"), min_size=0, max_size=3000), st.integers(40, 500))
def test_property_parts_respect_the_limit_and_are_never_empty(text: str, limit: int) -> None:
    parts = split_message(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert all(p.strip() for p in parts)
    if "`" not in text:  # without fences nothing is added: the words are all kept, in order
        assert normalised("".join(re.sub(r"\s", " ", p) + " " for p in parts)).replace(" ", "") == re.sub(
            r"\s", "", text
        )


# --- budget and turns -------------------------------------------------------------------------------


def test_token_estimate_and_budget() -> None:
    assert estimate_tokens("") == 0 and estimate_tokens("abcd") == 1 and estimate_tokens("abcde") == 2
    texts = ["a" * 40, "b" * 40, "c" * 40]  # 10 tokens each
    assert fit_to_budget(texts, 30) == 3
    assert fit_to_budget(texts, 29) == 2  # the oldest goes first
    assert fit_to_budget(texts, 9) == 0


def at(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


def test_addressed_personas_answer_least_recent_first() -> None:
    candidates = [
        TurnCandidate(1, addressed=True, last_spoke_at=at(1)),
        TurnCandidate(2, addressed=True, last_spoke_at=at(30)),
        TurnCandidate(3, addressed=False, last_spoke_at=None),
        TurnCandidate(4, addressed=True, last_spoke_at=None),
    ]
    assert choose_turns(candidates, seed=7, max_speakers=2) == [4, 2]
    assert choose_turns(candidates, seed=7, max_speakers=5) == [4, 2, 1]


def test_without_address_one_volunteer_speaks() -> None:
    candidates = [TurnCandidate(1, False, at(5)), TurnCandidate(2, False, at(50)), TurnCandidate(3, False, at(10))]
    assert choose_turns(candidates, seed=1) == [2]
    assert choose_turns([], seed=1) == []


candidates_strategy = st.lists(
    st.builds(
        TurnCandidate,
        persona_id=st.integers(1, 8),
        addressed=st.booleans(),
        last_spoke_at=st.none() | st.integers(0, 100).map(at),
    ),
    max_size=10,
)


@given(candidates_strategy, st.integers(0, 2**32), st.integers(1, 4), st.randoms())
def test_property_turns_are_deterministic_and_order_free(candidates, seed, max_speakers, rnd) -> None:
    chosen = choose_turns(candidates, seed=seed, max_speakers=max_speakers)
    shuffled = list(candidates)
    rnd.shuffle(shuffled)
    assert choose_turns(shuffled, seed=seed, max_speakers=max_speakers) == chosen
    assert len(chosen) == len(set(chosen)) <= max_speakers
    assert set(chosen) <= {c.persona_id for c in candidates}
    addressed = {c.persona_id for c in candidates if c.addressed}
    if addressed:
        assert set(chosen) <= addressed
    elif candidates:
        assert len(chosen) == 1


def test_a_priority_candidate_speaks_first_even_if_it_spoke_last() -> None:
    from datetime import UTC, datetime

    from bot.core.conversation import TurnCandidate, choose_turns

    now = datetime(2026, 1, 1, tzinfo=UTC)
    fresh = TurnCandidate(1, addressed=True, last_spoke_at=None)
    subscribed = TurnCandidate(2, addressed=True, last_spoke_at=now, priority=True)
    assert choose_turns([fresh, subscribed], seed=7, max_speakers=2) == [2, 1]
    assert choose_turns([fresh, TurnCandidate(2, True, now)], seed=7, max_speakers=2) == [1, 2]
    # Among volunteers (nobody addressed), the priority one is the single speaker.
    assert choose_turns([TurnCandidate(1, False), TurnCandidate(2, False, now, True)], seed=7) == [2]


# --- plan_turns: who speaks, who waits ---------------------------------------------------------------


def present(
    pid: int, name: str, *, last_spoke_at: datetime | None = None, priority: bool = False, busy: bool = False
) -> PresentPersona:
    return PresentPersona(pid, name, BehaviorSettings(chattiness=100), last_spoke_at, priority, busy)


def test_plan_turns_lets_one_volunteer_speak_and_says_why_the_others_do_not() -> None:
    turns = plan_turns(
        HeardMessage(1, "hello everyone", random_value=0.0), [present(1, "Ada"), present(2, "Grace")], now=NOW,
        max_speakers=2,
    )  # fmt: skip
    assert len(turns.speakers) == 1
    quiet = 2 if turns.speakers == (1,) else 1
    assert turns.decisions[turns.speakers[0]] == "chattiness"
    assert turns.decisions[quiet] == "another persona's turn"
    assert turns.waiting == {}


def test_plan_turns_keeps_a_busy_persona_addressed_directly_waiting() -> None:
    turns = plan_turns(
        HeardMessage(1, "Ada, are you there?", random_value=0.0),
        [present(1, "Ada", busy=True), present(2, "Grace", busy=True)], now=NOW, max_speakers=2,
    )  # fmt: skip
    assert turns.speakers == ()
    assert turns.waiting == {1: "addressed by name"}
    assert turns.decisions == {1: "already replying here", 2: "already replying here"}


def test_plan_turns_priority_passes_the_cooldown_and_goes_first() -> None:
    spoke = NOW - timedelta(seconds=1)
    turns = plan_turns(
        HeardMessage(1, "Ada and Grace, hi", random_value=0.99),
        [present(1, "Ada", last_spoke_at=None), present(2, "Grace", last_spoke_at=spoke, priority=True)],
        now=NOW, max_speakers=2,
    )  # fmt: skip
    assert turns.speakers == (2, 1)
