"""Card macros (bot.core.macros): the V1/V2/V3 macros, case-insensitive, nesting resolved once and bounded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.macros import MAX_DEPTH, MAX_OUTPUT_FACTOR, resolve


def r(text: str, *, char: str = "Mari", user: str = "Alice", original: str | None = None, seed: str = "") -> str:
    return resolve(text, char=char, user=user, original=original, seed=seed)


def test_char_user_and_the_v1_spellings_in_any_case() -> None:
    assert r("{{char}} greets {{user}}.") == "Mari greets Alice."
    assert r("{{CHAR}} / {{User}} / <BOT> / <user> / <Bot>") == "Mari / Alice / Mari / Alice / Mari"
    assert r("{{ char }}") == "Mari"


def test_original_only_inserts_what_is_given() -> None:
    assert r("{{original}} Then more.", original="Ours.") == "Ours. Then more."
    assert r("Before {{original}} after") == "Before  after"  # where the spec gives it no meaning: removed


def test_v3_macros() -> None:
    assert r("{{reverse:olleH}}") == "Hello"
    assert r("a{{// a comment}}b{{comment: shown to users}}c{{hidden_key:secret}}d") == "abcd"
    picked = r("{{pick:red,green,blue}}")
    assert picked in ("red", "green", "blue") and r("{{pick:red,green,blue}}", seed="other") == picked  # stable
    rolled = {r("{{roll:d6}}", seed=str(n)) for n in range(60)}
    assert rolled <= {"1", "2", "3", "4", "5", "6"} and len(rolled) > 3
    assert r("{{roll:6}}", seed="x") == r("{{roll:6}}", seed="x")  # same inputs, same result
    chosen = {r("{{random:a,b\\,c}}", seed=str(n)) for n in range(40)}
    assert chosen == {"a", "b,c"}
    assert r("{{random::x,y}}") in ("x", "y")  # SillyTavern's spelling
    assert r("{{roll:0}} {{roll:abc}} {{roll:99999999}}") == "{{roll:0}} {{roll:abc}} {{roll:99999999}}"


def test_unknown_macros_and_jinja_stay_as_written() -> None:
    assert r("{{time}} and {% if x %}{{ 7*7 }}") == "{{time}} and {% if x %}{{ 7*7 }}"
    assert r("{{char") == "{{char" and r("}} {{user}} }}") == "}} Alice }}"


def test_nesting_resolves_inside_out_once_and_values_are_never_read_again() -> None:
    assert r("{{reverse:{{user}}}}") == "ecilA"
    assert r("{{random:{{char}},{{char}}}}") == "Mari"
    # A name that is itself a macro stays as written: what a macro gives is never expanded again.
    assert r("Hi {{user}} and <USER>", user="{{char}}") == "Hi {{char}} and {{char}}"
    assert r("{{user}}", user="{{reverse:{{user}}}}") == "{{reverse:{{user}}}}"


def test_deep_nesting_and_huge_expansion_are_bounded() -> None:
    deep = "{{reverse:" * 1000 + "x" + "}}" * 1000
    out = r(deep)
    assert len(out) <= len(deep) * MAX_OUTPUT_FACTOR + 4000
    assert MAX_DEPTH < 1000
    many = "{{char}}" * 50_000
    out = r(many, char="A" * 80)
    assert len(out) <= len(many) * MAX_OUTPUT_FACTOR + 4000


@given(st.text(alphabet="{}<>/:,abcdruservBOTUSER ", max_size=200), st.text(max_size=20))
def test_any_text_resolves_without_error_and_bounded(text: str, user: str) -> None:
    out = resolve(text, char="C", user=user)
    assert len(out) <= len(text) * MAX_OUTPUT_FACTOR + 4000
