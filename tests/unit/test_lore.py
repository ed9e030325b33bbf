"""Lore books (World Info), pure: key matching, the four secondary-key logics, constant entries, scan depth, the
token budget, bounded recursion, sticky / cooldown / delay in messages, probability, regex safety (refused at save,
bounded when matching: a property test), bounds on books and entries, and a card's character_book both ways."""

from __future__ import annotations

import signal
import time
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import DomainError
from bot.core.lore import (
    BookRules,
    LoreEntry,
    ScanMessage,
    activate,
    check_entry,
    check_entry_count,
    check_pattern,
    split_keys,
)
from bot.core.lore.card_books import book_from_card, book_to_card
from bot.core.lore.patterns import MAX_SCAN_REGEX_COST, SCAN_CHARS, RegexBudget, ScanText, _whole_word_in, key_matches
from bot.core.lore.prepared import PreparedBooks, prepare


def entry(entry_id: int = 1, *keys: str, content: str = "Lore.", **changes: object) -> LoreEntry:
    return replace(LoreEntry(id=entry_id, keys=keys or ("dragon",), content=content), **changes)  # type: ignore[arg-type]


def fired(entries: list[LoreEntry], *texts: str, rules: BookRules | None = None, **kw: object) -> list[int]:
    messages = [ScanMessage(t, i + 1) for i, t in enumerate(texts)]
    result = activate([(rules or BookRules(), entries)], messages, **kw)  # type: ignore[arg-type]
    return [f.entry.id for f in result.fired]


def matches(key: str, text: str, **options: bool) -> bool:
    flags = {"regex": False, "case_sensitive": False, "whole_words": True, **options}
    return key_matches(key, ScanText(text), **flags)


# ------------------------------------------------------------------------------------------------ matching


def test_plain_keys_whole_words_and_case() -> None:
    assert matches("dragon", "A Dragon appears!")
    assert not matches("dragon", "dragonfly season")  # whole words by default
    assert matches("dragon", "dragonfly season", whole_words=False)
    assert not matches("dragon", "A Dragon appears", case_sensitive=True)
    assert matches("Dragon", "A Dragon appears", case_sensitive=True)
    assert matches("red dragon", "the red dragon, again")  # several words: a phrase
    assert matches("c++", "I like c++ a lot")  # a key ending in a symbol needs no boundary there


def test_regex_keys_and_slashed_keys() -> None:
    assert matches(r"drag(on|ons)\b", "two dragons", regex=True)
    assert matches("/DRAG[a-z]+/i", "dragons everywhere")  # SillyTavern's /pattern/flags, even without regex
    assert not matches("/DRAG[a-z]+/", "dragons everywhere", case_sensitive=True)


@pytest.mark.parametrize(
    "pattern",
    [r"(a+)+$", r"(a|aa)*b", r"(\w+\s?)*$", r"(.*a){20}", r"\w+\s+\w+\s+\w+", r"(a)\1", r"(?P<x>a)(?P=x)", "a" * 300],
)
def test_catastrophic_patterns_are_refused_at_save(pattern: str) -> None:
    assert check_pattern(pattern) is not None
    with pytest.raises(DomainError, match="refused"):
        check_entry(entry(1, pattern, use_regex=True))


@pytest.mark.parametrize("pattern", [r"\bdragons?\b", r"(king|queen)s?", r"colou?r", r"[a-z]+ing\b", r"^hello"])
def test_ordinary_patterns_are_allowed(pattern: str) -> None:
    assert check_pattern(pattern) is None


