"""A persona's greeting: which one is chosen, its macros, and how a long one is split and cut honestly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.conversation import DISCORD_MESSAGE_LIMIT
from bot.core.greetings import (
    MAX_GREETING_PARTS,
    choose_greeting,
    greeting_options,
    greeting_parts,
    resolve_macros,
)
from bot.core.text import ELLIPSIS


def test_the_greeting_alone_is_always_chosen() -> None:
    assert choose_greeting("Hello!", [], 0.0) == "Hello!"
    assert choose_greeting("Hello!", [], 0.999) == "Hello!"


def test_alternates_share_the_draw_with_the_greeting() -> None:
    chosen = {choose_greeting("A", ["B", "C"], draw) for draw in (0.0, 0.34, 0.67, 0.999)}
    assert chosen == {"A", "B", "C"}
    assert choose_greeting("A", ["B", "C"], 0.5) == "B"
    assert choose_greeting("A", ["B", "C"], 1.0) == "C"  # a draw at the edge still picks one


def test_blank_greetings_are_never_chosen_and_no_greeting_says_nothing() -> None:
    assert greeting_options("  ", ["", "Hi", 3, None, "\n"]) == ["Hi"]
    assert choose_greeting("", ["  ", "Hi"], 0.0) == "Hi"
    assert choose_greeting("", [], 0.5) is None
    assert choose_greeting("  ", ["", " "], 0.5) is None


def test_macros_name_the_persona_and_who_activated_it() -> None:
    text = "{{char}} waves at {{user}}. <BOT> smiles; <USER> nods. {{ Char }} and {{USER}}."
    assert resolve_macros(text, char="Ada", user="Alice") == (
        "Ada waves at Alice. Ada smiles; Alice nods. Ada and Alice."
    )


def test_a_name_that_looks_like_a_macro_is_not_expanded_again() -> None:
    assert resolve_macros("Hi {{user}}", char="Ada", user="{{char}}") == "Hi {{char}}"
    assert resolve_macros("{{original}}{{unknown}}", char="Ada", user="Al") == "{{unknown}}"  # the prompt's rules


def test_comments_and_hidden_keys_vanish_and_random_picks_one_option() -> None:
    text = "{{// for the author}}Hello {{user}}{{comment: never shown}}!{{hidden_key:glade}} {{random:Hi,Hey,Yo}}."
    said = {resolve_macros(text, char="Ada", user="Alice", seed=str(n)) for n in range(40)}
    assert said == {"Hello Alice! Hi.", "Hello Alice! Hey.", "Hello Alice! Yo."}  # each option, one at a time
    same = {resolve_macros(text, char="Ada", user="Al", seed="x") for _ in range(5)}
    assert len(same) == 1  # the same seed, the same pick
    assert greeting_parts(resolve_macros("{{// only a note}}", char="Ada", user="Al")) == []  # nothing to post


def test_a_short_greeting_is_one_message() -> None:
    assert greeting_parts("Hello there.") == ["Hello there."]
    assert greeting_parts("   ") == []


def test_a_long_greeting_is_split_at_sentences_within_discords_limit() -> None:
    sentence = "The lighthouse keeper waves from the rocks. "
    text = sentence * 80  # ~3,500 characters: two messages
    parts = greeting_parts(text)
    assert len(parts) == 2
    assert all(len(part) <= DISCORD_MESSAGE_LIMIT for part in parts)
    assert all(part.endswith(".") for part in parts)
    assert " ".join(parts) == text.strip()  # nothing lost, nothing added


def test_a_greeting_past_the_parts_allowed_is_cut_at_a_sentence_with_an_ellipsis() -> None:
    sentence = "The lighthouse keeper waves from the rocks. "
    text = sentence * 400  # ~17,600 characters
    parts = greeting_parts(text)
    assert len(parts) == MAX_GREETING_PARTS
    assert all(len(part) <= DISCORD_MESSAGE_LIMIT for part in parts)
    assert parts[-1].endswith("rocks. " + ELLIPSIS)  # honest: it says it was cut, after a whole sentence
    assert all(not part.endswith(ELLIPSIS) for part in parts[:-1])


@given(st.text(min_size=1, max_size=9000))
def test_parts_always_fit(text: str) -> None:
    parts = greeting_parts(text)
    assert len(parts) <= MAX_GREETING_PARTS
    assert all(0 < len(part) <= DISCORD_MESSAGE_LIMIT for part in parts)
