"""Replies made the persona's own words (bot.core.reply_text): own label stripped, cut where it speaks for others,
the same streamed as whole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.reply_text import Labels, ReplyCleaner, clean_reply

LABELS = Labels(("Ada", "Addy"), ("Alice", "Bob Smith", "Grim"))


def test_own_leading_label_is_stripped() -> None:
    assert clean_reply("Ada: Hello there.", LABELS) == ("Hello there.", False)
    assert clean_reply("**Ada**: Hello.", LABELS) == ("Hello.", False)
    assert clean_reply("  ada (you):  Hello.", LABELS) == ("Hello.", False)
    assert clean_reply("Addy: Hi!", LABELS) == ("Hi!", False)
    assert clean_reply("Adam: is not me", LABELS) == ("Adam: is not me", False)
    assert clean_reply("Ada said hi", LABELS) == ("Ada said hi", False)


def test_the_reply_is_cut_before_a_line_speaking_for_someone_else() -> None:
    text = "Sure, tea it is.\nAlice: Thanks Ada!\nAda: You're welcome."
    assert clean_reply(text, LABELS) == ("Sure, tea it is.", True)
    assert clean_reply("Fine.\n\nBob  Smith (you): no", LABELS) == ("Fine.", True)
    assert clean_reply("Fine.\nUser: and then", LABELS) == ("Fine.", True)
    assert clean_reply("Fine.\n> **Grim**: gloom", LABELS) == ("Fine.", True)
    assert clean_reply("Alice: I speak for Alice", LABELS) == ("", True)
    # Names inside a line, or longer names, are not labels.
    assert clean_reply("Tell Alice: hi.\nAlicia: hello", LABELS) == ("Tell Alice: hi.\nAlicia: hello", False)


def stream(pieces: list[str]) -> tuple[str, list[str]]:
    cleaner = ReplyCleaner(LABELS)
    shown: list[str] = []
    for piece in pieces:
        out = cleaner.feed(piece)
        if out:
            shown.append(out)
        if cleaner.done:
            break
    rest = cleaner.finish()
    if rest:
        shown.append(rest)
    return "".join(shown), shown


def test_a_stream_gives_the_same_text_and_never_shows_a_label() -> None:
    text, shown = stream(["Ad", "a: Hel", "lo there", ".\nAl", "ice: Thanks", "!\nmore"])
    assert text == "Hello there."
    assert all("Ada" not in piece and "Al" not in piece for piece in shown)
    text, _ = stream(["Hello ", "Alice", " is nice", "\nok"])
    assert text == "Hello Alice is nice\nok"


@given(st.lists(st.sampled_from(["Ada: ", "Hi ", "\n", "Alice", ": ", "Bob Smith", "yes.", "User:", " "]), max_size=12))
def test_streamed_equals_whole(pieces: list[str]) -> None:
    whole = clean_reply("".join(pieces), LABELS)[0].rstrip()
    assert stream(pieces)[0] == whole