@pytest.mark.parametrize(
    "pattern",
    [
        r"(x?){22}y",  # a counted group whose contents can match nothing: seconds against "x" * 22
        r"(x?){30}y",  # minutes
        r"(?:x{0,1}){30}y",
        r"(xx?){30}y",  # contents of two lengths: 2 ** 30 ways to split the x's
        r"((?:ab)?c){20}d",  # a quantified group inside a counted one
        r"(?:(?:a|b)c){20}",  # alternatives nested inside a counted group
        "(a|aa)" * 30 + "y",  # no quantifier at all, 2 ** 30 ways through the alternatives
        "(?x)#[\n(x?){30}y\n]",  # verbose mode would hide the group from the check inside a "class"
        "(?x:(x?){30}y)",
    ],
)
def test_exponential_group_shapes_are_refused(pattern: str) -> None:
    assert check_pattern(pattern) is not None
    with pytest.raises(DomainError, match="refused"):
        check_entry(entry(1, pattern, use_regex=True))


@pytest.mark.parametrize(
    "pattern", [r"(?:ab){3}c", r"(ab)*c", r"(?:ab)?c*d", r"(\d{3}-){2}\d{4}", r"drag(on|ons)\b", r"(?i)elf"]
)
def test_fixed_length_groups_may_repeat(pattern: str) -> None:
    assert check_pattern(pattern) is None


_ATOMS = st.sampled_from(["x", "a", r"\w", "[ax]", ".", r"\b"])
_QUANTIFIERS = st.sampled_from(["", "", "?", "{0,1}", "*", "+", "{1,2}", "{3}"])
_COUNTS = st.sampled_from(["{25}", "{20,30}", "*", "+", "?"])


def _grouped(inner: st.SearchStrategy[str], counts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    opening = st.sampled_from(["(", "(?:", "(?:", "(?=", "(?i:"])
    branches = st.lists(st.lists(inner, min_size=1, max_size=3).map("".join), min_size=1, max_size=2).map("|".join)
    return st.tuples(opening, branches, counts).map(lambda t: f"{t[0]}{t[1]}){t[2]}")


def _patterns() -> st.SearchStrategy[str]:
    """Sequences of quantified characters and (nested) groups, most of them repeated many times."""
    quantified = st.tuples(_ATOMS, _QUANTIFIERS).map("".join)
    pieces = st.recursive(quantified, lambda inner: _grouped(inner, _COUNTS), max_leaves=6)
    return st.tuples(st.lists(pieces, min_size=1, max_size=3).map("".join), st.sampled_from(["y", "y", "$"])).map(
        "".join
    )


class _TooSlow(Exception):
    pass


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(pattern=_patterns())
def test_accepted_patterns_of_bounded_length_match_quickly(pattern: str) -> None:
    """Any pattern the check accepts answers quickly on runs of one letter (the classic worst inputs); the alarm
    interrupts a runaway match (Python's matcher checks for signals) so a bad pattern fails instead of hanging."""
    if check_pattern(pattern) is not None:
        return

    def too_slow(*_: object) -> None:
        raise _TooSlow(pattern)

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        for text in ("x" * 50, "a" * 50, "x" * 50 + "!", "a" * 500):
            started = time.thread_time()  # CPU time: a busy machine does not count
            key_matches(pattern, ScanText(text), regex=True, case_sensitive=False, whole_words=True)
            assert time.thread_time() - started < 0.5, pattern
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@settings(max_examples=40, deadline=None)
@given(
    pattern=st.sampled_from([r"\w*x", r"a*b", r"[a-z]+ing", r"a{0,30}a{0,30}b", r"(?:ab)?c*d", r".*z$", r"\s*q"]),
    text=st.text(alphabet="ab \n", min_size=0, max_size=50).map(lambda s: s * 4000),
)
def test_matching_is_bounded_for_long_inputs(pattern: str, text: str) -> None:
    """Any accepted pattern, on any text up to 200,000 characters, answers within a bound."""
    assert check_pattern(pattern) is None
    started = time.thread_time()  # CPU time: a busy machine does not count
    key_matches(pattern, ScanText(text), regex=True, case_sensitive=False, whole_words=True)
    key_matches("needle", ScanText(text), regex=False, case_sensitive=False, whole_words=True)
    assert time.thread_time() - started < 0.2


def test_one_activation_spends_a_bounded_regex_budget() -> None:
    budget = RegexBudget()
    text = ScanText("a" * 10_000)
    tried = sum(
        1 for _ in range(1000) if budget.spend(501) and not key_matches(r"\w*x", text, regex=True,
                                                                       case_sensitive=False, whole_words=True)
    )  # fmt: skip
    assert tried == MAX_SCAN_REGEX_COST // 501
    many = [entry(i, *[r"\w*x"] * 1, use_regex=True) for i in range(1, 200)]
    started = time.thread_time()  # CPU time: a busy machine does not count
    assert fired(many, "a" * 10_000) == []
    assert time.thread_time() - started < 2


# ------------------------------------------------------------------------------------------------ activation


@pytest.mark.parametrize(
    ("logic", "text", "fires"),
    [
        ("and_any", "dragon and fire", True),
        ("and_any", "dragon alone", False),
        ("and_all", "dragon fire ice", True),
        ("and_all", "dragon fire", False),
        ("not_any", "dragon alone", True),
        ("not_any", "dragon and ice", False),
        ("not_all", "dragon and ice", True),
        ("not_all", "dragon fire ice", False),
    ],
)
def test_secondary_keys_logic(logic: str, text: str, fires: bool) -> None:
    e = entry(1, "dragon", secondary_keys=("fire", "ice"), logic=logic)
    assert (fired([e], text) == [1]) is fires


def test_no_primary_key_no_fire_constant_always_and_disabled_never() -> None:
    entries = [entry(1), entry(2, "elf", constant=True), entry(3, "dragon", enabled=False)]
    assert fired(entries, "nothing here") == [2]
    assert fired(entries, "a dragon") == [1, 2]


def test_scan_depth_counts_recent_messages() -> None:
    e = entry(1)
    assert fired([e], "a dragon", "hello", "how are you", rules=BookRules(scan_depth=2)) == []
    assert fired([e], "a dragon", "hello", "how are you", rules=BookRules(scan_depth=3)) == [1]
    assert fired([replace(e, scan_depth=3)], "a dragon", "hello", "x", rules=BookRules(scan_depth=1)) == [1]


def test_order_and_position_in_the_output() -> None:
    entries = [
        entry(1, order=50, position="after_char"),
        entry(2, order=10),
        entry(3, order=5, position="at_depth", depth=2),
        entry(4, order=1),
    ]
    result = activate([(BookRules(), entries)], [ScanMessage("dragon", 1)])
    assert [(t.position, t.order) for t in result.texts] == [
        ("before_char", 1), ("before_char", 10), ("after_char", 50), ("at_depth", 5)
    ]  # fmt: skip
    assert result.texts[-1].depth == 2


def test_token_budget_keeps_constant_then_highest_order() -> None:
    big = "x" * 400  # 100 estimated tokens
    entries = [
        entry(1, content=big, order=1),
        entry(2, content=big, order=9),
        entry(3, "zz", content=big, constant=True),
    ]
    result = activate([(BookRules(token_budget=200), entries)], [ScanMessage("dragon", 1)])
    assert sorted(f.entry.id for f in result.fired) == [2, 3]
    assert result.skipped[1] == "over the token budget"
    assert fired(entries, "dragon", total_budget=100) == [3]


def test_recursion_is_bounded_by_the_books_steps() -> None:
    chain = [
        entry(1, "dragon", content="Dragons fear the elf."),
        entry(2, "elf", content="The elf has a sword."),
        entry(3, "sword", content="The sword is named Dawn."),
        entry(4, "dawn", content="Dawn is far."),
    ]
    assert fired(chain, "a dragon", rules=BookRules(recursion=0)) == [1]
    assert fired(chain, "a dragon", rules=BookRules(recursion=2)) == [1, 2, 3]
    assert fired(chain, "a dragon", rules=BookRules(recursion=5)) == [1, 2, 3, 4]
    stopped = [replace(chain[0], prevent_recursion=True), *chain[1:]]
    assert fired(stopped, "a dragon", rules=BookRules(recursion=5)) == [1]
    excluded = [chain[0], replace(chain[1], exclude_recursion=True), *chain[2:]]
    assert fired(excluded, "a dragon", rules=BookRules(recursion=5)) == [1]


def test_sticky_stays_on_for_its_messages_then_cooldown_then_free() -> None:
    e = entry(1, sticky=2, cooldown=2)
    first = activate([(BookRules(), [e])], [ScanMessage("a dragon", 10)])
    assert first.started == {1: 10}

    def at(message_id: int, text: str = "nothing") -> list[int]:
        messages = [ScanMessage("x", i) for i in range(10, message_id)] + [ScanMessage(text, message_id)]
        return [f.entry.id for f in activate([(BookRules(), [e])], messages, timing={1: 10}).fired]

    assert at(11) == [1] and at(12) == [1]  # sticky: two messages after, without keys
    assert at(13, "dragon") == [] and at(14, "dragon") == []  # cooldown
    assert at(15, "dragon") == [1]


def test_a_start_after_the_message_answered_is_not_in_its_past() -> None:
    """Another take of an older reply scans the channel as it was then: an entry that started later is free."""
    e = entry(1, sticky=3, cooldown=3)
    older = [ScanMessage("x", 10), ScanMessage("nothing here", 11)]
    assert activate([(BookRules(), [e])], older, timing={1: 12}).fired == ()
    keyed = [ScanMessage("x", 10), ScanMessage("a dragon", 11)]
    again = activate([(BookRules(), [e])], keyed, timing={1: 12})
    assert [f.entry.id for f in again.fired] == [1] and again.started == {1: 11}
    assert [f.entry.id for f in activate([(BookRules(), [e])], older, timing={1: 11}).fired] == [1]  # its own start


def test_cooldown_without_sticky_and_delay() -> None:
    e = entry(1, cooldown=1)
    timed = activate([(BookRules(), [e])], [ScanMessage("x", 1), ScanMessage("dragon", 3)], timing={1: 1})
    assert timed.skipped[1] == "cooling down"
    late = [ScanMessage("x", 1), ScanMessage("y", 2), ScanMessage("dragon", 3)]
    assert [f.entry.id for f in activate([(BookRules(), [e])], late, timing={1: 1}).fired] == [1]
    delayed = entry(2, delay=3)
    assert fired([delayed], "x", "dragon") == []
    assert fired([delayed], "x", "y", "dragon") == [2]


def test_probability_uses_the_draw() -> None:
    e = entry(1, probability=30)
    assert fired([e], "dragon", draw=lambda _id: 0.2) == [1]
    assert fired([e], "dragon", draw=lambda _id: 0.5) == []


# ------------------------------------------------------------------------------------------------ bounds


def test_bounds_are_refused_with_a_sentence() -> None:
    with pytest.raises(DomainError, match="at most 8,000"):
        check_entry(entry(content="x" * 1_000_000))
    with pytest.raises(DomainError, match="at most 50 keys"):
        check_entry(entry(1, *[f"k{i}" for i in range(51)]))
    with pytest.raises(DomainError, match="at most 500 entries"):
        check_entry_count(10_000)
    with pytest.raises(DomainError, match="at least one key"):
        check_entry(replace(entry(), keys=()))
    with pytest.raises(DomainError, match="Sticky"):
        check_entry(entry(sticky=11))


def test_split_keys_keeps_patterns_whole() -> None:
    assert split_keys("dragon, red dragon ,, /a{1,3}b/i") == ["dragon", "red dragon", "/a{1,3}b/i"]


# ------------------------------------------------------------------------------------------------ card books


CARD_BOOK = {
    "name": "World",
    "scan_depth": 3,
    "token_budget": 900,
    "recursive_scanning": False,
    "extensions": {"custom": 1},
    "entries": [
        {
            "keys": ["dragon"], "content": "Dragons hoard gold.", "extensions": {
                "position": 4, "depth": 2, "selectiveLogic": 3, "sticky": 2, "group": "beasts",
                "match_whole_words": False,
            },
            "enabled": True, "insertion_order": 7, "secondary_keys": ["gold"], "selective": True, "id": 41,
            "comment": "Dragons", "priority": 3,
        },
        {"keys": ["^elf"], "content": "Elves.", "extensions": {}, "enabled": False, "insertion_order": 1,
         "use_regex": True, "constant": False, "position": "after_char"},
    ],
}  # fmt: skip


def test_a_card_book_becomes_entries_and_goes_back_without_loss() -> None:
    book = book_from_card(CARD_BOOK)
    first, second = book.entries
    assert book.rules.scan_depth == 3 and book.rules.token_budget == 900 and book.rules.recursion == 0
    assert (first.position, first.depth, first.logic, first.sticky, first.whole_words) == (
        "at_depth",
        2,
        "and_all",
        2,
        False,
    )
    assert first.secondary_keys == ("gold",) and first.name == "Dragons" and first.order == 7
    assert second.use_regex and not second.enabled and second.position == "after_char"
    for version in (2, 3):
        back = book_to_card(book.rules, book.entries, book.entry_extras, book.extras, version=version)
        assert back["extensions"] == {"custom": 1} and back["name"] == "World"
        out = back["entries"][0]
        assert out["extensions"]["group"] == "beasts" and out["extensions"]["position"] == 4
        assert out["id"] == 41 and out["priority"] == 3 and out["comment"] == "Dragons"
        assert all("extensions" in e for e in back["entries"])
        assert ("use_regex" in back["entries"][1]) is (version == 3)
    assert book_to_card(book.rules, book.entries, book.entry_extras, book.extras, version=2)["entries"][1]["keys"] == [
        "/^elf/"
    ]


@pytest.mark.parametrize(
    ("book", "sentence"),
    [
        ("not a book", "must be an object"),
        ({"entries": {}}, "must be a list"),
        ({"entries": [{"keys": ["a"], "content": "x"}] * 10_000}, "at most 500 entries"),
        ({"entries": [{"keys": ["a"], "content": "x" * 1_000_000}]}, "at most 8,000"),
        ({"entries": [{"keys": ["(a+)+"], "content": "x", "use_regex": True}]}, "refused"),
        ({"entries": [{"keys": "a", "content": 3}]}, "no text content"),
        ({"entries": [{"keys": [1, 2], "content": "x"}]}, "list of words"),
    ],
)
def test_a_bad_card_book_is_refused_with_a_sentence(book: object, sentence: str) -> None:
    with pytest.raises(DomainError, match=sentence):
        book_from_card(book)


# ------------------------------------------------------------------------------------------------ prepared books

_WORDY = st.text(alphabet="abß_ .,!\nAB", max_size=40)


@settings(max_examples=150, deadline=None)
@given(key=st.text(alphabet="abß_ +.A", min_size=1, max_size=6), text=_WORDY, case_sensitive=st.booleans())
def test_a_whole_word_key_matches_as_the_plain_search_says(key: str, text: str, case_sensitive: bool) -> None:
    """The word gate (a key's words must be among the text's) never turns away a match the search would find."""
    needle, haystack = (key, text) if case_sensitive else (key.casefold(), text.casefold())
    expected = bool(needle) and _whole_word_in(needle, haystack)
    assert matches(key, text, case_sensitive=case_sensitive) == expected


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(st.text(alphabet="abß_ .Ǆ\n", max_size=3000), min_size=1, max_size=6))
def test_a_joined_text_has_the_words_of_the_whole(parts: list[str]) -> None:
    """Recursion's text takes its words from the entries' (cut to the scan bound where it is long)."""
    whole = "\n".join(parts)
    joined = ScanText.joined(whole, [ScanText(p) for p in parts])
    for case_sensitive in (False, True):
        assert joined.words(case_sensitive) == ScanText(whole).words(case_sensitive)


def test_a_joined_text_cut_at_every_place_near_a_part_has_the_words_of_the_whole() -> None:
    for length in range(SCAN_CHARS - 12, SCAN_CHARS + 2):
        for parts in (["ab cd", "e" * length], ["ab cd", "f g", "e" * length]):
            whole = "\n".join(parts)
            joined = ScanText.joined(whole, [ScanText(p) for p in parts])
            assert joined.words(False) == ScanText(whole).words(False), (length, parts[:-1])


def _unprepared(books: PreparedBooks) -> PreparedBooks:
    """The same books with no gates and no keys looked up per source in recursion: every entry is matched key by
    key on each text, as before books were prepared."""
    return replace(
        books, by_word={}, ungated=tuple(range(len(books.entries))), modes=(), depths=frozenset(), by_source=False
    )


_KEYS = st.sampled_from(["dragon", "red dragon", "Elf", "orc", "gold", "/dr[a-z]+/", "c++", "tower"])


@settings(max_examples=80, deadline=None)
@given(
    specs=st.lists(
        st.tuples(
            st.lists(_KEYS, min_size=1, max_size=3),
            st.sampled_from(
                [
                    "dragons sleep on gold",
                    "an orc tower",
                    "Elf and orc",
                    "red dragon of c++",
                    "quiet",
                    # Long contents: a step's joined text past SCAN_CHARS is scanned at its end only.
                    "orc " * 1500 + "tower",
                    "gold" + "." * 7990 + "red dragon",
                ]
            ),
            st.booleans(),
            st.booleans(),
            st.sampled_from([None, 0, 1, 3]),
            st.integers(0, 2),
            st.lists(_KEYS, max_size=2),
            st.sampled_from(["and_any", "and_all", "not_any", "not_all"]),
        ),
        min_size=1,
        max_size=12,
    ),
    texts=st.lists(st.sampled_from(["a dragon!", "the Elf", "gold and orcs", "hm", "RED DRAGON", "c++"]), max_size=4),
)
def test_prepared_books_fire_what_matching_every_key_fires(
    specs: list[tuple[list[str], str, bool, bool, int | None, int, list[str], str]], texts: list[str]
) -> None:
    entries = [
        entry(
            i + 1,
            *keys,
            content=content,
            case_sensitive=cs,
            whole_words=ww,
            scan_depth=depth,
            sticky=sticky,
            secondary_keys=tuple(secondary),
            logic=logic,
        )
        for i, (keys, content, cs, ww, depth, sticky, secondary, logic) in enumerate(specs)
    ]
    books = prepare([(BookRules(recursion=3, token_budget=4000), entries)])
    messages = [ScanMessage(t, i + 1) for i, t in enumerate(texts)]
    timing = {1: 1} if messages else {}
    assert activate(books, messages, timing=timing) == activate(_unprepared(books), messages, timing=timing)


def test_recursion_scans_the_end_of_long_contents_only() -> None:
    """A step's text is the fired contents joined; past SCAN_CHARS only its end is scanned, for each key kind."""
    long_content = "gold" + "." * (SCAN_CHARS - 1010) + " red dragon"  # with the next: the joined text is cut here
    entries = [
        entry(1, "start", content=long_content),
        entry(2, "gold", content="Gold lore."),  # only at the cut-off start of entry 1's content
        entry(3, "red dragon", content="Dragon lore."),  # at its end
        entry(4, "/^gold/", content="Pattern lore."),  # a pattern sees even less of it
        entry(5, "start", content="." * 1500),
    ]
    rules = BookRules(recursion=1, token_budget=10_000)
    assert fired(entries, "start here", rules=rules, total_budget=10_000) == [1, 3, 5]
    short = [replace(entries[0], content="gold and a red dragon"), *entries[1:4]]
    assert fired(short, "start here", rules=rules, total_budget=10_000) == [1, 2, 3, 4]
